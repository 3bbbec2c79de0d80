package httpcache

// End-to-end tests of the handler's caching features against real origins:
// stale-if-error, stale-while-revalidate, Vary variants, collapsed
// forwarding, PURGE, cache deny, negative_ttl, range_offset_limit, client
// reloads, refresh_pattern options, the cache's own response fields and
// CDN-Cache-Control. Helpers are prefixed hf so that they cannot collide
// with those of other test files.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cuttle/accesslog"
	"cuttle/store"
)

var hfAllowAll = []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}}

// hfNewClock returns a clock at the instant the handler tests start from.
func hfNewClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 25, 17, 27, 27, 617e6, time.UTC).UnixNano())
	return c
}

// hfNewOrigin starts an origin whose replies script writes; n is the
// 1-based number of the request. Date is set from the test clock first, so
// that ages follow the clock.
func hfNewOrigin(t *testing.T, c *clock, script func(n int, rw http.ResponseWriter, req *http.Request)) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		o.mu.Lock()
		o.requests = append(o.requests, req)
		n := len(o.requests)
		o.mu.Unlock()
		rw.Header().Set("Date", c.now().UTC().Format(http.TimeFormat))
		script(n, rw, req)
	}))
	t.Cleanup(o.Close)
	return o
}

// hfRequest returns the origin's i-th request (0-based).
func hfRequest(o *origin, i int) *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests[i]
}

type hfProxy struct {
	*proxy
	h *Handler
}

// hfNewProxy is newProxy with a given clock, an optional shared memory
// store (nil: a new one) and a hook that edits the Options.
func hfNewProxy(t *testing.T, o *origin, c *clock, mem *store.Memory, set func(*Options)) *hfProxy {
	t.Helper()
	if mem == nil {
		var err error
		mem, err = store.NewMemory(store.MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(mem.Close)
	}
	logPath := filepath.Join(t.TempDir(), "access.log")
	w, err := accesslog.OpenFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	format, _ := accesslog.Lookup("squid", accesslog.FormatOptions{StripQueryTerms: true})
	logger := accesslog.New(accesslog.Output{W: w, Format: format})
	t.Cleanup(func() { logger.Close() })
	opts := Options{
		Store:           store.NewTiered(mem, nil),
		Access:          hfAllowAll,
		VisibleHostname: "accel-test.local",
		Version:         "cuttle/test",
		Log:             logger,
		ErrorLog:        log.New(io.Discard, "", 0),
		Now:             c.now,
	}
	if o != nil {
		addr := o.Listener.Addr().(*net.TCPAddr)
		opts.Peers = []Peer{{Name: "origin", Host: "127.0.0.1", Port: addr.Port}}
	}
	if set != nil {
		set(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Port(Port{Vhost: true, Scheme: "http", ListenPort: 3128}))
	t.Cleanup(srv.Close)
	return &hfProxy{proxy: &proxy{Server: srv, mem: mem, logPath: logPath, logger: logger, clock: c}, h: h}
}

// hfResults returns the result code/status field of every access.log line.
func hfResults(t *testing.T, p *hfProxy) []string {
	t.Helper()
	var out []string
	for _, l := range p.logLines(t) {
		f := strings.Fields(l)
		if len(f) < 10 {
			t.Fatalf("short access.log line %q", l)
		}
		out = append(out, f[3])
	}
	return out
}

// hfWantResults checks the access.log result codes, in order.
func hfWantResults(t *testing.T, p *hfProxy, want ...string) {
	t.Helper()
	if got := hfResults(t, p); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("access.log results = %q, want %q\n%s", got, want, strings.Join(p.logLines(t), "\n"))
	}
}

// hfCount counts the occurrences of each string.
func hfCount(ss []string) map[string]int {
	m := map[string]int{}
	for _, s := range ss {
		m[s]++
	}
	return m
}

// hfWantOrigin checks the number of requests the origin received.
func hfWantOrigin(t *testing.T, o *origin, want int) {
	t.Helper()
	if got := o.count(); got != want {
		t.Errorf("origin requests = %d, want %d", got, want)
	}
}

// hfCheck checks a response's status, body (unless wantBody is "*") and
// the given header fields.
func hfCheck(t *testing.T, what string, res *http.Response, body string, wantStatus int, wantBody string, fields ...string) {
	t.Helper()
	if res.StatusCode != wantStatus {
		t.Errorf("%s: status %d, want %d", what, res.StatusCode, wantStatus)
	}
	if wantBody != "*" && body != wantBody {
		t.Errorf("%s: body %q, want %q", what, body, wantBody)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if got := res.Header.Get(fields[i]); got != fields[i+1] {
			t.Errorf("%s: %s = %q, want %q", what, fields[i], got, fields[i+1])
		}
	}
}

type hfReply struct {
	res  *http.Response
	body string
	err  error
}

// hfDo is proxy.do for other goroutines: errors are returned, never
// fatal, and the store is not waited for.
func hfDo(addr, raw string) hfReply {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return hfReply{err: err}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // a test deadline
	if _, err := io.WriteString(conn, raw); err != nil {
		return hfReply{err: err}
	}
	method, _, _ := strings.Cut(raw, " ")
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return hfReply{err: err}
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	return hfReply{res: res, body: string(b), err: err}
}

// hfPoll calls cond until it is true, failing the test after a deadline.
func hfPoll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// hfCollapsedWaiters counts the goroutines waiting in collapsedMiss's
// select for a request in flight (not the one forwarding it). Only meaningful in tests
// that do not run in parallel with others.
func hfCollapsedWaiters() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		// "goroutine 7 [select]:" and then the innermost frame (runtime
		// frames are not shown).
		header, rest, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[select") && strings.HasPrefix(rest, "cuttle/httpcache.(*Handler).collapsedMiss(") {
			count++
		}
	}
	return count
}

// hfGate returns a gate for origin handlers: wait blocks until release is
// called. A test that uses one must release it before its cleanups close
// the servers (defer release()), as Close waits for blocked handlers.
func hfGate() (wait, release func()) {
	ch := make(chan struct{})
	var once sync.Once
	return func() { <-ch }, func() { once.Do(func() { close(ch) }) }
}

// hfStatic answers every request with a cacheable body.
func hfStatic(cacheControl, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Cache-Control", cacheControl)
		rw.Header().Set("Content-Type", "text/plain")
		rw.Header().Set("ETag", `"v1"`)
		io.WriteString(rw, body)
	}
}

