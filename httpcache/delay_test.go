package httpcache

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

var delayEpoch = time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)

func TestBucketRefill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		level       float64
		rate, size  float64
		elapsed     time.Duration
		want        float64
		wantWaitFor float64 // tokens asked of wait afterwards
		wantWait    time.Duration
	}{
		{name: "half a second", level: 0, rate: 1000, size: 5000, elapsed: 500 * time.Millisecond, want: 500, wantWaitFor: 1500, wantWait: time.Second},
		{name: "capped at size", level: 4000, rate: 1000, size: 5000, elapsed: 10 * time.Second, want: 5000, wantWaitFor: 5000, wantWait: 0},
		{name: "overdraft repaid", level: -2000, rate: 1000, size: 5000, elapsed: time.Second, want: -1000, wantWaitFor: 0, wantWait: time.Second},
		{name: "clock went back", level: 100, rate: 1000, size: 5000, elapsed: -time.Second, want: 100, wantWaitFor: 100, wantWait: 0},
		{name: "no rate never fills", level: 0, rate: 0, size: 5000, elapsed: time.Hour, want: 0, wantWaitFor: 1, wantWait: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBucket(tt.level, delayEpoch)
			b.refill(tt.rate, tt.size, delayEpoch.Add(tt.elapsed))
			if b.level != tt.want {
				t.Errorf("refill: level = %v, want %v", b.level, tt.want)
			}
			if got := b.wait(tt.wantWaitFor, tt.rate); got != tt.wantWait {
				t.Errorf("wait(%v) = %v, want %v", tt.wantWaitFor, got, tt.wantWait)
			}
		})
	}
}

// fakeNow is a clock that tests move by hand.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

func allowSrc(t *testing.T, src ...string) []Rule {
	return []Rule{{Allow: true, Terms: []Term{{ACL: mustACL(t, "src", src...)}}}}
}

// TestDelayTicketTake follows the buckets of one client with an injected
// clock: the initial level, the refill, the wait, and the levels shared
// between clients.
func TestDelayTicketTake(t *testing.T) {
	t.Parallel()
	clk := &fakeNow{t: delayEpoch}
	pools := NewDelayPools([]DelayPool{{
		Class:  2,
		Rates:  []DelayRate{{Restore: 20000, Max: 40000}, {Restore: 5000, Max: 10000}},
		Access: allowSrc(t, "all"),
	}}, 30, clk.now)
	a := pools.ticket(newTx(t, "GET", "http://www.example.com/", "10.0.0.1"))
	b := pools.ticket(newTx(t, "GET", "http://www.example.com/", "10.0.0.2"))
	same := pools.ticket(newTx(t, "GET", "http://www.example.com/", "10.9.9.1")) // same last octet as a
	if a == nil || b == nil || same == nil {
		t.Fatal("ticket = nil for a client of a class 2 pool")
	}
	if a.host != same.host || a.host == b.host {
		t.Fatalf("individual buckets: 10.0.0.1 and 10.9.9.1 share = %v, 10.0.0.1 and 10.0.0.2 share = %v; want true, false",
			a.host == same.host, a.host == b.host)
	}

	// delay_initial_bucket_level 30: the individual bucket starts with
	// 3000 of 10000 bytes, the aggregate with 12000 of 40000.
	if n, _ := a.take(16384, clk.now()); n != 3000 {
		t.Fatalf("first take = %d, want 3000 (30%% of the individual max)", n)
	}
	n, wait := a.take(16384, clk.now())
	if n != 0 || wait != 100*time.Millisecond {
		t.Fatalf("empty bucket: take = %d, %v; want 0, 100ms (a tenth of a second of 5000 B/s)", n, wait)
	}
	clk.t = clk.t.Add(time.Second)
	if n, _ := a.take(16384, clk.now()); n != 5000 {
		t.Fatalf("after 1s: take = %d, want 5000", n)
	}
	// b has its own individual bucket, made a second ago with 3000 bytes
	// and refilled since, and shares the aggregate, which has
	// 12000 - 3000 - 5000 + 20000 (refilled) = 24000 left.
	if n, _ := b.take(16384, clk.now()); n != 8000 {
		t.Fatalf("second client: take = %d, want 8000", n)
	}
	a.refund(1000)
	if n, _ := a.take(16384, clk.now()); n != 1000 {
		t.Fatalf("after a refund of 1000: take = %d, want 1000", n)
	}
	// Ten seconds fill the individual bucket to its max, no further.
	clk.t = clk.t.Add(10 * time.Second)
	if n, _ := a.take(16384, clk.now()); n != 10000 {
		t.Fatalf("after 10s: take = %d, want the max, 10000", n)
	}
	// The aggregate (40000 max) limits once the individual buckets have
	// more: four class-2 clients each asking 16384.
	clk.t = clk.t.Add(time.Minute)
	total := 0
	for i := 1; i <= 8; i++ {
		tk := pools.ticket(newTx(t, "GET", "http://www.example.com/", fmt.Sprintf("10.0.1.%d", i)))
		tk.p.mu.Lock()
		tk.host.level = 10000
		tk.p.mu.Unlock()
		n, _ := tk.take(16384, clk.now())
		total += n
	}
	if total != 40000 {
		t.Fatalf("eight clients with full buckets took %d in all, want the aggregate max 40000", total)
	}
}

