package main

import (
	"context"
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// notifySocket is a fake systemd notification socket (NOTIFY_SOCKET): it
// collects the state lines cuttle sends.
type notifySocket struct {
	path string
	conn *net.UnixConn
	msgs chan string
}

func newNotifySocket(t *testing.T, dir string) *notifySocket {
	t.Helper()
	ns := &notifySocket{path: filepath.Join(dir, "notify.sock"), msgs: make(chan string, 64)}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(ns.path, 0o777) // cuttle may run as cache_effective_user
	ns.conn = c
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(ns.msgs)
				return
			}
			ns.msgs <- string(buf[:n])
		}
	}()
	return ns
}

// expect waits for the next datagram and checks that it holds every line
// of want; it returns the datagram.
func (ns *notifySocket) expect(t *testing.T, want ...string) string {
	t.Helper()
	select {
	case m, ok := <-ns.msgs:
		if !ok {
			t.Fatalf("notify socket closed; wanted %q", want)
		}
		lines := strings.Split(strings.TrimSpace(m), "\n")
		for _, w := range want {
			found := false
			for _, l := range lines {
				if l == w || strings.HasSuffix(w, "=") && strings.HasPrefix(l, w) {
					found = true
				}
			}
			if !found {
				t.Fatalf("notification %q lacks %q", m, w)
			}
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatalf("no notification; wanted %q", want)
	}
	return ""
}

// binaryProc is a cuttle binary started by a test.
type binaryProc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error
}

