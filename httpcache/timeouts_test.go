package httpcache

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cuttle/store"
)

// TestRequestBodyMaxSize checks request_body_max_size: a Content-Length
// over the limit is refused with 413 before the body is read and before
// the origin hears of it; a chunked body is cut off once it passes the
// limit; smaller bodies stream through.
func TestRequestBodyMaxSize(t *testing.T) {
	t.Parallel()
	chunked := func(n int) string {
		var b strings.Builder
		for n > 0 {
			k := min(n, 500)
			b.WriteString(strconv.FormatInt(int64(k), 16) + "\r\n" + strings.Repeat("x", k) + "\r\n")
			n -= k
		}
		return b.String() + "0\r\n\r\n"
	}
	tests := []struct {
		name       string
		raw        string
		wantStatus int
		wantOrigin int // 1: the origin got the request, 0: it did not, -1: either
	}{
		{"length under", "POST /form HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("x", 1000), 201, 1},
		{"length over", "POST /form HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 1001\r\n\r\n" + strings.Repeat("x", 1001), 413, 0},
		{"length huge", "POST /form HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 9223372036854775807\r\n\r\nxx", 413, 0},
		{"chunked under", "POST /form HTTP/1.1\r\nHost: www.example.com\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(1000), 201, 1},
		{"chunked over", "POST /form HTTP/1.1\r\nHost: www.example.com\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(3000), 413, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.RequestBodyMaxSize = 1000 })
			res, body, _ := p.do(t, tt.raw)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%q), want %d", res.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus == 413 && res.Header.Get("X-Squid-Error") != "ERR_TOO_BIG 0" {
				t.Errorf("X-Squid-Error = %q, want ERR_TOO_BIG 0", res.Header.Get("X-Squid-Error"))
			}
			if got := min(o.count(), 1); tt.wantOrigin >= 0 && got != tt.wantOrigin {
				t.Errorf("origin requests = %d, want %d", got, tt.wantOrigin)
			}
		})
	}
}

// TestOriginReadTimeout checks read_timeout on the origin side: an origin
// that never sends its response header gets 504 ERR_READ_TIMEOUT; one that
// stalls in the middle of its body has the client's response broken off
// (never completed as if whole) and nothing stored.
func TestOriginReadTimeout(t *testing.T) {
	t.Parallel()
	stall := make(chan struct{})
	o := hfNewOrigin(t, hfNewClock(), func(n int, rw http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/silent":
			select {
			case <-stall:
			case <-req.Context().Done():
			}
		case "/halfway":
			rw.Header().Set("Cache-Control", "max-age=60")
			rw.Header().Set("Content-Length", "100")
			io.WriteString(rw, "first half")
			rw.(http.Flusher).Flush()
			select {
			case <-stall:
			case <-req.Context().Done():
			}
		}
	})
	t.Cleanup(func() { close(stall) }) // before the origin's Close
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.ReadTimeout = 200 * time.Millisecond })

	res, _, _ := p.do(t, get("/silent"))
	if res.StatusCode != http.StatusGatewayTimeout || res.Header.Get("X-Squid-Error") != "ERR_READ_TIMEOUT 0" {
		t.Errorf("silent origin: %d %q, want 504 ERR_READ_TIMEOUT", res.StatusCode, res.Header.Get("X-Squid-Error"))
	}

	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, get("/halfway"))
	// The client sees the header and part of the body, or nothing at all
	// (the part may still be buffered when the connection is aborted),
	// never a complete response.
	if res, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
		if body, err := io.ReadAll(res.Body); err == nil {
			t.Errorf("stalled body: %q read whole, want an error", body)
		}
	}
	p.mem.Wait()
	if _, err := p.mem.Get(context.Background(), "http://www.example.com/halfway"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a body cut off by read_timeout: Get = %v, want ErrNotFound (not stored)", err)
	}
	lines := p.logLines(t)
	if len(lines) < 2 || !strings.Contains(lines[0], "TCP_MISS_TIMEDOUT/504") || !strings.Contains(lines[1], "TCP_MISS_ABORTED/200") {
		t.Errorf("access.log = %q, want TCP_MISS_TIMEDOUT/504 then TCP_MISS_ABORTED/200", lines)
	}
}

// TestClientBodyReadTimeout checks read_timeout on the client side: a
// client that stops sending its request body gets 408, and neither the
// request nor the origin connection waits for it longer.
func TestClientBodyReadTimeout(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.ReadTimeout = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /form HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 100\r\n\r\nonly ten b")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled request body: status %d, want 408", res.StatusCode)
	}
}

// TestServerIdleTimeout checks server_idle_pconn_timeout against a real
// origin that reports its connections: by default two misses share one
// pooled connection; with a short timeout the idle connection is closed
// and the next miss opens another; with a negative one no connection is
// kept and the origin is told so (Connection: close, RFC 9112, Section
// 9.6).
func TestServerIdleTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		idle      time.Duration
		waitClose bool // wait for the idle connection to be closed before the second miss
		wantConns int
	}{
		{"default keeps the connection", 0, false, 1},
		{"closed once idle", 200 * time.Millisecond, true, 2},
		{"none kept", -1, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			closed := make(chan struct{}, 8)
			var mu sync.Mutex
			conns := 0
			o := &origin{}
			o.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
				o.mu.Lock()
				o.requests = append(o.requests, req)
				o.mu.Unlock()
				rw.Header().Set("Cache-Control", "no-store")
				io.WriteString(rw, "fresh from the origin\n")
			}))
			o.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				switch s {
				case http.StateNew:
					mu.Lock()
					conns++
					mu.Unlock()
				case http.StateClosed:
					closed <- struct{}{}
				}
			}
			o.Start()
			t.Cleanup(o.Close)
			p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.ServerIdleTimeout = tt.idle })
			for i, path := range []string{"/one", "/two"} {
				res, body, _ := p.do(t, "GET "+path+" HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
				if res.StatusCode != 200 || body != "fresh from the origin\n" {
					t.Fatalf("GET %s = %d %q", path, res.StatusCode, body)
				}
				if i == 0 && tt.waitClose {
					select {
					case <-closed:
					case <-time.After(10 * time.Second):
						t.Fatal("the idle origin connection was not closed")
					}
				}
			}
			mu.Lock()
			got := conns
			mu.Unlock()
			if got != tt.wantConns {
				t.Errorf("origin connections = %d, want %d", got, tt.wantConns)
			}
			if tt.idle < 0 {
				if c := hfRequest(o, 0).Header.Get("Connection"); c != "close" && !hfRequest(o, 0).Close {
					t.Errorf("origin request Connection = %q, want close", c)
				}
			}
		})
	}
}
