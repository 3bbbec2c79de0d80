package httpcache

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests move real bytes through the Handler and time them. The
// bounds are wide (a measured rate within half and one and a half times
// the configured one): they check that the pools limit as configured,
// not how precisely.

// delayOrigin serves /big/* with a body of n bytes, cacheable.
func delayOrigin(t *testing.T, n int) (*origin, string) {
	t.Helper()
	body := bigBody(n)
	o := hfNewOrigin(t, hfNewClock(), func(_ int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=600")
		rw.Header().Set("Content-Type", "application/octet-stream")
		io.WriteString(rw, body)
	})
	return o, body
}

// fetchFrom gets path through the proxy on a connection from the local
// address from (127.0.0.0/8 is all loopback on Linux) and returns the
// body and how long the whole response took.
func fetchFrom(t *testing.T, p *hfProxy, from, path string) (string, time.Duration) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	start := time.Now()
	conn, err := d.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Errorf("dial from %s: %v", from, err)
		return "", 0
	}
	defer conn.Close()
	io.WriteString(conn, get(path))
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "GET"})
	if err != nil {
		t.Errorf("GET %s from %s: %v", path, from, err)
		return "", 0
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Errorf("GET %s from %s: reading the body: %v", path, from, err)
	}
	return string(body), time.Since(start)
}

// wantRate checks that n bytes in d is within [0.5, 1.5] times rate.
func wantRate(t *testing.T, what string, n float64, d time.Duration, rate float64) {
	t.Helper()
	got := n / d.Seconds()
	if got < rate/2 || got > rate*3/2 {
		t.Errorf("%s: %.0f bytes in %v = %.0f B/s, want %.0f B/s ± 50%%", what, n, d.Round(time.Millisecond), got, rate)
	} else {
		t.Logf("%s: %.0f B/s for %.0f B/s configured", what, got, rate)
	}
}

// TestDelayClass1 limits misses with one aggregate bucket that starts half
// full (delay_initial_bucket_level 50, Squid's default), and serves the
// hit that follows at full speed, as Squid does.
func TestDelayClass1(t *testing.T) {
	t.Parallel()
	const size, restore = 256 << 10, 128000
	o, body := delayOrigin(t, size)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.DelayPools = NewDelayPools([]DelayPool{{
			Class: 1, Rates: []DelayRate{{Restore: restore, Max: restore}}, Access: hfAllowAll,
		}}, 50, nil)
	})
	got, took := fetchFrom(t, p, "127.0.0.1", "/big/1")
	if got != body {
		t.Fatalf("miss: got %d bytes, want the origin's %d", len(got), len(body))
	}
	// The first restore/2 bytes were in the bucket already.
	wantRate(t, "miss", size-restore/2, took, restore)
	p.mem.Wait()

	got, took = fetchFrom(t, p, "127.0.0.1", "/big/1")
	if got != body {
		t.Fatalf("hit: got %d bytes, want %d", len(got), len(body))
	}
	if took > 500*time.Millisecond {
		t.Errorf("hit took %v; hits are not delayed (the pool would take %v)", took, time.Duration(float64(size)/restore*float64(time.Second)))
	}
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/200")
}

