package httpcache

// Tests of checklist H10: a panic in request handling, in the store or in
// a background goroutine is recovered, logged to cache_log and counted,
// and the process goes on serving. Helpers are prefixed hz.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cuttle/store"
)

// hzStore is a store that panics on Put or Get of keys holding "/boom".
type hzStore struct {
	store.Store
	onPut, onGet bool
}

func (s *hzStore) Put(ctx context.Context, key string, meta store.Meta, body io.Reader) error {
	if s.onPut && strings.Contains(key, "/boom") {
		io.CopyN(io.Discard, body, 3) //nolint:errcheck // panic part-way through the body
		panic("injected Put panic")
	}
	return s.Store.Put(ctx, key, meta, body)
}

func (s *hzStore) Get(ctx context.Context, key string) (*store.Object, error) {
	if s.onGet && strings.Contains(key, "/boom") {
		panic("injected Get panic")
	}
	return s.Store.Get(ctx, key)
}

// Wait makes the memory tier's writes visible.
func (s *hzStore) Wait() { s.Store.(waiter).Wait() }

// hzLog is a cache_log that keeps what is written to it.
type hzLog struct {
	mu  sync.Mutex
	buf bytes.Buffer // protected by mu
}

func (l *hzLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *hzLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestPanicsRecovered injects panics in each place and checks that the
// client gets what it can, the panic is logged with its stack and
// counted, and the next request is served.
func TestPanicsRecovered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		onPut      bool
		onGet      bool
		transport  any // value the transport panics with for /boom; nil: none
		wantBody   bool
		wantPanics int64
	}{
		{"H10 store Put", true, false, nil, true, 1},
		{"H10 store Get", false, true, nil, false, 1},
		{"H10 transport", false, false, "injected RoundTrip panic", false, 1},
		{"H10 transport ErrAbortHandler not counted", false, false, http.ErrAbortHandler, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := hfNewOrigin(t, hfNewClock(), hfStatic("max-age=60", "the body"))
			cacheLog := &hzLog{}
			p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
				opts.Store = &hzStore{Store: opts.Store, onPut: tt.onPut, onGet: tt.onGet}
				opts.ErrorLog = log.New(cacheLog, "", 0)
				if tt.transport != nil {
					base := http.DefaultTransport
					opts.Transport = rvTransport(func(req *http.Request) (*http.Response, error) {
						if strings.Contains(req.URL.Path, "/boom") {
							panic(tt.transport)
						}
						return base.RoundTrip(req)
					})
				}
			})
			r := hfDo(p.Listener.Addr().String(), get("/boom"))
			switch {
			case tt.wantBody && (r.err != nil || r.body != "the body"):
				t.Errorf("/boom: %v %q, want the whole body", r.err, r.body)
			case !tt.wantBody && r.err == nil:
				t.Errorf("/boom: %d %q, want the connection broken off", r.res.StatusCode, r.body)
			}
			// A store writer may report its panic after the client has
			// its body.
			hfPoll(t, "the panic to be counted", func() bool { return p.h.opts.Stats.Snapshot().Panics >= tt.wantPanics })
			if logged := cacheLog.String(); tt.wantPanics > 0 && (!strings.Contains(logged, "httpcache: panic in") || !strings.Contains(logged, "goroutine")) {
				t.Errorf("cache_log = %q, want the panic with its stack", logged)
			}
			for i := range 2 {
				res, body, _ := p.do(t, get("/fine"))
				hfCheck(t, "request after the panic", res, body, 200, "the body")
				if i == 1 && res.Header.Get("X-Cache") != "HIT from accel-test.local" {
					t.Errorf("second request after the panic: X-Cache %q, want a hit", res.Header.Get("X-Cache"))
				}
			}
			if got := p.h.opts.Stats.Snapshot().Panics; got != tt.wantPanics {
				t.Errorf("Panics = %d, want %d", got, tt.wantPanics)
			}
			rec := httptest.NewRecorder()
			MetricsHandler(p.h.opts.Stats, nil, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			if want := fmt.Sprintf("cuttle_panics_total %d\n", tt.wantPanics); !strings.Contains(rec.Body.String(), want) {
				t.Errorf("metrics lack %q", want)
			}
		})
	}
}

// TestBackgroundRefreshPanicRecovered is H10 for the stale-while-revalidate
// refresh goroutine: a panic there is counted, and the process goes on.
func TestBackgroundRefreshPanicRecovered(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, hfStatic("max-age=10, stale-while-revalidate=600", "the body"))
	var calls sync.Mutex
	n := 0
	p := hfNewProxy(t, o, c, nil, func(opts *Options) {
		base := http.DefaultTransport
		opts.Transport = rvTransport(func(req *http.Request) (*http.Response, error) {
			calls.Lock()
			n++
			k := n
			calls.Unlock()
			if k == 2 {
				panic("injected refresh panic")
			}
			return base.RoundTrip(req)
		})
	})
	p.do(t, get("/swr"))
	c.advance(time.Minute)
	res, body, _ := p.do(t, get("/swr"))
	hfCheck(t, "stale while revalidating", res, body, 200, "the body")
	hfPoll(t, "the refresh panic to be counted", func() bool { return p.h.opts.Stats.Snapshot().Panics == 1 })
	res, body, _ = p.do(t, get("/other"))
	hfCheck(t, "request after the panic", res, body, 200, "the body")
}
