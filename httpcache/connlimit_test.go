package httpcache

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncLog collects log lines.
type syncLog struct {
	mu    sync.Mutex
	lines []string // protected by mu
}

func (l *syncLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *syncLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// keptConn is a client connection that has had one request answered and
// stays open (keep-alive), so the server counts it.
func keptConn(t *testing.T, addr string) (net.Conn, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, get("/page"))
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
	if err != nil {
		c.Close()
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return c, nil
}

// waitOpen polls until the limit counts want connections of ip.
func waitOpen(t *testing.T, l *ConnLimit, ip netip.Addr, want int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); l.Open(ip) != want; {
		if time.Now().After(deadline) {
			t.Fatalf("Open(%s) = %d, want %d", ip, l.Open(ip), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConnLimit opens real connections through a LimitListener in front
// of the Handler: with client_ip_max_connections 3, the fourth concurrent
// connection is closed at once and logged; once one of the three closes, a
// new one is served again.
func TestConnLimit(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncLog
	limit := NewConnLimit(3, logs.printf, nil)
	srv := &http.Server{Handler: p.Config.Handler}
	go srv.Serve(limit.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	local := netip.MustParseAddr("127.0.0.1")

	var kept []net.Conn
	for i := range 3 {
		c, err := keptConn(t, addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		defer c.Close()
		kept = append(kept, c)
	}
	if n := limit.Open(local); n != 3 {
		t.Fatalf("Open = %d, want 3", n)
	}
	for i := range 2 {
		if c, err := keptConn(t, addr); err == nil {
			c.Close()
			t.Fatalf("connection %d past the limit was served", 4+i)
		}
	}
	lines := logs.all()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "WARNING: 127.0.0.1:") || !strings.HasSuffix(lines[0], " attempting more than 3 connections.") {
		t.Errorf("cache_log = %q, want one WARNING ... attempting more than 3 connections. (once a minute per address)", lines)
	}

	kept[0].Close()
	waitOpen(t, limit, local, 2)
	c, err := keptConn(t, addr)
	if err != nil {
		t.Fatalf("after a connection closed: %v", err)
	}
	c.Close()

	// A reload may lift the limit; the connections open are still counted.
	limit.SetMax(-1)
	for range 3 {
		c, err := keptConn(t, addr)
		if err != nil {
			t.Fatalf("without a limit: %v", err)
		}
		defer c.Close()
	}
	waitOpen(t, limit, local, 5)
}

// TestConnLimitLogOncePerMinute: refusals of one address are logged once
// a minute; another address gets its own line.
func TestConnLimitLogOncePerMinute(t *testing.T) {
	t.Parallel()
	clk := &fakeNow{t: delayEpoch}
	var logs syncLog
	l := NewConnLimit(0, logs.printf, clk.now)
	conn := func(addr string) net.Conn {
		return &fakeConn{remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr))}
	}
	for _, step := range []struct {
		addr    string
		advance time.Duration
	}{
		{"192.0.2.1:1000", 0},
		{"192.0.2.1:1001", 30 * time.Second}, // not logged
		{"192.0.2.2:1000", 0},
		{"192.0.2.1:1002", 31 * time.Second}, // a minute after the first: logged
	} {
		clk.t = clk.t.Add(step.advance)
		if c := l.admit(conn(step.addr)); c != nil {
			t.Fatalf("admit(%s) with a limit of 0 = %v, want nil", step.addr, c)
		}
	}
	want := []string{
		"WARNING: 192.0.2.1:1000 attempting more than 0 connections.",
		"WARNING: 192.0.2.2:1000 attempting more than 0 connections.",
		"WARNING: 192.0.2.1:1002 attempting more than 0 connections.",
	}
	if got := logs.all(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cache_log =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// fakeConn is a net.Conn with only a remote address.
type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.remote }
