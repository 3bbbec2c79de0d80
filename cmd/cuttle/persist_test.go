package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestPersistentConnections drives the binary with
// client_persistent_connections and server_persistent_connections off,
// then reconfigures it with both on: off, every client connection ends
// after its response (Connection: close, RFC 9112, Section 9.6) and every
// miss opens its own origin connection and says close; on again, both
// kinds are kept, on the same listening socket.
func TestPersistentConnections(t *testing.T) {
	t.Parallel()
	bin, _ := buildCuttleBinary(t)
	dir := t.TempDir()

	var mu sync.Mutex
	originConns, originCloses := 0, 0
	origin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Close {
			originCloses++
		}
		mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "from the origin\n")
	}))
	origin.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			originConns++
			mu.Unlock()
		}
	}
	origin.Start()
	defer origin.Close()
	originHost, originPort, _ := strings.Cut(strings.TrimPrefix(origin.URL, "http://"), ":")
	originState := func() (conns, closes int) {
		mu.Lock()
		defer mu.Unlock()
		return originConns, originCloses
	}

	port := freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	writeConf := func(persist string) {
		t.Helper()
		src := fmt.Sprintf("http_port 127.0.0.1:%d accel defaultsite=persist.test\n"+
			"cache_peer %s parent %s 0 no-query originserver name=origin\n"+
			"http_access allow localhost\nhttp_access deny all\n"+
			"client_persistent_connections %s\nserver_persistent_connections %s\n"+
			"cache_mem 8 MB\naccess_log none\ncache_log %s\npid_filename none\nshutdown_lifetime 1 second\n%s\n",
			port, originHost, originPort, persist, persist, filepath.Join(dir, "cache.log"), sameUser(t))
		if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf("off")
	ns := newNotifySocket(t, dir)
	proc := startBinary(t, bin, []string{"NOTIFY_SOCKET=" + ns.path}, "--foreground", "-f", conf)
	ns.expect(t, "READY=1")

	// get sends GET path on c and reads the response; it reports whether
	// the connection is still usable afterwards.
	get := func(c net.Conn, br *bufio.Reader, path string) (open bool) {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: persist.test\r\n\r\n", path)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || string(body) != "from the origin\n" {
			t.Fatalf("GET %s = %d %q (%v)", path, res.StatusCode, body, err)
		}
		if res.Close {
			// The server must end the connection too.
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("GET %s: Connection: close, but the connection stays open (%v)", path, err)
			}
		}
		return !res.Close
	}
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}

	c, br := dial()
	if get(c, br, "/off/1") {
		t.Error("client_persistent_connections off: the client connection was kept")
	}
	c, br = dial()
	get(c, br, "/off/2")
	if conns, closes := originState(); conns != 2 || closes != 2 {
		t.Errorf("server_persistent_connections off: %d origin connections, %d with Connection: close; want 2 and 2", conns, closes)
	}

	writeConf("on")
	if err := proc.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ns.expect(t, "RELOADING=1")
	ns.expect(t, "READY=1")
	c, br = dial()
	if !get(c, br, "/on/1") {
		t.Fatal("client_persistent_connections on: the client connection was closed")
	}
	if !get(c, br, "/on/2") {
		t.Error("client_persistent_connections on: the client connection was closed after a second request")
	}
	if conns, closes := originState(); conns != 3 || closes != 2 {
		t.Errorf("server_persistent_connections on: %d origin connections, %d with Connection: close; want 3 and 2", conns, closes)
	}
}
