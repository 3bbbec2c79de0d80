package httpcache

import (
	"bufio"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// mtParse parses an exposition with Prometheus's own text parser (legacy
// metric names: the strictest) and checks what that parser lets pass:
// HELP then TYPE before each family's samples, families not split or
// repeated, consistent histograms.
func mtParse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Prometheus's parser rejects the exposition: %v\n%s", err, text)
	}
	mtCheckLayout(t, text)
	for name, f := range fams {
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		if !strings.HasPrefix(name, "cuttle_") && name != "process_resident_memory_bytes" && name != "go_memstats_heap_alloc_bytes" {
			t.Errorf("metric %s: want the cuttle_ prefix", name)
		}
		if f.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			prev, prevLE := uint64(0), math.Inf(-1)
			for _, b := range h.GetBucket() {
				if b.GetCumulativeCount() < prev || b.GetUpperBound() <= prevLE {
					t.Errorf("%s: bucket le=%v count %d after le=%v count %d: not increasing", name, b.GetUpperBound(), b.GetCumulativeCount(), prevLE, prev)
				}
				prev, prevLE = b.GetCumulativeCount(), b.GetUpperBound()
			}
			if prev > h.GetSampleCount() {
				t.Errorf("%s: last bucket %d > count %d", name, prev, h.GetSampleCount())
			}
		}
	}
	return fams
}

// mtCheckLayout checks the line structure of an exposition: every family
// opens with its HELP and TYPE lines, its samples follow without another
// family in between, no family comes twice, and every line ends with \n.
func mtCheckLayout(t *testing.T, text string) {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("exposition does not end with a newline")
	}
	seen := map[string]bool{}
	var family, typ, help string
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if seen[name] {
				t.Errorf("line %d: family %s again", i+1, name)
			}
			seen[name] = true
			help, family, typ = name, "", ""
		case strings.HasPrefix(line, "# TYPE "):
			name, tp, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if name != help {
				t.Errorf("line %d: TYPE of %s does not follow its HELP", i+1, name)
			}
			family, typ = name, tp
		case line == "" || strings.HasPrefix(line, "#"):
			t.Errorf("line %d: %q: blank or stray comment", i+1, line)
		default:
			name := line[:strings.IndexAny(line, "{ ")]
			base := name
			if typ == "histogram" {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					base = strings.TrimSuffix(base, suf)
				}
			}
			if family == "" || base != family {
				t.Errorf("line %d: sample %s outside its family (current %q)", i+1, name, family)
			}
		}
	}
}

// mtValue returns the value of the sample of family name whose labels
// include the given name, value pairs; it fails the test when there is no
// such sample.
func mtValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric family %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		}
		t.Fatalf("%s: unexpected type %v", name, f.GetType())
	}
	t.Fatalf("no sample %s%v", name, labels)
	return 0
}

// mtBucket returns the cumulative count of the bucket le of a histogram.
func mtBucket(t *testing.T, fams map[string]*dto.MetricFamily, name string, le float64) uint64 {
	t.Helper()
	for _, b := range fams[name].GetMetric()[0].GetHistogram().GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	t.Fatalf("%s: no bucket le=%v", name, le)
	return 0
}

