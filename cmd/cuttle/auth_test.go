package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cuttle/squidconf"
)

// TestBuildOptionsAuth checks that auth_param basic and authenticate_ttl
// reach httpcache.Options, and that proxy_auth ACLs are evaluated.
func TestBuildOptionsAuth(t *testing.T) {
	t.Parallel()
	const conf = `http_port 3128 accel defaultsite=example.com
auth_param basic program /usr/local/bin/my_auth --db "/etc/my auth.db"
auth_param basic children 4 startup=1 concurrency=8 queue-size=10
auth_param basic realm Example staff
auth_param basic credentialsttl 5 minutes
auth_param basic casesensitive on
authenticate_ttl 10 minutes
acl users proxy_auth REQUIRED
acl admins proxy_auth_regex -i ^adm
http_access allow admins
http_access allow users
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
	a := s.handler.Auth
	if a == nil {
		t.Fatal("Auth = nil, want auth_param basic")
	}
	if strings.Join(a.Program, "|") != "/usr/local/bin/my_auth|--db|/etc/my auth.db" ||
		a.Realm != "Example staff" || a.Children != 4 || a.Concurrency != 8 ||
		a.CredentialsTTL != 5*time.Minute || a.AuthenticateTTL != 10*time.Minute || !a.CaseSensitive {
		t.Errorf("Auth = %+v", *a)
	}
	w := warnings.String()
	if !strings.Contains(w, "option queue-size=10 is not applied") {
		t.Errorf("warnings = %q, want queue-size= reported", w)
	}
	if strings.Contains(w, "never matches") {
		t.Errorf("warnings = %q: proxy_auth ACLs are evaluated", w)
	}
}

// TestServeBasicAuth runs cuttle with a squid.conf that requires a login
// checked against an htpasswd file: 401 with the realm, then 200 with the
// user name in access.log.
func TestServeBasicAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proxyPort, originPort := freePort(t), freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	accessLog := filepath.Join(dir, "access.log")
	passwd := filepath.Join(dir, "passwd")
	// alice:hello (htpasswd -m, i.e. apr1)
	if err := os.WriteFile(passwd, []byte("alice:$apr1$lMsWw9nL$ClAHZafzT8AcKWVv14NzD/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=demo.local
cache_peer 127.0.0.1 parent %d 0 no-query originserver name=demo
auth_param basic program /usr/lib/squid/basic_ncsa_auth %s
auth_param basic realm Demo staff
acl staff proxy_auth REQUIRED
http_access allow staff
http_access deny all
access_log stdio:%s squid
cache_log %s
shutdown_lifetime 1 second
`, proxyPort, originPort, passwd, accessLog, filepath.Join(dir, "cache.log"))), 0o644)
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

	url := fmt.Sprintf("http://127.0.0.1:%d/", proxyPort)
	client := &http.Client{Timeout: 5 * time.Second}
	var res *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		if res, err = client.Get(url); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuttle did not answer: %v\nstderr:\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Basic realm="Demo staff"` {
		t.Errorf("without credentials: %d, WWW-Authenticate %q; want 401, Basic realm=\"Demo staff\"",
			res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.SetBasicAuth("alice", "hello")
	if res, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("as alice: %d, want 200", res.StatusCode)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d, want 0\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cuttle did not stop")
	}
	b, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], " TCP_DENIED/401 ") || !strings.Contains(lines[0], "/ - HIER_NONE/-") ||
		!strings.Contains(lines[1], " TCP_MISS/200 ") || !strings.Contains(lines[1], "/ alice FIRSTUP_PARENT/") {
		t.Errorf("access.log:\n%s\nwant TCP_DENIED/401 without a user, then TCP_MISS/200 by alice", b)
	}
}
