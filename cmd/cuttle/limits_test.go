package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cuttle/squidconf"
)

// TestBuildDelayPools checks the wiring of the delay pools and what is
// reported about pools cuttle does not limit with.
func TestBuildDelayPools(t *testing.T) {
	t.Parallel()
	const conf = `http_port 3128 accel defaultsite=example.com
http_access allow all
acl lan src 10.0.0.0/8
delay_pools 4
delay_class 1 2
delay_parameters 1 -1/-1 8000/8000
delay_access 1 allow lan
delay_class 2 4
delay_parameters 2 -1/-1 -1/-1 8000/8000 16000/16000
delay_access 2 allow all
delay_class 3 1
delay_parameters 3 64000/64000
delay_initial_bucket_level 10
client_ip_max_connections 0
`
	cfg, err := squidconf.Parse("test.conf", []byte(conf), squidconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var warnings bytes.Buffer
	s, err := buildOptions(cfg, &warnings)
	if err != nil {
		t.Fatal(err)
	}
	if s.handler.DelayPools == nil {
		t.Error("DelayPools = nil, want the four pools")
	}
	for _, want := range []string{
		"test.conf:8: delay_class: class 4 (per user) is not supported by cuttle; the requests pool 2 takes are not limited\n",
		"test.conf:11: delay_pool 3 has no delay_access configured; no clients will ever use it\n",
		"delay_pools: pool 4 has no delay_class; it is not used\n",
		"client_ip_max_connections 0: every client connection is refused",
	} {
		if !strings.Contains(warnings.String(), want) {
			t.Errorf("warnings do not say %q:\n%s", want, warnings.String())
		}
	}

	cfg, err = squidconf.Parse("test.conf", []byte("http_port 3128 accel defaultsite=example.com\nhttp_access allow all\n"), squidconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := buildOptions(cfg, io.Discard); err != nil || s.handler.DelayPools != nil {
		t.Errorf("without delay_pools: DelayPools = %v, %v; want nil", s.handler.DelayPools, err)
	}
}

func TestRateLimitFlags(t *testing.T) {
	_, cf, err := parseFlags([]string{"--rate-limit", "2.5", "--rate-burst=10"}, io.Discard)
	if err != nil || cf.rateLimit != 2.5 || cf.rateBurst != 10 {
		t.Errorf("--rate-limit 2.5 --rate-burst=10: %v, %d, %v; want 2.5, 10", cf.rateLimit, cf.rateBurst, err)
	}
	if _, _, err := parseFlags([]string{"--rate-limit", "-1"}, io.Discard); err == nil {
		t.Error("--rate-limit -1: no error")
	}
	t.Setenv("CUTTLE_RATE_LIMIT", "5")
	t.Setenv("CUTTLE_RATE_BURST", "7")
	_, cf, err = parseFlags(nil, io.Discard)
	if err != nil || cf.rateLimit != 5 || cf.rateBurst != 7 {
		t.Errorf("CUTTLE_RATE_LIMIT=5 CUTTLE_RATE_BURST=7: %v, %d, %v; want 5, 7", cf.rateLimit, cf.rateBurst, err)
	}
}

// TestServeLimits runs cuttle with client_ip_max_connections 1 and
// --rate-limit: a second concurrent connection is closed and logged to
// cache_log, and the third quick request on the first one gets 429.
func TestServeLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proxyPort, originPort := freePort(t), freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	cacheLog := filepath.Join(dir, "cache.log")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=demo.local vhost
cache_peer 127.0.0.1 parent %d 0 no-query originserver name=demo
http_access allow localhost
http_access deny all
cache_mem 8 MB
access_log none
cache_log %s
client_ip_max_connections 1
shutdown_lifetime 1 second
`, proxyPort, originPort, cacheLog)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-N", "-f", conf, "--demo-origin", fmt.Sprintf("127.0.0.1:%d", originPort), "--rate-limit", "0.5", "--rate-burst", "2"}, io.Discard, stderr)
	}()
	defer func() {
		cancel()
		<-done
	}()

	addr := fmt.Sprintf("127.0.0.1:%d", proxyPort)
	var conn net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if conn, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuttle did not listen: %v\n%s", err, stderr.String())
		}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	ask := func() *http.Response {
		t.Helper()
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: demo.local\r\n\r\n")
		res, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("reading a response: %v", err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := ask(); res.StatusCode != 200 {
		t.Fatalf("first request: %d, want 200", res.StatusCode)
	}

	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(second, "GET / HTTP/1.1\r\nHost: demo.local\r\n\r\n")
	if res, err := http.ReadResponse(bufio.NewReader(second), nil); err == nil {
		t.Errorf("second connection got %d; client_ip_max_connections 1 closes it", res.StatusCode)
	}

	if res := ask(); res.StatusCode != 200 {
		t.Fatalf("second request: %d, want 200 (burst 2)", res.StatusCode)
	}
	res := ask()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "2" {
		t.Errorf("third request: %d, Retry-After %q; want 429, 2 (0.5 requests a second)", res.StatusCode, res.Header.Get("Retry-After"))
	}
	b, _ := os.ReadFile(cacheLog)
	if !strings.Contains(string(b), "WARNING: 127.0.0.1:") || !strings.Contains(string(b), " attempting more than 1 connections.") {
		t.Errorf("cache.log does not report the refused connection:\n%s", b)
	}
}
