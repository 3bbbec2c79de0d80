package httpcache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"cuttle/accesslog"
	"cuttle/store"
)

// mgrProxy is a Handler on a real listener wrapped by CacheObjectListener,
// in front of a test origin, with its own Stats on the test clock.
type mgrProxy struct {
	*proxy
	h      *Handler
	stats  *Stats
	origin *origin
}

// mgrRules builds Squid's usual manager rules from the built-in acls:
// "http_access allow localhost manager", "http_access deny manager",
// "http_access allow all".
func mgrRules(t *testing.T) []Rule {
	t.Helper()
	manager := mustACL(t, "url_regex", "-i", "^cache_object://", "+i", "^[^:]+://[^/]+/squid-internal-mgr/")
	localhost := mustACL(t, "src", "127.0.0.1/32", "::1")
	return []Rule{
		{Allow: true, Terms: []Term{{ACL: localhost}, {ACL: manager}}},
		{Allow: false, Terms: []Term{{ACL: manager}}},
		{Allow: true, Terms: []Term{{ACL: aclAll{}}}},
	}
}

func newMgrProxy(t *testing.T, access []Rule, set func(*Options)) *mgrProxy {
	t.Helper()
	o := newOrigin(t)
	c := hfNewClock()
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	logPath := filepath.Join(t.TempDir(), "access.log")
	w, err := accesslog.OpenFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	format, _ := accesslog.Lookup("squid", accesslog.FormatOptions{StripQueryTerms: true})
	logger := accesslog.New(accesslog.Output{W: w, Format: format})
	t.Cleanup(func() { logger.Close() })
	stats := NewStats(c.now)
	addr := o.Listener.Addr().(*net.TCPAddr)
	opts := Options{
		Store:           store.NewTiered(mem, nil),
		Peers:           []Peer{{Name: "origin", Host: "127.0.0.1", Port: addr.Port}},
		Access:          access,
		VisibleHostname: "accel-test.local",
		Version:         "cuttle/test",
		Stats:           stats,
		Log:             logger,
		ErrorLog:        log.New(io.Discard, "", 0),
		Now:             c.now,
	}
	if set != nil {
		set(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h.Port(Port{Vhost: true, Scheme: "http", ListenPort: 3128}))
	srv.Listener = CacheObjectListener(srv.Listener)
	srv.Config.ConnState = h.ConnState
	srv.Config.ConnContext = h.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	return &mgrProxy{
		proxy: &proxy{Server: srv, mem: mem, logPath: logPath, logger: logger, clock: c},
		h:     h, stats: stats, origin: o,
	}
}

// page fetches a manager page over /squid-internal-mgr/ and checks the
// reply's header fields against Squid's.
func (p *mgrProxy) page(t *testing.T, name string) string {
	t.Helper()
	res, body, _ := p.do(t, "GET /squid-internal-mgr/"+name+" HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mgr:%s: status %d, want 200\n%s", name, res.StatusCode, body)
	}
	date := res.Header.Get("Date")
	for k, want := range map[string]string{
		"Content-Type":   "text/plain;charset=utf-8",
		"Server":         "cuttle/test",
		"Mime-Version":   "1.0",
		"Expires":        date,
		"Last-Modified":  date,
		"X-Cache":        "MISS from accel-test.local",
		"X-Cache-Lookup": "MISS from accel-test.local:3128",
		"Via":            "1.1 accel-test.local (cuttle/test)",
		"Content-Length": strconv.Itoa(len(body)),
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("mgr:%s: %s = %q, want %q", name, k, got, want)
		}
	}
	return body
}

// traffic sends 3 misses and 2 hits.
func (p *mgrProxy) traffic(t *testing.T) {
	t.Helper()
	for _, path := range []string{"/a", "/b", "/c", "/a", "/b"} {
		if res, _, _ := p.do(t, get(path)); res.StatusCode != 200 {
			t.Fatalf("GET %s: status %d", path, res.StatusCode)
		}
	}
}

// mgrNumber is a number as the pages print them.
const mgrNumber = `-?[0-9]+(?:\.[0-9]+)?`