// TestStaleOnConnectFailure_RFC9111_4_2_4: when the origin cannot be
// reached, a stale stored response is served (TCP_REFRESH_FAIL_OLD) as long
// as it is no staler than max_stale; beyond, the error is sent
// (TCP_REFRESH_FAIL_ERR).
func TestStaleOnConnectFailure_RFC9111_4_2_4(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name           string
		maxStale       time.Duration
		within, beyond time.Duration // clock advances: inside max_stale, then past it
	}{
		{"default one week", 0, 6 * 24 * time.Hour, 2 * 24 * time.Hour},
		{"max_stale 30s", 30 * time.Second, 30 * time.Second, 11 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfNewOrigin(t, c, hfStatic("max-age=10", "stored body\n"))
			p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.MaxStale = tt.maxStale })
			p.do(t, get("/s"))
			o.Close()

			c.advance(tt.within)
			res, body, _ := p.do(t, get("/s"))
			hfCheck(t, "stale within max_stale", res, body, 200, "stored body\n",
				"Cache-Status", "accel-test.local; fwd=stale", "X-Cache", "HIT from accel-test.local")

			c.advance(tt.beyond)
			res, body, _ = p.do(t, get("/s"))
			hfCheck(t, "stale beyond max_stale", res, body, 503, "*", "X-Squid-Error", "ERR_CONNECT_FAIL 0")
			if strings.Contains(body, "stored body") {
				t.Errorf("stale beyond max_stale: the stale body was served")
			}
			hfWantOrigin(t, o, 1)
			hfWantResults(t, p, "TCP_MISS/200", "TCP_REFRESH_FAIL_OLD/200", "TCP_REFRESH_FAIL_ERR/503")
		})
	}
}

// TestStaleOnErrorMustRevalidate_RFC9111_5_2_2_2: a must-revalidate
// response is never served stale, not even when the origin is down.
func TestStaleOnErrorMustRevalidate_RFC9111_5_2_2_2(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"max-age=10, must-revalidate", "max-age=10, proxy-revalidate", "s-maxage=10"} {
		t.Run(cc, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfNewOrigin(t, c, hfStatic(cc, "stored body\n"))
			p := hfNewProxy(t, o, c, nil, nil)
			p.do(t, get("/s"))
			o.Close()
			c.advance(20 * time.Second)
			res, body, _ := p.do(t, get("/s"))
			hfCheck(t, "origin down", res, body, 503, "*", "X-Squid-Error", "ERR_CONNECT_FAIL 0")
			if strings.Contains(body, "stored body") {
				t.Errorf("the stale body was served despite %q", cc)
			}
			hfWantResults(t, p, "TCP_MISS/200", "TCP_REFRESH_FAIL_ERR/503")
		})
	}
}

// TestStaleIfErrorResponse_RFC5861_4: a 5xx from the origin lets the stale
// response be served while the response's stale-if-error lasts; then the
// 5xx is passed on. max_stale is "never" here, so stale-if-error alone
// allows it.
func TestStaleIfErrorResponse_RFC5861_4(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		if n > 1 {
			rw.Header().Set("Content-Type", "text/plain")
			rw.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(rw, "unavailable\n")
			return
		}
		rw.Header().Set("Cache-Control", "max-age=10, stale-if-error=60")
		rw.Header().Set("ETag", `"v1"`)
		rw.Header().Set("Content-Type", "text/plain")
		io.WriteString(rw, "stored body\n")
	})
	p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.MaxStale = -1 })
	p.do(t, get("/sie"))

	c.advance(30 * time.Second) // 20.6s stale, within stale-if-error=60
	res, body, _ := p.do(t, get("/sie"))
	hfCheck(t, "503 within stale-if-error", res, body, 200, "stored body\n", "Cache-Status", "accel-test.local; fwd=stale")
	if got := hfRequest(o, 1).Header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("revalidation If-None-Match = %q, want \"v1\"", got)
	}

	c.advance(50 * time.Second) // 70.6s stale: stale-if-error has elapsed
	res, body, _ = p.do(t, get("/sie"))
	hfCheck(t, "503 after stale-if-error", res, body, 503, "unavailable\n")

	hfWantOrigin(t, o, 3)
	hfWantResults(t, p, "TCP_MISS/200", "TCP_REFRESH_FAIL_OLD/200", "TCP_REFRESH_FAIL_ERR/503")
}

// TestStaleIfErrorRequest_RFC5861_4: the request's stale-if-error allows
// (and bounds) serving a stale response when the origin fails.
func TestStaleIfErrorRequest_RFC5861_4(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		if n > 1 {
			rw.WriteHeader(http.StatusBadGateway)
			io.WriteString(rw, "bad gateway\n")
			return
		}
		rw.Header().Set("Cache-Control", "max-age=10")
		rw.Header().Set("Content-Type", "text/plain")
		io.WriteString(rw, "stored body\n")
	})
	p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.MaxStale = -1 })
	p.do(t, get("/rsie"))
	c.advance(30 * time.Second) // 20.6s stale

	res, body, _ := p.do(t, get("/rsie"))
	hfCheck(t, "no stale-if-error", res, body, 502, "bad gateway\n")
	res, body, _ = p.do(t, get("/rsie", "Cache-Control: stale-if-error=60\r\n"))
	hfCheck(t, "request stale-if-error=60", res, body, 200, "stored body\n")
	res, body, _ = p.do(t, get("/rsie", "Cache-Control: stale-if-error=5\r\n"))
	hfCheck(t, "request stale-if-error=5", res, body, 502, "bad gateway\n")

	hfWantOrigin(t, o, 4)
	hfWantResults(t, p, "TCP_MISS/200", "TCP_REFRESH_FAIL_ERR/502", "TCP_REFRESH_FAIL_OLD/200", "TCP_REFRESH_FAIL_ERR/502")
}