func TestDelayPoolsSelect(t *testing.T) {
	t.Parallel()
	clk := &fakeNow{t: delayEpoch}
	limited := []DelayRate{{Restore: 1000, Max: 1000}}
	pools := NewDelayPools([]DelayPool{
		{Class: 1, Rates: limited},                                     // 1: no delay_access: never used
		{Class: 1, Rates: limited, Access: allowSrc(t, "10.1.0.0/16")}, // 2
		{Class: 4, Access: allowSrc(t, "10.2.0.0/16")},                 // 3: class 4: unlimited
		{Class: 1, Rates: limited, Access: []Rule{ // 4: deny 10.3/16, then the opposite of deny: allow
			{Allow: false, Terms: []Term{{ACL: mustACL(t, "src", "10.3.0.0/16")}}},
		}},
		{Class: 2, Rates: []DelayRate{{Restore: -1, Max: -1}, {Restore: 500, Max: 500}}, Access: allowSrc(t, "all")}, // 5
	}, 50, clk.now)
	tests := []struct {
		client   string
		wantPool int // 0: not limited
	}{
		{"10.1.2.3", 2},
		{"10.2.2.3", 0}, // taken by the class 4 pool, which limits nothing
		{"10.4.0.1", 4},
		{"10.3.0.1", 5}, // denied by pool 4: on to pool 5
		{"2001:db8::1", 4},
		{"::ffff:10.1.0.9", 2}, // a mapped IPv4 address is IPv4
	}
	for _, tt := range tests {
		tk := pools.ticket(newTx(t, "GET", "http://www.example.com/", tt.client))
		got := 0
		for i, p := range pools.pools {
			if tk != nil && tk.p == p {
				got = i + 1
			}
		}
		if got != tt.wantPool {
			t.Errorf("pool for %s = %d, want %d", tt.client, got, tt.wantPool)
		}
	}
	// An IPv6 client of a class 2 pool whose aggregate is unlimited has
	// nothing limiting it (Squid's individual buckets are IPv4 only).
	six := NewDelayPools([]DelayPool{{Class: 3, Rates: []DelayRate{{Restore: -1, Max: -1}, {Restore: 10, Max: 10}, {Restore: 10, Max: 10}}, Access: allowSrc(t, "all")}}, 50, clk.now)
	if tk := six.ticket(newTx(t, "GET", "http://www.example.com/", "2001:db8::1")); tk != nil {
		t.Errorf("IPv6 client of a class 3 pool without aggregate: ticket = %+v, want nil", tk)
	}
	if tk := six.ticket(newTx(t, "GET", "http://www.example.com/", "192.0.2.1")); tk == nil || tk.net == nil || tk.host == nil || tk.agg {
		t.Errorf("IPv4 client of a class 3 pool: ticket = %+v, want network and individual buckets only", tk)
	}
	var none *DelayPools
	if tk := none.ticket(newTx(t, "GET", "http://www.example.com/", "192.0.2.1")); tk != nil {
		t.Errorf("nil DelayPools: ticket = %+v, want nil", tk)
	}
}

func TestDelayClass3Keys(t *testing.T) {
	t.Parallel()
	clk := &fakeNow{t: delayEpoch}
	r := DelayRate{Restore: 100, Max: 100}
	pools := NewDelayPools([]DelayPool{{Class: 3, Rates: []DelayRate{r, r, r}, Access: allowSrc(t, "all")}}, 100, clk.now)
	tk := func(ip string) *delayTicket {
		return pools.ticket(&transaction{req: &http.Request{}, clientIP: netip.MustParseAddr(ip)})
	}
	a, b, c := tk("10.0.5.1"), tk("10.7.5.1"), tk("10.0.6.1")
	if a.net != b.net || a.host != b.host {
		t.Errorf("10.0.5.1 and 10.7.5.1: same network and individual buckets = %v, %v; want true, true (bits 17-32)", a.net == b.net, a.host == b.host)
	}
	if a.net == c.net || a.host == c.host {
		t.Errorf("10.0.5.1 and 10.0.6.1: same network and individual buckets = %v, %v; want false, false", a.net == c.net, a.host == c.host)
	}
}
