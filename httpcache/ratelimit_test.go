package httpcache

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRateLimiterAllow(t *testing.T) {
	t.Parallel()
	clk := &fakeNow{t: delayEpoch}
	l := NewRateLimiter(2, 3, 0, clk.now)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("Allow(a) #%d = false, want true (burst 3)", i+1)
		}
	}
	ok, wait := l.Allow(a)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("Allow(a) past the burst = %v, %v; want false, 500ms (2 requests/s)", ok, wait)
	}
	if ok, _ := l.Allow(b); !ok {
		t.Fatal("Allow(b) = false: another client has its own burst")
	}
	clk.t = clk.t.Add(500 * time.Millisecond)
	if ok, _ := l.Allow(a); !ok {
		t.Fatal("Allow(a) half a second later = false, want true")
	}
	if ok, _ := l.Allow(a); ok {
		t.Fatal("Allow(a) again at once = true, want false")
	}
	clk.t = clk.t.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("after an hour: Allow(a) #%d = false; the burst refills to 3, no more", i+1)
		}
	}
	if ok, _ := l.Allow(a); ok {
		t.Fatal("after an hour: a fourth request passed; the burst is 3")
	}
}

func TestRateKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"},
	}
	for _, tt := range tests {
		if got := rateKey(netip.MustParseAddr(tt.in)); got.String() != tt.want {
			t.Errorf("rateKey(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestRateLimiterBounded: the limiter never follows more clients than its
// cap; idle clients are forgotten first, and a client over its rate is
// still refused while there is room.
func TestRateLimiterBounded(t *testing.T) {
	t.Parallel()
	clk := &fakeNow{t: delayEpoch}
	l := NewRateLimiter(1, 1, 64, clk.now)
	busy := netip.MustParseAddr("198.51.100.1")
	l.Allow(busy)
	for i := range 1000 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
		if n := l.Len(); n > 64 {
			t.Fatalf("after %d clients: Len = %d, want at most 64", i+1, n)
		}
	}
	// Idle clients with full buckets go first: after a second every one
	// of them is full again, and the next eviction forgets them all.
	clk.t = clk.t.Add(time.Second)
	for i := range 64 {
		l.Allow(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}))
	}
	if n := l.Len(); n > 64 {
		t.Fatalf("Len = %d, want at most 64", n)
	}
	ok, _ := l.Allow(netip.AddrFrom4([4]byte{10, 1, 0, 0}))
	if ok {
		t.Error("a client over its rate passed after the eviction of idle ones")
	}
}

// TestRateLimitHandler: past the burst a client gets 429 with Retry-After,
// logged TCP_DENIED/429 with ERR_TOO_MANY_REQUESTS, hits included; another
// client is not affected; and the client gets through again once its
// bucket has refilled.
func TestRateLimitHandler(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	clk := hfNewClock()
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.RateLimit = NewRateLimiter(1, 2, 0, clk.now)
	})
	for i := range 2 {
		res, body, _ := p.do(t, get("/page"))
		if res.StatusCode != 200 || body != "<p>page</p>\n" {
			t.Fatalf("request %d: %d %q, want 200 and the page", i+1, res.StatusCode, body)
		}
	}
	res, body, n := p.do(t, get("/page"))
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "1" || res.Header.Get("X-Squid-Error") != "ERR_TOO_MANY_REQUESTS 0" {
		t.Fatalf("third request: %d, Retry-After %q, X-Squid-Error %q; want 429, 1, ERR_TOO_MANY_REQUESTS 0",
			res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("X-Squid-Error"))
	}
	if !strings.Contains(body, "Too many requests") {
		t.Errorf("429 page = %q, want the Too Many Requests page", body)
	}
	if res.Header.Get("Cache-Status") != "accel-test.local; detail=ERR_TOO_MANY_REQUESTS" {
		t.Errorf("Cache-Status = %q", res.Header.Get("Cache-Status"))
	}
	// Another address is not limited (127.0.0.2 is loopback too).
	other, _ := fetchFrom(t, p, "127.0.0.2", "/page")
	if other != "<p>page</p>\n" {
		t.Errorf("another client: got %q, want the page", other)
	}
	clk.advance(time.Second)
	res, _, _ = p.do(t, get("/page"))
	if res.StatusCode != 200 {
		t.Errorf("a second later: %d, want 200", res.StatusCode)
	}
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/200", "TCP_DENIED/429", "TCP_MEM_HIT/200", "TCP_MEM_HIT/200")
	lines := p.logLines(t)
	// %<st counts every byte sent, Retry-After included.
	if f := strings.Fields(lines[2]); len(f) < 5 || f[4] != fmt.Sprint(n) {
		t.Errorf("logged size of the 429 = %q, want the %d bytes sent", f[4], n)
	}
	hfWantOrigin(t, o, 1)
}