// TestStaleWhileRevalidate_RFC5861_3: within stale-while-revalidate the
// stale response is served at once (a hit) and refreshed in the background
// by one conditional request, however many requests come meanwhile; the
// next request gets the refreshed header.
func TestStaleWhileRevalidate_RFC5861_3(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	wait, unblock := hfGate()
	defer unblock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		h := rw.Header()
		h.Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
		h.Set("ETag", `"v1"`)
		if req.Header.Get("If-None-Match") == `"v1"` {
			wait()
			h.Set("X-Version", "2")
			rw.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "text/plain")
		h.Set("X-Version", "1")
		io.WriteString(rw, "swr body\n")
	})
	p := hfNewProxy(t, o, c, nil, nil)
	p.do(t, get("/swr"))

	c.advance(15 * time.Second) // 5.6s stale, within stale-while-revalidate=60
	const n = 6
	replies := make([]hfReply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = hfDo(p.Listener.Addr().String(), get("/swr")) })
	}
	wg.Wait()
	for i, r := range replies {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		hfCheck(t, fmt.Sprintf("stale request %d", i), r.res, r.body, 200, "swr body\n",
			"X-Version", "1", "X-Cache", "HIT from accel-test.local", "Cache-Status", "accel-test.local; hit; ttl=-5")
	}
	// The refresh is blocked at the origin: every request above was
	// answered without waiting for it, and only one refresh was sent.
	hfPoll(t, "the background revalidation", func() bool { return o.count() >= 2 })
	hfWantOrigin(t, o, 2)
	if got := hfRequest(o, 1).Header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("background revalidation If-None-Match = %q, want \"v1\"", got)
	}
	p.mem.Wait()
	if got := hfCount(hfResults(t, p))["TCP_MEM_HIT/200"]; got != n {
		t.Errorf("TCP_MEM_HIT lines = %d, want %d:\n%s", got, n, strings.Join(p.logLines(t), "\n"))
	}

	unblock()
	hfPoll(t, "the refreshed response to be stored", func() bool {
		p.mem.Wait()
		obj, err := p.mem.Get(context.Background(), "http://www.example.com/swr")
		if err != nil {
			return false
		}
		defer obj.Body.Close()
		cd, ok := obj.Meta.Decoded.(*cached)
		return ok && cd.header.Get("X-Version") == "2"
	})
	res, body, _ := p.do(t, get("/swr"))
	hfCheck(t, "after the refresh", res, body, 200, "swr body\n",
		"X-Version", "2", "X-Cache", "HIT from accel-test.local", "Cache-Status", "accel-test.local; hit; ttl=9")
	hfWantOrigin(t, o, 2)
	results := hfResults(t, p)
	if len(results) != n+2 || results[0] != "TCP_MISS/200" || results[n+1] != "TCP_MEM_HIT/200" {
		t.Errorf("access.log results = %q, want a miss, %d hits and a hit (the refresh is not logged)", results, n)
	}
}

// hfVaryOrigin answers with a body naming the request number and the
// request's value of field, varying on vary.
func hfVaryOrigin(t *testing.T, c *clock, vary, field string) *origin {
	return hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=60")
		rw.Header().Set("Vary", vary)
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(rw, "#%d %s=%s", n, field, strings.Join(req.Header.Values(field), "|"))
	})
}

// TestVaryVariants_RFC9111_4_1: two variants of one URL are stored at once
// and each is served only to a request that selects it.
func TestVaryVariants_RFC9111_4_1(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfVaryOrigin(t, c, "Accept-Encoding", "Accept-Encoding")
	p := hfNewProxy(t, o, c, nil, nil)
	const (
		uriMiss  = "accel-test.local; fwd=uri-miss; stored; fwd-status=200"
		varyMiss = "accel-test.local; fwd=vary-miss; stored; fwd-status=200"
		hit      = "accel-test.local; hit; ttl=59"
	)
	for i, s := range []struct {
		ae, want, cache, status string
		origin                  int
	}{
		{"gzip", "#1 Accept-Encoding=gzip", "MISS", uriMiss, 1},
		{"br", "#2 Accept-Encoding=br", "MISS", varyMiss, 2},
		{"gzip", "#1 Accept-Encoding=gzip", "HIT", hit, 2},
		{"br", "#2 Accept-Encoding=br", "HIT", hit, 2},
		{"", "#3 Accept-Encoding=", "MISS", varyMiss, 3},
		{"gzip", "#1 Accept-Encoding=gzip", "HIT", hit, 3},
		{"", "#3 Accept-Encoding=", "HIT", hit, 3},
	} {
		extra := ""
		if s.ae != "" {
			extra = "Accept-Encoding: " + s.ae + "\r\n"
		}
		res, body, _ := p.do(t, get("/v", extra))
		hfCheck(t, fmt.Sprintf("step %d (%q)", i, s.ae), res, body, 200, s.want,
			"X-Cache", s.cache+" from accel-test.local", "Cache-Status", s.status)
		hfWantOrigin(t, o, s.origin)
	}
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MISS/200", "TCP_MEM_HIT/200", "TCP_MEM_HIT/200",
		"TCP_MISS/200", "TCP_MEM_HIT/200", "TCP_MEM_HIT/200")
}

// TestVaryNormalisation_RFC9111_4_1: values that differ only in whitespace,
// case, member order (Accept-Encoding) or field lines select the same
// variant; a Vary field name is case-insensitive.
func TestVaryNormalisation_RFC9111_4_1(t *testing.T) {
	t.Parallel()
	t.Run("Accept-Encoding", func(t *testing.T) {
		t.Parallel()
		c := hfNewClock()
		o := hfVaryOrigin(t, c, "Accept-Encoding", "Accept-Encoding")
		p := hfNewProxy(t, o, c, nil, nil)
		for i, s := range []struct {
			extra, cache string
			origin       int
		}{
			{"Accept-Encoding:  gzip , br \r\n", "MISS", 1},
			{"Accept-Encoding: br,gzip\r\n", "HIT", 1},
			{"Accept-Encoding: BR, GZIP\r\n", "HIT", 1},
			{"Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n", "HIT", 1},
			{"Accept-Encoding: gzip\r\n", "MISS", 2},
			{"Accept-Encoding: br, gzip;q=0.5\r\n", "MISS", 3},
			{"Accept-Encoding: gzip ; q=0.5 ,br\r\n", "HIT", 3},
		} {
			res, _, _ := p.do(t, get("/v", s.extra))
			hfCheck(t, fmt.Sprintf("step %d (%q)", i, s.extra), res, "", 200, "*", "X-Cache", s.cache+" from accel-test.local")
			hfWantOrigin(t, o, s.origin)
		}
	})
	t.Run("Accept-Language", func(t *testing.T) {
		t.Parallel()
		c := hfNewClock()
		o := hfVaryOrigin(t, c, "accept-language", "Accept-Language")
		p := hfNewProxy(t, o, c, nil, nil)
		for i, s := range []struct {
			extra, cache string
			origin       int
		}{
			{"Accept-Language: en-US\r\n", "MISS", 1},
			{"Accept-Language: EN-us\r\n", "HIT", 1},
			{"Accept-Language: de\r\n", "MISS", 2},
			{"Accept-Language: en-US\r\n", "HIT", 2},
			// Language order is a preference: not the same value.
			{"Accept-Language: de, en\r\n", "MISS", 3},
			{"Accept-Language: en, de\r\n", "MISS", 4},
			{"Accept-Language: de,en\r\n", "HIT", 4},
		} {
			res, _, _ := p.do(t, get("/l", s.extra))
			hfCheck(t, fmt.Sprintf("step %d (%q)", i, s.extra), res, "", 200, "*", "X-Cache", s.cache+" from accel-test.local")
			hfWantOrigin(t, o, s.origin)
		}
	})
}

