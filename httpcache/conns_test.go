package httpcache

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cuttle/accesslog"
	"cuttle/store"
)

// newLogged starts the handler, with the given FilteredLogs, on a server
// with the connection hooks, and returns the server, the main access log
// and its path.
func newLogged(t *testing.T, filtered []FilteredLog) (*httptest.Server, *accesslog.Logger, string) {
	t.Helper()
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	path := filepath.Join(t.TempDir(), "access.log")
	w, err := accesslog.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	format, _ := accesslog.Lookup("squid", accesslog.FormatOptions{})
	logger := accesslog.New(accesslog.Output{W: w, Format: format})
	t.Cleanup(func() { logger.Close() })
	h, err := New(Options{
		Store:        mem,
		Access:       []Rule{{Allow: true}},
		Log:          logger,
		FilteredLogs: filtered,
		ErrorLog:     log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h.Port(Port{Vhost: true}))
	srv.Config.ConnState = h.ConnState
	srv.Config.ConnContext = h.ConnContext
	srv.Config.ReadHeaderTimeout = time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, logger, path
}

func readLog(t *testing.T, l *accesslog.Logger, path string) []string {
	t.Helper()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// waitLines polls the log until it has n lines.
func waitLines(t *testing.T, l *accesslog.Logger, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := readLog(t, l, path)
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConnectionEndBeforeHeaders checks Squid's log line for connections
// that close before a whole request header: NONE_NONE/000 with the URL
// error:transaction-end-before-headers. A connection that closes after
// its requests is not logged again.
func TestConnectionEndBeforeHeaders(t *testing.T) {
	t.Parallel()
	srv, logger, path := newLogged(t, nil)
	addr := srv.Listener.Addr().String()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // nothing sent
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a") // an incomplete header
	c.Close()
	res, err := http.Get(srv.URL + "/x") // a whole request; the connection then idles
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	http.DefaultClient.CloseIdleConnections()

	lines := waitLines(t, logger, path, 3)
	if ip := localIPOf(t, srv); ip != "127.0.0.1" {
		t.Errorf("local address of a request = %q, want 127.0.0.1", ip)
	}
	var ends, requests int
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 10 && f[3] == "NONE_NONE/000" && f[4] == "0" && f[5] == "-" &&
			f[6] == "error:transaction-end-before-headers" && f[8] == "HIER_NONE/-" && f[9] == "-":
			ends++
		case strings.Contains(l, " GET http://"):
			requests++
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	time.Sleep(50 * time.Millisecond) // the idle connection's close must add nothing
	if lines = readLog(t, logger, path); ends != 2 || requests != 1 || len(lines) != 3 {
		t.Errorf("log = %q; want 2 transaction-end-before-headers lines and 1 request", lines)
	}
}

// TestFilteredAccessLog checks access_log lines with an acl list: a
// transaction goes to such a log only when its acls match.
func TestFilteredAccessLog(t *testing.T) {
	t.Parallel()
	post, err := NewACL("method", []string{"POST"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "posts.log")
	w, err := accesslog.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	format, _ := accesslog.Lookup("squid", accesslog.FormatOptions{})
	posts := accesslog.New(accesslog.Output{W: w, Format: format})
	t.Cleanup(func() { posts.Close() })
	srv, logger, mainPath := newLogged(t, []FilteredLog{{Log: posts, Terms: []Term{{ACL: post}}}})
	for _, m := range []string{"GET", "POST", "GET"} {
		req, _ := http.NewRequest(m, srv.URL+"/f", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if lines := waitLines(t, logger, mainPath, 3); len(lines) != 3 {
		t.Errorf("main log has %d lines, want 3: %q", len(lines), lines)
	}
	lines := readLog(t, posts, path)
	if len(lines) != 1 || !strings.Contains(lines[0], " POST http://") {
		t.Errorf("filtered log = %q, want the one POST", lines)
	}
}

// localIPOf sends a request through srv and returns the %>la the handler
// would log for it.
func localIPOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	got := make(chan string, 1)
	probe := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		got <- localIP(req)
	}))
	h := srv.Config.ConnContext
	probe.Config.ConnContext = h
	probe.Start()
	defer probe.Close()
	res, err := http.Get(probe.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return <-got
}

// TestPerIPCountSurvivesReload: a connection counted by one configuration's
// Handler is uncounted by the next one's when it closes after a reload,
// as both share the ConnTable (acl maxconn).
func TestPerIPCountSurvivesReload(t *testing.T) {
	t.Parallel()
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	conns := new(ConnTable)
	var handlers [2]*Handler
	for i := range handlers {
		h, err := New(Options{Store: mem, Access: []Rule{{Allow: true}}, Conns: conns, ErrorLog: log.New(io.Discard, "", 0)})
		if err != nil {
			t.Fatal(err)
		}
		handlers[i] = h
	}
	var cur atomic.Pointer[Handler]
	cur.Store(handlers[0])
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		cur.Load().Port(Port{Vhost: true}).ServeHTTP(rw, req)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) { cur.Load().ConnState(c, s) }
	srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context { return cur.Load().ConnContext(ctx, c) }
	srv.Start()
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("127.0.0.1")
	if n := conns.PerIP(ip); n != 1 {
		t.Fatalf("PerIP = %d with one connection, want 1", n)
	}
	cur.Store(handlers[1]) // the reload
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for conns.PerIP(ip) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("PerIP = %d after the close, want 0", conns.PerIP(ip))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
