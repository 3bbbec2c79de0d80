package httpcache

import (
	"bytes"
	"cmp"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Prometheus metrics.
//
// The Prometheus text exposition format, version 0.0.4, is written here by
// hand rather than with client_golang: what cuttle exposes is a snapshot of
// counters it already keeps ([Stats]), so the registry, collectors and
// protobuf machinery of that library (and its dependencies) would buy
// nothing but a bigger binary. The format is a few rules: a "# HELP" and a
// "# TYPE" line per metric family, then one "name{label="value"} number"
// line per sample, label values escaped (backslash, double quote, newline).
// The tests check the output with Prometheus's own parser.

// MetricsContentType is the Content-Type of the text exposition format.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// Metrics is what one scrape of the Prometheus endpoint reports: the
// counters, the store's tiers, the open connections and a few facts about
// the process. [MetricsHandler] fills one per scrape; [Metrics.AppendText]
// and [Metrics.WriteTo] format it.
type Metrics struct {
	// Stats are the counters ([Stats.Snapshot]).
	Stats Snapshot
	// Start is when the counters started ([Stats.Start]); the zero time
	// leaves cuttle_start_time_seconds out.
	Start time.Time
	// Tiers are the store's tiers (memory and each cache_dir); nil reports
	// none.
	Tiers []TierInfo
	// Conns is the number of open client connections ([ConnTable.Len]).
	Conns int
	// Process holds facts about the running process ([ReadProcessFacts]).
	Process ProcessFacts
}

// ProcessFacts are facts about the process that are cheap to read: no
// stop-the-world, unlike runtime.ReadMemStats.
type ProcessFacts struct {
	// Goroutines is runtime.NumGoroutine.
	Goroutines int
	// ResidentBytes is the resident set size; 0 when unknown (no
	// /proc/self/statm), which leaves process_resident_memory_bytes out.
	ResidentBytes int64
	// HeapAllocBytes is the memory taken by live and not yet swept heap
	// objects, what runtime.MemStats.HeapAlloc reports.
	HeapAllocBytes uint64
}

// ReadProcessFacts reads the facts about the running process.
func ReadProcessFacts() ProcessFacts {
	// runtime.ReadMemStats stops the world for some microseconds, which a
	// scrape can afford; runtime/metrics would not, but its package init
	// costs every start about a millisecond here (issue 7's budget).
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ProcessFacts{Goroutines: runtime.NumGoroutine(), ResidentBytes: residentBytes(), HeapAllocBytes: ms.HeapAlloc}
}

// residentBytes returns the resident set size from /proc/self/statm (its
// second field, in pages), or 0 when it cannot be read.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil || pages < 0 {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// Histogram buckets exposed: the fine buckets of [Histogram] are four per
// doubling of microseconds, so every fourth upper bound is a power of two
// of microseconds, and the counts up to it are exact. From 2^6 µs (64 µs)
// to 2^26 µs (about 67 s), then +Inf: 22 buckets per histogram. The last
// fine bucket, which also holds everything longer, is never a bound.
const (
	metricsBucketFirst = 6 << histSubBits  // HistogramUpper = 2^6 µs
	metricsBucketLast  = 26 << histSubBits // HistogramUpper = 2^26 µs
	metricsBucketStep  = 1 << histSubBits
)

// revalidationOutcomes names the revalidation outcomes, in label order.
var revalidationOutcomes = [...]struct {
	name  string
	index int
}{
	{"failed", RevalidationFailed},
	{"modified", RevalidationModified},
	{"unmodified", RevalidationUnmodified},
}

// statusClasses names the indexes of Snapshot.ByClass, in label order.
var statusClasses = [len(Snapshot{}.ByClass)]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

// WriteTo writes the metrics in the text exposition format to w.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(m.AppendText(make([]byte, 0, 8<<10)))
	return int64(n), err
}

