package httpcache

import (
	"context"
	"io"
	"math"
	"net/netip"
	"sync"
	"time"
)

// Delay pools (squid.conf delay_pools, delay_class, delay_parameters,
// delay_access, delay_initial_bucket_level) limit the bandwidth of misses.
//
// As in Squid, they slow down what is read from the origin server for a
// client, so cache hits are never delayed: Squid's documentation and its
// authors say so ("objects retrieved from the cache will not be delayed"),
// and its DelayId is only consulted when reading from a server. In an
// accelerator this limits the traffic between cuttle and the origin, which
// the client receives at the same pace; the copy written to the store goes
// at that pace too, as in Squid. A background refresh
// (stale-while-revalidate) counts against the pool of the client whose
// request started it.
//
// A pool is a hierarchy of token buckets (bucket), bytes refilled at the
// restore rate up to the max size, starting delay_initial_bucket_level
// percent full. Reading n bytes takes n tokens from every bucket of the
// client's path: the aggregate, then for class 3 the network (third
// octet of the client's IPv4 address), then the individual bucket (class
// 2: the last octet, so 10.0.0.5 and 10.0.1.5 share one, as in Squid;
// class 3: the third and fourth octets). A level whose pair is -1/-1 is not
// limited. Clients with IPv6 addresses have no network or individual
// bucket, as in Squid, whose class 2 and 3 pools take those from IPv4 bits:
// only the aggregate bucket limits them.

// DelayRate is one restore/max pair of squid.conf delay_parameters: the
// bucket refills at Restore bytes a second up to Max bytes. A negative
// Restore (Squid's -1/-1, or "none") means no limit.
type DelayRate struct {
	Restore, Max int64
}

// unlimited reports whether the pair sets no limit.
func (r DelayRate) unlimited() bool { return r.Restore < 0 }

// DelayPool is one squid.conf delay pool: its delay_class, its
// delay_parameters and its delay_access rules.
type DelayPool struct {
	// Class is delay_class: 1 is one aggregate bucket; 2 adds a bucket
	// per host; 3 adds a bucket per network between them. Squid's classes
	// 4 (per user) and 5 (per tag) are not supported: a request they
	// take is not limited.
	Class int

	// Rates are the delay_parameters pairs in order: aggregate, then
	// network (class 3 only), then individual (classes 2 and 3). A
	// missing pair is no limit.
	Rates []DelayRate

	// Access is delay_access. A pool without rules takes no request, as
	// in Squid ("pools require explicit 'allow'").
	Access []Rule
}

// DelayPools holds the delay pools of one configuration and their buckets
// (squid.conf delay_pools). It is safe for concurrent use.
type DelayPools struct {
	pools []*delayPool
	now   func() time.Time
}

// delayPool is a DelayPool with its buckets.
type delayPool struct {
	agg, net, host DelayRate // the rate of each level
	class          int
	access         []Rule
	initial        float64 // delay_initial_bucket_level as a fraction

	mu        sync.Mutex // protects aggregate, nets and hosts, and every bucket in them
	aggregate bucket
	nets      map[uint8]*bucket
	hosts     map[uint16]*bucket
}

// NewDelayPools builds the pools of squid.conf delay_pools, pool 1 first.
// initialLevel is delay_initial_bucket_level: the percentage of its max
// size each bucket holds when it is created (Squid's default is 50). now
// is the clock; nil means time.Now.
func NewDelayPools(pools []DelayPool, initialLevel int, now func() time.Time) *DelayPools {
	if now == nil {
		now = time.Now
	}
	initial := float64(min(max(initialLevel, 0), 100)) / 100
	d := &DelayPools{now: now}
	start := now()
	for _, p := range pools {
		dp := &delayPool{class: p.Class, access: p.Access, initial: initial}
		rate := func(i int) DelayRate {
			if i < len(p.Rates) {
				return p.Rates[i]
			}
			return DelayRate{Restore: -1, Max: -1}
		}
		none := DelayRate{Restore: -1, Max: -1}
		dp.agg, dp.net, dp.host = none, none, none
		switch p.Class {
		case 1:
			dp.agg = rate(0)
		case 2:
			dp.agg, dp.host = rate(0), rate(1)
		case 3:
			dp.agg, dp.net, dp.host = rate(0), rate(1), rate(2)
		}
		dp.aggregate = newBucket(dp.startLevel(dp.agg), start)
		d.pools = append(d.pools, dp)
	}
	return d
}

// startLevel is what a new bucket of rate r holds.
func (p *delayPool) startLevel(r DelayRate) float64 {
	return math.Floor(float64(max(r.Max, 0)) * p.initial)
}

// bucketSize is the most a bucket of rate r holds; at least one byte, so that a
// transfer always moves.
func bucketSize(r DelayRate) float64 { return float64(max(r.Max, 1)) }

// delayTicket is a transaction's place in a pool: the buckets its bytes
// are taken from (nil for a level without limit).
type delayTicket struct {
	p         *delayPool
	agg       bool
	net, host *bucket
}

// ticket returns the ticket of the first pool whose delay_access allows
// tx, or nil when none does or the pool sets no limit for this client.
// As in Squid, a pool without delay_access rules or without a class is
// skipped, and once a pool takes a request no later pool is looked at.
func (d *DelayPools) ticket(tx *transaction) *delayTicket {
	if d == nil {
		return nil
	}
	for _, p := range d.pools {
		if p.class == 0 || len(p.access) == 0 || !allowed(p.access, tx) {
			continue
		}
		return p.ticket(tx.clientIP, d.now())
	}
	return nil
}