// mgrLayout turns a page Squid 5.7 printed into a pattern per line: the
// text and tabs must be the same, numbers may differ (and take the room of
// the spaces before them), dates are any date, and the lines listed in
// anyValue may end in any value.
func mgrLayout(ref string, anyValue ...string) []*regexp.Regexp {
	date := regexp.MustCompile(`[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT`)
	num := regexp.MustCompile(` *` + mgrNumber)
	var out []*regexp.Regexp
	for _, line := range strings.Split(strings.TrimSuffix(ref, "\n"), "\n") {
		var pat string
		for _, prefix := range anyValue {
			if strings.HasPrefix(line, prefix) {
				pat = regexp.QuoteMeta(prefix) + ".+"
			}
		}
		if pat == "" {
			parts := date.Split(line, -1)
			for i, part := range parts {
				if i > 0 {
					pat += date.String()
				}
				last := 0
				for _, m := range num.FindAllStringIndex(part, -1) {
					pat += regexp.QuoteMeta(part[last:m[0]]) + " *" + mgrNumber
					last = m[1]
				}
				pat += regexp.QuoteMeta(part[last:])
			}
		}
		out = append(out, regexp.MustCompile("^"+pat+"$"))
	}
	return out
}

// checkLayout checks a page line by line against mgrLayout patterns.
func checkLayout(t *testing.T, name, body string, want []*regexp.Regexp) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i := range max(len(lines), len(want)) {
		switch {
		case i >= len(lines):
			t.Errorf("mgr:%s: line %d missing, want %s", name, i+1, want[i])
		case i >= len(want):
			t.Errorf("mgr:%s: extra line %d %q", name, i+1, lines[i])
		case !want[i].MatchString(lines[i]):
			t.Errorf("mgr:%s: line %d = %q, want %s", name, i+1, lines[i], want[i])
		}
	}
}

// mgrValues parses "name = value" lines.
func mgrValues(t *testing.T, name, body string) (names []string, values map[string]string) {
	t.Helper()
	values = map[string]string{}
	for line := range strings.Lines(body) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " = ")
		if !ok {
			t.Errorf("mgr:%s: line %q is not name = value", name, line)
			continue
		}
		names = append(names, k)
		values[k] = v
	}
	return names, values
}

// squidInfo is the body of mgr:info from Squid 5.7 (Debian 12) as an
// accelerator: the layout cuttle's page must keep.
const squidInfo = `Squid Object Cache: Version 5.7
Build Info: Debian linux
Service Name: squid
Start Time:	Wed, 25 Nov 2026 17:28:28 GMT
Current Time:	Wed, 25 Nov 2026 17:28:31 GMT
Connection information for squid:
	Number of clients accessing cache:	1
	Number of HTTP requests received:	6
	Number of ICP messages received:	0
	Number of ICP messages sent:	0
	Number of queued ICP replies:	0
	Number of HTCP messages received:	0
	Number of HTCP messages sent:	0
	Request failure ratio:	 0.00
	Average HTTP requests per minute since start:	117.6
	Average ICP messages per minute since start:	0.0
	Select loop called: 34 times, 90.026 ms avg
Cache information for squid:
	Hits as % of all requests:	5min: 0.0%, 60min: 0.0%
	Hits as % of bytes sent:	5min: -0.0%, 60min: -0.0%
	Memory hits as % of hit requests:	5min: 0.0%, 60min: 0.0%
	Disk hits as % of hit requests:	5min: 0.0%, 60min: 0.0%
	Storage Swap size:	112 KB
	Storage Swap capacity:	 0.2% used, 99.8% free
	Storage Mem size:	232 KB
	Storage Mem capacity:	 1.4% used, 98.6% free
	Mean Object Size:	11.20 KB
	Requests given to unlinkd:	0
Median Service Times (seconds)  5 min    60 min:
	HTTP Requests (All):   0.00000  0.00000
	Cache Misses:          0.00000  0.00000
	Cache Hits:            0.00000  0.00000
	Near Hits:             0.00000  0.00000
	Not-Modified Replies:  0.00000  0.00000
	DNS Lookups:           0.00000  0.00000
	ICP Queries:           0.00000  0.00000
Resource usage for squid:
	UP Time:	3.061 seconds
	CPU Time:	0.043 seconds
	CPU Usage:	1.41%
	CPU Usage, 5 minute avg:	0.00%
	CPU Usage, 60 minute avg:	0.00%
	Maximum Resident Size: 108864 KB
	Page faults with physical i/o: 2
Memory accounted for:
	Total accounted:          651 KB
	memPoolAlloc calls:      2295
	memPoolFree calls:       2396
File descriptor usage for squid:
	Maximum number of file descriptors:   20000
	Largest file desc currently in use:     24
	Number of file desc currently in use:   17
	Files queued for open:                   0
	Available number of file descriptors: 19983
	Reserved number of file descriptors:   100
	Store Disk files open:                   0
Internal Data Structures:
	    63 StoreEntries
	    56 StoreEntries with MemObjects
	     3 Hot Object Cache Items
	    10 on-disk objects
`

