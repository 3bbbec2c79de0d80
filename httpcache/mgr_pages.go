package httpcache

// The text of the cache manager pages. Each follows the layout of Squid
// 5's page of the same name line by line (field names, tabs, number
// formats), so that the scripts and exporters that read Squid's pages read
// cuttle's: fields about things cuttle does not have (ICP, HTCP, cache
// digests, DNS, the select loop, unlinkd) are printed as 0, as Squid prints
// them when they are unused.

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// mgrPercent is 100*a/b, 0 when b is 0 (Squid's Math::doublePercent).
func mgrPercent(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * a / b
}

// mgrIntPercent is mgrPercent rounded to an integer (Math::intPercent).
func mgrIntPercent(a, b uint64) uint64 {
	if b == 0 {
		return 0
	}
	return uint64(100*float64(a)/float64(b) + 0.5)
}

// mgrTime formats a sample time as Squid does: seconds.microseconds and
// the date.
func mgrTime(t time.Time) string {
	return fmt.Sprintf("%d.%06d (%s)", t.Unix(), t.Nanosecond()/1000, t.UTC().Format(http.TimeFormat))
}

// window returns the two samples a page compares for the last minutes
// (Squid's CountHist[minutes] and CountHist[0]): the latest one-minute
// sample and the one taken minutes before it, or the oldest when fewer
// were taken. With a single sample, the counters now are compared with
// it; with none, with zero counters at the start.
func (h *Handler) window(minutes int) (from, to Snapshot) {
	s := h.opts.Stats
	to, ok := s.Ago(0)
	if !ok {
		return Snapshot{Time: s.Start()}, s.Snapshot()
	}
	if prev, _ := s.Ago(1); prev.Time.Equal(to.Time) {
		return to, s.Snapshot()
	}
	from, _ = s.Ago(minutes)
	return from, to
}

// samples counts the one-minute samples taken, up to historyLen (Squid's
// NCountHist); samples taken at the same instant count once.
func samples(s *Stats) int {
	prev, ok := s.Ago(0)
	if !ok {
		return 0
	}
	n := 1
	for ; n < historyLen; n++ {
		sn, _ := s.Ago(n)
		if sn.Time.Equal(prev.Time) {
			break
		}
		prev = sn
	}
	return n
}

// kb is Squid's kilobyte counter (kb_t): whole KiB of a byte count.
func kb(bytes int64) int64 { return bytes >> 10 }

// storeSummary adds up the tiers Options.StoreInfo reports.
type storeSummary struct {
	memObjects, memBytes, memMax    int64
	diskObjects, diskBytes, diskMax int64
	disks                           []TierInfo
}

func (h *Handler) storeSummary() storeSummary {
	var s storeSummary
	if h.opts.StoreInfo == nil {
		return s
	}
	for _, t := range h.opts.StoreInfo() {
		switch t.Tier {
		case "memory":
			s.memObjects += t.Objects
			s.memBytes += t.Bytes
			s.memMax += t.MaxBytes
		case "disk":
			s.diskObjects += t.Objects
			s.diskBytes += t.Bytes
			s.diskMax += t.MaxBytes
			s.disks = append(s.disks, t)
		}
	}
	return s
}

// entries estimates Squid's StoreEntries count: an object the memory tier
// holds is normally on disk too, so the larger of the two counts.
func (s *storeSummary) entries() int64 { return max(s.memObjects, s.diskObjects) }