// TestVaryMaxVariants: with MaxVariants 2, storing a third variant drops
// the oldest one.
func TestVaryMaxVariants(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfVaryOrigin(t, c, "Accept-Encoding", "Accept-Encoding")
	p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.MaxVariants = 2 })
	for i, s := range []struct {
		ae, want, cache string
		origin          int
	}{
		{"gzip", "#1 Accept-Encoding=gzip", "MISS", 1},
		{"br", "#2 Accept-Encoding=br", "MISS", 2},
		{"deflate", "#3 Accept-Encoding=deflate", "MISS", 3}, // drops gzip
		{"br", "#2 Accept-Encoding=br", "HIT", 3},
		{"deflate", "#3 Accept-Encoding=deflate", "HIT", 3},
		{"gzip", "#4 Accept-Encoding=gzip", "MISS", 4}, // drops br
		{"deflate", "#3 Accept-Encoding=deflate", "HIT", 4},
		{"br", "#5 Accept-Encoding=br", "MISS", 5},
	} {
		res, body, _ := p.do(t, get("/v", "Accept-Encoding: "+s.ae+"\r\n"))
		hfCheck(t, fmt.Sprintf("step %d (%q)", i, s.ae), res, body, 200, s.want, "X-Cache", s.cache+" from accel-test.local")
		hfWantOrigin(t, o, s.origin)
	}
	idx, err := p.mem.Get(context.Background(), "http://www.example.com/v")
	if err != nil {
		t.Fatalf("no variant index: %v", err)
	}
	defer idx.Body.Close()
	vi, err := decodeVariantIndex(&idx.Meta)
	if err != nil || len(vi.keys) != 2 {
		t.Errorf("variant index = %+v, %v; want 2 keys", vi, err)
	}
}

// TestVaryInvalidationByUnsafeMethod_RFC9111_4_4: a successful POST
// invalidates every stored variant of its target URI.
func TestVaryInvalidationByUnsafeMethod_RFC9111_4_4(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfVaryOrigin(t, c, "Accept-Encoding", "Accept-Encoding")
	p := hfNewProxy(t, o, c, nil, nil)
	steps := []struct {
		raw, want, cache string
		origin           int
	}{
		{get("/v", "Accept-Encoding: gzip\r\n"), "#1 Accept-Encoding=gzip", "MISS", 1},
		{get("/v", "Accept-Encoding: br\r\n"), "#2 Accept-Encoding=br", "MISS", 2},
		{get("/v", "Accept-Encoding: gzip\r\n"), "#1 Accept-Encoding=gzip", "HIT", 2},
		{get("/v", "Accept-Encoding: br\r\n"), "#2 Accept-Encoding=br", "HIT", 2},
		{"POST /v HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 0\r\n\r\n", "#3 Accept-Encoding=", "MISS", 3},
		// The gzip variant is fetched and indexed again; the br variant
		// must not come back with the new index.
		{get("/v", "Accept-Encoding: gzip\r\n"), "#4 Accept-Encoding=gzip", "MISS", 4},
		{get("/v", "Accept-Encoding: br\r\n"), "#5 Accept-Encoding=br", "MISS", 5},
	}
	for i, s := range steps {
		res, body, _ := p.do(t, s.raw)
		hfCheck(t, fmt.Sprintf("step %d", i), res, body, 200, s.want, "X-Cache", s.cache+" from accel-test.local")
		hfWantOrigin(t, o, s.origin)
	}
}

// TestVaryStar_RFC9111_4_1: a response with Vary: * is never stored.
func TestVaryStar_RFC9111_4_1(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfVaryOrigin(t, c, "*", "Accept-Encoding")
	p := hfNewProxy(t, o, c, nil, nil)
	for i := range 3 {
		res, body, _ := p.do(t, get("/star", "Accept-Encoding: gzip\r\n"))
		hfCheck(t, fmt.Sprintf("request %d", i), res, body, 200, fmt.Sprintf("#%d Accept-Encoding=gzip", i+1),
			"X-Cache", "MISS from accel-test.local", "Cache-Status", "accel-test.local; fwd=uri-miss; fwd-status=200")
	}
	hfWantOrigin(t, o, 3)
	if _, err := p.mem.Get(context.Background(), "http://www.example.com/star"); err == nil {
		t.Errorf("something is stored under a Vary: * URL")
	}
}

// hfCollapse sends n concurrent requests for path, waits until one is at
// the (blocked) origin and the n-1 others wait for it, releases the origin
// and returns the replies.
func hfCollapse(t *testing.T, p *hfProxy, o *origin, release func(), n int, path string) []hfReply {
	t.Helper()
	defer release()
	replies := make([]hfReply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			replies[i] = hfDo(p.Listener.Addr().String(), get(path, fmt.Sprintf("X-Client: %d\r\n", i)))
		})
	}
	hfPoll(t, "one request at the origin and the others collapsed on it", func() bool {
		return o.count() == 1 && hfCollapsedWaiters() >= n-1
	})
	release()
	wg.Wait()
	p.mem.Wait()
	for i, r := range replies {
		if r.err != nil {
			t.Fatalf("client %d: %v", i, r.err)
		}
	}
	return replies
}

// TestCollapsedForwarding: concurrent misses for one URL make one origin
// request; the others are answered from what it stored (TCP_CF_HIT). Not
// parallel: it counts goroutines.
func TestCollapsedForwarding(t *testing.T) {
	c := hfNewClock()
	wait, release := hfGate()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		wait()
		rw.Header().Set("Cache-Control", "max-age=60")
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(rw, "response %d for client %s", n, req.Header.Get("X-Client"))
	})
	p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.CollapsedForwarding = true })
	const n = 5
	replies := hfCollapse(t, p, o, release, n, "/cf")
	hfWantOrigin(t, o, 1)
	want := "response 1 for client " + hfRequest(o, 0).Header.Get("X-Client")
	for i, r := range replies {
		hfCheck(t, fmt.Sprintf("client %d", i), r.res, r.body, 200, want)
	}
	got := hfCount(hfResults(t, p))
	if got["TCP_MISS/200"] != 1 || got["TCP_CF_HIT/200"] != n-1 || len(got) != 2 {
		t.Errorf("access.log results = %v, want 1 TCP_MISS/200 and %d TCP_CF_HIT/200", got, n-1)
	}
	for _, l := range p.logLines(t) {
		if strings.Contains(l, "TCP_CF_HIT") && !strings.Contains(l, " HIER_NONE/- ") {
			t.Errorf("a collapsed hit names a peer: %q", l)
		}
	}
}