// squidCounters lists the names of Squid 5.7's mgr:counters, in order.
const squidCounters = `sample_time client_http.requests client_http.hits client_http.errors
client_http.kbytes_in client_http.kbytes_out client_http.hit_kbytes_out server.all.requests
server.all.errors server.all.kbytes_in server.all.kbytes_out server.http.requests server.http.errors
server.http.kbytes_in server.http.kbytes_out server.ftp.requests server.ftp.errors server.ftp.kbytes_in
server.ftp.kbytes_out server.other.requests server.other.errors server.other.kbytes_in
server.other.kbytes_out icp.pkts_sent icp.pkts_recv icp.queries_sent icp.replies_sent
icp.queries_recv icp.replies_recv icp.query_timeouts icp.replies_queued icp.kbytes_sent
icp.kbytes_recv icp.q_kbytes_sent icp.r_kbytes_sent icp.q_kbytes_recv icp.r_kbytes_recv
icp.times_used cd.times_used cd.msgs_sent cd.msgs_recv cd.memory cd.local_memory cd.kbytes_sent
cd.kbytes_recv unlink.requests page_faults select_loops cpu_time wall_time swap.outs swap.ins
swap.files_cleaned aborted_requests`

// squidAvg lists the names of Squid 5.7's mgr:5min and mgr:60min, in
// order.
const squidAvg = `sample_start_time sample_end_time client_http.requests client_http.hits
client_http.errors client_http.kbytes_in client_http.kbytes_out client_http.all_median_svc_time
client_http.miss_median_svc_time client_http.nm_median_svc_time client_http.nh_median_svc_time
client_http.hit_median_svc_time server.all.requests server.all.errors server.all.kbytes_in
server.all.kbytes_out server.http.requests server.http.errors server.http.kbytes_in
server.http.kbytes_out server.ftp.requests server.ftp.errors server.ftp.kbytes_in
server.ftp.kbytes_out server.other.requests server.other.errors server.other.kbytes_in
server.other.kbytes_out icp.pkts_sent icp.pkts_recv icp.queries_sent icp.replies_sent
icp.queries_recv icp.replies_recv icp.replies_queued icp.query_timeouts icp.kbytes_sent
icp.kbytes_recv icp.q_kbytes_sent icp.r_kbytes_sent icp.q_kbytes_recv icp.r_kbytes_recv
icp.query_median_svc_time icp.reply_median_svc_time dns.median_svc_time unlink.requests
page_faults select_loops select_fds average_select_fd_period median_select_fds swap.outs swap.ins
swap.files_cleaned aborted_requests syscalls.disk.opens syscalls.disk.closes syscalls.disk.reads
syscalls.disk.writes syscalls.disk.seeks syscalls.disk.unlinks syscalls.sock.accepts
syscalls.sock.sockets syscalls.sock.connects syscalls.sock.binds syscalls.sock.closes
syscalls.sock.reads syscalls.sock.writes syscalls.sock.recvfroms syscalls.sock.sendtos cpu_time
wall_time cpu_usage`

// avgUnit is what follows the value of each 5min line.
func avgUnit(name string) string {
	switch {
	case strings.HasPrefix(name, "sample_"):
		return ""
	case strings.HasSuffix(name, "_svc_time"), name == "cpu_time", name == "wall_time":
		return " seconds"
	case name == "cpu_usage":
		return "%"
	case name == "average_select_fd_period":
		return "/fd"
	case name == "median_select_fds":
		return ""
	}
	return "/sec"
}

func TestManagerMenu(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), nil)
	body := p.page(t, "menu")
	line := regexp.MustCompile(`^ (\S+) *\t(\S.*?) *\t(public|hidden|protected)$`)
	var names []string
	for l := range strings.Lines(body) {
		l = strings.TrimSuffix(l, "\n")
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("menu line %q is not Squid's layout", l)
			continue
		}
		if name, _, _ := strings.Cut(l, "\t"); len(m[1]) < 22 && len(name) != 23 {
			t.Errorf("menu line %q: name column %d wide, want 23", l, len(name))
		}
		names = append(names, m[1])
	}
	want := "menu info counters 5min 60min utilization storedir mem"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("menu pages = %q, want %q", got, want)
	}
	for _, name := range names {
		if name != "menu" {
			p.page(t, name) // each listed page answers 200
		}
	}
}

