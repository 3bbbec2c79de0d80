package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sideHost is the Host header of every request of the side-by-side test.
const sideHost = "www.example.com"

// sideStep is one request of the side-by-side sequence.
type sideStep struct {
	method, path string
	header       []string // request header lines, "Name: value"
	body         string   // request body, sent when not empty
	status       int      // wanted HTTP status
	code         string   // wanted %Ss/%03>Hs in access.log
	hit          bool     // served from the memory cache: retried while it is a MISS

	// cuttleDiffers, when set, says how cuttle is known to differ from
	// Squid on this step: only Squid's side is checked, and the step is
	// left out of every comparison (and of the analyzers' logs).
	cuttleDiffers string
}

// sideLongAgent is a very long User-Agent (Squid's request_header_max_size
// is 64 KB).
var sideLongAgent = "Mozilla/5.0 (long; " + strings.Repeat("x", 4000) + ")"

// sideLastModified is the fixed Last-Modified of the origin's /cond.
const sideLastModified = "Sat, 01 Feb 2025 10:00:00 GMT"

// sideSteps is the request sequence sent to both Squid and cuttle.
var sideSteps = []sideStep{
	{method: "GET", path: "/static/a.css", status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/static/a.css", status: 200, code: "TCP_MEM_HIT/200", hit: true},
	// An object over maximum_object_size_in_memory lives on disk only: a
	// disk hit (TCP_HIT).
	{method: "GET", path: "/big.bin", status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/big.bin", status: 200, code: "TCP_HIT/200", hit: true},
	{method: "GET", path: "/secret/x", status: 403, code: "TCP_DENIED/403"},
	{method: "GET", path: "/page?x=1", status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/page?x=1", status: 200, code: "TCP_MEM_HIT/200", hit: true},
	{method: "GET", path: "/private", status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/private", status: 200, code: "TCP_MISS/200"},
	{method: "POST", path: "/form", body: "a=1&b=2", status: 201, code: "TCP_MISS/201"},
	// Conditional requests answered from the cache with a 304.
	{method: "GET", path: "/cond", status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/cond", status: 200, code: "TCP_MEM_HIT/200", hit: true},
	{method: "GET", path: "/cond", header: []string{`If-None-Match: "c1"`}, status: 304, code: "TCP_INM_HIT/304", hit: true},
	{method: "GET", path: "/cond", header: []string{"If-Modified-Since: " + sideLastModified}, status: 304, code: "TCP_IMS_HIT/304", hit: true},
	// A stale object (max-age=0) revalidated with the origin, which
	// answers 304.
	{method: "GET", path: "/stale", status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/stale", status: 200, code: "TCP_REFRESH_UNMODIFIED/200", hit: true},
	// An error reply kept for negative_ttl.
	{method: "GET", path: "/missing", status: 404, code: "TCP_MISS/404"},
	{method: "GET", path: "/missing", status: 404, code: "TCP_NEGATIVE_HIT/404", hit: true},
	// HEAD of a cached object, and of one that is not cached.
	{method: "HEAD", path: "/static/a.css", status: 200, code: "TCP_MEM_HIT/200", hit: true},
	{method: "HEAD", path: "/page?x=head", status: 200, code: "TCP_MISS/200"},
	// A Range request on a cached object.
	{method: "GET", path: "/static/a.css", header: []string{"Range: bytes=0-9"}, status: 206, code: "TCP_MEM_HIT/206", hit: true},
	// POST with a query string; query strings with escapes.
	{method: "POST", path: "/form?id=7&x=%20y", body: `{"k": "v"}`, header: []string{"Content-Type: application/json"}, status: 201, code: "TCP_MISS/201"},
	{method: "GET", path: "/page?q=a%20b&r=%22c%22&s=%C3%A9", status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/path%20with%20space?q=a+b", status: 404, code: "TCP_MISS/404"},
	// Odd user agents: native access.log does not carry them, but they
	// must not change how the request is logged.
	{method: "GET", path: "/agent/1", header: []string{"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"}, status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/agent/2", header: []string{`User-Agent: say "hello" \ and 'bye'`}, status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/agent/3", header: []string{"User-Agent: caf\xc3\xa9 \xff\xfe bot/1.0"}, status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/agent/4", header: []string{"User-Agent: " + sideLongAgent}, status: 200, code: "TCP_MISS/200"},
	{method: "GET", path: "/agent/5", header: []string{"User-Agent:"}, status: 200, code: "TCP_MISS/200"},
}

// sideHitTries bounds the attempts at a step expected to be a hit.
const sideHitTries = 20

// sideAttempt is one request actually sent: a step, or a retry of a step
// that was expected to hit but was still a MISS. Each one is an access.log
// line, in order.
type sideAttempt struct {
	step   int
	retry  bool // superseded by a later attempt of the same step
	status int
	header http.Header
}

// sideProxy is one of the two servers under test.
type sideProxy struct {
	name      string
	base      string
	accessLog string
	cacheLog  string
	log       []byte      // access.log, read once the server stopped
	out       *syncBuffer // stdout and stderr
	exited    <-chan struct{}
	stop      func() // graceful stop, idempotent, waits for the exit

	attempts []sideAttempt
	origin   map[string]int // origin requests while this proxy's sequence ran
}

// diag is what to show when the server misbehaves.
func (p *sideProxy) diag() string {
	cl, err := os.ReadFile(p.cacheLog)
	state := "running"
	select {
	case <-p.exited:
		state = "exited"
	default:
	}
	var files []string
	if entries, err := os.ReadDir(filepath.Dir(p.cacheLog)); err == nil {
		for _, e := range entries {
			files = append(files, e.Name())
		}
	}
	return fmt.Sprintf("%s (%s) output:\n%s\n%s cache.log (%v):\n%s\nfiles: %v", p.name, state, p.out.String(), p.name, err, cl, files)
}

// sideConf is the squid.conf both servers get: only the port and the paths
// of the log and pid files differ.
func sideConf(dir, name string, port, originPort int) string {
	return fmt.Sprintf(`http_port 127.0.0.1:%[3]d accel defaultsite=www.example.com vhost
cache_peer 127.0.0.1 parent %[4]d 0 no-query originserver name=origin
never_direct allow all
acl secret urlpath_regex ^/secret
http_access deny secret
http_access allow localhost
http_access deny all
cache_mem 8 MB
maximum_object_size_in_memory 16 KB
cache_dir ufs %[1]s/%[2]s-cache 64 16 256
negative_ttl 30 seconds
visible_hostname side.local
`, dir, name, port, originPort) + sideFiles(dir, name)
}

// sideFiles is the end of every squid.conf that Squid and cuttle both run
// in the side-by-side tests: the server's own log and pid files under dir
// (named after name), and what keeps Squid from reaching anything beyond
// the test (no store log, pinger, netdb or outside DNS), running as proxy.
func sideFiles(dir, name string) string {
	return fmt.Sprintf(`access_log stdio:%[1]s/%[2]s-access.log squid
cache_log %[1]s/%[2]s-cache.log
pid_filename %[1]s/%[2]s.pid
cache_store_log none
logfile_rotate 0
coredump_dir %[1]s
netdb_filename none
pinger_enable off
dns_nameservers 127.0.0.1
shutdown_lifetime 1 seconds
cache_effective_user proxy
`, dir, name)
}

// needSquid returns Debian's squid binary. Without it the test fails in
// CI (CI=true), where the package must be installed, and is skipped
// elsewhere.
func needSquid(t *testing.T) string {
	t.Helper()
	bin := squidBinary()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("squid is not installed: install Debian's squid package")
		}
		t.Skip("squid is not installed")
	}
	return bin
}

// squidDir makes a temporary directory, removed when the test ends, that
// anyone may write to: Squid started as root runs as cache_effective_user
// proxy and writes its logs and pid file there. (t.TempDir's parent is
// not open to proxy.)
func squidDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// squidBinary finds Squid, also in /usr/sbin, which is not always on PATH.
func squidBinary() string {
	if p, err := exec.LookPath("squid"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/squid", "/usr/local/sbin/squid", "/usr/local/squid/sbin/squid"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// sideRun is the outcome of one run of the sequence through both servers.
type sideRun struct {
	bin           string
	squid, cuttle *sideProxy
	took          time.Duration
}

// sideShared runs the sequence once for all the tests that need it.
var sideShared struct {
	once sync.Once
	run  *sideRun // nil when the run failed
}

// sideBySide returns the run of the sequence through Squid and cuttle,
// running it on the first call. The servers are stopped and their
// access.logs read (into sideProxy.log) when it returns.
func sideBySide(t *testing.T) *sideRun {
	t.Helper()
	bin := needSquid(t)
	// The first caller's t reports any failure of the run itself.
	sideShared.once.Do(func() { sideShared.run = runSideBySide(t, bin) })
	if sideShared.run == nil {
		t.Fatal("the side-by-side run of Squid and cuttle failed (see the test that ran it)")
	}
	return sideShared.run
}

// runSideBySide starts Squid and cuttle with the same squid.conf in front
// of one origin, sends both the sequence, stops them and reads their logs.
// It returns nil if anything failed.
func runSideBySide(t *testing.T, bin string) *sideRun {
	t.Helper()
	start := time.Now()

	// Squid started as root runs as cache_effective_user proxy: its log
	// and pid files live in a directory anyone may write to.
	dir := squidDir(t, "cuttle-side-by-side-")

	var (
		originMu sync.Mutex
		origin   = map[string]int{} // protected by originMu
	)
	css := strings.Repeat("body { color: #123; }\n", 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Squid also fetches the peer's cache digest on its own
		// (/squid-internal-periodic/store_digest): not a client request.
		if !strings.HasPrefix(r.URL.Path, "/squid-internal-") {
			originMu.Lock()
			origin[r.Method+" "+r.URL.RequestURI()]++
			originMu.Unlock()
		}
		h := w.Header()
		get := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch {
		case get && r.URL.Path == "/static/a.css":
			h.Set("Content-Type", "text/css")
			h.Set("Cache-Control", "max-age=60")
			io.WriteString(w, css)
		case get && r.URL.Path == "/big.bin":
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Cache-Control", "max-age=60")
			w.Write(bytes.Repeat([]byte("0123456789abcdef"), 4096)) // 64 KiB
		case get && r.URL.Path == "/page":
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "<html><body>page %s</body></html>\n", r.URL.Query().Get("x"))
		case get && r.URL.Path == "/private":
			h.Set("Content-Type", "text/plain")
			h.Set("Cache-Control", "private")
			io.WriteString(w, "for your eyes only\n")
		case get && r.URL.Path == "/cond":
			// Fresh for a minute, with both validators.
			h.Set("ETag", `"c1"`)
			h.Set("Last-Modified", sideLastModified)
			h.Set("Cache-Control", "max-age=60")
			if r.Header.Get("If-None-Match") == `"c1"` || r.Header.Get("If-Modified-Since") == sideLastModified {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			h.Set("Content-Type", "text/plain")
			io.WriteString(w, "conditional body\n")
		case get && r.URL.Path == "/stale":
			// Stale at once: every hit is revalidated, and unchanged.
			h.Set("ETag", `"v1"`)
			h.Set("Cache-Control", "max-age=0")
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			h.Set("Content-Type", "application/json")
			io.WriteString(w, `{"stale": true}`+"\n")
		case get && strings.HasPrefix(r.URL.Path, "/agent/"):
			h.Set("Content-Type", "text/plain")
			h.Set("Cache-Control", "no-store")
			io.WriteString(w, "agent\n")
		case r.Method == http.MethodPost && r.URL.Path == "/form":
			io.Copy(io.Discard, r.Body)
			h.Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "created\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	originPort := srv.Listener.Addr().(*net.TCPAddr).Port

	squid := startSquid(t, bin, dir, originPort)
	cuttle := startCuttle(t, dir, originPort)
	proxies := []*sideProxy{squid, cuttle}
	ready := time.Now().Add(15 * time.Second)
	for _, p := range proxies {
		waitAccepting(t, p, ready)
	}

	// One proxy after the other, so that the origin's counters tell them
	// apart.
	for _, p := range proxies {
		originMu.Lock()
		clear(origin)
		originMu.Unlock()
		runSideSteps(t, p)
		originMu.Lock()
		p.origin = maps.Clone(origin)
		originMu.Unlock()
	}

	// Stop both (in parallel: Squid takes about 3 s) so that the logs are
	// complete.
	var wg sync.WaitGroup
	for _, p := range proxies {
		wg.Go(p.stop)
	}
	wg.Wait()
	for _, p := range proxies {
		var err error
		if p.log, err = os.ReadFile(p.accessLog); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		return nil
	}
	return &sideRun{bin: bin, squid: squid, cuttle: cuttle, took: time.Since(start)}
}

// TestSideBySideWithSquid gives the same squid.conf to the real Squid and
// to cuttle, in front of one origin, sends both the same requests and
// compares what they answer and what they write to access.log.
func TestSideBySideWithSquid(t *testing.T) {
	t.Parallel()
	r := sideBySide(t)
	compareSideResponses(t, r.squid, r.cuttle)
	compareSideOrigin(t, r.squid, r.cuttle)
	compareSideLogs(t, r.squid, r.cuttle)
	t.Logf("side by side with %s took %v", r.bin, r.took.Round(time.Millisecond))
}

// startSquid starts the real Squid in the foreground and registers its stop.
func startSquid(t *testing.T, bin, dir string, originPort int) *sideProxy {
	t.Helper()
	port := freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(conf, []byte(sideConf(dir, "squid", port, originPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &sideProxy{
		name:      "squid",
		base:      fmt.Sprintf("http://127.0.0.1:%d", port),
		accessLog: filepath.Join(dir, "squid-access.log"),
		cacheLog:  filepath.Join(dir, "squid-cache.log"),
		out:       &syncBuffer{},
	}
	// Squid needs its cache_dir made first (squid -z, as the proxy user).
	zctx, zcancel := context.WithTimeout(context.Background(), 30*time.Second)
	z := exec.CommandContext(zctx, bin, "-n", fmt.Sprintf("cuttlesbs%d", os.Getpid()), "-N", "-z", "-f", conf)
	z.Dir = dir
	zout, zerr := z.CombinedOutput()
	zcancel()
	if zerr != nil {
		t.Fatalf("squid -z: %v\n%s", zerr, zout)
	}
	// A safety net only: the test stops Squid itself long before.
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	// A service name of its own keeps its shared memory apart from any
	// other squid on the machine, such as the parse runs of squidconf tests.
	cmd := exec.CommandContext(ctx, bin, "-n", fmt.Sprintf("cuttlesbs%d", os.Getpid()), "-N", "-f", conf)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Its own process group, so that a kill also reaches any helper.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", bin, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	p.exited = exited
	p.stop = sync.OnceFunc(func() {
		defer cancel()
		select {
		case <-exited:
			return // already gone: its pid may be reused by now
		default:
		}
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-exited:
			if waitErr != nil {
				t.Errorf("squid (pid %d) exited with %v after SIGTERM\n%s", pid, waitErr, p.diag())
			}
			return
		case <-time.After(10 * time.Second):
		}
		t.Errorf("squid (pid %d) still running 10s after SIGTERM; killing it\n%s", pid, p.diag())
		syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Errorf("squid (pid %d) survived SIGKILL", pid)
		}
	})
	t.Cleanup(p.stop)
	return p
}

// startCuttle runs cuttle in-process with sideConf and registers its stop.
func startCuttle(t *testing.T, dir string, originPort int) *sideProxy {
	t.Helper()
	return startCuttleWith(t, dir, sideConf, originPort)
}

// waitAccepting waits until the server says in cache.log that it accepts
// connections (both write Squid's "Accepting reverse-proxy HTTP Socket
// connections at" once listening). Polling the port with requests or bare
// connections instead would add lines to access.log.
func waitAccepting(t *testing.T, p *sideProxy, deadline time.Time) {
	t.Helper()
	accepting := []byte("Accepting reverse-proxy HTTP Socket connections at")
	for {
		// cuttle logs to stderr when it cannot open cache_log.
		b, _ := os.ReadFile(p.cacheLog)
		said := bytes.Contains(b, accepting) || strings.Contains(p.out.String(), string(accepting))
		if said && listening(p.base) {
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before accepting connections\n%s", p.name, p.diag())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not accept connections in time\n%s", p.name, p.diag())
		}
	}
}

// listening reports whether the kernel shows a listening socket on the
// port of base ("http://127.0.0.1:PORT"). It reads /proc/net/tcp rather
// than connecting, which would add a line to the access logs.
func listening(base string) bool {
	port, err := strconv.Atoi(base[strings.LastIndexByte(base, ':')+1:])
	if err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return true // no procfs: rely on the log line alone
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == want && f[3] == "0A" { // 0A: TCP_LISTEN
			return true
		}
	}
	return false
}

// runSideSteps sends the sequence to p and records every attempt.
func runSideSteps(t *testing.T, p *sideProxy) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	for i, s := range sideSteps {
		for try := 0; ; try++ {
			var body io.Reader
			if s.body != "" {
				body = strings.NewReader(s.body)
			}
			req, err := http.NewRequest(s.method, p.base+s.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			for _, h := range s.header {
				name, value, _ := strings.Cut(h, ":")
				req.Header.Set(name, strings.TrimSpace(value))
			}
			req.Host = sideHost
			res, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %s %s: %v\n%s", p.name, s.method, s.path, err, p.diag())
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatalf("%s: %s %s: reading the body: %v", p.name, s.method, s.path, err)
			}
			p.attempts = append(p.attempts, sideAttempt{step: i, status: res.StatusCode, header: res.Header})
			// Squid needs a moment to make a fresh object a memory hit,
			// and cuttle's memory tier applies writes asynchronously.
			wantHit := s.hit && (s.cuttleDiffers == "" || p.name == "squid")
			if !wantHit || strings.HasPrefix(res.Header.Get("X-Cache"), "HIT ") || try == sideHitTries-1 {
				break
			}
			p.attempts[len(p.attempts)-1].retry = true
			time.Sleep(time.Duration(5*(try+1)) * time.Millisecond)
		}
	}
}

// finalAttempts returns the last attempt of every step.
func (p *sideProxy) finalAttempts() []sideAttempt {
	var out []sideAttempt
	for _, a := range p.attempts {
		if !a.retry {
			out = append(out, a)
		}
	}
	return out
}

// retries counts the superseded attempts.
func (p *sideProxy) retries() int {
	return len(p.attempts) - len(p.finalAttempts())
}

// squidMissedHit reports whether Squid never made step i a hit: then the
// two servers are not compared on that step.
func squidMissedHit(squid *sideProxy, i int) bool {
	s := sideSteps[i]
	return s.hit && !strings.HasPrefix(squid.finalAttempts()[i].header.Get("X-Cache"), "HIT ")
}

// sideCompared reports whether the two servers are compared on step i.
func sideCompared(squid *sideProxy, i int) bool {
	return sideSteps[i].cuttleDiffers == "" && !squidMissedHit(squid, i)
}

func compareSideResponses(t *testing.T, squid, cuttle *sideProxy) {
	t.Helper()
	sq, cu := squid.finalAttempts(), cuttle.finalAttempts()
	for i, s := range sideSteps {
		what := fmt.Sprintf("step %d (%s %s)", i+1, s.method, s.path)
		if squidMissedHit(squid, i) {
			t.Logf("%s: squid did not make it a memory hit after %d tries (X-Cache %q); not compared",
				what, sideHitTries, sq[i].header.Get("X-Cache"))
			continue
		}
		if s.cuttleDiffers != "" {
			if sq[i].status != s.status {
				t.Errorf("%s: squid answered %d, want %d (the test's assumptions about Squid are wrong)", what, sq[i].status, s.status)
			}
			continue
		}
		if sq[i].status != s.status {
			t.Errorf("%s: squid answered %d, want %d (the test's assumptions about Squid are wrong)", what, sq[i].status, s.status)
		}
		if cu[i].status != sq[i].status {
			t.Errorf("%s: cuttle answered %d, squid %d", what, cu[i].status, sq[i].status)
		}
		sx, cx := sq[i].header.Get("X-Cache"), cu[i].header.Get("X-Cache")
		if cx != sx {
			t.Errorf("%s: X-Cache: cuttle %q, squid %q", what, cx, sx)
		}
		if want := map[bool]string{false: "MISS from side.local", true: "HIT from side.local"}[s.hit]; sx != want {
			t.Errorf("%s: squid X-Cache %q, want %q", what, sx, want)
		}
		if s.hit {
			if sq[i].header.Get("Age") == "" {
				t.Errorf("%s: squid sent no Age on a hit", what)
			}
			if cu[i].header.Get("Age") == "" {
				t.Errorf("%s: cuttle sent no Age on a hit (squid sent %q)", what, sq[i].header.Get("Age"))
			}
		}
		// Squid names itself in Via on every reply, its error pages too.
		for _, r := range []struct {
			name string
			a    sideAttempt
		}{{"squid", sq[i]}, {"cuttle", cu[i]}} {
			if via := strings.Join(r.a.header.Values("Via"), ", "); !strings.Contains(via, "side.local") {
				t.Errorf("%s: %s Via %q does not name side.local", what, r.name, via)
			}
		}
	}
}

// compareSideOrigin checks that both servers went to the origin for the
// same requests (retries that missed went there too: they are not counted).
func compareSideOrigin(t *testing.T, squid, cuttle *sideProxy) {
	t.Helper()
	counts := func(p *sideProxy) map[string]int {
		m := maps.Clone(p.origin)
		for _, a := range p.attempts {
			if a.retry && !strings.HasPrefix(a.header.Get("X-Cache"), "HIT ") {
				s := sideSteps[a.step]
				m[s.method+" "+s.path]--
			}
		}
		for i, s := range sideSteps {
			if !sideCompared(squid, i) {
				delete(m, s.method+" "+s.path)
			}
		}
		return m
	}
	sq, cu := counts(squid), counts(cuttle)
	if !maps.Equal(sq, cu) {
		t.Errorf("origin requests: cuttle %v, squid %v", cu, sq)
	}
	if n := squid.origin["GET /secret/x"] + cuttle.origin["GET /secret/x"]; n != 0 {
		t.Errorf("the denied /secret/x reached the origin %d times", n)
	}
}

// squidNativeLine splits a line of Squid's native access.log format:
// time, elapsed (%6ld), client, code/status, bytes, method, URL, user,
// hierarchy/peer, type.
var squidNativeLine = regexp.MustCompile(`^(\d{10}\.\d{3}) ( *\d+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$`)

var decimal = regexp.MustCompile(`^\d+$`)

// sideFields are the fields (1-based) that must be identical.
var sideFields = []struct {
	n    int
	name string
}{{3, "client"}, {4, "code/status"}, {6, "method"}, {7, "URL"}, {8, "user"}, {9, "hierarchy/peer"}, {10, "type"}}

// parseNativeLines checks the shape of every line and returns its fields.
func parseNativeLines(name string, b []byte) (lines []string, fields [][]string, problems []string) {
	text := string(b)
	if text != "" && !strings.HasSuffix(text, "\n") {
		problems = append(problems, fmt.Sprintf("%s: the last line does not end with a newline", name))
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" && text == "" {
			break
		}
		lines = append(lines, line)
		m := squidNativeLine.FindStringSubmatch(line)
		if m == nil {
			problems = append(problems, fmt.Sprintf("%s line %d is not a native squid line: %q", name, i+1, line))
			fields = append(fields, nil)
			continue
		}
		// %6ld: right-aligned in 6 columns, longer values just widen.
		if el := m[2]; len(el) < 6 || (len(el) > 6 && el[0] == ' ') {
			problems = append(problems, fmt.Sprintf("%s line %d: elapsed field %q is not %%6ld", name, i+1, el))
		}
		if !decimal.MatchString(m[5]) {
			problems = append(problems, fmt.Sprintf("%s line %d: bytes field %q is not a number", name, i+1, m[5]))
		}
		fields = append(fields, m)
	}
	return lines, fields, problems
}

func compareSideLogs(t *testing.T, squid, cuttle *sideProxy) {
	t.Helper()
	sb, cb := squid.log, cuttle.log
	sLines, sFields, problems := parseNativeLines("squid", sb)
	cLines, cFields, cProblems := parseNativeLines("cuttle", cb)
	problems = append(problems, cProblems...)

	// One line per request sent; retries that missed are left out of the
	// comparison.
	keep := func(p *sideProxy, lines []string, fields [][]string) ([]string, [][]string, bool) {
		if len(lines) != len(p.attempts) {
			problems = append(problems, fmt.Sprintf("%s logged %d lines for %d requests", p.name, len(lines), len(p.attempts)))
			return nil, nil, false
		}
		var l []string
		var f [][]string
		for i, a := range p.attempts {
			if !a.retry {
				l, f = append(l, lines[i]), append(f, fields[i])
			}
		}
		return l, f, true
	}
	sl, sf, sok := keep(squid, sLines, sFields)
	cl, cf, cok := keep(cuttle, cLines, cFields)
	if sok && cok {
		for i, s := range sideSteps {
			if squidMissedHit(squid, i) {
				continue
			}
			if sf[i] == nil || cf[i] == nil {
				continue // already reported
			}
			if got := sf[i][4]; got != s.code {
				problems = append(problems, fmt.Sprintf("step %d (%s %s): squid logged %s, want %s (the test's assumptions about Squid are wrong)", i+1, s.method, s.path, got, s.code))
			}
			if s.cuttleDiffers != "" {
				t.Logf("step %d (%s %s): not compared, cuttle is known to differ: %s\n  squid:  %s\n  cuttle: %s",
					i+1, s.method, s.path, s.cuttleDiffers, sl[i], cl[i])
				continue
			}
			var diffs []string
			for _, fd := range sideFields {
				if sf[i][fd.n] != cf[i][fd.n] {
					diffs = append(diffs, fmt.Sprintf("field %d (%s): cuttle %q, squid %q", fd.n, fd.name, cf[i][fd.n], sf[i][fd.n]))
				}
			}
			if len(diffs) > 0 {
				problems = append(problems, fmt.Sprintf("step %d (%s %s): %s\n  squid:  %s\n  cuttle: %s",
					i+1, s.method, s.path, strings.Join(diffs, "; "), sl[i], cl[i]))
			}
		}
	}
	if len(problems) > 0 {
		t.Errorf("access.log differences:\n%s\n\nsquid access.log:\n%s\ncuttle access.log:\n%s",
			strings.Join(problems, "\n"), sb, cb)
	}
	if n := squid.retries() + cuttle.retries(); n > 0 {
		t.Logf("hits needed retries: squid %d, cuttle %d", squid.retries(), cuttle.retries())
	}
}
