package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRotateLogs checks squid -k rotate (SIGUSR1) with logfile_rotate 2:
// access.log and cache_log are renamed to .0 and .1 as Squid does, no line
// is lost, and new lines go to the new files. It is not parallel: the
// signal reaches every cuttle running in the test process.
func TestRotateLogs(t *testing.T) {
	dir := t.TempDir()
	proxyPort, originPort := freePort(t), freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	accessLog := filepath.Join(dir, "access.log")
	cacheLog := filepath.Join(dir, "cache.log")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=demo.local vhost
cache_peer 127.0.0.1 parent %d 0 no-query originserver name=demo
http_access allow localhost
http_access deny all
access_log stdio:%s squid
cache_log %s
logfile_rotate 2
pid_filename none
shutdown_lifetime 1 seconds
`, proxyPort, originPort, accessLog, cacheLog)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-N", "-f", conf, "--demo-origin", fmt.Sprintf("127.0.0.1:%d", originPort)}, io.Discard, io.Discard)
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			res, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", proxyPort, path))
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v", path, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rotate := func(want string) {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); ; {
			if b, err := os.ReadFile(accessLog + ".0"); err == nil && strings.Contains(string(b), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("access.log.0 never got the line for %s", want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	get("/first")
	rotate("/first")
	get("/second")
	rotate("/second")
	get("/third")
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("cuttle did not stop")
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v", err)
		}
		return string(b)
	}
	for _, c := range []struct{ file, has, hasNot string }{
		{accessLog + ".1", "/first", "/second"},
		{accessLog + ".0", "/second", "/first"},
		{accessLog, "/third", "/second"},
	} {
		got := read(c.file)
		if !strings.Contains(got, c.has) || strings.Contains(got, c.hasNot) {
			t.Errorf("%s = %q; want the line for %s only", filepath.Base(c.file), got, c.has)
		}
	}
	if _, err := os.Stat(accessLog + ".2"); !os.IsNotExist(err) {
		t.Errorf("access.log.2 exists (%v); logfile_rotate 2 keeps .0 and .1", err)
	}
	if !strings.Contains(read(cacheLog+".1"), "Starting cuttle") || !strings.Contains(read(cacheLog), "Log files rotated") {
		t.Errorf("cache_log not rotated: cache.log.1 %q, cache.log %q", read(cacheLog+".1"), read(cacheLog))
	}
}
