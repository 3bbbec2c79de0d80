package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// accessConf is the squid.conf of the access-control comparison: deny_info
// redirects, pages and resets, miss_access and http_reply_access.
func accessConf(dir, name string, port, originPort int) string {
	return fmt.Sprintf(`http_port 127.0.0.1:%[3]d accel defaultsite=www.example.com vhost
cache_peer 127.0.0.1 parent %[4]d 0 no-query originserver name=origin
acl redir urlpath_regex ^/redir
acl r303 urlpath_regex ^/r303
acl reset urlpath_regex ^/reset
acl c404 urlpath_regex ^/c404
acl denied urlpath_regex ^/denied
acl nomiss urlpath_regex ^/nomiss
acl secretrep rep_header X-Secret yes
deny_info http://example.net/denied?u=%%u&H=%%H&R=%%R&p=%%p&P=%%P&M=%%M&i=%%i&h=%%h&a=%%a&x=%%x&e=%%e&w=%%w&pc=%%%% redir
deny_info 303:http://example.net/see/%%H%%R r303
deny_info TCP_RESET reset
deny_info 404:ERR_ACCESS_DENIED c404
http_access deny redir
http_access deny r303
http_access deny reset
http_access deny c404
http_access deny denied
http_access allow localhost
http_access deny all
miss_access deny nomiss
http_reply_access deny secretrep
cache_mem 8 MB
visible_hostname access.local
`, dir, name, port, originPort) + sideFiles(dir, name)
}

// accessStep is one request of the comparison.
type accessStep struct {
	method, path string
}

var accessSteps = []accessStep{
	{"GET", "/redir/x?a=b&c=%3Cd%3E"},
	{"POST", "/redir/p"},
	{"GET", "/r303/y"},
	{"GET", "/c404"},
	{"GET", "/denied"},
	{"GET", "/nomiss"},
	{"GET", "/secret"},
	{"GET", "/ok"},
	{"GET", "/reset"},
}

// accessCompared are the response fields that must be equal.
var accessCompared = []string{"Location", "X-Squid-Error", "Content-Type", "Content-Length", "Mime-Version",
	"Vary", "Content-Language", "Cache-Control", "X-Cache", "X-Cache-Lookup"}

// accessReply is what one server answered to a step.
type accessReply struct {
	status int
	header http.Header
	reset  bool // the connection ended without an answer
}

// TestAccessControlWithSquid sends the same denials to Debian's Squid and
// to cuttle with the same squid.conf and compares the statuses, the
// fields of the replies (redirect Location with Squid's %-codes,
// X-Squid-Error, the error page fields) and the access.log result codes.
func TestAccessControlWithSquid(t *testing.T) {
	t.Parallel()
	bin := needSquid(t)
	dir := squidDir(t, "cuttle-access-")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Cache-Control", "max-age=60")
		if strings.HasPrefix(r.URL.Path, "/secret") {
			w.Header().Set("X-Secret", "yes")
		}
		io.WriteString(w, "body")
	}))
	defer origin.Close()
	originPort := origin.Listener.Addr().(*net.TCPAddr).Port

	squid := startSquidWith(t, bin, dir, fmt.Sprintf("cuttleacl%d", os.Getpid()), accessConf, originPort)
	cuttle := startCuttleWith(t, dir, accessConf, originPort)
	deadline := time.Now().Add(30 * time.Second)
	waitAccepting(t, squid, deadline)
	waitAccepting(t, cuttle, deadline)

	replies := map[string][]accessReply{}
	for _, p := range []*sideProxy{squid, cuttle} {
		for _, s := range accessSteps {
			replies[p.name] = append(replies[p.name], accessAsk(t, p, s))
		}
		p.stop()
		b, err := os.ReadFile(p.accessLog)
		if err != nil {
			t.Fatalf("%s access.log: %v", p.name, err)
		}
		p.log = b
	}
	for i, s := range accessSteps {
		sq, cu := replies["squid"][i], replies["cuttle"][i]
		what := s.method + " " + s.path
		if sq.status != cu.status || sq.reset != cu.reset {
			t.Errorf("%s: squid %d (reset %v), cuttle %d (reset %v)", what, sq.status, sq.reset, cu.status, cu.reset)
			continue
		}
		for _, k := range accessCompared {
			if k == "Content-Length" && sq.status != 302 && sq.status != 303 && sq.status != 307 {
				continue // the pages' wording differs
			}
			a, b := strings.Join(sq.header[k], ", "), strings.Join(cu.header[k], ", ")
			if k == "X-Cache-Lookup" {
				// "MISS from access.local:PORT": each listens on its own port.
				a, b = a[:max(strings.LastIndexByte(a, ':'), 0)], b[:max(strings.LastIndexByte(b, ':'), 0)]
			}
			if a != b {
				t.Errorf("%s: %s: squid %q, cuttle %q", what, k, a, b)
			}
		}
	}
	codes := func(b []byte) []string {
		var out []string
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) >= 10 && !strings.Contains(f[6], "squid-internal") {
				out = append(out, f[3]+" "+f[5]+" "+f[8])
			}
		}
		return out
	}
	if a, b := codes(squid.log), codes(cuttle.log); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("access.log result, method, hierarchy:\nsquid:\n%s\ncuttle:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}

// accessAsk sends one step on a new connection.
func accessAsk(t *testing.T, p *sideProxy, s accessStep) accessReply {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // a test deadline
	body := ""
	if s.method == "POST" {
		body = "x"
	}
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", s.method, s.path, len(body), body)
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: s.method})
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return accessReply{reset: true}
		}
		t.Fatalf("%s: %s %s: %v", p.name, s.method, s.path, err)
	}
	io.Copy(io.Discard, res.Body) //nolint:errcheck // only the header matters
	res.Body.Close()
	return accessReply{status: res.StatusCode, header: res.Header}
}