// mtSample is a Metrics with some of everything, for the format tests and
// the benchmark.
func mtSample() *Metrics {
	sn := Snapshot{
		ClientRequests: 1000, ClientHits: 750, ClientErrors: 12,
		ClientBytesIn: 250_000, ClientBytesOut: 9_000_000, HitBytesOut: 6_000_000,
		MemHits: 600, DiskHits: 100, ServerRequests: 260, ServerErrors: 3,
		ServerBytesIn: 3_100_000, ServerBytesOut: 70_000, Aborted: 2, Collapsed: 9,
		SwapOuts: 200, Reloads: 3, ReloadFailures: 1, Clients: 42,
		Revalidations: [numRevalidation]int64{RevalidationUnmodified: 30, RevalidationModified: 5, RevalidationFailed: 1},
		ByClass:       [6]int64{2, 0, 900, 60, 30, 8},
		ByCode: map[string]CodeCount{
			"TCP_MISS": {240, 3_000_000}, "TCP_MEM_HIT": {600, 5_000_000}, "TCP_HIT": {100, 900_000},
			"TCP_REFRESH_UNMODIFIED": {30, 90_000}, "TCP_REFRESH_MODIFIED": {5, 10_000}, "TCP_CF_HIT": {9, 9000},
			"TCP_MISS_ABORTED": {2, 100}, "TCP_DENIED": {10, 4000}, "TCP_NEGATIVE_HIT": {4, 1000},
		},
		Errors: map[string]int64{"ERR_CONNECT_FAIL": 2, "ERR_ACCESS_DENIED": 10, "ERR_READ_TIMEOUT": 1},
	}
	for i, d := range []time.Duration{0, 50 * time.Microsecond, 64 * time.Microsecond, 3 * time.Millisecond, 3 * time.Millisecond, 250 * time.Millisecond, 2 * time.Second, 5 * time.Minute} {
		us := d.Microseconds()
		sn.Origin.Buckets[histBucket(uint64(us))]++
		sn.Origin.Count++
		sn.Origin.Sum += d
		sn.Svc[SvcAll].Buckets[histBucket(uint64(us))] += int64(i + 1)
		sn.Svc[SvcAll].Count += int64(i + 1)
		sn.Svc[SvcAll].Sum += d * time.Duration(i+1)
	}
	return &Metrics{
		Stats: sn,
		Start: time.Date(2026, 11, 25, 17, 27, 27, 500e6, time.UTC),
		Tiers: []TierInfo{
			{Tier: "memory", Objects: 500, Bytes: 40 << 20, MaxBytes: 256 << 20},
			{Tier: "disk", Type: "ufs", Path: "/var/spool/squid", Objects: 9000, Bytes: 900 << 20, MaxBytes: 10 << 30},
			{Tier: "disk", Type: "rock", Path: `/srv/c "2"\x`, Objects: 1, Bytes: 4096, MaxBytes: 1 << 30},
		},
		Conns:   7,
		Process: ProcessFacts{Goroutines: 33, ResidentBytes: 50 << 20, HeapAllocBytes: 12 << 20},
	}
}

