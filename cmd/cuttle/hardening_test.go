package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"cuttle/squidconf"
)

// TestServerTimeoutsFromConfig checks that squid.conf drives the client
// timeouts and the origin connections' idle timeout, with Squid's defaults
// when it is silent, and that cuttle's flags override it only when set.
func TestServerTimeoutsFromConfig(t *testing.T) {
	t.Parallel()
	parse := func(src string) *squidconf.Config {
		t.Helper()
		cfg, err := squidconf.Parse("squid.conf", []byte(src), squidconf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	tests := []struct {
		name               string
		conf               string
		cf                 cuttleFlags
		wantHdr, wantIdle  time.Duration
		wantRead           time.Duration
		wantWrite, wantLif time.Duration
		wantServerIdle     time.Duration
	}{
		{"squid defaults", "", cuttleFlags{}, 5 * time.Minute, 2 * time.Minute, 15 * time.Minute, 15 * time.Minute, 24 * time.Hour, time.Minute},
		{"from squid.conf", "request_timeout 20 seconds\nclient_idle_pconn_timeout 1 minute\nread_timeout 30 seconds\nwrite_timeout 2 minutes\nclient_lifetime 1 hour\nserver_idle_pconn_timeout 5 seconds\n",
			cuttleFlags{}, 20 * time.Second, time.Minute, 30 * time.Second, 2 * time.Minute, time.Hour, 5 * time.Second},
		{"flags override", "request_timeout 20 seconds\n", cuttleFlags{readHeaderTimeout: 3 * time.Second, idleTimeout: 4 * time.Second},
			3 * time.Second, 4 * time.Second, 15 * time.Minute, 15 * time.Minute, 24 * time.Hour, time.Minute},
		{"read_timeout 0 is none", "read_timeout 0\n", cuttleFlags{}, 5 * time.Minute, 2 * time.Minute, -1, 15 * time.Minute, 24 * time.Hour, time.Minute},
		{"server_idle_pconn_timeout 0 keeps none", "server_idle_pconn_timeout 0\n", cuttleFlags{}, 5 * time.Minute, 2 * time.Minute, 15 * time.Minute, 15 * time.Minute, 24 * time.Hour, -1},
		{"server_persistent_connections off keeps none", "server_persistent_connections off\n", cuttleFlags{}, 5 * time.Minute, 2 * time.Minute, 15 * time.Minute, 15 * time.Minute, 24 * time.Hour, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := parse(tt.conf)
			hdr, idle := serverTimeouts(cfg, &tt.cf)
			if hdr != tt.wantHdr || idle != tt.wantIdle {
				t.Errorf("serverTimeouts = %v, %v; want %v, %v", hdr, idle, tt.wantHdr, tt.wantIdle)
			}
			s, err := buildOptions(cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if s.handler.ReadTimeout != tt.wantRead {
				t.Errorf("ReadTimeout = %v, want %v", s.handler.ReadTimeout, tt.wantRead)
			}
			if s.handler.ServerIdleTimeout != tt.wantServerIdle {
				t.Errorf("ServerIdleTimeout = %v, want %v", s.handler.ServerIdleTimeout, tt.wantServerIdle)
			}
			g := guardOptions(cfg, 1024)
			if g.WriteTimeout != tt.wantWrite || g.Lifetime != tt.wantLif || g.MaxConns != 1024-100 {
				t.Errorf("guardOptions = %+v, want write %v, lifetime %v, 924 connections", g, tt.wantWrite, tt.wantLif)
			}
		})
	}
}

// TestUpgradeRulesBuilt checks that http_upgrade_request_protocols reaches
// the handler, and request_body_max_size with it.
func TestUpgradeRulesBuilt(t *testing.T) {
	t.Parallel()
	cfg, err := squidconf.Parse("squid.conf", []byte("http_upgrade_request_protocols WebSocket allow all\nhttp_upgrade_request_protocols OTHER deny all\nrequest_body_max_size 1 MB\n"), squidconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := buildOptions(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	u := s.handler.UpgradeProtocols
	if len(u) != 2 || u[0].Protocol != "WebSocket" || !u[0].Rules[0].Allow || u[1].Protocol != "OTHER" || u[1].Rules[0].Allow {
		t.Errorf("UpgradeProtocols = %+v, want WebSocket allow, OTHER deny", u)
	}
	if s.handler.RequestBodyMaxSize != 1<<20 {
		t.Errorf("RequestBodyMaxSize = %d, want 1 MB", s.handler.RequestBodyMaxSize)
	}
}

// needFiles makes sure the test process may open n files, raising its
// soft limit if it must.
func needFiles(t *testing.T, n uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur >= n {
		return
	}
	rl.Cur = min(max(n, rl.Cur), rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < n {
		t.Fatalf("this test needs %d open files; RLIMIT_NOFILE allows %d (%v)", n, rl.Cur, err)
	}
}

// TestSlowlorisDoesNotStarveClients holds 1,000 connections that dribble
// an endless request header (slowloris) and checks that normal clients are
// served meanwhile, and that request_timeout then closes every slow one.
func TestSlowlorisDoesNotStarveClients(t *testing.T) {
	t.Parallel()
	const slow = 1000
	needFiles(t, 2*slow+512) // both ends of every connection live in this process
	addr, _ := startDemoCuttle(t, "8 seconds")

	conns := make([]net.Conn, 0, slow)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", len(conns), err)
		}
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: demo.local\r\n")
		conns = append(conns, c)
	}
	stop := make(chan struct{})
	var dribbling sync.WaitGroup
	dribbling.Go(func() { // one more header line each on every connection, now and then
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for _, c := range conns {
					c.SetWriteDeadline(time.Now().Add(time.Second))
					io.WriteString(c, "X-Slow: 1\r\n")
				}
			}
		}
	})

	// Normal clients, on new connections each time, while the slow ones
	// are held.
	normal := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var failed int
	const requests = 200
	for i := range requests {
		res, err := normal.Get(fmt.Sprintf("http://%s/obj/%d", addr, 100+i))
		if err != nil {
			failed++
			continue
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d normal requests failed while %d slow connections were open", failed, requests, slow)
	}
	held := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); errors.As(err, &ne) && ne.Timeout() {
			held++
		}
	}
	if held < slow*99/100 {
		t.Errorf("%d of %d slow connections still open after the normal requests, want nearly all (request_timeout is 8 s)", held, slow)
	}

	// request_timeout ends them: each read ends (EOF or reset), none waits
	// for the test's own 30 s deadline.
	close(stop)
	dribbling.Wait()
	closed := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := bufio.NewReader(c).ReadString('\n')
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) {
			closed++
		}
	}
	if closed != slow {
		t.Errorf("%d of %d slow connections closed by request_timeout, want all", closed, slow)
	}
}