// startSquidWith starts Debian's Squid with the configuration conf makes
// and registers its stop, as startSquid does for the side-by-side test
// (without a cache_dir, so no squid -z).
func startSquidWith(t *testing.T, bin, dir, service string, conf func(dir, name string, port, originPort int) string, originPort int) *sideProxy {
	t.Helper()
	port := freePort(t)
	path := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(path, []byte(conf(dir, "squid", port, originPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &sideProxy{
		name:      "squid",
		base:      fmt.Sprintf("http://127.0.0.1:%d", port),
		accessLog: filepath.Join(dir, "squid-access.log"),
		cacheLog:  filepath.Join(dir, "squid-cache.log"),
		out:       &syncBuffer{},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	// A service name of its own keeps its shared memory apart from the
	// other Squids of the tests.
	cmd := exec.CommandContext(ctx, bin, "-n", service, "-N", "-f", path)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", bin, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		cmd.Wait() //nolint:errcheck // the exit is checked through exited
		close(exited)
	}()
	p.exited = exited
	p.stop = sync.OnceFunc(func() {
		defer cancel()
		select {
		case <-exited:
			return
		default:
		}
		syscall.Kill(-pid, syscall.SIGTERM) //nolint:errcheck // it may be gone
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("squid (pid %d) still running 10s after SIGTERM; killing it", pid)
			syscall.Kill(-pid, syscall.SIGKILL) //nolint:errcheck // it may be gone
			<-exited
		}
	})
	t.Cleanup(p.stop)
	return p
}

// startCuttleWith runs cuttle in-process with the configuration conf
// makes and registers its stop.
func startCuttleWith(t *testing.T, dir string, conf func(dir, name string, port, originPort int) string, originPort int) *sideProxy {
	t.Helper()
	port := freePort(t)
	path := filepath.Join(dir, "cuttle.conf")
	if err := os.WriteFile(path, []byte(conf(dir, "cuttle", port, originPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &sideProxy{
		name:      "cuttle",
		base:      fmt.Sprintf("http://127.0.0.1:%d", port),
		accessLog: filepath.Join(dir, "cuttle-access.log"),
		cacheLog:  filepath.Join(dir, "cuttle-cache.log"),
		out:       &syncBuffer{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	var code int
	go func() {
		defer close(exited)
		code = run(ctx, []string{"-N", "-f", path}, p.out, p.out)
	}()
	p.exited = exited
	p.stop = sync.OnceFunc(func() {
		cancel()
		select {
		case <-exited:
			if code != 0 {
				t.Errorf("cuttle exited with %d\n%s", code, p.diag())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("cuttle did not stop within 10s\n%s", p.diag())
		}
	})
	t.Cleanup(p.stop)
	return p
}
