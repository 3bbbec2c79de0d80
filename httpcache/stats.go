package httpcache

import (
	"context"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what handlers do, for the cache manager pages (Squid's
// counters, 5min, 60min, info, utilization) and the Prometheus metrics.
// One Stats outlives reconfigurations: cuttle passes the same one to each
// [Handler] it builds, so that -k reconfigure resets no counter.
//
// Counting a transaction costs a few atomic additions and one map lookup
// for its result code; nothing is allocated once a code has been seen.
type Stats struct {
	start time.Time
	now   func() time.Time

	// byCode holds a *codeCounters per result code as logged (TCP_MISS,
	// TCP_MEM_HIT, TCP_MISS_ABORTED...): a small, bounded set.
	byCode sync.Map
	// byClass counts replies by status class: index 0 for none (the
	// client went away first), 1 to 5 for 1xx to 5xx.
	byClass [6]atomic.Int64

	clientRequests, clientHits, clientErrors atomic.Int64
	clientBytesIn, clientBytesOut            atomic.Int64
	hitBytesOut, memHits, diskHits           atomic.Int64
	serverRequests, serverErrors             atomic.Int64
	serverBytesIn, serverBytesOut            atomic.Int64
	aborted, collapsed                       atomic.Int64
	swapOuts                                 atomic.Int64
	revalidations                            [numRevalidation]atomic.Int64
	reloads, reloadFailures                  atomic.Int64
	panics                                   atomic.Int64

	// errors counts the error pages sent, by Squid error name.
	errors sync.Map // string → *atomic.Int64
	// rejected counts requests refused by the pre-scan, by reason
	// (prescanconn.go).
	rejected sync.Map // string → *atomic.Int64

	// Service times by Squid's categories (all, miss, not-modified, near
	// hit, hit), and the origin's latency (request sent to last byte).
	svc    [numSvc]timeHistogram
	origin timeHistogram

	// clients holds the client addresses seen (netip.Addr → struct{}):
	// a lock-free read for a known client on every request; nClients
	// counts them, up to maxClients.
	clients  sync.Map
	nClients atomic.Int64

	histMu  sync.Mutex
	history []Snapshot // one a minute, newest first (Squid's CountHist)
}

// codeCounters are the requests and bytes sent for one result code.
type codeCounters struct {
	requests, bytes atomic.Int64
}

// Service time categories, as Squid's client_side counts them.
const (
	SvcAll = iota
	SvcMiss
	SvcNotModified
	SvcNearHit
	SvcHit
	numSvc
)

// Revalidation outcomes, counted for the metrics.
const (
	RevalidationUnmodified = iota // 304: the stored copy is still good
	RevalidationModified          // a new response replaced it
	RevalidationFailed            // origin failed; stale copy or error served
	numRevalidation
)

// maxClients bounds the set of client addresses kept for "Number of
// clients accessing cache": beyond it new addresses are not remembered.
const maxClients = 65536

// historyLen is how many one-minute samples are kept: enough for the
// 60min page (Squid keeps the same number).
const historyLen = 61

// NewStats returns counters starting now; now may be nil for time.Now.
func NewStats(now func() time.Time) *Stats {
	if now == nil {
		now = time.Now
	}
	return &Stats{start: now(), now: now}
}

// Start is when the counters started (the cache manager's Start Time).
func (s *Stats) Start() time.Time { return s.start }

// isTCPHit reports whether Squid counts a result code as a hit
// (client_http.hits): the reply came from the cache.
func isTCPHit(code string) bool {
	switch code {
	case "TCP_HIT", "TCP_MEM_HIT", "TCP_IMS_HIT", "TCP_INM_HIT", "TCP_NEGATIVE_HIT",
		"TCP_REFRESH_UNMODIFIED", "TCP_REFRESH_FAIL_OLD", "TCP_CF_HIT", "TCP_OFFLINE_HIT", "TCP_STALE_HIT":
		return true
	}
	return false
}

// svcCategory is the service-time category of a result code (Squid's
// clientUpdateStatHistCounters), or -1 for none but "all".
func svcCategory(code string) int {
	switch code {
	case "TCP_REFRESH_UNMODIFIED":
		return SvcNearHit
	case "TCP_IMS_HIT", "TCP_INM_HIT":
		return SvcNotModified
	case "TCP_HIT", "TCP_MEM_HIT", "TCP_CF_HIT", "TCP_NEGATIVE_HIT", "TCP_REFRESH_FAIL_OLD", "TCP_STALE_HIT":
		return SvcHit
	case "TCP_MISS", "TCP_CLIENT_REFRESH_MISS", "TCP_CF_MISS", "TCP_SWAPFAIL_MISS", "TCP_REFRESH_MODIFIED":
		return SvcMiss
	}
	return -1
}

// record counts one finished transaction.
func (s *Stats) record(tx *transaction, w *countingWriter, reqBytes int64, end time.Time) {
	code := tx.result
	v, ok := s.byCode.Load(code)
	if !ok {
		v, _ = s.byCode.LoadOrStore(code, new(codeCounters))
	}
	cc := v.(*codeCounters)
	cc.requests.Add(1)
	cc.bytes.Add(w.bytes)
	s.byClass[min(max(w.status/100, 0), 5)].Add(1)

	s.clientRequests.Add(1)
	s.clientBytesIn.Add(reqBytes)
	s.clientBytesOut.Add(w.bytes)
	if isTCPHit(code) {
		s.clientHits.Add(1)
		s.hitBytesOut.Add(w.bytes)
		switch code {
		case "TCP_MEM_HIT":
			s.memHits.Add(1)
		case "TCP_HIT":
			s.diskHits.Add(1)
		}
	}
	if w.status == 0 || w.status >= 400 || tx.errCode != "" {
		s.clientErrors.Add(1)
	}
	if len(code) > len("_ABORTED") && code[len(code)-len("_ABORTED"):] == "_ABORTED" {
		s.aborted.Add(1)
	}
	if tx.errCode != "" {
		s.countError(tx.errCode)
	}
	svc := end.Sub(tx.start)
	s.svc[SvcAll].observe(svc)
	if c := svcCategory(trimSuffixes(code)); c >= 0 {
		s.svc[c].observe(svc)
	}
	if tx.peer != nil && !tx.peerStart.IsZero() {
		s.serverRequests.Add(1)
		s.serverBytesOut.Add(tx.peerSent)
		s.serverBytesIn.Add(tx.peerBytes)
		if tx.peerStatus == 0 || tx.peerStatus >= 500 {
			s.serverErrors.Add(1)
		}
		if !tx.peerDone.IsZero() {
			s.origin.observe(tx.peerDone.Sub(tx.peerStart))
		}
	}
	if tx.clientIP.IsValid() {
		s.addClient(tx.clientIP)
	}
}

// trimSuffixes removes Squid's _ABORTED and _TIMEDOUT suffixes.
func trimSuffixes(code string) string {
	for _, suf := range [...]string{"_ABORTED", "_TIMEDOUT"} {
		if len(code) > len(suf) && code[len(code)-len(suf):] == suf {
			code = code[:len(code)-len(suf)]
		}
	}
	return code
}

func (s *Stats) addClient(ip netip.Addr) {
	ip = ip.Unmap()
	if _, ok := s.clients.Load(ip); ok || s.nClients.Load() >= maxClients {
		return
	}
	if _, loaded := s.clients.LoadOrStore(ip, struct{}{}); !loaded {
		s.nClients.Add(1)
	}
}

// countError counts an error page by its Squid name (ERR_...).
func (s *Stats) countError(name string) {
	v, ok := s.errors.Load(name)
	if !ok {
		v, _ = s.errors.LoadOrStore(name, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// collapsedWait counts a request that waited for another's origin fetch
// (collapsed_forwarding).
func (s *Stats) collapsedWait() { s.collapsed.Add(1) }

// revalidated counts a revalidation's outcome.
func (s *Stats) revalidated(outcome int) { s.revalidations[outcome].Add(1) }

// storedObject counts a response that is being stored (Squid's swap.outs).
func (s *Stats) storedObject() { s.swapOuts.Add(1) }

// Reloaded counts a -k reconfigure and whether the new configuration was
// taken (ok) or refused.
func (s *Stats) Reloaded(ok bool) {
	s.reloads.Add(1)
	if !ok {
		s.reloadFailures.Add(1)
	}
}

// Snapshot is the counters at one moment, as plain numbers.
type Snapshot struct {
	Time time.Time

	ClientRequests, ClientHits, ClientErrors int64
	ClientBytesIn, ClientBytesOut            int64
	HitBytesOut, MemHits, DiskHits           int64
	ServerRequests, ServerErrors             int64
	ServerBytesIn, ServerBytesOut            int64
	Aborted, Collapsed                       int64
	// SwapIns counts disk hits; SwapOuts responses being stored.
	SwapIns, SwapOuts       int64
	Revalidations           [numRevalidation]int64
	Reloads, ReloadFailures int64
	Clients                 int

	// Panics counts the panics recovered, logged to cache_log and
	// survived: in request handling, background work and the store
	// (reliability checklist H10).
	Panics int64

	// ByCode maps each result code seen to its requests and bytes sent.
	ByCode map[string]CodeCount
	// ByClass counts replies by status class: [0] none, [1..5] 1xx..5xx.
	ByClass [6]int64
	// Errors maps each error page name (ERR_...) to how many were sent.
	Errors map[string]int64

	// Svc holds the service time histograms by category (SvcAll...);
	// Origin the origin's latency.
	Svc    [numSvc]Histogram
	Origin Histogram
}

// CodeCount is the requests and bytes sent for one result code.
type CodeCount struct{ Requests, Bytes int64 }

// RecordPanic counts a panic that was recovered and logged: the Handler
// counts its own, and the wiring passes this to the store's
// [store.DiskOptions] OnPanic so that the store's are counted too.
func (s *Stats) RecordPanic() { s.panics.Add(1) }

// Snapshot returns the counters now.
func (s *Stats) Snapshot() Snapshot {
	sn := Snapshot{
		Time:           s.now(),
		ClientRequests: s.clientRequests.Load(),
		ClientHits:     s.clientHits.Load(),
		ClientErrors:   s.clientErrors.Load(),
		ClientBytesIn:  s.clientBytesIn.Load(),
		ClientBytesOut: s.clientBytesOut.Load(),
		HitBytesOut:    s.hitBytesOut.Load(),
		MemHits:        s.memHits.Load(),
		DiskHits:       s.diskHits.Load(),
		ServerRequests: s.serverRequests.Load(),
		ServerErrors:   s.serverErrors.Load(),
		ServerBytesIn:  s.serverBytesIn.Load(),
		ServerBytesOut: s.serverBytesOut.Load(),
		Aborted:        s.aborted.Load(),
		Collapsed:      s.collapsed.Load(),
		SwapIns:        s.diskHits.Load(), // a disk hit is Squid's swap-in
		SwapOuts:       s.swapOuts.Load(),
		Reloads:        s.reloads.Load(),
		ReloadFailures: s.reloadFailures.Load(),
		Panics:         s.panics.Load(),
		ByCode:         make(map[string]CodeCount),
		Errors:         make(map[string]int64),
		Origin:         s.origin.snapshot(),
	}
	for i := range sn.Revalidations {
		sn.Revalidations[i] = s.revalidations[i].Load()
	}
	for i := range sn.ByClass {
		sn.ByClass[i] = s.byClass[i].Load()
	}
	for i := range sn.Svc {
		sn.Svc[i] = s.svc[i].snapshot()
	}
	s.byCode.Range(func(k, v any) bool {
		cc := v.(*codeCounters)
		sn.ByCode[k.(string)] = CodeCount{cc.requests.Load(), cc.bytes.Load()}
		return true
	})
	s.errors.Range(func(k, v any) bool {
		sn.Errors[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	sn.Clients = int(s.nClients.Load())
	return sn
}

// Tick records a one-minute sample for the 5min and 60min averages.
func (s *Stats) Tick() {
	sn := s.Snapshot()
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if len(s.history) < historyLen {
		s.history = append(s.history, Snapshot{})
	}
	copy(s.history[1:], s.history)
	s.history[0] = sn
}

// Ago returns the sample taken about minutes ago (0 is the latest), or
// the oldest one when fewer were taken; false when none was.
func (s *Stats) Ago(minutes int) (Snapshot, bool) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if len(s.history) == 0 {
		return Snapshot{}, false
	}
	return s.history[min(max(minutes, 0), len(s.history)-1)], true
}

// firstSampleDelay is how long Run waits before its first sample: long
// enough to keep the sample (a 14 KB Snapshot, its maps and a deeper
// stack) out of the start-up, short enough that the 5min and 60min pages
// have a baseline almost from the start.
const firstSampleDelay = time.Second

// Run takes a sample every minute until ctx ends, the first one
// firstSampleDelay after it is called.
func (s *Stats) Run(ctx context.Context) {
	first := time.NewTimer(firstSampleDelay)
	select {
	case <-ctx.Done():
		first.Stop()
		return
	case <-first.C:
	}
	s.Tick()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Tick()
		}
	}
}

// Time histograms: four buckets per doubling of microseconds, from 1 µs
// to about 2^31 µs (36 minutes); bucket 0 holds everything under 1 µs.
const (
	histSubBits = 2
	histBuckets = 32<<histSubBits + 1
)

// timeHistogram counts durations in logarithmic buckets.
type timeHistogram struct {
	buckets [histBuckets]atomic.Int64
	count   atomic.Int64
	sum     atomic.Int64 // nanoseconds
}

// histBucket returns the bucket of a duration in microseconds.
func histBucket(us uint64) int {
	if us == 0 {
		return 0
	}
	exp := bits.Len64(us) - 1 // us in [2^exp, 2^(exp+1))
	var sub uint64
	if exp >= histSubBits {
		sub = (us >> (exp - histSubBits)) & (1<<histSubBits - 1)
	} else {
		sub = (us << (histSubBits - exp)) & (1<<histSubBits - 1)
	}
	return min(1+exp<<histSubBits+int(sub), histBuckets-1)
}

// HistogramUpper returns the upper bound of bucket i.
func HistogramUpper(i int) time.Duration {
	if i <= 0 {
		return time.Microsecond
	}
	i--
	exp, sub := i>>histSubBits, i&(1<<histSubBits-1)
	// bucket [2^exp * (1 + sub/4), 2^exp * (1 + (sub+1)/4))
	us := float64(uint64(1)<<exp) * (1 + float64(sub+1)/(1<<histSubBits))
	return time.Duration(us * float64(time.Microsecond))
}

func (h *timeHistogram) observe(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.buckets[histBucket(uint64(us))].Add(1)
	h.count.Add(1)
	h.sum.Add(int64(max(d, 0)))
}

func (h *timeHistogram) snapshot() Histogram {
	var out Histogram
	for i := range h.buckets {
		out.Buckets[i] = h.buckets[i].Load()
	}
	out.Count = h.count.Load()
	out.Sum = time.Duration(h.sum.Load())
	return out
}

// Histogram is a snapshot of a time histogram: Buckets[i] counts the
// durations up to HistogramUpper(i) (and above the previous bound).
type Histogram struct {
	Buckets [histBuckets]int64
	Count   int64
	Sum     time.Duration
}

// Sub returns the observations made between old and h.
func (h Histogram) Sub(old Histogram) Histogram {
	for i := range h.Buckets {
		h.Buckets[i] -= old.Buckets[i]
	}
	h.Count -= old.Count
	h.Sum -= old.Sum
	return h
}

// Quantile returns an estimate of the q-quantile (0.5 for the median),
// the upper bound of the bucket it falls in; 0 when empty.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count <= 0 {
		return 0
	}
	rank := int64(q*float64(h.Count) + 0.5)
	rank = min(max(rank, 1), h.Count)
	var seen int64
	for i, n := range h.Buckets {
		seen += n
		if seen >= rank {
			return HistogramUpper(i)
		}
	}
	return HistogramUpper(histBuckets - 1)
}

// TierInfo describes one tier of the store for the cache manager's
// storedir and info pages and the metrics: the memory tier (cache_mem) or
// one cache_dir.
type TierInfo struct {
	// Tier is "memory" or "disk".
	Tier string
	// Type and Path are the cache_dir's (empty for memory).
	Type, Path string
	// Objects and Bytes are what the tier holds now; MaxBytes its limit.
	Objects         int64
	Bytes, MaxBytes int64
	// MaxObjectSize is the largest object the tier takes.
	MaxObjectSize int64
}