// TestCollapsedForwardingPrivate_RFC9111_5_2_2_7: a private response is
// never shared with the requests collapsed on it: each fetches its own
// (TCP_CF_MISS) and gets the body the origin sent for it.
func TestCollapsedForwardingPrivate_RFC9111_5_2_2_7(t *testing.T) {
	c := hfNewClock()
	wait, release := hfGate()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		if n == 1 {
			wait()
		}
		rw.Header().Set("Cache-Control", "private, max-age=60")
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(rw, "response %d for client %s", n, req.Header.Get("X-Client"))
	})
	p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.CollapsedForwarding = true })
	const n = 5
	replies := hfCollapse(t, p, o, release, n, "/cfpriv")
	hfWantOrigin(t, o, n)
	sent := map[string]bool{} // what the origin sent to whom
	for i := range n {
		sent[fmt.Sprintf("response %d for client %s", i+1, hfRequest(o, i).Header.Get("X-Client"))] = true
	}
	seen := map[string]bool{}
	for i, r := range replies {
		if r.res.StatusCode != 200 || !sent[r.body] || !strings.HasSuffix(r.body, fmt.Sprintf(" for client %d", i)) {
			t.Errorf("client %d: %d %q, want 200 and a body the origin sent to this client", i, r.res.StatusCode, r.body)
		}
		if seen[r.body] {
			t.Errorf("client %d: body %q was also given to another client", i, r.body)
		}
		seen[r.body] = true
	}
	got := hfCount(hfResults(t, p))
	if got["TCP_MISS/200"] != 1 || got["TCP_CF_MISS/200"] != n-1 || len(got) != 2 {
		t.Errorf("access.log results = %v, want 1 TCP_MISS/200 and %d TCP_CF_MISS/200", got, n-1)
	}
}

// TestPurge: PURGE removes a stored response (200) so that the next GET
// is a miss, answers 404 when nothing is stored, and is denied (403) unless
// enabled and allowed by http_access.
func TestPurge(t *testing.T) {
	t.Parallel()
	purge := func(path string) string { return "PURGE " + path + " HTTP/1.1\r\nHost: www.example.com\r\n\r\n" }
	t.Run("enabled", func(t *testing.T) {
		t.Parallel()
		c := hfNewClock()
		o := hfNewOrigin(t, c, hfStatic("max-age=60", "body\n"))
		p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.EnablePurge = true })
		for i, s := range []struct {
			raw    string
			status int
			cache  string
			origin int
		}{
			{get("/a"), 200, "MISS", 1},
			{get("/a"), 200, "HIT", 1},
			{purge("/a"), 200, "", 1},
			{get("/a"), 200, "MISS", 2},
			{get("/a"), 200, "HIT", 2},
			{purge("/absent"), 404, "", 2},
			{purge("/a"), 200, "", 2},
			{purge("/a"), 404, "", 2},
		} {
			res, _, _ := p.do(t, s.raw)
			hfCheck(t, fmt.Sprintf("step %d", i), res, "", s.status, "*")
			if s.cache != "" {
				hfCheck(t, fmt.Sprintf("step %d", i), res, "", s.status, "*", "X-Cache", s.cache+" from accel-test.local")
			}
			hfWantOrigin(t, o, s.origin)
		}
		hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/200", "TCP_MISS/200", "TCP_MISS/200", "TCP_MEM_HIT/200",
			"TCP_MISS/404", "TCP_MISS/200", "TCP_MISS/404")
	})
	t.Run("not enabled", func(t *testing.T) {
		t.Parallel()
		c := hfNewClock()
		o := hfNewOrigin(t, c, hfStatic("max-age=60", "body\n"))
		p := hfNewProxy(t, o, c, nil, nil)
		p.do(t, get("/a"))
		res, _, _ := p.do(t, purge("/a"))
		hfCheck(t, "PURGE", res, "", 403, "*", "X-Squid-Error", "ERR_ACCESS_DENIED 0")
		res, _, _ = p.do(t, get("/a"))
		hfCheck(t, "GET after the denied PURGE", res, "", 200, "*", "X-Cache", "HIT from accel-test.local")
		hfWantOrigin(t, o, 1)
		hfWantResults(t, p, "TCP_MISS/200", "TCP_DENIED/403", "TCP_MEM_HIT/200")
	})
	t.Run("denied by http_access", func(t *testing.T) {
		t.Parallel()
		c := hfNewClock()
		o := hfNewOrigin(t, c, hfStatic("max-age=60", "body\n"))
		m, err := NewACL("method", []string{"PURGE"})
		if err != nil {
			t.Fatal(err)
		}
		p := hfNewProxy(t, o, c, nil, func(opts *Options) {
			opts.EnablePurge = true
			opts.Access = append([]Rule{{Allow: false, Terms: []Term{{ACL: m}}}}, hfAllowAll...)
		})
		p.do(t, get("/a"))
		res, _, _ := p.do(t, purge("/a"))
		hfCheck(t, "PURGE", res, "", 403, "*", "X-Squid-Error", "ERR_ACCESS_DENIED 0")
		res, _, _ = p.do(t, get("/a"))
		hfCheck(t, "GET after the denied PURGE", res, "", 200, "*", "X-Cache", "HIT from accel-test.local")
		hfWantOrigin(t, o, 1)
		hfWantResults(t, p, "TCP_MISS/200", "TCP_DENIED/403", "TCP_MEM_HIT/200")
	})
}

// TestCacheDeny: a request denied by squid.conf cache is neither answered
// from the cache, even when a response is stored, nor stored
// (Cache-Status fwd=bypass).
func TestCacheDeny(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=60")
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(rw, "response %d", n)
	})
	deny, err := NewACL("urlpath_regex", []string{"^/nocache/"})
	if err != nil {
		t.Fatal(err)
	}
	denyAll := func(opts *Options) {
		opts.CacheAccess = []Rule{{Allow: false, Terms: []Term{{ACL: deny}}}, {Allow: true, Terms: []Term{{ACL: aclAll{}}}}}
	}
	// Two proxies share one store: plain stores /nocache/x, and the one with
	// cache deny must not use it.
	plain := hfNewProxy(t, o, c, nil, nil)
	p := hfNewProxy(t, o, c, plain.mem, denyAll)

	res, body, _ := plain.do(t, get("/nocache/x"))
	hfCheck(t, "plain proxy", res, body, 200, "response 1")
	for i := range 2 {
		res, body, _ := p.do(t, get("/nocache/x"))
		hfCheck(t, fmt.Sprintf("cache deny request %d", i), res, body, 200, fmt.Sprintf("response %d", i+2),
			"X-Cache", "MISS from accel-test.local", "Cache-Status", "accel-test.local; fwd=bypass; fwd-status=200")
	}
	res, body, _ = plain.do(t, get("/nocache/x"))
	hfCheck(t, "plain proxy after cache deny", res, body, 200, "response 1", "X-Cache", "HIT from accel-test.local")

	// Nothing stored through the denying proxy.
	for i := range 2 {
		res, body, _ = p.do(t, get("/nocache/y"))
		hfCheck(t, fmt.Sprintf("/nocache/y request %d", i), res, body, 200, fmt.Sprintf("response %d", i+4))
	}
	if _, err := p.mem.Get(context.Background(), "http://www.example.com/nocache/y"); err == nil {
		t.Errorf("a response denied by cache was stored")
	}
	// Other URLs are cached as usual.
	p.do(t, get("/other"))
	res, _, _ = p.do(t, get("/other"))
	hfCheck(t, "/other", res, "", 200, "*", "X-Cache", "HIT from accel-test.local")
	hfWantOrigin(t, o, 6)
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MISS/200", "TCP_MISS/200", "TCP_MISS/200", "TCP_MISS/200", "TCP_MEM_HIT/200")
}