// startBinary starts bin with args and the extra environment.
func startBinary(t *testing.T, bin string, env []string, args ...string) *binaryProc {
	t.Helper()
	p := &binaryProc{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit error.
func (p *binaryProc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		t.Fatalf("cuttle did not exit within %v; output:\n%s", d, p.out.String())
	}
	return nil
}

// kCommand runs bin -k cmd -f conf and returns its status and output.
func kCommand(t *testing.T, bin, conf, cmd string) (int, string) {
	t.Helper()
	out, err := exec.Command(bin, "-k", cmd, "-f", conf).CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestReloadUnderLoad is the zero-drop reload: cuttle serves continuous
// traffic (kept-alive and new connections) while it is reconfigured five
// times by squid -k reconfigure, once with a broken file. No request
// fails, the broken file changes nothing and is explained in cache_log,
// a port added by a reload serves and a removed one stops, the cache
// keeps its contents, and systemd hears RELOADING=1 and READY=1 each time
// and STOPPING=1 at the end.
func TestReloadUnderLoad(t *testing.T) {
	bin, _ := buildCuttleBinary(t)
	dir := t.TempDir()
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		if strings.HasPrefix(r.URL.Path, "/nocache/") {
			w.Header().Set("Cache-Control", "no-store")
			time.Sleep(5 * time.Millisecond) // requests in flight across the switch
		}
		fmt.Fprintf(w, "body of %s\n", r.URL.Path)
	}))
	defer origin.Close()
	originAddr := strings.TrimPrefix(origin.URL, "http://")
	originHost, originPort, _ := strings.Cut(originAddr, ":")

	portA, portB := freePort(t), freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	cacheLog := filepath.Join(dir, "cache.log")
	accessLog := filepath.Join(dir, "access.log")
	pidFile := filepath.Join(dir, "cuttle.pid")
	writeConf := func(name string, withB bool, broken bool) {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, "http_port 127.0.0.1:%d accel defaultsite=reload.test\n", portA)
		if withB {
			fmt.Fprintf(&b, "http_port 127.0.0.1:%d accel defaultsite=reload.test\n", portB)
		}
		fmt.Fprintf(&b, "cache_peer %s parent %s 0 no-query originserver name=origin\n", originHost, originPort)
		b.WriteString("http_access allow localhost\n")
		if broken {
			b.WriteString("http_access allow no_such_acl\n")
		}
		b.WriteString("http_access deny all\n")
		fmt.Fprintf(&b, "visible_hostname %s\ncache_mem 8 MB\naccess_log stdio:%s squid\ncache_log %s\npid_filename %s\nshutdown_lifetime 5 seconds\n%s\n",
			name, accessLog, cacheLog, pidFile, sameUser(t))
		if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf("gen0.test", false, false)

	ns := newNotifySocket(t, dir)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	proc := startBinary(t, bin, []string{"NOTIFY_SOCKET=" + ns.path, "CUTTLE_METRICS_ADDR=" + metricsAddr}, "--foreground", "-sYC", "-f", conf)
	ns.expect(t, "READY=1")

	client := &http.Client{Timeout: 10 * time.Second}
	get := func(port int, path string) (*http.Response, string, error) {
		res, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return nil, "", err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(body), err
	}
	mustGet := func(port int, path string) *http.Response {
		t.Helper()
		res, body, err := get(port, path)
		if err != nil || res.StatusCode != 200 || body != "body of "+strings.SplitN(path, "?", 2)[0]+"\n" {
			t.Fatalf("GET :%d%s: %v %v %q", port, path, err, res, body)
		}
		return res
	}
	mustGet(portA, "/kept")
	// The miss is stored as it is sent: poll (bounded) until it is a hit.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		res := mustGet(portA, "/kept")
		if res.Header.Get("X-Cache") == "HIT from gen0.test" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /kept never became a hit: X-Cache %q", res.Header.Get("X-Cache"))
		}
	}

	// The load: kept-alive clients and clients with a new connection per
	// request, on cached and uncacheable URLs.
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var requests, failures atomic.Int64
	var failMu sync.Mutex
	var failed []string
	for i := range 8 {
		wg.Go(func() {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: i%2 == 1}}
			for n := 0; ctx.Err() == nil; n++ {
				path := fmt.Sprintf("/obj/%d", n%50)
				if n%3 == 0 {
					path = fmt.Sprintf("/nocache/%d-%d", i, n)
				}
				res, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", portA, path))
				var body []byte
				if err == nil {
					body, err = io.ReadAll(res.Body)
					res.Body.Close()
				}
				if ctx.Err() != nil && err != nil {
					return
				}
				requests.Add(1)
				if err != nil || res.StatusCode != 200 || string(body) != "body of "+path+"\n" {
					failures.Add(1)
					failMu.Lock()
					failed = append(failed, fmt.Sprintf("%s: %v %v %q", path, err, res, body))
					failMu.Unlock()
				}
			}
		})
	}
	pause := func() { time.Sleep(300 * time.Millisecond) }

	reload := func(step string) {
		t.Helper()
		if code, out := kCommand(t, bin, conf, "reconfigure"); code != 0 {
			t.Fatalf("%s: -k reconfigure exited %d: %s", step, code, out)
		}
		ns.expect(t, "RELOADING=1", "MONOTONIC_USEC=")
		ns.expect(t, "READY=1")
	}
	// Squid's -k reconfigure refuses a file with errors before signalling;
	// systemd's ExecReload (kill -HUP) does not check, so cuttle must.
	hangup := func(step string) {
		t.Helper()
		if code, out := kCommand(t, bin, conf, "reconfigure"); code != 1 || !strings.Contains(out, "ACL not found") {
			t.Fatalf("%s: -k reconfigure of a broken file: %d %s", step, code, out)
		}
		proc.cmd.Process.Signal(syscall.SIGHUP)
		ns.expect(t, "RELOADING=1", "MONOTONIC_USEC=")
		ns.expect(t, "READY=1")
	}

	pause()
	writeConf("gen1.test", true, false) // adds port B
	reload("reload 1")
	pause()
	if res := mustGet(portB, "/kept"); !strings.HasSuffix(res.Header.Get("X-Cache"), " from gen1.test") {
		t.Errorf("port B after reload 1: X-Cache %q, want one from gen1.test", res.Header.Get("X-Cache"))
	}

	writeConf("gen2.test", true, true) // broken: refused
	hangup("reload 2 (broken)")
	pause()
	if res := mustGet(portA, "/kept"); res.Header.Get("X-Cache") != "HIT from gen1.test" {
		t.Errorf("after the broken reload: X-Cache %q, want the previous configuration's", res.Header.Get("X-Cache"))
	}
	logText, _ := os.ReadFile(cacheLog)
	if !strings.Contains(string(logText), "ACL not found: no_such_acl") || !strings.Contains(string(logText), "Reconfiguration refused") {
		t.Errorf("cache_log does not explain the refused reload:\n%s", logText)
	}

	writeConf("gen3.test", false, false) // removes port B
	reload("reload 3")
	pause()
	writeConf("gen4.test", false, false)
	reload("reload 4")
	pause()
	writeConf("gen5.test", false, false)
	reload("reload 5")
	pause()
	// On a loaded machine the clients may have sent little so far: let
	// them reach a few hundred requests (bounded) before stopping.
	for deadline := time.Now().Add(20 * time.Second); requests.Load() < 300 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()

	if res := mustGet(portA, "/kept"); res.Header.Get("X-Cache") != "HIT from gen5.test" {
		t.Errorf("after five reloads: X-Cache %q, want a hit from gen5.test (the cache keeps its contents)", res.Header.Get("X-Cache"))
	}
	// Port B stops once its requests are done (shutdown_lifetime).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", portB))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("port B still accepts after the reload that removed it")
		}
	}

	t.Logf("%d requests during 5 reloads (1 refused), %d failed", requests.Load(), failures.Load())
	if failures.Load() > 0 {
		t.Errorf("%d of %d requests failed during reloads; first: %v", failures.Load(), requests.Load(), failed[:min(len(failed), 5)])
	}
	if requests.Load() < 100 {
		t.Errorf("only %d requests were sent: the load did not run", requests.Load())
	}

	if code, out := kCommand(t, bin, conf, "check"); code != 0 {
		t.Errorf("-k check on a running cuttle: %d %s", code, out)
	}
	// The metrics count the reloads and their outcome, and every request.
	res, err := client.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`cuttle_reloads_total{outcome="ok"} 4`, `cuttle_reloads_total{outcome="failed"} 1`} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	if code, out := kCommand(t, bin, conf, "shutdown"); code != 0 {
		t.Fatalf("-k shutdown: %d %s", code, out)
	}
	ns.expect(t, "STOPPING=1")
	if err := proc.wait(t, 15*time.Second); err != nil {
		t.Errorf("cuttle exited with %v; output:\n%s", err, proc.out.String())
	}
	if _, err := os.Stat(pidFile); err == nil {
		t.Error("pid file left after shutdown")
	}
	logText, _ = os.ReadFile(cacheLog)
	if n := strings.Count(string(logText), "Reconfigured in"); n != 4 {
		t.Errorf("cache_log has %d successful reconfigurations, want 4:\n%s", n, logText)
	}
}