func TestManagerCounters(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), nil)
	p.traffic(t)
	p.clock.advance(1500 * time.Millisecond)
	sn := p.stats.Snapshot()
	body := p.page(t, "counters")
	names, v := mgrValues(t, "counters", body)
	if got, want := strings.Join(names, " "), strings.Join(strings.Fields(squidCounters), " "); got != want {
		t.Errorf("counters names =\n%s\nwant\n%s", got, want)
	}
	for name, want := range map[string]string{
		"sample_time":                "1795627647.617000 (Wed, 25 Nov 2026 17:27:27 GMT)",
		"client_http.requests":       "5", // the page's own request is counted when it ends
		"client_http.hits":           "2",
		"client_http.errors":         "0",
		"client_http.kbytes_out":     strconv.FormatInt(kb(sn.ClientBytesOut), 10),
		"client_http.hit_kbytes_out": strconv.FormatInt(kb(sn.HitBytesOut), 10),
		"server.all.requests":        "3",
		"server.http.requests":       "3",
		"server.all.errors":          "0",
		"server.ftp.requests":        "0",
		"icp.pkts_sent":              "0",
		"swap.outs":                  "3",
		"swap.ins":                   "0",
		"aborted_requests":           "0",
		"wall_time":                  "1.500000",
	} {
		if v[name] != want {
			t.Errorf("counters %s = %q, want %q", name, v[name], want)
		}
	}
	if _, err := strconv.ParseFloat(v["cpu_time"], 64); err != nil {
		t.Errorf("counters cpu_time = %q, want a number", v["cpu_time"])
	}
	// The counters page counted itself once it was sent.
	if got := p.stats.Snapshot().ClientRequests; got != 6 {
		t.Errorf("requests after the page = %d, want 6", got)
	}
}

func TestManagerInfo(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), func(o *Options) {
		o.StoreInfo = func() []TierInfo {
			return []TierInfo{
				{Tier: "memory", Objects: 3, Bytes: 300 << 10, MaxBytes: 16 << 20, MaxObjectSize: 1 << 20},
				{Tier: "disk", Type: "ufs", Path: "/nonexistent", Objects: 10, Bytes: 112 << 10, MaxBytes: 50 << 20},
			}
		}
	})
	p.stats.Tick()
	p.traffic(t)
	p.clock.advance(time.Minute)
	p.stats.Tick()
	body := p.page(t, "info")
	checkLayout(t, "info", body, mgrLayout(squidInfo, "Squid Object Cache: Version ", "Build Info: "))
	for _, want := range []string{
		"Squid Object Cache: Version cuttle/test\n",
		"Start Time:\tWed, 25 Nov 2026 17:27:27 GMT\n",
		"Current Time:\tWed, 25 Nov 2026 17:28:27 GMT\n",
		"\tNumber of clients accessing cache:\t1\n",
		"\tNumber of HTTP requests received:\t5\n",
		"\tRequest failure ratio:\t 0.00\n",
		"\tAverage HTTP requests per minute since start:\t5.0\n",
		"\tHits as % of all requests:\t5min: 40.0%, 60min: 40.0%\n",
		"\tMemory hits as % of hit requests:\t5min: 100.0%, 60min: 100.0%\n",
		"\tDisk hits as % of hit requests:\t5min: 0.0%, 60min: 0.0%\n",
		"\tStorage Swap size:\t112 KB\n",
		"\tStorage Swap capacity:\t 0.2% used, 99.8% free\n",
		"\tStorage Mem size:\t300 KB\n",
		"\tStorage Mem capacity:\t 1.8% used, 98.2% free\n",
		"\tMean Object Size:\t11.20 KB\n",
		"\tUP Time:\t60.000 seconds\n",
		"\t    10 StoreEntries\n",
		"\t     3 StoreEntries with MemObjects\n",
		"\t     3 Hot Object Cache Items\n",
		"\t    10 on-disk objects\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("info lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("info:\n%s", body)
	}
}

func TestManagerAverages(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), nil)
	p.stats.Tick() // at the start
	p.traffic(t)
	p.clock.advance(time.Minute)
	p.stats.Tick()
	for _, page := range []string{"5min", "60min"} {
		body := p.page(t, page)
		names, v := mgrValues(t, page, body)
		if got, want := strings.Join(names, " "), strings.Join(strings.Fields(squidAvg), " "); got != want {
			t.Errorf("%s names =\n%s\nwant\n%s", page, got, want)
		}
		for _, name := range names {
			unit := avgUnit(name)
			if unit == "" && strings.HasPrefix(name, "sample_") {
				continue
			}
			if !regexp.MustCompile(`^` + mgrNumber + regexp.QuoteMeta(unit) + `$`).MatchString(v[name]) {
				t.Errorf("%s %s = %q, want a number with %q", page, name, v[name], unit)
			}
		}
		for name, want := range map[string]string{
			"sample_start_time":    "1795627647.617000 (Wed, 25 Nov 2026 17:27:27 GMT)",
			"sample_end_time":      "1795627707.617000 (Wed, 25 Nov 2026 17:28:27 GMT)",
			"client_http.requests": "0.083333/sec", // 5 in 60 s
			"client_http.hits":     "0.033333/sec",
			"client_http.errors":   "0.000000/sec",
			"server.all.requests":  "0.050000/sec",
			"server.http.requests": "0.050000/sec",
			"swap.outs":            "0.050000/sec",
			"wall_time":            "60.000000 seconds",
			"icp.pkts_sent":        "0.000000/sec",
		} {
			if v[name] != want {
				t.Errorf("%s %s = %q, want %q", page, name, v[name], want)
			}
		}
	}
}

