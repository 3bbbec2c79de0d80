package httpcache

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"
)

// memPage writes mgr:mem ("Memory Utilization") in the layout of Squid's
// memory pool table, with Go's allocator size classes as the pools: a
// row per size class used (objects live and allocations made since the
// start), then the large objects and the totals. Squid's chunk columns do
// not apply and stay empty, as Squid leaves them when chunked pools are
// off; Go keeps no high-water marks, so they repeat the current values.
func memPage(b *strings.Builder, uptime time.Duration) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	type pool struct {
		name             string
		size             uint64
		live, liveBytes  uint64
		allocs, volBytes uint64
	}
	var pools []pool
	var small pool
	for _, c := range ms.BySize {
		if c.Mallocs == 0 {
			continue
		}
		live := c.Mallocs - min(c.Frees, c.Mallocs)
		p := pool{
			name: fmt.Sprintf("size class %d", c.Size), size: uint64(c.Size),
			live: live, liveBytes: live * uint64(c.Size),
			allocs: c.Mallocs, volBytes: c.Mallocs * uint64(c.Size),
		}
		pools = append(pools, p)
		small.live += p.live
		small.liveBytes += p.liveBytes
		small.allocs += p.allocs
		small.volBytes += p.volBytes
	}
	// What the size classes do not cover is made of large objects.
	if large := (pool{
		name:      "large objects",
		live:      ms.HeapObjects - min(small.live, ms.HeapObjects),
		liveBytes: ms.HeapAlloc - min(small.liveBytes, ms.HeapAlloc),
		allocs:    ms.Mallocs - min(small.allocs, ms.Mallocs),
		volBytes:  ms.TotalAlloc - min(small.volBytes, ms.TotalAlloc),
	}); large.allocs > 0 {
		if large.live > 0 {
			large.size = large.liveBytes / large.live
		}
		pools = append(pools, large)
	}
	// Squid lists the pools by their share of the memory allocated.
	sort.SliceStable(pools, func(i, j int) bool { return pools[i].liveBytes > pools[j].liveBytes })

	total := pool{name: "Total", size: 1}
	for _, p := range pools {
		total.live += p.live
		total.liveBytes += p.liveBytes
		total.allocs += p.allocs
		total.volBytes += p.volBytes
	}
	secs := uptime.Seconds()
	toKB := func(n uint64) uint64 { return (n + 1023) / 1024 }
	row := func(p pool) {
		kbs := toKB(p.liveBytes)
		inUse := 0.0
		if p.live > 0 {
			inUse = 100
		}
		rate := 0.0
		if secs > 0 {
			rate = float64(p.allocs) / secs
		}
		fmt.Fprintf(b, "%s\t %4d\t%s %d\t %d\t %d\t %.2f\t %.3f\t %d\t %d\t %d\t %.2f\t %.3f\t %d\t %d\t %d\t %d\t %.3f\t %.3f\t %.3f\n",
			pad(p.name, 20), p.size, strings.Repeat(" \t", 7),
			p.live, kbs, kbs, 0.0, mgrPercent(float64(p.liveBytes), float64(total.liveBytes)),
			p.live, kbs, kbs, 0.0, inUse,
			0, 0, 0,
			p.allocs, mgrPercent(float64(p.allocs), float64(total.allocs)),
			mgrPercent(float64(p.volBytes), float64(total.volBytes)), rate)
	}

	b.WriteString("Current memory usage:\n")
	b.WriteString("Pool\t Obj Size\tChunks\t\t\t\t\t\t\tAllocated\t\t\t\t\tIn Use\t\t\t\t\tIdle\t\t\tAllocations Saved\t\t\tRate\t\n")
	b.WriteString(" \t (bytes)\tKB/ch\t obj/ch\t(#)\t used\t free\t part\t %Frag\t (#)\t (KB)\t high (KB)\t high (hrs)\t %Tot\t(#)\t (KB)\t high (KB)\t high (hrs)\t %alloc\t(#)\t (KB)\t high (KB)\t(#)\t %cnt\t %vol\t(#)/sec\t\n")
	inUse := 0
	for _, p := range pools {
		row(p)
		if p.live > 0 {
			inUse++
		}
	}
	row(total)
	fmt.Fprintf(b, "Cumulative allocated volume: %.2f MB\n", float64(ms.TotalAlloc)/(1<<20))
	// The allocator's own bookkeeping: spans, caches, GC and profiling
	// metadata.
	overhead := ms.MSpanSys + ms.MCacheSys + ms.BuckHashSys + ms.GCSys + ms.OtherSys
	fmt.Fprintf(b, "Current overhead: %d bytes (%.3f%%)\n", overhead, mgrPercent(float64(overhead), float64(ms.Sys)))
	// Go returns idle memory to the system itself: no idle pool is kept.
	fmt.Fprintf(b, "Idle pool limit: %.2f MB\n", 0.0)
	fmt.Fprintf(b, "Total Pools created: %d\n", len(ms.BySize)+1)
	fmt.Fprintf(b, "Pools ever used:     %d (shown above)\n", len(pools))
	fmt.Fprintf(b, "Currently in use:    %d\n", inUse)
	// Squid's string pools do not exist in cuttle.
	b.WriteString("String Pool\t Impact\t\t\n \t (%strings)\t (%volume)\n")
	for _, s := range [...]string{"Short Strings", "Medium Strings", "Long Strings", "1KB Strings", "4KB Strings", "16KB Strings", "Other Strings"} {
		fmt.Fprintf(b, "%s\t %d\t %d\n", pad(s, 20), 0, 0)
	}
	b.WriteString("\nLarge buffers: 0 (0 KB)\n")
}