// AppendText appends the metrics in the text exposition format to b and
// returns the result. Label values are sorted, so that the output of equal
// Metrics is equal.
func (m *Metrics) AppendText(b []byte) []byte {
	p := promText{b: b}
	sn := &m.Stats

	if !m.Start.IsZero() {
		p.family("cuttle_start_time_seconds", "gauge", "When cuttle's counters started, in seconds since the Unix epoch.")
		p.float("cuttle_start_time_seconds", "", "", float64(m.Start.UnixNano())/1e9)
	}

	// Client side, by result code as access.log writes it (%Ss).
	var codesArr [32]string
	codes := codesArr[:0]
	for code := range sn.ByCode {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	p.family("cuttle_requests_total", "counter", "Client requests by result code (access.log %Ss).")
	for _, code := range codes {
		p.int("cuttle_requests_total", "code", code, sn.ByCode[code].Requests)
	}
	p.family("cuttle_sent_bytes_total", "counter", "Bytes sent to clients, headers included, by result code.")
	for _, code := range codes {
		p.int("cuttle_sent_bytes_total", "code", code, sn.ByCode[code].Bytes)
	}
	p.family("cuttle_responses_total", "counter", "Replies to clients by status class; none when the client went away first.")
	for i, class := range statusClasses {
		p.int("cuttle_responses_total", "class", class, sn.ByClass[i])
	}
	p.counter("cuttle_client_received_bytes_total", "Bytes received from clients, headers included.", sn.ClientBytesIn)
	p.counter("cuttle_client_errors_total", "Client requests answered with an error or no reply.", sn.ClientErrors)
	p.counter("cuttle_aborted_requests_total", "Client requests whose client went away before the end of the reply (_ABORTED).", sn.Aborted)

	// Hits.
	p.counter("cuttle_hits_total", "Client requests answered from the cache.", sn.ClientHits)
	p.family("cuttle_tier_hits_total", "counter", "Hits by the store tier that served them.")
	p.int("cuttle_tier_hits_total", "tier", "disk", sn.DiskHits)
	p.int("cuttle_tier_hits_total", "tier", "memory", sn.MemHits)
	p.counter("cuttle_hit_sent_bytes_total", "Bytes sent to clients for hits.", sn.HitBytesOut)
	p.family("cuttle_hit_ratio", "gauge", "Hits per client request since the start; 0 before the first request.")
	p.float("cuttle_hit_ratio", "", "", ratio(sn.ClientHits, sn.ClientRequests))
	p.family("cuttle_byte_hit_ratio", "gauge", "Bytes sent for hits per byte sent to clients since the start; 0 before the first byte.")
	p.float("cuttle_byte_hit_ratio", "", "", ratio(sn.HitBytesOut, sn.ClientBytesOut))
	p.counter("cuttle_panics_total", "Panics recovered and logged to cache_log; the process went on.", sn.Panics)
	p.counter("cuttle_collapsed_requests_total", "Client requests that waited for another's origin request (collapsed_forwarding).", sn.Collapsed)
	p.family("cuttle_revalidations_total", "counter", "Revalidations of stale objects with the origin by outcome.")
	for _, o := range revalidationOutcomes {
		p.int("cuttle_revalidations_total", "outcome", o.name, sn.Revalidations[o.index])
	}

	// Error pages.
	var kindsArr [16]string
	kinds := kindsArr[:0]
	for kind := range sn.Errors {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	p.family("cuttle_errors_total", "counter", "Error pages sent to clients by Squid error name.")
	for _, kind := range kinds {
		p.int("cuttle_errors_total", "kind", kind, sn.Errors[kind])
	}

	// Origin side.
	p.counter("cuttle_origin_requests_total", "Requests sent to the origin server.", sn.ServerRequests)
	p.counter("cuttle_origin_errors_total", "Origin requests that failed or got a 5xx status.", sn.ServerErrors)
	p.counter("cuttle_origin_sent_bytes_total", "Bytes sent to the origin server.", sn.ServerBytesOut)
	p.counter("cuttle_origin_received_bytes_total", "Bytes received from the origin server.", sn.ServerBytesIn)
	p.histogram("cuttle_origin_duration_seconds", "Origin latency, from sending the request to the last byte of the reply.", &sn.Origin)
	p.histogram("cuttle_request_duration_seconds", "Client request service time, from the request to the end of the reply.", &sn.Svc[SvcAll])

	// Store.
	var tiersArr [8]TierInfo
	tiers := append(tiersArr[:0], m.Tiers...)
	slices.SortStableFunc(tiers, func(a, b TierInfo) int {
		return cmp.Or(cmp.Compare(a.Tier, b.Tier), cmp.Compare(a.Path, b.Path))
	})
	p.family("cuttle_store_objects", "gauge", "Objects held by each store tier (memory, or a cache_dir by path).")
	for i := range tiers {
		p.tier("cuttle_store_objects", &tiers[i], tiers[i].Objects)
	}
	p.family("cuttle_store_bytes", "gauge", "Bytes held by each store tier.")
	for i := range tiers {
		p.tier("cuttle_store_bytes", &tiers[i], tiers[i].Bytes)
	}
	p.family("cuttle_store_max_bytes", "gauge", "Size limit of each store tier (cache_mem, cache_dir).")
	for i := range tiers {
		p.tier("cuttle_store_max_bytes", &tiers[i], tiers[i].MaxBytes)
	}
	p.counter("cuttle_stored_responses_total", "Responses that were being stored (Squid's swap outs).", sn.SwapOuts)

	// Process.
	p.family("cuttle_reloads_total", "counter", "Configuration reloads (-k reconfigure) by outcome.")
	p.int("cuttle_reloads_total", "outcome", "failed", sn.ReloadFailures)
	p.int("cuttle_reloads_total", "outcome", "ok", max(sn.Reloads-sn.ReloadFailures, 0))
	p.gauge("cuttle_client_connections", "Open client connections.", int64(m.Conns))
	p.gauge("cuttle_clients", "Distinct client addresses seen since the start (up to 65536).", int64(sn.Clients))
	p.gauge("cuttle_goroutines", "Goroutines that currently exist.", int64(m.Process.Goroutines))
	if m.Process.ResidentBytes > 0 {
		p.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", m.Process.ResidentBytes)
	}
	p.family("go_memstats_heap_alloc_bytes", "gauge", "Bytes of allocated heap objects (runtime.MemStats.HeapAlloc).")
	p.uint("go_memstats_heap_alloc_bytes", m.Process.HeapAllocBytes)
	return p.b
}

// ratio returns n/d, or 0 when d is not positive.
func ratio(n, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// promText appends the lines of the text exposition format. Metric names
// and help texts are constants of this file: only label values come from
// outside and are escaped.
type promText struct{ b []byte }

// family writes the HELP and TYPE lines of a metric family.
func (p *promText) family(name, typ, help string) {
	p.b = append(p.b, "# HELP "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, help...)
	p.b = append(p.b, "\n# TYPE "...)
	p.b = append(p.b, name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, typ...)
	p.b = append(p.b, '\n')
}

// counter writes a counter family of one sample without labels.
func (p *promText) counter(name, help string, v int64) {
	p.family(name, "counter", help)
	p.int(name, "", "", v)
}

// gauge writes a gauge family of one sample without labels.
func (p *promText) gauge(name, help string, v int64) {
	p.family(name, "gauge", help)
	p.int(name, "", "", v)
}

// name writes a sample's name and its label, if label is not empty.
func (p *promText) name(name, label, value string) {
	p.b = append(p.b, name...)
	if label != "" {
		p.b = append(p.b, '{')
		p.label(label, value)
		p.b = append(p.b, '}')
	}
	p.b = append(p.b, ' ')
}

// label writes label="value", escaping the value.
func (p *promText) label(label, value string) {
	p.b = append(p.b, label...)
	p.b = append(p.b, `="`...)
	p.b = appendLabelValue(p.b, value)
	p.b = append(p.b, '"')
}

func (p *promText) int(name, label, value string, v int64) {
	p.name(name, label, value)
	p.b = strconv.AppendInt(p.b, v, 10)
	p.b = append(p.b, '\n')
}

func (p *promText) uint(name string, v uint64) {
	p.name(name, "", "")
	p.b = strconv.AppendUint(p.b, v, 10)
	p.b = append(p.b, '\n')
}

func (p *promText) float(name, label, value string, v float64) {
	p.name(name, label, value)
	p.b = appendFloat(p.b, v)
	p.b = append(p.b, '\n')
}

// tier writes a sample of a store tier: labelled tier, and path for a
// cache_dir.
func (p *promText) tier(name string, t *TierInfo, v int64) {
	p.b = append(p.b, name...)
	p.b = append(p.b, '{')
	if t.Path != "" {
		p.label("path", t.Path)
		p.b = append(p.b, ',')
	}
	p.label("tier", t.Tier)
	p.b = append(p.b, "} "...)
	p.b = strconv.AppendInt(p.b, v, 10)
	p.b = append(p.b, '\n')
}

// histogram writes a histogram family from the fine buckets of h at the
// bounds metricsBucketFirst..metricsBucketLast. The count (and the +Inf
// bucket) is the sum of the buckets rather than h.Count, which was read at
// another instant, so that the buckets are always consistent.
//
// A fine bucket holds the durations below its upper bound (in whole
// microseconds), where Prometheus's le is "at most": a duration of exactly
// 2^k µs counts in the next bound up. At nanosecond resolution that
// difference is not measurable.
func (p *promText) histogram(name, help string, h *Histogram) {
	p.family(name, "histogram", help)
	var cum int64
	next := 0
	for i := metricsBucketFirst; i <= metricsBucketLast; i += metricsBucketStep {
		for ; next <= i; next++ {
			cum += h.Buckets[next]
		}
		p.bucket(name, HistogramUpper(i).Seconds(), cum)
	}
	for ; next < len(h.Buckets); next++ {
		cum += h.Buckets[next]
	}
	p.bucket(name, math.Inf(1), cum)
	p.b = append(p.b, name...)
	p.b = append(p.b, "_sum "...)
	p.b = appendFloat(p.b, h.Sum.Seconds())
	p.b = append(p.b, '\n')
	p.b = append(p.b, name...)
	p.b = append(p.b, "_count "...)
	p.b = strconv.AppendInt(p.b, cum, 10)
	p.b = append(p.b, '\n')
}

// bucket writes one name_bucket{le="bound"} line.
func (p *promText) bucket(name string, le float64, cum int64) {
	p.b = append(p.b, name...)
	p.b = append(p.b, `_bucket{le="`...)
	p.b = appendFloat(p.b, le)
	p.b = append(p.b, `"} `...)
	p.b = strconv.AppendInt(p.b, cum, 10)
	p.b = append(p.b, '\n')
}

// appendFloat formats a sample value or bound as the format wants:
// +Inf, -Inf, NaN, or a decimal number (0.000064 rather than 6.4e-05).
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15, math.Abs(v) >= 1e-6 && math.Abs(v) < 1e21:
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendLabelValue appends s escaped as the text format wants a label
// value: backslash, double quote and line feed get a backslash (\\, \",
// \n). Invalid UTF-8 becomes U+FFFD, as the format is UTF-8.
func appendLabelValue(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// MetricsHandler returns the handler of the Prometheus endpoint: GET or
// HEAD /metrics answers the counters of stats, the tiers that tiers
// describes (nil: none) and the open connections of conns (nil: 0) in the
// text exposition format 0.0.4, read afresh at each scrape. Other methods
// get 405 and other paths 404. stats must not be nil.
//
// It is meant for its own listener (cuttle's --metrics-addr), not for the
// accelerator's ports, whose paths belong to the origin.
func MetricsHandler(stats *Stats, tiers func() []TierInfo, conns *ConnTable) http.Handler {
	if stats == nil {
		panic("httpcache: MetricsHandler with nil Stats")
	}
	return &metricsHandler{stats: stats, tiers: tiers, conns: conns}
}

type metricsHandler struct {
	stats *Stats
	tiers func() []TierInfo
	conns *ConnTable
	bufs  sync.Pool // of *[]byte, the text of earlier scrapes
}

func (h *metricsHandler) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/metrics" {
		http.NotFound(rw, req)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	m := Metrics{Stats: h.stats.Snapshot(), Start: h.stats.Start(), Process: ReadProcessFacts()}
	if h.tiers != nil {
		m.Tiers = h.tiers()
	}
	if h.conns != nil {
		m.Conns = h.conns.Len()
	}
	buf, _ := h.bufs.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = m.AppendText((*buf)[:0])
	defer h.bufs.Put(buf)

	hdr := rw.Header()
	hdr.Set("Content-Type", MetricsContentType)
	hdr.Set("Content-Length", strconv.Itoa(len(*buf)))
	hdr.Set("Cache-Control", "no-store")
	rw.WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return
	}
	rw.Write(*buf) //nolint:errcheck // the scraper went away; nothing to do
}