// TestManagerWindow: before two samples exist, the averages compare the
// counters now with the single sample, or with zero at the start.
func TestManagerWindow(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), nil)
	p.traffic(t)
	p.clock.advance(10 * time.Second)
	_, v := mgrValues(t, "5min", p.page(t, "5min"))
	if got, want := v["client_http.requests"], "0.500000/sec"; got != want {
		t.Errorf("no sample: requests = %q, want %q", got, want)
	}
	p.stats.Tick() // 6 requests now, at +10 s
	p.traffic(t)
	p.clock.advance(10 * time.Second)
	_, v = mgrValues(t, "5min", p.page(t, "5min"))
	for name, want := range map[string]string{
		"sample_start_time":    "1795627657.617000 (Wed, 25 Nov 2026 17:27:37 GMT)",
		"sample_end_time":      "1795627667.617000 (Wed, 25 Nov 2026 17:27:47 GMT)",
		"client_http.requests": "0.500000/sec",
		"wall_time":            "10.000000 seconds",
	} {
		if v[name] != want {
			t.Errorf("one sample: %s = %q, want %q", name, v[name], want)
		}
	}
}

func TestManagerUtilization(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), nil)
	sections := func(body string) map[string]string {
		out := map[string]string{}
		for _, sec := range strings.Split(body, "\n\n") {
			title, rest, _ := strings.Cut(sec, "\n")
			out[title] = rest
		}
		return out
	}
	body := p.page(t, "utilization")
	if !strings.HasPrefix(body, "Cache Utilisation:\n\nLast 5 minutes:\n(no values recorded yet)\n\n") {
		t.Errorf("utilization starts %q", body[:min(len(body), 80)])
	}
	got := sections(body)
	for _, title := range []string{"Last 5 minutes:", "Last 15 minutes:", "Last hour:", "Last 8 hours:", "Last day:", "Last 3 days:"} {
		if got[title] != "(no values recorded yet)" {
			t.Errorf("without samples %q = %q", title, got[title])
		}
	}
	totals, ok := got["Totals since cache startup:"]
	if !ok {
		t.Fatalf("utilization has no totals:\n%s", body)
	}
	names, _ := mgrValues(t, "utilization totals", totals)
	if strings.Join(names, " ") != strings.Join(strings.Fields(squidCounters), " ") {
		t.Errorf("utilization totals names = %q", names)
	}

	for range 6 {
		p.stats.Tick()
		p.traffic(t)
		p.clock.advance(time.Minute)
	}
	got = sections(p.page(t, "utilization"))
	names, v := mgrValues(t, "utilization 5 minutes", got["Last 5 minutes:"])
	if strings.Join(names, " ") != strings.Join(strings.Fields(squidAvg), " ") {
		t.Errorf("utilization 5 minutes names = %q", names)
	}
	if v["wall_time"] != "300.000000 seconds" {
		t.Errorf("utilization 5 minutes wall_time = %q, want 300 s", v["wall_time"])
	}
	if got["Last 15 minutes:"] != "(no values recorded yet)" {
		t.Errorf("utilization 15 minutes = %q, want no values", got["Last 15 minutes:"])
	}
}