// TestDelayClass2 has clients fetch at once through a class 2 pool. With
// a per-host limit, 127.0.0.2 gets the rate to itself, while 127.0.0.1 and
// 127.0.1.1 share one (Squid picks the individual bucket by the last octet
// alone). With a tight aggregate, two clients share it (not necessarily
// evenly: the sum is what the aggregate limits).
func TestDelayClass2(t *testing.T) {
	t.Parallel()
	const size = 96 << 10
	tests := []struct {
		name            string
		agg, individual DelayRate
		groups          [][]string // clients that should share a rate
		want            float64    // the rate of each group
	}{
		{"individual", DelayRate{Restore: 10 << 20, Max: 10 << 20}, DelayRate{Restore: 64000, Max: 64000},
			[][]string{{"127.0.0.2"}, {"127.0.0.1", "127.0.1.1"}}, 64000},
		{"aggregate", DelayRate{Restore: 96000, Max: 96000}, DelayRate{Restore: 10 << 20, Max: 10 << 20},
			[][]string{{"127.0.0.1", "127.0.0.2"}}, 96000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, body := delayOrigin(t, size)
			p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
				opts.DelayPools = NewDelayPools([]DelayPool{{
					Class: 2, Rates: []DelayRate{tt.agg, tt.individual}, Access: hfAllowAll,
				}}, 0, nil)
			})
			var wg sync.WaitGroup
			took := make([][]time.Duration, len(tt.groups))
			for g, group := range tt.groups {
				took[g] = make([]time.Duration, len(group))
				for i, from := range group {
					wg.Go(func() {
						var got string
						got, took[g][i] = fetchFrom(t, p, from, "/big/"+from)
						if got != body {
							t.Errorf("client %s: got %d bytes, want %d", from, len(got), len(body))
						}
					})
				}
			}
			wg.Wait()
			for g, group := range tt.groups {
				wantRate(t, strings.Join(group, " and "), float64(len(group)*size), slices.Max(took[g]), tt.want)
			}
		})
	}
}

// TestDelayAccessAndInitialLevel: delay_access picks the pool (127.0.0.2
// gets a pool whose bucket starts full; everyone else a slow one), and
// delay_initial_bucket_level 100 lets a first object the size of the
// bucket through at once, and the next one only at the restore rate.
func TestDelayAccessAndInitialLevel(t *testing.T) {
	t.Parallel()
	const size, restore = 64 << 10, 64000
	o, body := delayOrigin(t, size)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.DelayPools = NewDelayPools([]DelayPool{
			{Class: 1, Rates: []DelayRate{{Restore: restore, Max: size}}, Access: allowSrc(t, "127.0.0.2")},
			{Class: 1, Rates: []DelayRate{{Restore: 1000, Max: 1000}}, Access: hfAllowAll},
		}, 100, nil)
	})
	got, took := fetchFrom(t, p, "127.0.0.2", "/big/a")
	if got != body || took > 500*time.Millisecond {
		t.Errorf("first object from a full bucket: %d bytes in %v, want %d at once", len(got), took, size)
	}
	// The bucket refills while the first object is still on its way to
	// the client (slow on a loaded machine): that credit is deducted.
	credit := min(float64(size), restore*took.Seconds())
	got, took = fetchFrom(t, p, "127.0.0.2", "/big/b")
	if got != body {
		t.Errorf("second object: %d bytes, want %d", len(got), size)
	}
	wantRate(t, "second object", size-credit, took, restore)
}

// TestDelayClientGone: a client that goes away while its miss waits for
// its pool ends the transfer at once (logged _ABORTED), instead of
// holding the origin connection for the time the pool would take.
func TestDelayClientGone(t *testing.T) {
	t.Parallel()
	o, _ := delayOrigin(t, 256<<10)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.DelayPools = NewDelayPools([]DelayPool{{
			Class: 1, Rates: []DelayRate{{Restore: 1000, Max: 1000}}, Access: hfAllowAll,
		}}, 0, nil)
	})
	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, get("/big/slow"))
	for deadline := time.Now().Add(5 * time.Second); o.count() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // until the miss reaches the origin
	}
	conn.Close()
	lines := waitLines(t, p.logger, p.logPath, 1)
	// 200 when the reply had started, 000 when the client left before the
	// origin's header arrived.
	if len(lines) != 1 || !strings.Contains(lines[0], " TCP_MISS_ABORTED/200 ") && !strings.Contains(lines[0], " TCP_MISS_ABORTED/000 ") {
		t.Fatalf("access.log = %q, want one TCP_MISS_ABORTED line within seconds (the pool needs minutes)", lines)
	}
}
