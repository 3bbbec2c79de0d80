package httpcache

// Tests of group E of the reliability checklist (cached errors, CPDoS)
// through the Handler, and of the headers cuttle generates (C10).

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cuttle/store"
)

// TestCPDoSErrorStatuses: E1 (an origin's 400/431 to an oversized
// request), E3 (405) and E4 (404, 410, 414, 501 follow the heuristic;
// 5xx need explicit freshness or negative_ttl).
func TestCPDoSErrorStatuses(t *testing.T) {
	t.Parallel()
	lastMod := "Tue, 10 Nov 2026 17:27:27 GMT" // 15 days before the test clock
	tests := []struct {
		name        string
		status      int
		field, val  string // a freshness field the origin adds
		negativeTTL time.Duration
		stored      bool
	}{
		{"E1 400 with negative_ttl", 400, "", "", 30 * time.Second, false},
		{"E1 400 with Last-Modified", 400, "Last-Modified", lastMod, 0, false},
		{"E1 431 with negative_ttl", 431, "", "", 30 * time.Second, false},
		{"E1 431 with Last-Modified", 431, "Last-Modified", lastMod, 0, false},
		{"E1 413 with negative_ttl", 413, "", "", 30 * time.Second, false},
		{"E1 400 with explicit max-age", 400, "Cache-Control", "max-age=60", 0, true},
		{"E3 405 with Last-Modified", 405, "Last-Modified", lastMod, 0, false},
		{"E3 405 with negative_ttl", 405, "", "", 30 * time.Second, false},
		{"E4 404 without freshness", 404, "", "", 0, false},
		{"E4 404 with Last-Modified", 404, "Last-Modified", lastMod, 0, true},
		{"E4 410 with Last-Modified", 410, "Last-Modified", lastMod, 0, true},
		{"E4 414 with Last-Modified", 414, "Last-Modified", lastMod, 0, true},
		{"E4 501 with Last-Modified", 501, "Last-Modified", lastMod, 0, true},
		{"E4 500 with Last-Modified", 500, "Last-Modified", lastMod, 0, false},
		{"E4 502 with Last-Modified", 502, "Last-Modified", lastMod, 0, false},
		{"E4 503 without freshness", 503, "", "", 0, false},
		{"E4 504 with explicit max-age", 504, "Cache-Control", "max-age=60", 0, true},
		{"E4 503 with negative_ttl", 503, "", "", 30 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
				if tt.field != "" {
					rw.Header().Set(tt.field, tt.val)
				}
				rw.Header().Set("Content-Type", "text/plain")
				rw.WriteHeader(tt.status)
				fmt.Fprintf(rw, "error %d", n)
			})
			p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.NegativeTTL = tt.negativeTTL })
			res, body, _ := p.do(t, get("/e", "X-Big: "+strings.Repeat("x", 100)+"\r\n"))
			hfCheck(t, "first", res, body, tt.status, "error 1")
			c.advance(time.Second)
			res, body, _ = p.do(t, get("/e"))
			if tt.stored {
				hfCheck(t, "second", res, body, tt.status, "error 1", "X-Cache", "HIT from accel-test.local")
				hfWantOrigin(t, o, 1)
			} else {
				hfCheck(t, "second", res, body, tt.status, "error 2", "X-Cache", "MISS from accel-test.local")
				hfWantOrigin(t, o, 2)
			}
		})
	}
}

// TestCPDoSMethodOverride (E3): the method-override fields never reach
// the origin with a GET or HEAD, whose answers are stored; a POST keeps
// them.
func TestCPDoSMethodOverride(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, hfStatic("max-age=60", "body"))
	p := hfNewProxy(t, o, c, nil, nil)
	fields := "X-HTTP-Method-Override: DELETE\r\nX-Method-Override: PUT\r\nX-HTTP-Method: PATCH\r\n"
	p.do(t, get("/a", fields))
	p.do(t, "HEAD /b HTTP/1.1\r\nHost: www.example.com\r\n"+fields+"\r\n")
	p.do(t, "POST /c HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 1\r\n"+fields+"\r\nx")
	hfWantOrigin(t, o, 3)
	for i, want := range []bool{false, false, true} {
		req := hfRequest(o, i)
		for _, k := range methodOverrideFields {
			if _, got := req.Header[k]; got != want {
				t.Errorf("%s %s: origin got %s: %v, want %v", req.Method, req.URL.Path, k, got, want)
			}
		}
	}
}

// TestCPDoSControlBytes (E2): a request whose fields hold control bytes
// is answered 400 by cuttle itself, whatever the protocol that delivered
// it; nothing is forwarded or stored.
func TestCPDoSControlBytes(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, hfStatic("max-age=60", "body"))
	p := hfNewProxy(t, o, c, nil, nil)
	for _, v := range []string{"\x00", "\x7f", "\a", "a\x1bb", "\r", "\n"} {
		// As the handler sees a request from any server (HTTP/2 too).
		req := httptest.NewRequest(http.MethodGet, "http://www.example.com/m", nil)
		req.Header.Set("X-Meta", v)
		rec := httptest.NewRecorder()
		p.h.Port(Port{Vhost: true, Scheme: "http"}).ServeHTTP(rec, req)
		if rec.Code != 400 || rec.Header().Get("X-Squid-Error") != "ERR_INVALID_REQ 0" {
			t.Errorf("X-Meta %q: status %d %q, want 400 ERR_INVALID_REQ", v, rec.Code, rec.Header().Get("X-Squid-Error"))
		}
		// On the wire (net/http answers 400 before the handler); a bare
		// LF there only ends the line.
		if v == "\n" {
			continue
		}
		if res, _, _ := p.do(t, get("/m", "X-Meta: "+v+"\r\n")); res.StatusCode != 400 {
			t.Errorf("X-Meta %q on the wire: status %d, want 400", v, res.StatusCode)
		}
	}
	hfWantOrigin(t, o, 0)
	if res, body, _ := p.do(t, get("/m", "X-Meta: \tok\t\r\n")); res.StatusCode != 200 || body != "body" {
		t.Errorf("HTAB in a value: status %d body %q, want 200", res.StatusCode, body)
	}
}