func TestManagerStoredir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newMgrProxy(t, mgrRules(t), func(o *Options) {
		o.StoreInfo = func() []TierInfo {
			return []TierInfo{
				{Tier: "memory", Objects: 3, Bytes: 300 << 10, MaxBytes: 16 << 20},
				{Tier: "disk", Type: "ufs", Path: dir, Objects: 7, Bytes: 28 << 10, MaxBytes: 50 << 20},
				{Tier: "disk", Type: "rock", Path: dir + "/rock", Objects: 1, Bytes: 8 << 10, MaxBytes: 10 << 20},
			}
		}
	})
	body := p.page(t, "storedir")
	want := "Store Directory Statistics:\n" +
		"Store Entries          : 8\n" +
		"Maximum Swap Size      : 61440 KB\n" +
		"Current Store Swap Size: 36.00 KB\n" +
		"Current Capacity       : 0.06% used, 99.94% free\n" +
		"\nStore Directory #0 (ufs): " + dir + "\n" +
		"FS Block Size 4096 Bytes\n" +
		"Maximum Size: 51200 KB\n" +
		"Current Size: 28.00 KB\n" +
		"Percent Used: 0.05%\n" +
		"Current entries:         7\n"
	if !strings.HasPrefix(body, want) {
		t.Errorf("storedir =\n%s\nwant it to start with\n%s", body, want)
	}
	for _, re := range []string{
		`(?m)^Filesystem Space in use: [0-9]+/[0-9]+ KB \([0-9]+%\)$`,
		`(?m)^Filesystem Inodes in use: [0-9]+/[0-9]+ \([0-9]+%\)$`,
		`(?m)^Flags:$`,
		`(?m)^Store Directory #1 \(rock\): ` + regexp.QuoteMeta(dir) + `/rock$`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("storedir does not match %s:\n%s", re, body)
		}
	}
}

