package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // protected by mu
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeEndToEnd runs the whole program as an admin would: a squid.conf,
// the demo origin, two requests (MISS then HIT), the access.log, the pid
// file, and a graceful stop.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proxyPort, originPort := freePort(t), freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	accessLog := filepath.Join(dir, "access.log")
	pidFile := filepath.Join(dir, "cuttle.pid")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=demo.local vhost
cache_peer 127.0.0.1 parent %d 0 no-query originserver name=demo
acl blocked urlpath_regex ^/blocked
http_access deny blocked
http_access allow localhost
http_access deny all
cache_mem 8 MB
visible_hostname e2e.local
access_log stdio:%s squid
cache_log %s
pid_filename %s
shutdown_lifetime 2 seconds
`, proxyPort, originPort, accessLog, filepath.Join(dir, "cache.log"), pidFile)), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-N", "-f", conf, "--demo-origin", fmt.Sprintf("127.0.0.1:%d", originPort)}, io.Discard, stderr)
	}()

	base := fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	client := &http.Client{Timeout: 5 * time.Second}
	var res *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err = client.Get(base + "/")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuttle did not answer: %v\nstderr:\n%s", err, stderr.String())
		}
		select {
		case code := <-done:
			t.Fatalf("cuttle exited with %d:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	first, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got := res.Header.Get("X-Cache"); got != "MISS from e2e.local" {
		t.Errorf("first X-Cache = %q, want MISS from e2e.local", got)
	}

	// The memory tier applies writes asynchronously: poll briefly for the hit.
	var second []byte
	for range 100 {
		res, err = client.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		second, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.Header.Get("X-Cache") == "HIT from e2e.local" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := res.Header.Get("X-Cache"); got != "HIT from e2e.local" {
		t.Fatalf("second X-Cache = %q, want HIT from e2e.local", got)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("HIT body %q differs from MISS body %q", second, first)
	}
	res, err = client.Get(base + "/blocked")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("/blocked status %d, want 403", res.StatusCode)
	}
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("pid file = %q, %v, want %d", b, err, os.Getpid())
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d, want 0\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cuttle did not stop within 10s of SIGTERM")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file still there after shutdown: %v", err)
	}
	b, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	miss := regexp.MustCompile(`^\d{10}\.\d{3} +\d+ 127\.0\.0\.1 TCP_MISS/200 \d+ GET http://127\.0\.0\.1:\d+/ - FIRSTUP_PARENT/127\.0\.0\.1 text/html$`)
	hit := regexp.MustCompile(`^\d{10}\.\d{3} +\d+ 127\.0\.0\.1 TCP_MEM_HIT/200 \d+ GET http://127\.0\.0\.1:\d+/ - HIER_NONE/- text/html$`)
	denied := regexp.MustCompile(`^\d{10}\.\d{3} +\d+ 127\.0\.0\.1 TCP_DENIED/403 \d+ GET http://127\.0\.0\.1:\d+/blocked - HIER_NONE/- text/html$`)
	if len(lines) < 3 || !miss.MatchString(lines[0]) || !hit.MatchString(lines[len(lines)-2]) || !denied.MatchString(lines[len(lines)-1]) {
		t.Errorf("access.log:\n%s\nwant a TCP_MISS line first, then TCP_MEM_HIT, then TCP_DENIED", b)
	}
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(conf, []byte("http_port 3128 accel\ncache_mem 64 furlongs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-k", "parse", "-f", conf}, {"-N", "-f", conf}} {
		var stderr bytes.Buffer
		if code := run(t.Context(), args, io.Discard, &stderr); code != 1 {
			t.Errorf("cuttle %q exit %d, want 1", args, code)
		}
		if !strings.Contains(stderr.String(), conf+":2: ") {
			t.Errorf("cuttle %q stderr = %q, want an error naming %s:2", args, stderr.String(), conf)
		}
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"-k", "parse", "-f", filepath.Join(dir, "missing.conf")}, io.Discard, &stderr); code != 1 {
		t.Errorf("cuttle -k parse on a missing file exit %d, want 1 (%s)", code, stderr.String())
	}
}