// TestKCommandsWithoutInstance checks the clear errors of -k when no
// cuttle runs: no pid file, and a stale one.
func TestKCommandsWithoutInstance(t *testing.T) {
	bin, _ := buildCuttleBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "squid.conf")
	pidFile := filepath.Join(dir, "cuttle.pid")
	os.WriteFile(conf, []byte(fmt.Sprintf("http_port 127.0.0.1:%d accel defaultsite=x\npid_filename %s\n", freePort(t), pidFile)), 0o644)
	for _, cmd := range []string{"check", "reconfigure", "rotate", "shutdown", "interrupt", "kill"} {
		code, out := kCommand(t, bin, conf, cmd)
		if code != 1 || !strings.Contains(out, "no running copy: "+pidFile+" does not exist") {
			t.Errorf("-k %s without pid file: %d %q", cmd, code, out)
		}
	}
	// A pid that no process has: start and reap a short-lived one.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", gone.Process.Pid)), 0o644)
	code, out := kCommand(t, bin, conf, "check")
	if code != 1 || !strings.Contains(out, "is stale") {
		t.Errorf("-k check with a stale pid file: %d %q", code, out)
	}
	os.WriteFile(pidFile, []byte("garbage\n"), 0o644)
	if code, out := kCommand(t, bin, conf, "check"); code != 1 || !strings.Contains(out, "does not hold a process id") {
		t.Errorf("-k check with garbage in the pid file: %d %q", code, out)
	}
}

