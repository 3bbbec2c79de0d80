package httpcache

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConnGuardMaxConns checks the max_filedescriptors cap: connections
// beyond it get a 503 and are closed at accept, and a slot freed by a
// closed connection is used again.
func TestConnGuardMaxConns(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mu sync.Mutex
	var logged []string
	g := NewConnGuard(ConnGuardOptions{MaxConns: 2}, func(f string, a ...any) {
		mu.Lock()
		logged = append(logged, f)
		mu.Unlock()
	}, nil)
	ln := g.Listener(raw, nil)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	dial()
	c1, _ := ln.Accept()
	c2, _ := ln.Accept()
	if g.Open() != 2 {
		t.Fatalf("Open() = %d, want 2", g.Open())
	}
	third := dial()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() // refuses the third, then waits for a fourth
		accepted <- c
	}()
	b, _ := io.ReadAll(third)
	if !strings.HasPrefix(string(b), "HTTP/1.1 503 ") {
		t.Errorf("third connection read %q, want a 503 and the end", b)
	}
	c1.Close()
	c1.Close() // counted once
	if g.Open() != 1 {
		t.Errorf("Open() after a close = %d, want 1", g.Open())
	}
	dial()
	c4 := <-accepted
	if c4 == nil || g.Open() != 2 || g.Refused() != 1 {
		t.Errorf("after the refusal: conn %v, Open() = %d, Refused() = %d; want a conn, 2, 1", c4, g.Open(), g.Refused())
	}
	c2.Close()
	c4.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || !strings.Contains(logged[0], "running out of filedescriptors") {
		t.Errorf("cache_log = %q, want one warning", logged)
	}
}

// TestConnGuardWriteTimeout checks write_timeout: a client that stops
// reading (its TCP window closes) fails the write instead of holding the
// goroutine, while the deadline is renewed for each write.
func TestConnGuardWriteTimeout(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	g := NewConnGuard(ConnGuardOptions{WriteTimeout: 200 * time.Millisecond}, nil, nil)
	ln := g.Listener(raw, nil)
	client, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	chunk := make([]byte, 64<<10)
	var werr error
	for i := 0; i < 100000 && werr == nil; i++ { // far more than any socket buffer
		_, werr = server.Write(chunk)
	}
	if !errors.Is(werr, os.ErrDeadlineExceeded) {
		t.Errorf("writing to a client that does not read: %v, want a deadline error", werr)
	}
}

// TestConnGuardLifetime checks client_lifetime: no deadline, not even
// "none", reaches past the connection's lifetime.
func TestConnGuardLifetime(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	g := NewConnGuard(ConnGuardOptions{Lifetime: 200 * time.Millisecond}, nil, nil)
	ln := g.Listener(raw, nil)
	client, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.SetReadDeadline(time.Time{})
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past client_lifetime: %v, want a deadline error", err)
	}
}