// TestNegativeTTL: negative_ttl keeps error replies without freshness of
// their own that long (TCP_NEGATIVE_HIT); 0 keeps none.
func TestNegativeTTL(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 503} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			for _, ttl := range []time.Duration{30 * time.Second, 0} {
				c := hfNewClock()
				o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
					rw.Header().Set("Content-Type", "text/plain")
					rw.WriteHeader(status)
					fmt.Fprintf(rw, "error %d", n)
				})
				p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.NegativeTTL = ttl })
				res, body, _ := p.do(t, get("/err"))
				hfCheck(t, "first", res, body, status, "error 1")
				c.advance(10 * time.Second)
				res, body, _ = p.do(t, get("/err"))
				code := fmt.Sprintf("/%d", status)
				if ttl == 0 {
					hfCheck(t, "negative_ttl 0, second", res, body, status, "error 2")
					hfWantOrigin(t, o, 2)
					hfWantResults(t, p, "TCP_MISS"+code, "TCP_MISS"+code)
					continue
				}
				hfCheck(t, "negative_ttl 30s, second", res, body, status, "error 1", "X-Cache", "HIT from accel-test.local")
				hfWantOrigin(t, o, 1)
				c.advance(21 * time.Second) // past negative_ttl
				res, body, _ = p.do(t, get("/err"))
				hfCheck(t, "negative_ttl 30s, expired", res, body, status, "error 2")
				hfWantOrigin(t, o, 2)
				hfWantResults(t, p, "TCP_MISS"+code, "TCP_NEGATIVE_HIT"+code, "TCP_REFRESH_FAIL_ERR"+code)
			}
		})
	}
}

// TestNegativeHitExplicitFreshness: a 404 with its own max-age is stored
// without negative_ttl and its hits are logged TCP_NEGATIVE_HIT.
func TestNegativeHitExplicitFreshness(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=60")
		rw.Header().Set("Content-Type", "text/plain")
		rw.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(rw, "not found %d", n)
	})
	p := hfNewProxy(t, o, c, nil, nil)
	p.do(t, get("/gone"))
	res, body, _ := p.do(t, get("/gone"))
	hfCheck(t, "second", res, body, 404, "not found 1", "X-Cache", "HIT from accel-test.local")
	hfWantOrigin(t, o, 1)
	hfWantResults(t, p, "TCP_MISS/404", "TCP_NEGATIVE_HIT/404")
}

const hfRangeBody = "0123456789abcdefghijklmnopqrstuvwxyzABCD" // 40 bytes

// hfRangeOrigin serves hfRangeBody with Range support.
func hfRangeOrigin(t *testing.T, c *clock) *origin {
	return hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=60")
		rw.Header().Set("Content-Type", "text/plain")
		http.ServeContent(rw, req, "", time.Time{}, strings.NewReader(hfRangeBody))
	})
}

// TestRangeOffsetLimit_RFC9110_14: with range_offset_limit -1 a Range miss
// fetches and stores the whole object and answers the range from it; with
// 0 the Range is forwarded and the 206 not stored.
func TestRangeOffsetLimit_RFC9110_14(t *testing.T) {
	t.Parallel()
	t.Run("-1", func(t *testing.T) {
		t.Parallel()
		c := hfNewClock()
		o := hfRangeOrigin(t, c)
		p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.RangeOffsetLimit = -1 })
		res, body, _ := p.do(t, get("/file", "Range: bytes=2-5\r\n"))
		hfCheck(t, "Range miss", res, body, 206, "2345", "Content-Range", "bytes 2-5/40", "Content-Type", "text/plain")
		if got := hfRequest(o, 0).Header.Get("Range"); got != "" {
			t.Errorf("origin saw Range %q, want none", got)
		}
		res, body, _ = p.do(t, get("/file"))
		hfCheck(t, "full GET", res, body, 200, hfRangeBody, "X-Cache", "HIT from accel-test.local")
		res, body, _ = p.do(t, get("/file", "Range: bytes=30-\r\n"))
		hfCheck(t, "Range hit", res, body, 206, "uvwxyzABCD", "Content-Range", "bytes 30-39/40")
		hfWantOrigin(t, o, 1)
		hfWantResults(t, p, "TCP_MISS/206", "TCP_MEM_HIT/200", "TCP_MEM_HIT/206")
	})
	t.Run("0", func(t *testing.T) {
		t.Parallel()
		c := hfNewClock()
		o := hfRangeOrigin(t, c)
		p := hfNewProxy(t, o, c, nil, nil)
		res, body, _ := p.do(t, get("/file", "Range: bytes=2-5\r\n"))
		hfCheck(t, "Range miss", res, body, 206, "2345", "Content-Range", "bytes 2-5/40")
		if got := hfRequest(o, 0).Header.Get("Range"); got != "bytes=2-5" {
			t.Errorf("origin saw Range %q, want bytes=2-5", got)
		}
		if _, err := p.mem.Get(context.Background(), "http://www.example.com/file"); err == nil {
			t.Errorf("the 206 was stored")
		}
		res, body, _ = p.do(t, get("/file"))
		hfCheck(t, "full GET", res, body, 200, hfRangeBody, "X-Cache", "MISS from accel-test.local")
		hfWantOrigin(t, o, 2)
		hfWantResults(t, p, "TCP_MISS/206", "TCP_MISS/200")
	})
}

// TestMultipleRanges_RFC9110_14_6: several ranges of a stored response are
// sent as multipart/byteranges; more than 16 are ignored and the whole
// response is sent (Section 14.2 allows ignoring Range).
func TestMultipleRanges_RFC9110_14_6(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfRangeOrigin(t, c)
	p := hfNewProxy(t, o, c, nil, nil)
	p.do(t, get("/file"))

	ranges := func(n int) string {
		var rs []string
		for i := range n {
			rs = append(rs, fmt.Sprintf("%d-%d", 2*i, 2*i))
		}
		return "Range: bytes=" + strings.Join(rs, ",") + "\r\n"
	}
	parts := func(what string, res *http.Response, body string) []string {
		t.Helper()
		mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
		if res.StatusCode != 206 || err != nil || mt != "multipart/byteranges" {
			t.Fatalf("%s: %d %q, want 206 multipart/byteranges", what, res.StatusCode, res.Header.Get("Content-Type"))
		}
		var out []string
		mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			b, _ := io.ReadAll(part)
			out = append(out, part.Header.Get("Content-Range")+" "+part.Header.Get("Content-Type")+" "+string(b))
		}
		return out
	}

	res, body, _ := p.do(t, get("/file", "Range: bytes=0-1, 10-12\r\n"))
	if got, want := parts("two ranges", res, body), []string{"bytes 0-1/40 text/plain 01", "bytes 10-12/40 text/plain abc"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("two ranges: parts %q, want %q", got, want)
	}
	res, body, _ = p.do(t, get("/file", ranges(16)))
	if got := parts("16 ranges", res, body); len(got) != 16 || got[15] != "bytes 30-30/40 text/plain u" {
		t.Errorf("16 ranges: %d parts, last %q", len(got), got[len(got)-1])
	}
	res, body, _ = p.do(t, get("/file", ranges(17)))
	hfCheck(t, "17 ranges", res, body, 200, hfRangeBody, "Content-Range", "")
	hfWantOrigin(t, o, 1)
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/206", "TCP_MEM_HIT/206", "TCP_MEM_HIT/200")
}