// TestMetricsText checks the exposition of a fixed Metrics line by line
// and with Prometheus's parser, and that it does not depend on map order.
func TestMetricsText(t *testing.T) {
	t.Parallel()
	m := mtSample()
	text := string(m.AppendText(nil))
	for range 5 {
		if again := string(mtSample().AppendText(nil)); again != text {
			t.Fatalf("AppendText of equal Metrics differs:\n%s\n---\n%s", text, again)
		}
	}
	var sb strings.Builder
	if n, err := m.WriteTo(&sb); err != nil || sb.String() != text || n != int64(len(text)) {
		t.Errorf("WriteTo = %d, %v and %d bytes, want %d, nil and the text of AppendText", n, err, sb.Len(), len(text))
	}

	for _, want := range []string{
		"# HELP cuttle_requests_total Client requests by result code (access.log %Ss).\n# TYPE cuttle_requests_total counter\n" +
			`cuttle_requests_total{code="TCP_CF_HIT"} 9` + "\n" +
			`cuttle_requests_total{code="TCP_DENIED"} 10` + "\n" +
			`cuttle_requests_total{code="TCP_HIT"} 100` + "\n" +
			`cuttle_requests_total{code="TCP_MEM_HIT"} 600` + "\n" +
			`cuttle_requests_total{code="TCP_MISS"} 240` + "\n" +
			`cuttle_requests_total{code="TCP_MISS_ABORTED"} 2` + "\n" +
			`cuttle_requests_total{code="TCP_NEGATIVE_HIT"} 4` + "\n" +
			`cuttle_requests_total{code="TCP_REFRESH_MODIFIED"} 5` + "\n" +
			`cuttle_requests_total{code="TCP_REFRESH_UNMODIFIED"} 30` + "\n# HELP ",
		`cuttle_sent_bytes_total{code="TCP_MEM_HIT"} 5000000` + "\n",
		`cuttle_responses_total{class="none"} 2` + "\n" + `cuttle_responses_total{class="1xx"} 0` + "\n" +
			`cuttle_responses_total{class="2xx"} 900` + "\n",
		"\ncuttle_start_time_seconds 1795627647.5\n",
		"\ncuttle_hit_ratio 0.75\n",
		"\ncuttle_byte_hit_ratio 0.6666666666666666\n",
		"\n" + `cuttle_revalidations_total{outcome="failed"} 1` + "\n" + `cuttle_revalidations_total{outcome="modified"} 5` + "\n" +
			`cuttle_revalidations_total{outcome="unmodified"} 30` + "\n",
		"\n" + `cuttle_errors_total{kind="ERR_ACCESS_DENIED"} 10` + "\n" + `cuttle_errors_total{kind="ERR_CONNECT_FAIL"} 2` + "\n",
		"\n" + `cuttle_reloads_total{outcome="failed"} 1` + "\n" + `cuttle_reloads_total{outcome="ok"} 2` + "\n",
		"# TYPE cuttle_origin_duration_seconds histogram\n" +
			`cuttle_origin_duration_seconds_bucket{le="0.000064"} 2` + "\n" +
			`cuttle_origin_duration_seconds_bucket{le="0.000128"} 3` + "\n",
		`cuttle_origin_duration_seconds_bucket{le="0.004096"} 5` + "\n",
		`cuttle_origin_duration_seconds_bucket{le="67.108864"} 7` + "\n" +
			`cuttle_origin_duration_seconds_bucket{le="+Inf"} 8` + "\n" +
			"cuttle_origin_duration_seconds_sum 302.256114\n" +
			"cuttle_origin_duration_seconds_count 8\n",
		"\n" + `cuttle_store_objects{path="/srv/c \"2\"\\x",tier="disk"} 1` + "\n" +
			`cuttle_store_objects{path="/var/spool/squid",tier="disk"} 9000` + "\n" +
			`cuttle_store_objects{tier="memory"} 500` + "\n",
		"\n" + `cuttle_store_max_bytes{tier="memory"} 268435456` + "\n",
		"\ncuttle_client_connections 7\n",
		"\ncuttle_clients 42\n",
		"\ncuttle_goroutines 33\n",
		"\nprocess_resident_memory_bytes 52428800\n",
		"\ngo_memstats_heap_alloc_bytes 12582912\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks\n%s\nin\n%s", want, text)
		}
	}

	fams := mtParse(t, text)
	if got := mtValue(t, fams, "cuttle_store_bytes", "path", `/srv/c "2"\x`); got != 4096 {
		t.Errorf("cuttle_store_bytes of the escaped path = %v, want 4096", got)
	}
	if got := mtValue(t, fams, "cuttle_request_duration_seconds"); got != 36 {
		t.Errorf("cuttle_request_duration_seconds count = %v, want 36", got)
	}
	if n := len(fams["cuttle_origin_duration_seconds"].GetMetric()[0].GetHistogram().GetBucket()); n != 22 {
		t.Errorf("origin histogram has %d buckets, want 22 (64µs to 64s and +Inf)", n)
	}

	// Nothing counted yet: still valid, ratios 0, no RSS line when unknown.
	empty := string((&Metrics{}).AppendText(nil))
	fams = mtParse(t, empty)
	if got := mtValue(t, fams, "cuttle_hit_ratio"); got != 0 {
		t.Errorf("hit ratio without requests = %v, want 0", got)
	}
	for _, absent := range []string{"process_resident_memory_bytes", "cuttle_start_time_seconds"} {
		if strings.Contains(empty, absent) {
			t.Errorf("empty Metrics report %s", absent)
		}
	}
}

// TestMetricsHistogramBounds: the bounds exposed are exact boundaries of
// the fine buckets (the cumulative counts are exact), powers of two of
// microseconds from 64 µs to about 67 s.
func TestMetricsHistogramBounds(t *testing.T) {
	t.Parallel()
	k := 6
	for i := metricsBucketFirst; i <= metricsBucketLast; i += metricsBucketStep {
		upper := HistogramUpper(i)
		if want := time.Duration(1<<k) * time.Microsecond; upper != want {
			t.Errorf("HistogramUpper(%d) = %v, want %v", i, upper, want)
		}
		us := uint64(upper / time.Microsecond)
		if below, at := histBucket(us-1), histBucket(us); below > i || at <= i {
			t.Errorf("bound %v (bucket %d): histBucket(%d) = %d, histBucket(%d) = %d; want <= %d and > %d", upper, i, us-1, below, us, at, i, i)
		}
		k++
	}
	if metricsBucketLast >= histBuckets-1 {
		t.Errorf("the last bound is the overflow bucket %d", metricsBucketLast)
	}
}

func TestMetricsLabelEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "TCP_MISS", "TCP_MISS"},
		{"quote", `a"b`, `a\"b`},
		{"backslash", `C:\cache`, `C:\\cache`},
		{"newline", "a\nb", `a\nb`},
		{"all", "\\\"\n", `\\\"\n`},
		{"utf8 kept", "/var/cache/ü", "/var/cache/ü"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"tab kept", "a\tb", "a\tb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(appendLabelValue(nil, tt.in)); got != tt.want {
				t.Errorf("appendLabelValue(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Prometheus's parser reads back the value.
			text := "# HELP cuttle_x x\n# TYPE cuttle_x gauge\ncuttle_x{l=\"" + string(appendLabelValue(nil, tt.in)) + "\"} 1\n"
			got := mtParse(t, text)["cuttle_x"].GetMetric()[0].GetLabel()[0].GetValue()
			if want := strings.ToValidUTF8(tt.in, "\uFFFD"); got != want {
				t.Errorf("parsed value %q, want %q", got, want)
			}
		})
	}
}

func TestMetricsFloat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{0.75, "0.75"},
		{0.000064, "0.000064"},
		{67.108864, "67.108864"},
		{1795627647.5, "1795627647.5"},
		{1e-9, "1e-09"},
		{1e300, "1e+300"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
		{math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		got := string(appendFloat(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if v, err := strconv.ParseFloat(got, 64); err != nil || (v != tt.in && !math.IsNaN(tt.in)) {
			t.Errorf("appendFloat(%v) = %q reads back as %v, %v", tt.in, got, v, err)
		}
	}
}

// TestMetricsAllocs: formatting into a reused buffer allocates nothing.
// Not parallel: testing.AllocsPerRun refuses to run in a parallel test.
func TestMetricsAllocs(t *testing.T) {
	m := mtSample()
	buf := m.AppendText(nil)
	if n := testing.AllocsPerRun(50, func() { buf = m.AppendText(buf[:0]) }); n != 0 {
		t.Errorf("AppendText into a reused buffer: %v allocations, want 0", n)
	}
}

// mtScrape GETs url and parses the exposition.
func mtScrape(t *testing.T, url string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET %s: %d, Content-Type %q", url, res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(b)) {
		t.Errorf("Content-Length %s, body %d bytes", cl, len(b))
	}
	return mtParse(t, string(b)), string(b)
}

// TestMetricsHandler sends real traffic through handlers that share one
// Stats (misses, hits, a revalidation, a 404, collapsed requests, an
// unreachable origin) and checks what /metrics reports.
func TestMetricsHandler(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	stats := NewStats(c.now)
	conns := new(ConnTable)
	wait, release := hfGate()
	defer release()
	o := hfNewOrigin(t, c, func(_ int, rw http.ResponseWriter, req *http.Request) {
		h := rw.Header()
		h.Set("Content-Type", "text/plain")
		switch req.URL.Path {
		case "/reval":
			h.Set("ETag", `"r1"`)
			if req.Header.Get("If-None-Match") == `"r1"` {
				h.Set("Cache-Control", "max-age=60")
				rw.WriteHeader(http.StatusNotModified)
				return
			}
			h.Set("Cache-Control", "max-age=1")
		case "/missing":
			rw.WriteHeader(http.StatusNotFound)
			io.WriteString(rw, "no such thing\n")
			return
		case "/cf":
			wait()
			h.Set("Cache-Control", "max-age=60")
		default:
			h.Set("Cache-Control", "max-age=60")
		}
		io.WriteString(rw, "body of "+req.URL.Path+"\n")
	})
	shared := func(opts *Options) {
		opts.Stats, opts.Conns = stats, conns
		opts.CollapsedForwarding = true
	}
	p := hfNewProxy(t, o, c, nil, shared)

	// A second handler whose origin is gone: an error page.
	gone := hfNewOrigin(t, c, func(int, http.ResponseWriter, *http.Request) {})
	down := hfNewProxy(t, gone, c, nil, shared)
	gone.Close()

	// A listener that follows its connections in the shared ConnTable.
	tracked := httptest.NewUnstartedServer(p.h.Port(Port{Vhost: true, Scheme: "http", ListenPort: 3128}))
	tracked.Config.ConnState, tracked.Config.ConnContext = p.h.ConnState, p.h.ConnContext
	tracked.Start()
	t.Cleanup(tracked.Close)

	var hitBytes int64
	for i, s := range []struct {
		proxy  *hfProxy
		raw    string
		status int
		hit    bool
	}{
		{p, get("/a"), 200, false},
		{p, get("/a"), 200, true},
		{p, get("/reval"), 200, false},
		{p, get("/reval"), 200, true}, // after the clock moves: TCP_REFRESH_UNMODIFIED
		{p, get("/missing"), 404, false},
		{down, get("/down"), 503, false},
	} {
		if i == 3 {
			c.advance(2 * time.Second)
		}
		res, _, n := s.proxy.do(t, s.raw)
		if res.StatusCode != s.status {
			t.Fatalf("step %d: %s: status %d, want %d", i, strings.Fields(s.raw)[1], res.StatusCode, s.status)
		}
		if s.hit {
			hitBytes += n
		}
	}

	// Three concurrent misses for /cf: one goes to the origin, two wait.
	var wg sync.WaitGroup
	replies := make([]hfReply, 3)
	for i := range replies {
		wg.Go(func() { replies[i] = hfDo(p.Listener.Addr().String(), get("/cf")) })
	}
	hfPoll(t, "two requests collapsed on the first", func() bool { return stats.Snapshot().Collapsed == 2 })
	release()
	wg.Wait()
	p.mem.Wait()
	for i, r := range replies {
		if r.err != nil || r.res.StatusCode != 200 {
			t.Fatalf("collapsed request %d: %v %v", i, r.err, r.res)
		}
	}

	// A client that keeps its connection open, after one hit.
	conn, err := net.Dial("tcp", tracked.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, get("/a"))
	cr := &countReader{r: conn}
	br := bufio.NewReader(cr)
	res, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	hitBytes += cr.n - int64(br.Buffered())

	stats.Reloaded(true)
	stats.Reloaded(false)

	tiers := func() []TierInfo {
		return []TierInfo{
			{Tier: "memory", Objects: 3, Bytes: p.mem.Bytes(), MaxBytes: p.mem.MaxBytes()},
			{Tier: "disk", Type: "ufs", Path: "/var/spool/cuttle", Objects: 5, Bytes: 20480, MaxBytes: 100 << 20},
		}
	}
	srv := httptest.NewServer(MetricsHandler(stats, tiers, conns))
	t.Cleanup(srv.Close)
	fams, text := mtScrape(t, srv.URL+"/metrics")

	// Transactions: /a MISS, /a MEM_HIT, /reval MISS, /reval
	// REFRESH_UNMODIFIED, /missing MISS 404, /down MISS 503, /cf MISS and
	// 2 CF_HIT, /a MEM_HIT on the tracked listener.
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"cuttle_requests_total", []string{"code", "TCP_MISS"}, 5},
		{"cuttle_requests_total", []string{"code", "TCP_MEM_HIT"}, 2},
		{"cuttle_requests_total", []string{"code", "TCP_REFRESH_UNMODIFIED"}, 1},
		{"cuttle_requests_total", []string{"code", "TCP_CF_HIT"}, 2},
		{"cuttle_responses_total", []string{"class", "2xx"}, 8},
		{"cuttle_responses_total", []string{"class", "4xx"}, 1},
		{"cuttle_responses_total", []string{"class", "5xx"}, 1},
		{"cuttle_responses_total", []string{"class", "none"}, 0},
		{"cuttle_client_errors_total", nil, 2},
		{"cuttle_hits_total", nil, 5},
		{"cuttle_tier_hits_total", []string{"tier", "memory"}, 2},
		{"cuttle_hit_ratio", nil, 0.5},
		{"cuttle_collapsed_requests_total", nil, 2},
		{"cuttle_revalidations_total", []string{"outcome", "unmodified"}, 1},
		{"cuttle_revalidations_total", []string{"outcome", "modified"}, 0},
		{"cuttle_revalidations_total", []string{"outcome", "failed"}, 0},
		{"cuttle_errors_total", []string{"kind", "ERR_CONNECT_FAIL"}, 1},
		// /a, /reval, its revalidation, /missing, /cf and /down.
		{"cuttle_origin_requests_total", nil, 6},
		{"cuttle_origin_errors_total", nil, 1},
		// Only the origin requests that got an answer have a latency; the
		// test clock stands still during a request.
		{"cuttle_origin_duration_seconds", nil, 5},
		{"cuttle_request_duration_seconds", nil, 10},
		{"cuttle_reloads_total", []string{"outcome", "ok"}, 1},
		{"cuttle_reloads_total", []string{"outcome", "failed"}, 1},
		{"cuttle_store_objects", []string{"tier", "memory"}, 3},
		{"cuttle_store_objects", []string{"tier", "disk", "path", "/var/spool/cuttle"}, 5},
		{"cuttle_store_max_bytes", []string{"tier", "memory"}, 16 << 20},
		{"cuttle_client_connections", nil, 1},
		{"cuttle_clients", nil, 1},
		{"cuttle_start_time_seconds", nil, float64(stats.Start().UnixNano()) / 1e9},
	} {
		if got := mtValue(t, fams, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := mtBucket(t, fams, "cuttle_origin_duration_seconds", 0.000064); got != 5 {
		t.Errorf("origin latency bucket le=64µs = %d, want 5", got)
	}
	if got := mtValue(t, fams, "cuttle_sent_bytes_total", "code", "TCP_MEM_HIT") +
		mtValue(t, fams, "cuttle_sent_bytes_total", "code", "TCP_REFRESH_UNMODIFIED"); got != float64(hitBytes) {
		t.Errorf("bytes sent for MEM_HIT and REFRESH_UNMODIFIED = %v, want %d, what the clients read", got, hitBytes)
	}
	var sent, hitSent float64
	for _, m := range fams["cuttle_sent_bytes_total"].GetMetric() {
		sent += m.GetCounter().GetValue()
		if isTCPHit(m.GetLabel()[0].GetValue()) {
			hitSent += m.GetCounter().GetValue()
		}
	}
	if got := mtValue(t, fams, "cuttle_hit_sent_bytes_total"); got != hitSent {
		t.Errorf("cuttle_hit_sent_bytes_total = %v, want %v, the sum over hit codes", got, hitSent)
	}
	if got, want := mtValue(t, fams, "cuttle_byte_hit_ratio"), hitSent/sent; math.Abs(got-want) > 1e-12 {
		t.Errorf("cuttle_byte_hit_ratio = %v, want %v", got, want)
	}
	if got := mtValue(t, fams, "cuttle_client_received_bytes_total"); got <= 0 {
		t.Errorf("cuttle_client_received_bytes_total = %v, want > 0", got)
	}
	for _, name := range []string{"cuttle_goroutines", "process_resident_memory_bytes", "go_memstats_heap_alloc_bytes"} {
		if got := mtValue(t, fams, name); got <= 0 {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}
	var codes []string
	for _, m := range fams["cuttle_requests_total"].GetMetric() {
		codes = append(codes, m.GetLabel()[0].GetValue())
	}
	if i := strings.Index(text, "cuttle_requests_total{"); i < 0 || !slices.IsSorted(mtLabelOrder(text[i:], "cuttle_requests_total{code=")) {
		t.Errorf("result codes not sorted in\n%s", text)
	}
	if len(codes) != 4 {
		t.Errorf("result codes %v, want 4", codes)
	}
}

// mtLabelOrder returns the label values of the lines of text that start
// with prefix, in order.
func mtLabelOrder(text, prefix string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			v, _, _ = strings.Cut(v, "}")
			out = append(out, v)
		}
	}
	return out
}