// infoPage writes mgr:info (Squid's info_get, "General Runtime
// Information"). The version line keeps Squid's prefix, which scripts
// look for, and names cuttle.
func (h *Handler) infoPage(b *strings.Builder) {
	now := h.now()
	st := h.opts.Stats
	cur := st.Snapshot()
	start := st.Start()
	uptime := now.Sub(start).Seconds()
	if uptime <= 0 {
		uptime = 1 // as Squid does for a zero run time
	}
	f5, t5 := h.window(5)
	f60, t60 := h.window(60)
	store := h.storeSummary()
	proc := readProcInfo()

	fmt.Fprintf(b, "Squid Object Cache: Version %s\n", h.opts.Version)
	fmt.Fprintf(b, "Build Info: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	b.WriteString("Service Name: squid\n")
	fmt.Fprintf(b, "Start Time:\t%s\n", start.UTC().Format(http.TimeFormat))
	fmt.Fprintf(b, "Current Time:\t%s\n", now.UTC().Format(http.TimeFormat))

	b.WriteString("Connection information for squid:\n")
	fmt.Fprintf(b, "\tNumber of clients accessing cache:\t%d\n", cur.Clients)
	fmt.Fprintf(b, "\tNumber of HTTP requests received:\t%d\n", cur.ClientRequests)
	b.WriteString("\tNumber of ICP messages received:\t0\n")
	b.WriteString("\tNumber of ICP messages sent:\t0\n")
	b.WriteString("\tNumber of queued ICP replies:\t0\n")
	b.WriteString("\tNumber of HTCP messages received:\t0\n")
	b.WriteString("\tNumber of HTCP messages sent:\t0\n")
	// Squid computes the failure ratio only when ICP is on.
	fmt.Fprintf(b, "\tRequest failure ratio:\t%5.2f\n", 0.0)
	fmt.Fprintf(b, "\tAverage HTTP requests per minute since start:\t%.1f\n", float64(cur.ClientRequests)/(uptime/60))
	fmt.Fprintf(b, "\tAverage ICP messages per minute since start:\t%.1f\n", 0.0)
	fmt.Fprintf(b, "\tSelect loop called: %d times, %0.3f ms avg\n", 0, 0.0)

	b.WriteString("Cache information for squid:\n")
	ratio := func(label string, f func(from, to Snapshot) float64) {
		fmt.Fprintf(b, "\t%s:\t5min: %3.1f%%, 60min: %3.1f%%\n", label, f(f5, t5), f(f60, t60))
	}
	ratio("Hits as % of all requests", func(from, to Snapshot) float64 {
		return mgrPercent(float64(to.ClientHits-from.ClientHits), float64(to.ClientRequests-from.ClientRequests))
	})
	ratio("Hits as % of bytes sent", byteHitRatio)
	ratio("Memory hits as % of hit requests", func(from, to Snapshot) float64 {
		return mgrPercent(float64(to.MemHits-from.MemHits), float64(to.ClientHits-from.ClientHits))
	})
	ratio("Disk hits as % of hit requests", func(from, to Snapshot) float64 {
		return mgrPercent(float64(to.DiskHits-from.DiskHits), float64(to.ClientHits-from.ClientHits))
	})
	fmt.Fprintf(b, "\tStorage Swap size:\t%d KB\n", kb(store.diskBytes))
	fmt.Fprintf(b, "\tStorage Swap capacity:\t%4.1f%% used, %4.1f%% free\n",
		mgrPercent(float64(store.diskBytes), float64(store.diskMax)),
		mgrPercent(float64(store.diskMax-store.diskBytes), float64(store.diskMax)))
	fmt.Fprintf(b, "\tStorage Mem size:\t%d KB\n", kb(store.memBytes))
	fmt.Fprintf(b, "\tStorage Mem capacity:\t%4.1f%% used, %4.1f%% free\n",
		mgrPercent(float64(store.memBytes), float64(store.memMax)),
		mgrPercent(float64(store.memMax-store.memBytes), float64(store.memMax)))
	mean := 0.0
	if store.diskObjects > 0 {
		mean = float64(kb(store.diskBytes)) / float64(store.diskObjects)
	}
	fmt.Fprintf(b, "\tMean Object Size:\t%0.2f KB\n", mean)
	b.WriteString("\tRequests given to unlinkd:\t0\n")

	b.WriteString("Median Service Times (seconds)  5 min    60 min:\n")
	median := func(label string, svc int) {
		fmt.Fprintf(b, "\t%-22s%8.5f %8.5f\n", label+":",
			t5.Svc[svc].Sub(f5.Svc[svc]).Quantile(0.5).Seconds(),
			t60.Svc[svc].Sub(f60.Svc[svc]).Quantile(0.5).Seconds())
	}
	median("HTTP Requests (All)", SvcAll)
	median("Cache Misses", SvcMiss)
	median("Cache Hits", SvcHit)
	median("Near Hits", SvcNearHit)
	median("Not-Modified Replies", SvcNotModified)
	fmt.Fprintf(b, "\t%-22s%8.5f %8.5f\n", "DNS Lookups:", 0.0, 0.0)
	fmt.Fprintf(b, "\t%-22s%8.5f %8.5f\n", "ICP Queries:", 0.0, 0.0)

	cpu := proc.cpu.Seconds()
	b.WriteString("Resource usage for squid:\n")
	fmt.Fprintf(b, "\tUP Time:\t%.3f seconds\n", uptime)
	fmt.Fprintf(b, "\tCPU Time:\t%.3f seconds\n", cpu)
	fmt.Fprintf(b, "\tCPU Usage:\t%.2f%%\n", mgrPercent(cpu, uptime))
	// The one-minute samples hold no CPU time yet: 0 as Squid prints
	// before its first samples.
	fmt.Fprintf(b, "\tCPU Usage, 5 minute avg:\t%.2f%%\n", 0.0)
	fmt.Fprintf(b, "\tCPU Usage, 60 minute avg:\t%.2f%%\n", 0.0)
	fmt.Fprintf(b, "\tMaximum Resident Size: %d KB\n", proc.maxRSSKB)
	fmt.Fprintf(b, "\tPage faults with physical i/o: %d\n", proc.majorFaults)

	// Go's allocator stands in for Squid's memory pools.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.WriteString("Memory accounted for:\n")
	fmt.Fprintf(b, "\tTotal accounted:       %6.0f KB\n", float64(ms.HeapAlloc/1024))
	fmt.Fprintf(b, "\tmemPoolAlloc calls: %9.0f\n", float64(ms.Mallocs))
	fmt.Fprintf(b, "\tmemPoolFree calls:  %9.0f\n", float64(ms.Frees))

	b.WriteString("File descriptor usage for squid:\n")
	fmt.Fprintf(b, "\tMaximum number of file descriptors:   %4d\n", proc.maxFD)
	fmt.Fprintf(b, "\tLargest file desc currently in use:   %4d\n", proc.largestFD)
	fmt.Fprintf(b, "\tNumber of file desc currently in use: %4d\n", proc.openFD)
	fmt.Fprintf(b, "\tFiles queued for open:                %4d\n", 0)
	fmt.Fprintf(b, "\tAvailable number of file descriptors: %4d\n", max(proc.maxFD-proc.openFD, 0))
	fmt.Fprintf(b, "\tReserved number of file descriptors:  %4d\n", 0)
	fmt.Fprintf(b, "\tStore Disk files open:                %4d\n", 0)

	b.WriteString("Internal Data Structures:\n")
	fmt.Fprintf(b, "\t%6d StoreEntries\n", store.entries())
	fmt.Fprintf(b, "\t%6d StoreEntries with MemObjects\n", store.memObjects)
	fmt.Fprintf(b, "\t%6d Hot Object Cache Items\n", store.memObjects)
	fmt.Fprintf(b, "\t%6d on-disk objects\n", store.diskObjects)
}

// byteHitRatio is Squid's statByteHitRatio: the share of the bytes sent
// to clients that did not come from the origin, negative when more came
// in than went out (-0.0 when nothing moved, as Squid prints it).
func byteHitRatio(from, to Snapshot) float64 {
	c := kb(to.ClientBytesOut) - kb(from.ClientBytesOut)
	s := kb(to.ServerBytesIn) - kb(from.ServerBytesIn)
	if c > s {
		return mgrPercent(float64(c-s), float64(c))
	}
	return -1 * mgrPercent(float64(s-c), float64(c))
}

// countersPage writes mgr:counters (Squid's statCountersDump, "Traffic
// and Resource Counters"): the totals since the start, one "name = value"
// a line. sample_time is when the last one-minute sample was taken, and
// wall_time the time since then, as in Squid.
func (h *Handler) countersPage(b *strings.Builder) {
	st := h.opts.Stats
	cur := st.Snapshot()
	sampled := st.Start()
	if last, ok := st.Ago(0); ok {
		sampled = last.Time
	}
	h.writeCounters(b, cur, sampled)
}

func (h *Handler) writeCounters(b *strings.Builder, cur Snapshot, sampled time.Time) {
	proc := readProcInfo()
	line := func(name string, v int64) { fmt.Fprintf(b, "%s = %d\n", name, v) }
	fmt.Fprintf(b, "sample_time = %s\n", mgrTime(sampled))
	line("client_http.requests", cur.ClientRequests)
	line("client_http.hits", cur.ClientHits)
	line("client_http.errors", cur.ClientErrors)
	line("client_http.kbytes_in", kb(cur.ClientBytesIn))
	line("client_http.kbytes_out", kb(cur.ClientBytesOut))
	line("client_http.hit_kbytes_out", kb(cur.HitBytesOut))
	// Every origin request is HTTP: server.all and server.http agree.
	for _, proto := range [...]string{"all", "http"} {
		line("server."+proto+".requests", cur.ServerRequests)
		line("server."+proto+".errors", cur.ServerErrors)
		line("server."+proto+".kbytes_in", kb(cur.ServerBytesIn))
		line("server."+proto+".kbytes_out", kb(cur.ServerBytesOut))
	}
	for _, name := range [...]string{
		"server.ftp.requests", "server.ftp.errors", "server.ftp.kbytes_in", "server.ftp.kbytes_out",
		"server.other.requests", "server.other.errors", "server.other.kbytes_in", "server.other.kbytes_out",
		"icp.pkts_sent", "icp.pkts_recv", "icp.queries_sent", "icp.replies_sent", "icp.queries_recv",
		"icp.replies_recv", "icp.query_timeouts", "icp.replies_queued", "icp.kbytes_sent", "icp.kbytes_recv",
		"icp.q_kbytes_sent", "icp.r_kbytes_sent", "icp.q_kbytes_recv", "icp.r_kbytes_recv", "icp.times_used",
		"cd.times_used", "cd.msgs_sent", "cd.msgs_recv", "cd.memory", "cd.local_memory", "cd.kbytes_sent",
		"cd.kbytes_recv", "unlink.requests",
	} {
		line(name, 0)
	}
	line("page_faults", proc.majorFaults)
	line("select_loops", 0)
	fmt.Fprintf(b, "cpu_time = %f\n", proc.cpu.Seconds())
	fmt.Fprintf(b, "wall_time = %f\n", h.now().Sub(sampled).Seconds())
	line("swap.outs", cur.SwapOuts)
	line("swap.ins", cur.SwapIns)
	line("swap.files_cleaned", 0)
	line("aborted_requests", cur.Aborted)
}

// avgPage writes the rates between two samples (Squid's statAvgDump, the
// 5min and 60min pages): "name = value/sec" lines, median service times
// in seconds, and the sampled interval.
func avgPage(b *strings.Builder, from, to Snapshot) {
	dt := to.Time.Sub(from.Time).Seconds()
	rate := func(name string, delta int64) {
		v := 0.0
		if dt > 0 {
			v = float64(delta) / dt
		}
		fmt.Fprintf(b, "%s = %f/sec\n", name, v)
	}
	median := func(name string, svc int) {
		fmt.Fprintf(b, "%s = %f seconds\n", name, to.Svc[svc].Sub(from.Svc[svc]).Quantile(0.5).Seconds())
	}
	zeroRates := func(names ...string) {
		for _, n := range names {
			rate(n, 0)
		}
	}
	fmt.Fprintf(b, "sample_start_time = %s\n", mgrTime(from.Time))
	fmt.Fprintf(b, "sample_end_time = %s\n", mgrTime(to.Time))
	rate("client_http.requests", to.ClientRequests-from.ClientRequests)
	rate("client_http.hits", to.ClientHits-from.ClientHits)
	rate("client_http.errors", to.ClientErrors-from.ClientErrors)
	rate("client_http.kbytes_in", kb(to.ClientBytesIn)-kb(from.ClientBytesIn))
	rate("client_http.kbytes_out", kb(to.ClientBytesOut)-kb(from.ClientBytesOut))
	median("client_http.all_median_svc_time", SvcAll)
	median("client_http.miss_median_svc_time", SvcMiss)
	median("client_http.nm_median_svc_time", SvcNotModified)
	median("client_http.nh_median_svc_time", SvcNearHit)
	median("client_http.hit_median_svc_time", SvcHit)
	for _, proto := range [...]string{"all", "http"} {
		rate("server."+proto+".requests", to.ServerRequests-from.ServerRequests)
		rate("server."+proto+".errors", to.ServerErrors-from.ServerErrors)
		rate("server."+proto+".kbytes_in", kb(to.ServerBytesIn)-kb(from.ServerBytesIn))
		rate("server."+proto+".kbytes_out", kb(to.ServerBytesOut)-kb(from.ServerBytesOut))
	}
	zeroRates("server.ftp.requests", "server.ftp.errors", "server.ftp.kbytes_in", "server.ftp.kbytes_out",
		"server.other.requests", "server.other.errors", "server.other.kbytes_in", "server.other.kbytes_out",
		"icp.pkts_sent", "icp.pkts_recv", "icp.queries_sent", "icp.replies_sent", "icp.queries_recv",
		"icp.replies_recv", "icp.replies_queued", "icp.query_timeouts", "icp.kbytes_sent", "icp.kbytes_recv",
		"icp.q_kbytes_sent", "icp.r_kbytes_sent", "icp.q_kbytes_recv", "icp.r_kbytes_recv")
	for _, n := range [...]string{"icp.query_median_svc_time", "icp.reply_median_svc_time", "dns.median_svc_time"} {
		fmt.Fprintf(b, "%s = %f seconds\n", n, 0.0)
	}
	// The samples hold no page fault count or CPU time yet.
	zeroRates("unlink.requests", "page_faults", "select_loops", "select_fds")
	fmt.Fprintf(b, "average_select_fd_period = %f/fd\n", 0.0)
	fmt.Fprintf(b, "median_select_fds = %f\n", 0.0)
	rate("swap.outs", to.SwapOuts-from.SwapOuts)
	rate("swap.ins", to.SwapIns-from.SwapIns)
	rate("swap.files_cleaned", 0)
	rate("aborted_requests", to.Aborted-from.Aborted)
	zeroRates("syscalls.disk.opens", "syscalls.disk.closes", "syscalls.disk.reads", "syscalls.disk.writes",
		"syscalls.disk.seeks", "syscalls.disk.unlinks", "syscalls.sock.accepts", "syscalls.sock.sockets",
		"syscalls.sock.connects", "syscalls.sock.binds", "syscalls.sock.closes", "syscalls.sock.reads",
		"syscalls.sock.writes", "syscalls.sock.recvfroms", "syscalls.sock.sendtos")
	fmt.Fprintf(b, "cpu_time = %f seconds\n", 0.0)
	fmt.Fprintf(b, "wall_time = %f seconds\n", max(dt, 0))
	fmt.Fprintf(b, "cpu_usage = %f%%\n", 0.0)
}

// utilizationPage writes mgr:utilization (Squid's statUtilization): the
// averages over 5, 15 and 60 minutes once that many one-minute samples
// exist, then the totals. The 8-hour to 3-day periods need hourly samples,
// which are not kept: they stay "(no values recorded yet)".
func (h *Handler) utilizationPage(b *strings.Builder) {
	st := h.opts.Stats
	n := samples(st)
	b.WriteString("Cache Utilisation:\n\n")
	for _, p := range [...]struct {
		label   string
		minutes int
	}{
		{"Last 5 minutes", 5}, {"Last 15 minutes", 15}, {"Last hour", 60},
		{"Last 8 hours", 0}, {"Last day", 0}, {"Last 3 days", 0},
	} {
		b.WriteString(p.label + ":\n")
		if p.minutes > 0 && n-1 >= p.minutes {
			to, _ := st.Ago(0)
			from, _ := st.Ago(p.minutes)
			avgPage(b, from, to)
		} else {
			b.WriteString("(no values recorded yet)\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("Totals since cache startup:\n")
	h.countersPage(b)
}

// storedirPage writes mgr:storedir (Squid's Store::Controller::stat and
// each cache_dir's stat): the totals of the disk tier, then one section a
// cache_dir. Squid's memory cache, when not shared, is not listed there
// either. cuttle counts disk use in 4 KiB blocks.
func (h *Handler) storedirPage(b *strings.Builder) {
	store := h.storeSummary()
	b.WriteString("Store Directory Statistics:\n")
	fmt.Fprintf(b, "Store Entries          : %d\n", store.entries())
	fmt.Fprintf(b, "Maximum Swap Size      : %d KB\n", kb(store.diskMax))
	fmt.Fprintf(b, "Current Store Swap Size: %.2f KB\n", float64(store.diskBytes)/1024)
	fmt.Fprintf(b, "Current Capacity       : %.2f%% used, %.2f%% free\n",
		mgrPercent(float64(store.diskBytes), float64(store.diskMax)),
		mgrPercent(float64(store.diskMax-store.diskBytes), float64(store.diskMax)))
	for i, d := range store.disks {
		fmt.Fprintf(b, "\nStore Directory #%d (%s): %s\n", i, d.Type, d.Path)
		b.WriteString("FS Block Size 4096 Bytes\n")
		fmt.Fprintf(b, "Maximum Size: %d KB\n", kb(d.MaxBytes))
		fmt.Fprintf(b, "Current Size: %.2f KB\n", float64(d.Bytes)/1024)
		fmt.Fprintf(b, "Percent Used: %0.2f%%\n", mgrPercent(float64(d.Bytes), float64(d.MaxBytes)))
		// Squid's rock store counts its entries so; ufs has no such line.
		fmt.Fprintf(b, "Current entries: %9d\n", d.Objects)
		if fs, ok := fsUsage(d.Path); ok {
			fmt.Fprintf(b, "Filesystem Space in use: %d/%d KB (%d%%)\n",
				fs.totalKB-fs.freeKB, fs.totalKB, mgrIntPercent(fs.totalKB-fs.freeKB, fs.totalKB))
			fmt.Fprintf(b, "Filesystem Inodes in use: %d/%d (%d%%)\n",
				fs.inodes-fs.freeInodes, fs.inodes, mgrIntPercent(fs.inodes-fs.freeInodes, fs.inodes))
		}
		b.WriteString("Flags:\n")
	}
}