// hfReloadOrigin serves a revalidatable response, answering If-None-Match
// "r1" with 304.
func hfReloadOrigin(t *testing.T, c *clock) *origin {
	return hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		h := rw.Header()
		h.Set("Cache-Control", "max-age=60")
		h.Set("ETag", `"r1"`)
		h.Set("Last-Modified", "Tue, 24 Nov 2026 10:00:00 GMT")
		if req.Header.Get("If-None-Match") == `"r1"` {
			rw.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "text/plain")
		fmt.Fprintf(rw, "response %d", n)
	})
}

// hfWantUnconditional checks that the origin's i-th request had no
// validators.
func hfWantUnconditional(t *testing.T, o *origin, i int) {
	t.Helper()
	req := hfRequest(o, i)
	for _, k := range []string{"If-None-Match", "If-Modified-Since"} {
		if v := req.Header.Get(k); v != "" {
			t.Errorf("origin request %d has %s: %q, want an unconditional request", i, k, v)
		}
	}
}

// TestClientReload_RFC9111_5_2_1_4: a client's no-cache fetches the
// response again, unconditionally (TCP_MISS without the lookup Squid skips,
// TCP_CLIENT_REFRESH_MISS with it); refresh_pattern reload-into-ims makes
// it a revalidation and ignore-reload ignores it.
func TestClientReload_RFC9111_5_2_1_4(t *testing.T) {
	t.Parallel()
	reload := get("/r", "Cache-Control: no-cache\r\n")
	pattern := func(rp RefreshPattern) []RefreshPattern {
		rp.Regexp, rp.Percent, rp.Max = regexp.MustCompile(`^http://www\.example\.com/`), 20, 72*time.Hour
		return []RefreshPattern{rp}
	}
	for _, tt := range []struct {
		name     string
		set      func(*Options)
		status   int
		body     string
		result   string
		cond     bool // the origin request carries the stored validators
		hitAfter string
	}{
		{"no lookup", nil, 200, "response 2", "TCP_MISS/200", false, "response 2"},
		{"lookup", func(o *Options) { o.ReloadLookup = true }, 200, "response 2", "TCP_CLIENT_REFRESH_MISS/200", false, "response 2"},
		{"pragma", func(o *Options) { o.ReloadLookup = true }, 200, "response 2", "TCP_CLIENT_REFRESH_MISS/200", false, "response 2"},
		{"reload-into-ims", func(o *Options) {
			o.ReloadLookup = true
			o.RefreshPatterns = pattern(RefreshPattern{ReloadIntoIMS: true})
		}, 200, "response 1", "TCP_REFRESH_UNMODIFIED/200", true, "response 1"},
		{"ignore-reload", func(o *Options) {
			o.ReloadLookup = true
			o.RefreshPatterns = pattern(RefreshPattern{IgnoreReload: true})
		}, 200, "response 1", "TCP_MEM_HIT/200", false, "response 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfReloadOrigin(t, c)
			p := hfNewProxy(t, o, c, nil, tt.set)
			p.do(t, get("/r"))
			raw := reload
			if tt.name == "pragma" {
				raw = get("/r", "Pragma: no-cache\r\n")
			}
			res, body, _ := p.do(t, raw)
			hfCheck(t, "reload", res, body, tt.status, tt.body)
			wantOrigin := 2
			if tt.result == "TCP_MEM_HIT/200" {
				wantOrigin = 1
			}
			hfWantOrigin(t, o, wantOrigin)
			if wantOrigin == 2 {
				if tt.cond {
					if got := hfRequest(o, 1).Header.Get("If-None-Match"); got != `"r1"` {
						t.Errorf("reload-into-ims: origin If-None-Match = %q, want \"r1\"", got)
					}
				} else {
					hfWantUnconditional(t, o, 1)
				}
			}
			res, body, _ = p.do(t, get("/r"))
			hfCheck(t, "next GET", res, body, 200, tt.hitAfter, "X-Cache", "HIT from accel-test.local")
			hfWantOrigin(t, o, wantOrigin)
			hfWantResults(t, p, "TCP_MISS/200", tt.result, "TCP_MEM_HIT/200")
		})
	}
}

// TestRefreshIMS: with refresh_pattern refresh-ims a client's conditional
// request for a fresh stored response makes the cache revalidate it with
// the origin; without it the cache answers it.
func TestRefreshIMS(t *testing.T) {
	t.Parallel()
	for _, refreshIMS := range []bool{true, false} {
		t.Run(strconv.FormatBool(refreshIMS), func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfReloadOrigin(t, c)
			p := hfNewProxy(t, o, c, nil, func(opts *Options) {
				opts.RefreshPatterns = []RefreshPattern{{Regexp: regexp.MustCompile(`.`), Percent: 20, Max: 72 * time.Hour, RefreshIMS: refreshIMS}}
			})
			p.do(t, get("/r"))
			c.advance(5 * time.Second)
			res, _, _ := p.do(t, get("/r", "If-None-Match: \"r1\"\r\n"))
			hfCheck(t, "conditional request", res, "", 304, "*")
			results := hfResults(t, p)
			if !refreshIMS {
				hfWantOrigin(t, o, 1)
				hfWantResults(t, p, "TCP_MISS/200", "TCP_INM_HIT/304")
				return
			}
			hfWantOrigin(t, o, 2)
			// The cache revalidates its own copy with its validator and
			// answers the client's condition from the refreshed response.
			if got := hfRequest(o, 1).Header.Get("If-None-Match"); got != `"r1"` {
				t.Errorf("origin If-None-Match = %q, want the stored ETag \"r1\"", got)
			}
			if len(results) != 2 || results[1] != "TCP_REFRESH_UNMODIFIED/304" {
				t.Errorf("access.log results = %q, want the conditional request logged TCP_REFRESH_UNMODIFIED/304", results)
			}
			// The stored response is still there for unconditional requests.
			res, body, _ := p.do(t, get("/r"))
			hfCheck(t, "unconditional", res, body, 200, "response 1", "X-Cache", "HIT from accel-test.local")
			hfWantOrigin(t, o, 2)
		})
	}
}

