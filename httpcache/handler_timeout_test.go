package httpcache

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cuttle/accesslog"
	"cuttle/store"
)

// TestOriginTimeoutLogsTimedOut checks Squid's _TIMEDOUT suffix and the
// 504 ERR_READ_TIMEOUT page when the origin does not answer in time.
func TestOriginTimeoutLogsTimedOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(origin.Close)
	t.Cleanup(func() { close(release) })

	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	logPath := filepath.Join(t.TempDir(), "access.log")
	w, err := accesslog.OpenFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	format, _ := accesslog.Lookup("squid", accesslog.FormatOptions{})
	logger := accesslog.New(accesslog.Output{W: w, Format: format})
	t.Cleanup(func() { logger.Close() })
	tr := newTransport()
	tr.ResponseHeaderTimeout = 50 * time.Millisecond
	t.Cleanup(tr.CloseIdleConnections)
	h, err := New(Options{
		Store:     mem,
		Access:    []Rule{{Allow: true}},
		Peers:     []Peer{{Name: "origin", Host: "127.0.0.1", Port: origin.Listener.Addr().(*net.TCPAddr).Port}},
		Transport: tr,
		Log:       logger,
		ErrorLog:  log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h.Port(Port{Vhost: true}))
	t.Cleanup(proxy.Close)

	res, err := http.Get(proxy.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusGatewayTimeout || !strings.HasPrefix(res.Header.Get("X-Squid-Error"), "ERR_READ_TIMEOUT") {
		t.Fatalf("status %d, X-Squid-Error %q; want 504 ERR_READ_TIMEOUT", res.StatusCode, res.Header.Get("X-Squid-Error"))
	}
	if err := logger.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), " TCP_MISS_TIMEDOUT/504 ") {
		t.Errorf("access.log = %q, want a TCP_MISS_TIMEDOUT/504 line", b)
	}
}