// rsHijack writes raw bytes as an origin handler's whole answer.
func rsHijack(rw http.ResponseWriter, raw string) {
	conn, _, err := http.NewResponseController(rw).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	conn.Write([]byte(raw)) //nolint:errcheck // the test checks what cuttle did
}

// TestErrorPagesNeverStoredCollapsed (E5): when the request that leads
// collapsed forwarding gets a malformed answer, its 502 page is not
// shared: the waiters each ask the origin (TCP_CF_MISS). Not parallel: it
// counts goroutines.
func TestErrorPagesNeverStoredCollapsed(t *testing.T) {
	c := hfNewClock()
	wait, release := hfGate()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		if n == 1 {
			wait()
			rsHijack(rw, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
			return
		}
		hfStatic("max-age=60", "good")(n, rw, req)
	})
	p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.CollapsedForwarding = true })
	replies := hfCollapse(t, p, o, release, 3, "/cf")
	statuses := hfCount(nil)
	for _, r := range replies {
		statuses[fmt.Sprint(r.res.StatusCode, " ", r.body)]++
	}
	if statuses["200 good"] != 2 || len(statuses) != 2 {
		t.Errorf("replies = %v, want one 502 and two 200 good", statuses)
	}
	got := hfCount(hfResults(t, p))
	if got["TCP_MISS/502"] != 1 || got["TCP_CF_HIT/200"]+got["TCP_CF_MISS/200"] != 2 || got["TCP_CF_HIT/502"] != 0 {
		t.Errorf("access.log results = %v, want the 502 once and no collapsed hit of it", got)
	}
}

// TestErrorPagesNeverStoredStale (E5): a malformed answer to a
// revalidation serves the stale copy where stale-if-error allows
// (TCP_REFRESH_FAIL_OLD) and leaves it stored; where nothing allows it,
// the 502 page is sent and not stored either.
func TestErrorPagesNeverStoredStale(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"max-age=1, stale-if-error=3600", "max-age=1, must-revalidate"} {
		t.Run(cc, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			var broken atomic.Bool
			o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
				if !broken.Load() {
					hfStatic(cc, fmt.Sprint("body ", n))(n, rw, req)
					return
				}
				rsHijack(rw, "HTTP/1.1 200 OK\r\nX-A: a\x00\r\nContent-Length: 3\r\n\r\nabc")
			})
			p := hfNewProxy(t, o, c, nil, nil)
			p.do(t, get("/s"))
			c.advance(5 * time.Second)
			broken.Store(true)
			res, body, _ := p.do(t, get("/s"))
			res2, body2, _ := p.do(t, get("/s"))
			if strings.Contains(cc, "stale-if-error") {
				hfCheck(t, "stale on error", res, body, 200, "body 1")
				hfCheck(t, "stale on error again", res2, body2, 200, "body 1")
			} else {
				hfCheck(t, "error", res, body, 502, "*", "X-Squid-Error", "ERR_INVALID_RESP 0")
				hfCheck(t, "error again", res2, body2, 502, "*", "X-Squid-Error", "ERR_INVALID_RESP 0")
			}
			broken.Store(false)
			n := o.count() + 1
			res, body, _ = p.do(t, get("/s"))
			hfCheck(t, "origin fixed", res, body, 200, fmt.Sprint("body ", n))
		})
	}
}

// TestGeneratedFieldsChecked (C10): configuration that would put control
// bytes (or, in the cache's name, spaces) into the fields cuttle
// generates is refused by New.
func TestGeneratedFieldsChecked(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		host, version string
		ok            bool
	}{
		{"cache.example.com", "cuttle/1.0", true},
		{"cache\r\nSet-Cookie: a=b", "cuttle", false},
		{"cache\x00", "cuttle", false},
		{"my cache", "cuttle", false},
		{"cache", "cuttle/1.0\r\nX: y", false},
		{"cache", "cuttle/1.0 (linux)", true},
	} {
		mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer mem.Close()
		_, err = New(Options{Store: mem, VisibleHostname: tt.host, Version: tt.version})
		if (err == nil) != tt.ok {
			t.Errorf("New(visible_hostname %q, version %q) = %v, want ok %v", tt.host, tt.version, err, tt.ok)
		}
	}
}

// TestStrictConnUnsolicited (F10): bytes that arrive while no request is
// outstanding are never passed on; the read reports io.EOF so that the
// Transport closes the connection.
func TestStrictConnUnsolicited(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	var excess []byte
	sc := newStrictConn(client, DefaultReplyHeaderMaxSize, func(p []byte) { excess = append(excess, p...) })
	go func() {
		buf := make([]byte, 100)
		server.Read(buf)                                                       //nolint:errcheck // the request
		server.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) //nolint:errcheck
		server.Write([]byte("HTTP/1.1 200 OK\r\n"))                            //nolint:errcheck // unsolicited
	}()
	if _, err := sc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := sc.Read(buf)
	if string(buf[:n]) != "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" || err != nil {
		t.Fatalf("first read = %q, %v", buf[:n], err)
	}
	if n, err := sc.Read(buf); n != 0 || err == nil || string(excess) != "HTTP/1.1 200 OK\r\n" {
		t.Errorf("unsolicited read = %d, %v (excess %q), want 0, EOF", n, err, excess)
	}
}