// TestXCacheLookupAndCacheStatus_RFC9211: X-Cache-Lookup says whether a
// usable object was found (Squid's "HIT/MISS from host:port"), and
// Cache-Status carries ttl on hits and fwd-status on forwarded responses.
func TestXCacheLookupAndCacheStatus_RFC9211(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/missing" {
			rw.WriteHeader(http.StatusNotFound)
			return
		}
		hfStatic("max-age=60", "body\n")(n, rw, req)
	})
	p := hfNewProxy(t, o, c, nil, nil)
	res, _, _ := p.do(t, get("/h"))
	hfCheck(t, "miss", res, "", 200, "*", "X-Cache-Lookup", "MISS from accel-test.local:3128",
		"Cache-Status", "accel-test.local; fwd=uri-miss; stored; fwd-status=200")
	c.advance(2 * time.Second)
	res, _, _ = p.do(t, get("/h"))
	hfCheck(t, "hit", res, "", 200, "*", "X-Cache-Lookup", "HIT from accel-test.local:3128",
		"Cache-Status", "accel-test.local; hit; ttl=57")
	c.advance(50 * time.Second)
	res, _, _ = p.do(t, get("/h"))
	hfCheck(t, "later hit", res, "", 200, "*", "Cache-Status", "accel-test.local; hit; ttl=7")
	res, _, _ = p.do(t, get("/missing"))
	hfCheck(t, "404 miss", res, "", 404, "*", "X-Cache-Lookup", "MISS from accel-test.local:3128",
		"Cache-Status", "accel-test.local; fwd=uri-miss; fwd-status=404")
	res, _, _ = p.do(t, get("/h", "Cache-Control: no-cache\r\n"))
	hfCheck(t, "reload", res, "", 200, "*", "X-Cache-Lookup", "MISS from accel-test.local:3128")
	if cs := res.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd-status=200") || strings.Contains(cs, "; hit") {
		t.Errorf("reload: Cache-Status %q, want a forwarded response with fwd-status=200", cs)
	}
}

// TestCacheStatusStaleFetch_RFC9211_2_2: a stale stored response whose
// revalidation brings a new one was forwarded because it was stale:
// fwd=stale, not uri-miss (the URI did match a stored response).
func TestCacheStatusStaleFetch_RFC9211_2_2(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=10")
		rw.Header().Set("ETag", fmt.Sprintf(`"v%d"`, n))
		fmt.Fprintf(rw, "response %d", n)
	})
	p := hfNewProxy(t, o, c, nil, nil)
	p.do(t, get("/s"))
	c.advance(20 * time.Second)
	res, body, _ := p.do(t, get("/s"))
	hfCheck(t, "stale, refetched", res, body, 200, "response 2", "X-Cache-Lookup", "HIT from accel-test.local:3128")
	hfWantResults(t, p, "TCP_MISS/200", "TCP_REFRESH_MODIFIED/200")
	cs := res.Header.Get("Cache-Status")
	if !strings.Contains(cs, "; fwd=stale") || !strings.Contains(cs, "fwd-status=200") {
		t.Errorf("Cache-Status = %q, want fwd=stale with fwd-status=200", cs)
	}
}

// TestCDNCacheControl_RFC9213: with CDNCacheControl, CDN-Cache-Control
// replaces Cache-Control for this cache; without, it is ignored.
func TestCDNCacheControl_RFC9213(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		enabled   bool
		cdn, cc   string
		wantCache string
	}{
		{"enabled, CDN max-age over no-store", true, "max-age=60", "no-store", "HIT"},
		{"disabled, CDN max-age over no-store", false, "max-age=60", "no-store", "MISS"},
		{"enabled, CDN no-store over max-age", true, "no-store", "max-age=60", "MISS"},
		{"disabled, CDN no-store over max-age", false, "no-store", "max-age=60", "HIT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
				rw.Header().Set("CDN-Cache-Control", tt.cdn)
				rw.Header().Set("Cache-Control", tt.cc)
				fmt.Fprintf(rw, "response %d", n)
			})
			p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.CDNCacheControl = tt.enabled })
			p.do(t, get("/cdn"))
			c.advance(5 * time.Second)
			res, body, _ := p.do(t, get("/cdn"))
			want, wantOrigin, wantLog := "response 1", 1, "TCP_MEM_HIT/200"
			if tt.wantCache == "MISS" {
				want, wantOrigin, wantLog = "response 2", 2, "TCP_MISS/200"
			}
			hfCheck(t, "second", res, body, 200, want, "X-Cache", tt.wantCache+" from accel-test.local",
				"Cache-Control", tt.cc)
			hfWantOrigin(t, o, wantOrigin)
			hfWantResults(t, p, "TCP_MISS/200", wantLog)
		})
	}
}

// TestStaleRevalidationClientConditional_RFC9111_4_3_2: a stale response
// is revalidated with the cache's validators; a 304 refreshes it and the
// client's own If-None-Match is then answered from it: 304 when it matches,
// the stored body when not.
func TestStaleRevalidationClientConditional_RFC9111_4_3_2(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		inm, body string
		status    int
	}{
		{`"v1"`, "", 304},
		{`W/"v1", "v9"`, "", 304},
		{`"v0"`, "stored body", 200},
	} {
		t.Run(tt.inm, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
				h := rw.Header()
				h.Set("Cache-Control", "max-age=10")
				h.Set("ETag", `"v1"`)
				h.Set("Content-Type", "text/plain")
				if req.Header.Get("If-None-Match") == `"v1"` {
					h.Set("X-Version", "2")
					rw.WriteHeader(http.StatusNotModified)
					return
				}
				h.Set("X-Version", "1")
				io.WriteString(rw, "stored body")
			})
			p := hfNewProxy(t, o, c, nil, nil)
			p.do(t, get("/e"))
			c.advance(20 * time.Second)
			res, body, _ := p.do(t, get("/e", "If-None-Match: "+tt.inm+"\r\n"))
			hfCheck(t, "revalidated", res, body, tt.status, tt.body, "ETag", `"v1"`, "X-Version", "2")
			hfWantOrigin(t, o, 2)
			if got := hfRequest(o, 1).Header.Get("If-None-Match"); got != `"v1"` {
				t.Errorf("revalidation If-None-Match = %q, want the cache's \"v1\"", got)
			}
			hfWantResults(t, p, "TCP_MISS/200", fmt.Sprintf("TCP_REFRESH_UNMODIFIED/%d", tt.status))
			// Refreshed: the next request is a hit.
			res, _, _ = p.do(t, get("/e"))
			hfCheck(t, "after", res, "", 200, "*", "X-Cache", "HIT from accel-test.local", "X-Version", "2")
			hfWantOrigin(t, o, 2)
		})
	}
}
