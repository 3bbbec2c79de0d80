package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debianUnit is Debian's squid.service, installed by the squid package.
const debianUnit = "/lib/systemd/system/squid.service"

// unitCommands reads the Exec lines of a systemd unit.
func unitCommands(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (apt-get install squid)", err)
		}
		t.Skipf("%v (apt-get install squid)", err)
	}
	defer f.Close()
	cmds := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && strings.HasPrefix(k, "Exec") || k == "Type" || k == "PIDFile" {
			cmds[k] = v
		}
	}
	return cmds
}

// TestDebianSquidService runs cuttle the way Debian's unchanged
// squid.service runs squid (Type=notify, ExecStartPre=... --foreground -z,
// ExecStart=... --foreground -sYC, ExecReload=/bin/kill -HUP $MAINPID,
// KillMode=mixed), with the binary swapped and -f added to reach the
// test's squid.conf, and then the logrotate fragment's squid -k rotate.
// Started as root, cuttle creates its cache_dir as cache_effective_user
// proxy, binds, drops to proxy, and tells systemd READY=1, RELOADING=1,
// READY=1 and STOPPING=1 in turn.
func TestDebianSquidService(t *testing.T) {
	cmds := unitCommands(t, debianUnit)
	if cmds["Type"] != "notify" {
		t.Fatalf("%s: Type=%s, this test expects notify", debianUnit, cmds["Type"])
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root, as squid.service does (CI runs as root)")
		}
		t.Skip("needs root")
	}
	proxy, err := user.Lookup("proxy")
	if err != nil {
		t.Fatalf("Debian's user proxy: %v", err)
	}
	bin, _ := buildCuttleBinary(t)
	dir, err := os.MkdirTemp("", "cuttle-unit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777) // like /var/log/squid and /var/spool/squid, writable by proxy

	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "hello")
	}))
	defer origin.Close()
	originPort := origin.Listener.Addr().(*net.TCPAddr).Port

	proxyPort := freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	accessLog := filepath.Join(dir, "access.log")
	pidFile := filepath.Join(dir, "squid.pid")
	cacheDir := filepath.Join(dir, "spool")
	os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=unit.test
cache_peer 127.0.0.1 parent %d 0 no-query originserver
http_access allow localhost
http_access deny all
cache_dir ufs %s 16 16 256
access_log stdio:%s squid
cache_log %s
pid_filename %s
logfile_rotate 0
`, proxyPort, originPort, cacheDir, accessLog, filepath.Join(dir, "cache.log"), pidFile)), 0o644)

	// args turns an Exec line into cuttle's command line.
	args := func(line string) []string {
		f := strings.Fields(line)
		if f[0] != "/usr/sbin/squid" {
			t.Fatalf("unexpected Exec line %q", line)
		}
		return append(f[1:], "-f", conf)
	}

	// ExecStartPre: -z as proxy.
	if out, err := exec.Command(bin, args(cmds["ExecStartPre"])...).CombinedOutput(); err != nil {
		t.Fatalf("ExecStartPre: %v\n%s", err, out)
	}
	fi, err := os.Stat(filepath.Join(cacheDir, "cuttle"))
	if err != nil {
		t.Fatalf("-z did not create the store: %v", err)
	}
	if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != proxy.Uid {
		t.Errorf("-z created the store as uid %s, want proxy (%s)", uid, proxy.Uid)
	}

	// ExecStart, Type=notify.
	ns := newNotifySocket(t, dir)
	proc := startBinary(t, bin, []string{"NOTIFY_SOCKET=" + ns.path}, args(cmds["ExecStart"])...)
	ns.expect(t, "READY=1")
	pid, _ := os.ReadFile(pidFile)
	if strings.TrimSpace(string(pid)) != strconv.Itoa(proc.cmd.Process.Pid) {
		t.Errorf("PIDFile holds %q, want the main pid %d", pid, proc.cmd.Process.Pid)
	}
	get := func() {
		t.Helper()
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", proxyPort))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "hello" {
			t.Fatalf("GET: %d %q", res.StatusCode, b)
		}
	}
	get()

	// ExecReload, as systemd runs it.
	reload := exec.Command("/bin/sh", "-c", cmds["ExecReload"])
	reload.Env = append(os.Environ(), "MAINPID="+strconv.Itoa(proc.cmd.Process.Pid))
	if out, err := reload.CombinedOutput(); err != nil {
		t.Fatalf("ExecReload: %v\n%s", err, out)
	}
	ns.expect(t, "RELOADING=1")
	ns.expect(t, "READY=1")
	get()

	// logrotate: the files are moved away, then squid -k rotate reopens.
	if err := os.Rename(accessLog, accessLog+".1"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-k", "rotate", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("-k rotate: %v\n%s", err, out)
	}
	// The rotation is asynchronous (a signal): wait for the new file.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(accessLog); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("access.log was not reopened after -k rotate")
		}
	}
	get()

	// The cache manager, as monitoring scripts read it: squidclient
	// against the accel port (http_access allow localhost covers it).
	sc, err := exec.LookPath("squidclient")
	if err != nil {
		t.Fatalf("squidclient: %v (apt-get install squidclient)", err)
	}
	for _, c := range []struct{ page, want string }{
		{"counters", "client_http.requests = 3\n"}, // the three GETs above
		{"info", "Squid Object Cache: Version cuttle/"},
		{"storedir", cacheDir},
	} {
		page, want := c.page, c.want
		out, err := exec.Command(sc, "-h", "127.0.0.1", "-p", strconv.Itoa(proxyPort), "mgr:"+page).CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("squidclient mgr:%s: %v; want %q in:\n%s", page, err, want, out)
		}
	}

	// systemctl stop with KillMode=mixed: SIGTERM to the main process.
	proc.cmd.Process.Signal(syscall.SIGTERM)
	ns.expect(t, "STOPPING=1")
	if err := proc.wait(t, 40*time.Second); err != nil {
		t.Fatalf("exit: %v\n%s", err, proc.out.String())
	}
	// The GETs of the site (the manager pages are logged too).
	old, _ := os.ReadFile(accessLog + ".1")
	cur, _ := os.ReadFile(accessLog)
	site := fmt.Sprintf(" GET http://127.0.0.1:%d/ ", proxyPort)
	if strings.Count(string(old), site) != 2 || strings.Count(string(cur), site) != 1 {
		t.Errorf("access.log lines across the rotation: %d before, %d after; want 2 and 1\nbefore:\n%s\nafter:\n%s",
			strings.Count(string(old), site), strings.Count(string(cur), site), old, cur)
	}
}