func TestManagerMem(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), nil)
	body := p.page(t, "mem")
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if lines[0] != "Current memory usage:" || !strings.HasPrefix(lines[1], "Pool\t Obj Size\tChunks\t") ||
		!strings.HasPrefix(lines[2], " \t (bytes)\tKB/ch\t obj/ch\t(#)\t") {
		t.Fatalf("mem header =\n%s", strings.Join(lines[:3], "\n"))
	}
	columns := len(strings.Split(lines[2], "\t")) - 1 // the header ends in a tab
	rows, total := 0, false
	for _, l := range lines[3:] {
		if strings.HasPrefix(l, "Cumulative allocated volume: ") {
			break
		}
		f := strings.Split(l, "\t")
		if len(f) != columns {
			t.Errorf("mem row %q has %d columns, want %d", l, len(f), columns)
		}
		if len(f[0]) < 20 {
			t.Errorf("mem row %q: pool name not padded to 20", l)
		}
		total = strings.HasPrefix(l, "Total ")
		rows++
	}
	if rows < 2 || !total {
		t.Errorf("mem has %d rows, last Total %v:\n%s", rows, total, body)
	}
	for _, re := range []string{
		`(?m)^Cumulative allocated volume: [0-9.]+ MB$`,
		`(?m)^Current overhead: [0-9]+ bytes \([0-9.]+%\)$`,
		`(?m)^Pools ever used: +[0-9]+ \(shown above\)$`,
		`(?m)^Large buffers: 0 \(0 KB\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("mem does not match %s", re)
		}
	}
}

// TestManagerAccess: the manager goes through http_access with the
// built-in manager acl, as in Squid; nothing reaches the origin and
// nothing is stored.
func TestManagerAccess(t *testing.T) {
	t.Parallel()
	manager := func(t *testing.T) ACL {
		return mustACL(t, "url_regex", "-i", "^cache_object://", "+i", "^[^:]+://[^/]+/squid-internal-mgr/")
	}
	tests := []struct {
		name       string
		rules      func(t *testing.T) []Rule
		raw        string
		wantStatus int
		wantLog    string
	}{
		{
			name:       "allow localhost manager",
			rules:      mgrRules,
			raw:        "GET /squid-internal-mgr/info HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
			wantStatus: 200,
			wantLog:    "TCP_MISS/200 GET http://accel-test.local:3128/squid-internal-mgr/info - HIER_NONE/- text/plain",
		},
		{
			name:       "query and any host",
			rules:      mgrRules,
			raw:        "GET /squid-internal-mgr/counters?x=1 HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n",
			wantStatus: 200,
			wantLog:    "TCP_MISS/200 GET http://accel-test.local:3128/squid-internal-mgr/counters? - HIER_NONE/- text/plain",
		},
		{
			name: "deny manager",
			rules: func(t *testing.T) []Rule {
				return []Rule{{Allow: false, Terms: []Term{{ACL: manager(t)}}}, {Allow: true, Terms: []Term{{ACL: aclAll{}}}}}
			},
			raw:        "GET /squid-internal-mgr/info HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
			wantStatus: 403,
			wantLog:    "TCP_DENIED/403 GET http://accel-test.local:3128/squid-internal-mgr/info - HIER_NONE/- text/html",
		},
		{
			name: "allowed from another address only",
			rules: func(t *testing.T) []Rule {
				other := mustACL(t, "src", "10.0.0.1")
				return []Rule{
					{Allow: true, Terms: []Term{{ACL: other}, {ACL: manager(t)}}},
					{Allow: false, Terms: []Term{{ACL: manager(t)}}},
					{Allow: true, Terms: []Term{{ACL: aclAll{}}}},
				}
			},
			raw:        "GET cache_object://127.0.0.1/info HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
			wantStatus: 403,
			wantLog:    "TCP_DENIED/403 GET cache_object://127.0.0.1/info - HIER_NONE/- text/html",
		},
		{
			name:       "cache_object",
			rules:      mgrRules,
			raw:        "GET cache_object://127.0.0.1/counters@secret HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: squidclient/5.7\r\nAccept: */*\r\nConnection: close\r\n\r\n",
			wantStatus: 200,
			wantLog:    "TCP_MISS/200 GET cache_object://127.0.0.1/counters@secret - HIER_NONE/- text/plain",
		},
		{
			name:       "unknown page",
			rules:      mgrRules,
			raw:        "GET /squid-internal-mgr/nosuchpage HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
			wantStatus: 404,
			wantLog:    "TCP_MISS/404 GET http://accel-test.local:3128/squid-internal-mgr/nosuchpage - HIER_NONE/- text/html",
		},
		{
			name:       "page below a page",
			rules:      mgrRules,
			raw:        "GET /squid-internal-mgr/menu/x HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
			wantStatus: 404,
			wantLog:    "TCP_MISS/404 GET http://accel-test.local:3128/squid-internal-mgr/menu/x - HIER_NONE/- text/html",
		},
		{
			name:       "HEAD",
			rules:      mgrRules,
			raw:        "HEAD /squid-internal-mgr/info HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
			wantStatus: 200,
			wantLog:    "TCP_MISS/200 HEAD http://accel-test.local:3128/squid-internal-mgr/info - HIER_NONE/- text/plain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newMgrProxy(t, tt.rules(t), nil)
			for i := range 2 { // twice: a page is never served from the cache
				res, body, _ := p.do(t, tt.raw)
				if res.StatusCode != tt.wantStatus {
					t.Fatalf("%q: status %d, want %d\n%s", tt.raw, res.StatusCode, tt.wantStatus, body)
				}
				switch {
				case tt.wantStatus == 404 && res.Header.Get("X-Squid-Error") != "ERR_INVALID_URL 0":
					t.Errorf("404 X-Squid-Error = %q, want ERR_INVALID_URL 0", res.Header.Get("X-Squid-Error"))
				case strings.HasPrefix(tt.raw, "HEAD") && (body != "" || res.Header.Get("Content-Length") == ""):
					t.Errorf("HEAD: body %q, Content-Length %q", body, res.Header.Get("Content-Length"))
				}
				lines := p.logLines(t)
				if got := lines[len(lines)-1]; !strings.Contains(got, " 127.0.0.1 ") || !strings.HasSuffix(stripSize(got), tt.wantLog) {
					t.Errorf("request %d: access.log line %q, want it to end %q", i+1, got, tt.wantLog)
				}
			}
			if n := p.origin.count(); n != 0 {
				t.Errorf("origin got %d requests, want none", n)
			}
			if n := p.stats.Snapshot().SwapOuts; n != 0 {
				t.Errorf("%d objects stored, want none", n)
			}
			for _, key := range []string{
				"http://accel-test.local:3128/squid-internal-mgr/info",
				"cache_object://127.0.0.1/counters@secret",
			} {
				if _, err := p.h.opts.Store.Get(context.Background(), key); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("store Get(%s) = %v, want ErrNotFound", key, err)
				}
			}
		})
	}
}

// stripSize removes the timestamp, elapsed time, client and size fields of
// a native access.log line, keeping the result code and what follows the
// size.
func stripSize(line string) string {
	f := strings.Fields(line)
	if len(f) < 10 {
		return line
	}
	return f[3] + " " + strings.Join(f[5:], " ")
}

// TestManagerOtherSite: an absolute URL naming another site is not the
// manager, even under /squid-internal-mgr/ (Squid's internalHostnameIs):
// it is forwarded like any request.
func TestManagerOtherSite(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), nil)
	res, body, _ := p.do(t, "GET http://www.example.com/squid-internal-mgr/info HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	if res.StatusCode != 200 || body != "path /squid-internal-mgr/info\n" {
		t.Errorf("status %d body %q, want the origin's answer", res.StatusCode, body)
	}
	if n := p.origin.count(); n != 1 {
		t.Errorf("origin got %d requests, want 1", n)
	}
	// Absolute, naming this cache: the manager.
	res, body, _ = p.do(t, "GET http://ACCEL-test.local:3128/squid-internal-mgr/info HTTP/1.1\r\nHost: x\r\n\r\n")
	if res.StatusCode != 200 || !strings.HasPrefix(body, "Squid Object Cache: Version cuttle/test\n") {
		t.Errorf("absolute manager URL: status %d body %.60q", res.StatusCode, body)
	}
}

// TestCacheObjectRequestLine: only the scheme of a cache_object:// request
// line is respelled, whatever the reads the request arrives in.
func TestCacheObjectRequestLine(t *testing.T) {
	t.Parallel()
	const next = "GET cache_object://next HTTP/1.1\r\n\r\n" // a second request: never rewritten
	tests := []struct{ in, want string }{
		{"GET cache_object://127.0.0.1/info HTTP/1.0\r\n\r\n" + next, "GET cache-object://127.0.0.1/info HTTP/1.0\r\n\r\n" + next},
		{"POST CACHE_OBJECT://h/x HTTP/1.0\r\n\r\n" + next, "POST CACHE-OBJECT://h/x HTTP/1.0\r\n\r\n" + next},
		{"GET /cache_object://x HTTP/1.1\r\n\r\n" + next, "GET /cache_object://x HTTP/1.1\r\n\r\n" + next},
		{"GET / HTTP/1.1\r\nX: cache_object://\r\n\r\n", "GET / HTTP/1.1\r\nX: cache_object://\r\n\r\n"},
		{"GET cache_object:", "GET cache_object:"},
		{"GET cache_object://", "GET cache-object://"},
		{"", ""},
		{"\x16\x03\x01 cache_object://", "\x16\x03\x01 cache_object://"},
		{strings.Repeat("A", 100) + " cache_object://", strings.Repeat("A", 100) + " cache_object://"},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			c := &cacheObjectConn{Conn: readerConn{r}}
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("rewrite(%q, one byte %v) = %q, want %q", tt.in, oneByte, got, tt.want)
			}
		}
	}
}

// readerConn is a net.Conn that only reads.
type readerConn struct{ io.Reader }

func (readerConn) Write(p []byte) (int, error)      { return len(p), nil }
func (readerConn) Close() error                     { return nil }
func (readerConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (readerConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (readerConn) SetDeadline(time.Time) error      { return nil }
func (readerConn) SetReadDeadline(time.Time) error  { return nil }
func (readerConn) SetWriteDeadline(time.Time) error { return nil }

// TestCacheObjectKeepAlive: a request after the first on a connection is
// not rewritten, and other requests pass through the listener untouched.
func TestCacheObjectKeepAlive(t *testing.T) {
	t.Parallel()
	p := newMgrProxy(t, mgrRules(t), nil)
	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i, want := range []int{200, 200, 400} {
		raw := get("/page")
		switch i {
		case 1:
			raw = "GET /squid-internal-mgr/menu HTTP/1.1\r\nHost: x\r\n\r\n"
		case 2:
			raw = "GET cache_object://127.0.0.1/info HTTP/1.1\r\nHost: x\r\n\r\n"
		}
		fmt.Fprint(conn, raw)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("request %d: status %d, want %d", i+1, res.StatusCode, want)
		}
	}
}

// TestSquidclient runs Squid's own client against the manager: its
// cache_object:// requests must work as against Squid. squidclient is the
// Debian package of that name; CI installs it.
func TestSquidclient(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("squidclient")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("squidclient not found (apt-get install squidclient)")
		}
		t.Skip("squidclient not found (apt-get install squidclient)")
	}
	p := newMgrProxy(t, mgrRules(t), nil)
	p.traffic(t)
	_, port, _ := net.SplitHostPort(p.Listener.Addr().String())
	for _, tt := range []struct {
		page string
		want []string
	}{
		{"info", []string{"Squid Object Cache: Version cuttle/test\n", "\tNumber of HTTP requests received:\t5\n"}},
		{"counters", []string{"\nclient_http.requests = 6\n", "\nclient_http.hits = 2\n", "\nserver.all.requests = 3\n"}},
	} {
		page, want := tt.page, tt.want
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, "-h", "127.0.0.1", "-p", port, "mgr:"+page).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("squidclient mgr:%s: %v\n%s", page, err, out)
		}
		if !strings.Contains(string(out), " 200 OK\r\n") {
			t.Errorf("squidclient mgr:%s: no 200 OK in\n%s", page, out)
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("squidclient mgr:%s: output lacks %q:\n%s", page, w, out)
			}
		}
	}
	lines := p.logLines(t)
	for _, l := range lines[len(lines)-2:] {
		if !regexp.MustCompile(` TCP_MISS/200 [0-9]+ GET cache_object://127\.0\.0\.1/(info|counters) - HIER_NONE/- text/plain$`).MatchString(l) {
			t.Errorf("access.log line %q, want a cache_object TCP_MISS/200", l)
		}
	}
}