// TestMetricsHandlerRequests: GET and HEAD /metrics, 405 for other
// methods, 404 for other paths.
func TestMetricsHandlerRequests(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(MetricsHandler(NewStats(nil), nil, nil))
	t.Cleanup(srv.Close)
	tests := []struct {
		method, path string
		status       int
		allow        string
		body         bool
	}{
		{"GET", "/metrics", 200, "", true},
		{"HEAD", "/metrics", 200, "", false},
		{"POST", "/metrics", 405, "GET, HEAD", true},
		{"DELETE", "/metrics", 405, "GET, HEAD", true},
		{"GET", "/", 404, "", true},
		{"GET", "/metrics/x", 404, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status || res.Header.Get("Allow") != tt.allow || (len(b) > 0) != tt.body {
				t.Errorf("%s %s = %d, Allow %q, %d bytes; want %d, Allow %q, body %v",
					tt.method, tt.path, res.StatusCode, res.Header.Get("Allow"), len(b), tt.status, tt.allow, tt.body)
			}
			if tt.status == 200 {
				if ct := res.Header.Get("Content-Type"); ct != MetricsContentType {
					t.Errorf("Content-Type %q, want %q", ct, MetricsContentType)
				}
				if cl, _ := strconv.Atoi(res.Header.Get("Content-Length")); cl < 1000 {
					t.Errorf("Content-Length %d, want the length of the exposition", cl)
				}
			}
		})
	}
}

func BenchmarkWriteMetrics(b *testing.B) {
	m := mtSample()
	buf := m.AppendText(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendText(buf[:0])
	}
	if len(buf) == 0 {
		b.Fatal("empty exposition")
	}
}