func TestCreateDirs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "squid.conf")
	cache := filepath.Join(dir, "spool", "cache")
	if err := os.WriteFile(conf, []byte("cache_dir ufs "+cache+" 100 16 256\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"--foreground", "-z", "-f", conf}, io.Discard, &stderr); code != 0 {
		t.Fatalf("cuttle --foreground -z exit %d: %s", code, stderr.String())
	}
	if fi, err := os.Stat(cache); err != nil || !fi.IsDir() {
		t.Errorf("cache_dir %s not created: %v", cache, err)
	}
	if _, err := os.Stat(filepath.Join(cache, "cuttle", "FORMAT")); err != nil {
		t.Errorf("cache_dir %s: cuttle's store not prepared: %v", cache, err)
	}
	// -Nz again is harmless.
	if code := run(t.Context(), []string{"-Nz", "-f", conf}, io.Discard, &stderr); code != 0 {
		t.Fatalf("cuttle -Nz on an existing cache_dir exit %d: %s", code, stderr.String())
	}
}

// TestCreateDirsRefusesSquidStore checks that -z never touches a directory
// holding Squid's own store, and says why.
func TestCreateDirsRefusesSquidStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "squid.conf")
	cache := filepath.Join(dir, "squid-cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "swap.state"), []byte("squid's"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("cache_dir aufs "+cache+" 100 16 256\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"-N", "-z", "-f", conf}, io.Discard, &stderr); code != 1 {
		t.Errorf("cuttle -N -z on Squid's store exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "swap.state") {
		t.Errorf("stderr %q does not name swap.state", stderr.String())
	}
	ents, _ := os.ReadDir(cache)
	if len(ents) != 1 {
		t.Errorf("Squid's cache_dir now holds %d entries, want only swap.state", len(ents))
	}
}

// TestCorpusParses checks that `cuttle -k parse` accepts every real-world
// accelerator config of the shared corpus, run from the corpus directory as
// its README says. Two files include /etc/squid/conf.d/*.conf, which
// Debian's squid package provides (CI installs it): like Squid, cuttle
// refuses an include that matches nothing.
func TestCorpusParses(t *testing.T) {
	dir, err := filepath.Abs("../../../shared/squidconf-corpus")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "parse-ready", "*.conf"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("no corpus at %s", dir)
		}
		t.Skipf("no corpus at %s", dir)
	}
	confD, _ := filepath.Glob("/etc/squid/conf.d/*.conf")
	t.Chdir(dir)
	for _, f := range files {
		rel := filepath.Join("parse-ready", filepath.Base(f))
		src, err := os.ReadFile(rel)
		if err != nil {
			t.Fatal(err)
		}
		if len(confD) == 0 && strings.Contains(string(src), "/etc/squid/conf.d/") {
			if os.Getenv("CI") != "" {
				t.Errorf("%s includes /etc/squid/conf.d/*.conf, which is missing: install Debian's squid package", rel)
			}
			continue
		}
		var stderr bytes.Buffer
		if code := run(t.Context(), []string{"-k", "parse", "-f", rel}, io.Discard, &stderr); code != 0 {
			t.Errorf("cuttle -k parse -f %s exit %d:\n%s", rel, code, stderr.String())
		}
	}
}

func TestSignalRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "cuttle.pid")
	conf := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(conf, []byte("pid_filename "+pidFile+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func() (int, string) {
		var stderr bytes.Buffer
		code := run(t.Context(), []string{"-k", "check", "-f", conf}, io.Discard, &stderr)
		return code, stderr.String()
	}
	if code, msg := check(); code != 1 || !strings.Contains(msg, "no running copy") {
		t.Errorf("-k check without a pid file = %d %q, want 1 and 'no running copy'", code, msg)
	}
	if err := os.WriteFile(pidFile, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, msg := check(); code != 1 || !strings.Contains(msg, "does not hold a process id") {
		t.Errorf("-k check with a bad pid file = %d %q, want 1", code, msg)
	}
	if err := os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, msg := check(); code != 0 {
		t.Errorf("-k check with a live pid = %d %q, want 0", code, msg)
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"-k", "frobnicate", "-f", conf}, io.Discard, &stderr); code != 2 {
		t.Errorf("-k frobnicate = %d, want 2", code)
	}
}

// sameUser returns the cache_effective_user line that keeps a cuttle
// binary started by the test as the test's own user (root stays root), so
// that it can use the test's private directories.
func sameUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return "cache_effective_user " + u.Username
}