// TestSlowlorisMemoryPerConnection holds 500 connections with a request
// head that never ends (slowloris, reliability checklist H1) against the
// real listener chain (fd guard, per-IP limit, cache_object rewrite,
// request pre-scan, net/http) and checks what each one costs: at most one
// goroutine, and a bounded amount of heap and stack. A connection costs
// about 17 KiB (net/http's 4 KiB read and write buffers, an 8 KiB
// goroutine stack, the connection records); the bound is twice that and
// would catch a buffer of request_header_max_size (64 KB) per connection.
// It does not run in parallel: it reads the process's memory statistics.
func TestSlowlorisMemoryPerConnection(t *testing.T) {
	const slow = 500
	needFiles(t, 2*slow+512)
	addr, stderr := startDemoCuttle(t, "5 minutes")
	tr := &http.Transport{}
	client := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	get := func() error {
		res, err := client.Get("http://" + addr + "/")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("cuttle did not answer: %v\n%s", err, stderr.String())
	}
	tr.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)

	measure := func() (mem uint64, goroutines int) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse, runtime.NumGoroutine()
	}
	mem0, g0 := measure()
	conns := make([]net.Conn, 0, slow)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		// A head that has started, as slowhttptest -H sends it.
		fmt.Fprintf(c, "GET /slow/%d HTTP/1.1\r\nHost: demo.local\r\nX-Slow: 1\r\n", i)
		conns = append(conns, c)
	}
	// Every connection is being served (its goroutine waits for the rest
	// of the head) once the goroutines are there.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() < g0+slow; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after %d slow connections, from %d: not all served", runtime.NumGoroutine(), slow, g0)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	mem1, g1 := measure()
	per := (int64(mem1) - int64(mem0)) / slow
	t.Logf("%d slow connections: %d goroutines more, heap+stack %d KiB more (%d bytes each)", slow, g1-g0, (int64(mem1)-int64(mem0))>>10, per)
	if g1-g0 > slow+slow/10 {
		t.Errorf("%d goroutines more for %d slow connections, want at most one each", g1-g0, slow)
	}
	if per > 36<<10 {
		t.Errorf("each slow connection costs %d bytes of heap and stack, want at most 36 KiB", per)
	}
	// Other clients are still served.
	if err := get(); err != nil {
		t.Errorf("a normal request while %d slow connections are held: %v", slow, err)
	}
}

// startDemoCuttle runs cuttle in the test's process in front of its demo
// origin, with request_timeout timeout, until the test ends, and returns
// once it answers: its address and its stderr.
func startDemoCuttle(t *testing.T, timeout string) (addr string, stderr *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	proxyPort, originPort := freePort(t), freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=demo.local vhost
cache_peer 127.0.0.1 parent %d 0 no-query originserver name=demo
http_access allow localhost
http_access deny all
cache_mem 8 MB
access_log none
cache_log %s
pid_filename none
request_timeout %s
shutdown_lifetime 0
`, proxyPort, originPort, filepath.Join(dir, "cache.log"), timeout)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stderr = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-N", "-f", conf, "--demo-origin", fmt.Sprintf("127.0.0.1:%d", originPort)}, io.Discard, stderr)
	}()
	t.Cleanup(func() { cancel(); <-done })
	addr = fmt.Sprintf("127.0.0.1:%d", proxyPort)
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := client.Get("http://" + addr + "/")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return addr, stderr
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuttle did not answer: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