// TestInterruptStopsAtOnce checks -k interrupt (SIGINT): cuttle exits
// without waiting shutdown_lifetime for a slow request, still writing
// the access.log lines of what it finished.
func TestInterruptStopsAtOnce(t *testing.T) {
	bin, _ := buildCuttleBinary(t)
	dir := t.TempDir()
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Write([]byte("ok"))
	}))
	defer origin.Close()
	defer close(release)
	host, port, _ := strings.Cut(strings.TrimPrefix(origin.URL, "http://"), ":")
	proxyPort := freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	accessLog := filepath.Join(dir, "access.log")
	os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=x
cache_peer %s parent %s 0 no-query originserver
http_access allow all
access_log stdio:%s squid
cache_log %s
pid_filename %s
shutdown_lifetime 300 seconds
%s
`, proxyPort, host, port, accessLog, filepath.Join(dir, "cache.log"), filepath.Join(dir, "cuttle.pid"), sameUser(t))), 0o644)
	ns := newNotifySocket(t, dir)
	proc := startBinary(t, bin, []string{"NOTIFY_SOCKET=" + ns.path}, "-N", "-f", conf)
	ns.expect(t, "READY=1")
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/fast", proxyPort))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	slow := make(chan error, 1)
	go func() {
		_, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/slow", proxyPort))
		slow <- err
	}()
	time.Sleep(200 * time.Millisecond) // the slow request reaches the origin
	if code, out := kCommand(t, bin, conf, "interrupt"); code != 0 {
		t.Fatalf("-k interrupt: %d %s", code, out)
	}
	ns.expect(t, "STOPPING=1")
	// shutdown_lifetime is 300 s: exiting within the wait below shows that
	// interrupt did not wait for the slow request.
	if err := proc.wait(t, 20*time.Second); err != nil {
		t.Errorf("exit: %v\n%s", err, proc.out.String())
	}
	if err := <-slow; err == nil {
		t.Error("the slow request completed; interrupt should have cut it")
	}
	b, _ := os.ReadFile(accessLog)
	if !strings.Contains(string(b), "/fast") {
		t.Errorf("access.log lost the finished request:\n%s", b)
	}
}

// TestDropsToCacheEffectiveUser starts the binary as root with
// cache_effective_user nobody: the port is bound and the pid file written
// as root, then the process runs as nobody and writes its logs as nobody.
func TestDropsToCacheEffectiveUser(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root (CI runs as root)")
		}
		t.Skip("needs root")
	}
	bin, _ := buildCuttleBinary(t)
	dir, err := os.MkdirTemp("", "cuttle-drop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	proxyPort := freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	accessLog := filepath.Join(dir, "access.log")
	os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=x
http_access allow all
cache_effective_user nobody
access_log stdio:%s squid
cache_log %s
pid_filename %s
`, proxyPort, accessLog, filepath.Join(dir, "cache.log"), filepath.Join(dir, "cuttle.pid"))), 0o644)
	ns := newNotifySocket(t, dir)
	proc := startBinary(t, bin, []string{"NOTIFY_SOCKET=" + ns.path}, "-N", "-f", conf)
	ns.expect(t, "READY=1")
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", proc.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var uidLine string
	for l := range strings.Lines(string(status)) {
		if strings.HasPrefix(l, "Uid:") {
			uidLine = strings.TrimSpace(l)
		}
	}
	if f := strings.Fields(uidLine); len(f) != 5 || f[1] != "65534" || f[2] != "65534" || f[3] != "65534" {
		t.Errorf("cuttle runs with %q, want uid 65534 (nobody) for real, effective and saved ids", uidLine)
	}
	fi, err := os.Stat(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 {
		t.Errorf("access.log owned by uid %d, want 65534", st.Uid)
	}
	proc.cmd.Process.Signal(syscall.SIGTERM)
	ns.expect(t, "STOPPING=1")
	proc.wait(t, 10*time.Second)
}