// ticket finds (or creates) the buckets of a client address.
func (p *delayPool) ticket(ip netip.Addr, now time.Time) *delayTicket {
	t := &delayTicket{p: p, agg: !p.agg.unlimited()}
	ip = ip.Unmap()
	if ip.Is4() && (!p.net.unlimited() || !p.host.unlimited()) {
		a := ip.As4()
		p.mu.Lock()
		if !p.net.unlimited() {
			t.net = bucketOf(p, &p.nets, a[2], p.net, now)
		}
		if !p.host.unlimited() {
			key := uint16(a[3])
			if p.class == 3 {
				key |= uint16(a[2]) << 8
			}
			t.host = bucketOf(p, &p.hosts, key, p.host, now)
		}
		p.mu.Unlock()
	}
	if !t.agg && t.net == nil && t.host == nil {
		return nil
	}
	return t
}

// bucketOf returns the bucket under key in *m, creating it (and the map)
// at the initial level. At most 2^16 buckets exist per level, as in Squid.
func bucketOf[K comparable](p *delayPool, m *map[K]*bucket, key K, r DelayRate, now time.Time) *bucket {
	if *m == nil {
		*m = make(map[K]*bucket)
	}
	b := (*m)[key]
	if b == nil {
		nb := newBucket(p.startLevel(r), now)
		b = &nb
		(*m)[key] = b
	}
	return b
}

// delayLevel is one limited bucket of a ticket with its rate.
type delayLevel struct {
	b    *bucket
	rate DelayRate
}

// levels lists the ticket's limited buckets; p.mu must be held.
func (t *delayTicket) levels(buf *[3]delayLevel) []delayLevel {
	out := buf[:0]
	if t.agg {
		out = append(out, delayLevel{&t.p.aggregate, t.p.agg})
	}
	if t.net != nil {
		out = append(out, delayLevel{t.net, t.p.net})
	}
	if t.host != nil {
		out = append(out, delayLevel{t.host, t.p.host})
	}
	return out
}

// take reserves up to want bytes (want > 0) from every bucket of the
// ticket at now. It returns how many it took, or, when it took none, how
// long to wait before asking again (-1: the buckets never refill).
//
// It waits for a sensible amount rather than a single byte: at most want,
// the bucket's size, and a tenth of a second of its restore rate, so that
// a slow pool moves small pieces often and a fast one large pieces.
func (t *delayTicket) take(want int, now time.Time) (int, time.Duration) {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	var buf [3]delayLevel
	ls := t.levels(&buf)
	target := float64(want)
	avail := math.Inf(1)
	for _, l := range ls {
		l.b.refill(float64(l.rate.Restore), bucketSize(l.rate), now)
		target = math.Min(target, math.Max(1, math.Min(bucketSize(l.rate), math.Floor(float64(l.rate.Restore)/10))))
		avail = math.Min(avail, l.b.level)
	}
	if avail >= target {
		n := int(math.Min(float64(want), math.Floor(avail)))
		for _, l := range ls {
			l.b.level -= float64(n)
		}
		return n, 0
	}
	var wait time.Duration
	for _, l := range ls {
		w := l.b.wait(target, float64(l.rate.Restore))
		if w < 0 {
			return 0, -1
		}
		wait = max(wait, w)
	}
	return 0, wait
}

// refund gives back n reserved bytes that were not read.
func (t *delayTicket) refund(n int) {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	var buf [3]delayLevel
	for _, l := range t.levels(&buf) {
		l.b.level = math.Min(l.b.level+float64(n), bucketSize(l.rate))
	}
}

// delayChunk is the most read from the origin at once for a delayed
// client.
const delayChunk = 16 << 10

// delayBody returns body, read at the pace of the delay pool that
// delay_access gives tx, or body itself when no pool limits tx.
func (h *Handler) delayBody(tx *transaction, body io.ReadCloser) io.ReadCloser {
	t := h.opts.DelayPools.ticket(tx)
	if t == nil {
		return body
	}
	return &delayedBody{ReadCloser: body, t: t, ctx: tx.req.Context(), now: h.opts.DelayPools.now}
}

// delayedBody reads an origin body no faster than its delay ticket allows.
// A client that goes away (ctx) ends the wait.
type delayedBody struct {
	io.ReadCloser
	t     *delayTicket
	ctx   context.Context
	now   func() time.Time
	timer *time.Timer
}

func (d *delayedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return d.ReadCloser.Read(p)
	}
	want := min(len(p), delayChunk)
	for {
		n, wait := d.t.take(want, d.now())
		if n > 0 {
			m, err := d.ReadCloser.Read(p[:n])
			if m < n {
				d.t.refund(n - m)
			}
			return m, err
		}
		if wait < 0 {
			wait = time.Second // restore 0: only a refund can help
		}
		if d.timer == nil {
			d.timer = time.NewTimer(wait)
		} else {
			d.timer.Reset(wait)
		}
		select {
		case <-d.timer.C:
		case <-d.ctx.Done():
			d.timer.Stop()
			return 0, d.ctx.Err()
		}
	}
}
