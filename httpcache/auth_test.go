package httpcache

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// authLogBuffer is a cache_log for tests.
type authLogBuffer struct {
	mu sync.Mutex // protects b
	b  bytes.Buffer
}

func (s *authLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *authLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// authField returns an Authorization field of the Basic scheme.
func authField(user, password string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)) + "\r\n"
}

// authWriteFile writes a file for a test, failing it on error.
func authWriteFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// authACL compiles an acl or fails the test.
func authACL(t *testing.T, typ string, args ...string) ACL {
	t.Helper()
	a, err := NewACL(typ, args)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// authRules is "acl users proxy_auth REQUIRED", "http_access allow users",
// "http_access deny all".
func authRules(t *testing.T) []Rule {
	return []Rule{
		{Allow: true, Terms: []Term{{ACL: authACL(t, "proxy_auth", "REQUIRED")}}},
		{Allow: false, Terms: []Term{{ACL: aclAll{}}}},
	}
}

// authProxy starts a proxy with auth_param basic set as given, and returns
// it with its cache_log.
func authProxy(t *testing.T, o *origin, c *clock, access []Rule, auth BasicAuth, set func(*Options)) (*hfProxy, *authLogBuffer) {
	t.Helper()
	var cacheLog authLogBuffer
	p := hfNewProxy(t, o, c, nil, func(opts *Options) {
		opts.Access = access
		opts.Auth = &auth
		opts.ErrorLog = log.New(&cacheLog, "", 0)
		if set != nil {
			set(opts)
		}
	})
	t.Cleanup(p.h.Close)
	return p, &cacheLog
}

// authLogUsers returns the %[un column of every access.log line.
func authLogUsers(t *testing.T, p *hfProxy) []string {
	t.Helper()
	var out []string
	for _, l := range p.logLines(t) {
		out = append(out, strings.Fields(l)[7])
	}
	return out
}

// TestBasicAuthNCSA: the password file of basic_ncsa_auth is checked in
// process, with each hash format htpasswd writes; a request without or
// with wrong credentials is challenged with a 401 (Squid on an accel
// port), logged TCP_DENIED/401, and the user name is logged.
func TestBasicAuthNCSA(t *testing.T) {
	t.Parallel()
	bc, err := bcrypt.GenerateFromPassword([]byte("alice-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	authWriteFile(t, passwd, strings.Join([]string{
		"# users of the test",
		"alice:" + string(bc),
		"bob:$apr1$lMsWw9nL$ClAHZafzT8AcKWVv14NzD/",   // hello
		"carol:$1$lMsWw9nL$NGa9DNKumCHlKORuYzyoJ.",    // hello
		"dave:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=",      // secret
		"erin:abJnggxhB/yWI",                          // password (DES)
		"frank:5ebe2294ecd0e0f08eab7690d2a6ee69:x:y",  // secret (MD5), extra fields
		"gina:$6$salt$Uq1gT8PPD5BJ1j/c8ZqDHnRkAh7S1k", // SHA-512 crypt: not supported
		"",
	}, "\n"), 0o600)

	o := newOrigin(t)
	p, cacheLog := authProxy(t, o, hfNewClock(), authRules(t), BasicAuth{
		Program: []string{"/usr/lib/squid/basic_ncsa_auth", passwd},
		Realm:   `Staff "only"`,
	}, nil)

	if got := cacheLog.String(); !strings.Contains(got, `user "gina": unsupported password hash "$6$..."`) {
		t.Errorf("cache_log = %q, want the unsupported hash of gina reported", got)
	}
	if strings.Contains(cacheLog.String(), "Uq1gT8") {
		t.Errorf("cache_log shows a password hash: %q", cacheLog.String())
	}

	tests := []struct {
		name, auth string
		want       int
	}{
		{"no credentials", "", 401},
		{"bcrypt", authField("alice", "alice-pw"), 200},
		{"bcrypt wrong", authField("alice", "alice-PW"), 401},
		{"apr1", authField("bob", "hello"), 200},
		{"md5-crypt", authField("carol", "hello"), 200},
		{"sha", authField("dave", "secret"), 200},
		{"des", authField("erin", "password"), 200},
		{"md5", authField("frank", "secret"), 200},
		{"unsupported hash", authField("gina", "x"), 401},
		{"no such user", authField("zoe", "secret"), 401},
		{"user name case", authField("ALICE", "alice-pw"), 200},
		{"other scheme", "Authorization: Digest username=\"alice\"\r\n", 401},
		{"not base64", "Authorization: Basic !!!\r\n", 401},
	}
	var wantUsers []string
	for _, tt := range tests {
		res, body, _ := p.do(t, get("/page", tt.auth))
		if res.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.want)
		}
		user := "-"
		if tt.want == 401 {
			hfCheck(t, tt.name, res, body, 401, "*",
				"Www-Authenticate", `Basic realm="Staff \"only\""`,
				"X-Squid-Error", "ERR_CACHE_ACCESS_DENIED 0")
		} else {
			user, _, _ = strings.Cut(strings.TrimPrefix(tt.name, ""), " ")
			user = map[string]string{"bcrypt": "alice", "apr1": "bob", "md5-crypt": "carol", "sha": "dave",
				"des": "erin", "md5": "frank", "user": "alice"}[user]
		}
		wantUsers = append(wantUsers, user)
	}
	if got := authLogUsers(t, p); strings.Join(got, " ") != strings.Join(wantUsers, " ") {
		t.Errorf("access.log users = %q, want %q", got, wantUsers)
	}
	results := hfResults(t, p)
	if results[0] != "TCP_DENIED/401" {
		t.Errorf("access.log result = %q, want TCP_DENIED/401", results[0])
	}
}

// TestBasicAuthNCSAReload: the password file is read again when it
// changes, looked at no more than once a second.
func TestBasicAuthNCSAReload(t *testing.T) {
	t.Parallel()
	passwd := filepath.Join(t.TempDir(), "passwd")
	authWriteFile(t, passwd, "bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", 0o600) // secret
	c := hfNewClock()
	p, _ := authProxy(t, newOrigin(t), c, authRules(t), BasicAuth{
		Program: []string{"basic_ncsa_auth", passwd},
	}, nil)

	if res, _, _ := p.do(t, get("/page", authField("bob", "secret"))); res.StatusCode != 200 {
		t.Fatalf("bob: status %d, want 200", res.StatusCode)
	}
	// bob's password changes, and alice arrives.
	authWriteFile(t, passwd, "bob:$apr1$lMsWw9nL$ClAHZafzT8AcKWVv14NzD/\nalice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", 0o600)
	if res, _, _ := p.do(t, get("/page", authField("alice", "secret"))); res.StatusCode != 401 {
		t.Errorf("alice within the second: status %d, want 401 (the file is not looked at yet)", res.StatusCode)
	}
	c.advance(1100 * time.Millisecond)
	if res, _, _ := p.do(t, get("/page", authField("alice", "secret"))); res.StatusCode != 200 {
		t.Errorf("alice after the change: status %d, want 200", res.StatusCode)
	}
	if res, _, _ := p.do(t, get("/page", authField("bob", "hello"))); res.StatusCode != 200 {
		t.Errorf("bob with the new password: status %d, want 200", res.StatusCode)
	}

	// A file that goes away leaves the users read before.
	if err := os.Remove(passwd); err != nil {
		t.Fatal(err)
	}
	c.advance(2 * time.Second)
	if res, _, _ := p.do(t, get("/page", authField("bob", "hello"))); res.StatusCode != 200 {
		t.Errorf("bob after the file went away: status %d, want 200", res.StatusCode)
	}
}

// authCountingHelper writes a shell helper that records each request line in
// record and accepts the password "good", naming the user "<user>-ok".
func authCountingHelper(t *testing.T, dir string, concurrency bool) (prog, record string) {
	t.Helper()
	record = filepath.Join(dir, "requests")
	prog = filepath.Join(dir, "helper.sh")
	script := `#!/bin/sh
while read -r user pass; do
	echo "$user $pass" >> "` + record + `"
	if [ "$pass" = good ]; then echo "OK user=$user-ok"; else echo "ERR message=bad%20password"; fi
done
`
	if concurrency {
		script = `#!/bin/sh
while read -r id user pass; do
	echo "$id $user $pass" >> "` + record + `"
	if [ "$pass" = good ]; then echo "$id OK user=$user-ok"; else echo "$id ERR"; fi
done
`
	}
	authWriteFile(t, prog, script, 0o755)
	return prog, record
}

// authReadLines returns the lines of a file, none if it does not exist.
func authReadLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestBasicAuthHelperCredentialsTTL: an external helper is asked once per
// credentials within credentialsttl, and again after; the user it names
// (user=) is logged; user names and passwords reach it URL-escaped.
func TestBasicAuthHelperCredentialsTTL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	prog, record := authCountingHelper(t, dir, false)
	c := hfNewClock()
	p, _ := authProxy(t, newOrigin(t), c, authRules(t), BasicAuth{
		Program:        []string{prog},
		Children:       2,
		CredentialsTTL: time.Minute,
		CaseSensitive:  true,
	}, nil)

	steps := []struct {
		user, password string
		advance        time.Duration
		want           int
	}{
		{"Alice", "good", 0, 200},
		{"Alice", "good", 30 * time.Second, 200}, // trusted
		{"Alice", "bad", 0, 401},                 // other credentials: asked
		{"Alice", "bad", 0, 401},                 // failures are not remembered
		{"Alice", "good", 31 * time.Second, 200}, // credentialsttl passed: asked again
		{"a b%", "good", 0, 200},
	}
	for i, s := range steps {
		c.advance(s.advance)
		res, _, _ := p.do(t, get("/page", authField(s.user, s.password)))
		if res.StatusCode != s.want {
			t.Errorf("step %d (%s:%s): status %d, want %d", i, s.user, s.password, res.StatusCode, s.want)
		}
	}
	want := []string{"Alice good", "Alice bad", "Alice bad", "Alice good", "a%20b%25 good"}
	if got := authReadLines(t, record); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("helper requests = %q, want %q", got, want)
	}
	// The native format logs the user name URL-escaped.
	wantUsers := []string{"Alice-ok", "Alice-ok", "-", "-", "Alice-ok", "a%20b%25-ok"}
	if got := authLogUsers(t, p); strings.Join(got, "|") != strings.Join(wantUsers, "|") {
		t.Errorf("access.log users = %q, want %q", got, wantUsers)
	}
}

// TestBasicAuthHelperConcurrency: with concurrency=N each request line
// carries a channel ID, and a helper may answer out of order.
func TestBasicAuthHelperConcurrency(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	record := filepath.Join(dir, "requests")
	prog := filepath.Join(dir, "helper.sh")
	// It reads two requests, then answers them last first.
	authWriteFile(t, prog, `#!/bin/sh
while read -r id1 user1 pass1 && read -r id2 user2 pass2; do
	echo "$id1 $user1 $pass1" >> "`+record+`"
	echo "$id2 $user2 $pass2" >> "`+record+`"
	echo "$id2 OK user=$user2"
	echo "$id1 OK user=$user1"
done
`, 0o755)
	p, _ := authProxy(t, newOrigin(t), hfNewClock(), authRules(t), BasicAuth{
		Program:     []string{prog},
		Children:    1,
		Concurrency: 2,
	}, nil)

	addr := p.Listener.Addr().String()
	var wg sync.WaitGroup
	replies := make([]hfReply, 2)
	for i, user := range []string{"ann", "ben"} {
		wg.Go(func() { replies[i] = hfDo(addr, get("/"+user, authField(user, "pw"))) })
	}
	wg.Wait()
	for i, r := range replies {
		if r.err != nil || r.res.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, r.err, r.res)
		}
	}
	lines := authReadLines(t, record)
	ids := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || f[2] != "pw" {
			t.Errorf("helper request %q, want \"<channel-id> <user> pw\"", l)
			continue
		}
		ids[f[0]] = true
	}
	if len(lines) != 2 || len(ids) != 2 {
		t.Errorf("helper requests = %q, want 2 with distinct channel IDs", lines)
	}
	// Each answer went to its own request: the logged user is the one
	// whose URL it asked for.
	for _, l := range p.logLines(t) {
		f := strings.Fields(l)
		if want := strings.TrimPrefix(f[6], "http://www.example.com/"); f[7] != want {
			t.Errorf("access.log: %s logged as %s, want %s", f[6], f[7], want)
		}
	}
}

// TestBasicAuthHelperRestart: a helper that exits is replaced by the next
// request; BH is a failure, reported to cache_log.
func TestBasicAuthHelperRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	prog := filepath.Join(dir, "helper.sh")
	// Each helper answers one request and exits; "broken" gets BH.
	authWriteFile(t, prog, `#!/bin/sh
echo started >> "`+starts+`"
read -r user pass
if [ "$user" = broken ]; then echo "BH message=database%20down"; else echo OK; fi
`, 0o755)
	p, cacheLog := authProxy(t, newOrigin(t), hfNewClock(), authRules(t), BasicAuth{
		Program:  []string{prog},
		Children: 1,
	}, nil)
	for i, user := range []string{"u1", "u2", "broken", "u3"} {
		want := 200
		if user == "broken" {
			want = 401
		}
		// A request sent to a helper that is exiting is sent again.
		if res, _, _ := p.do(t, get("/page", authField(user, "pw"))); res.StatusCode != want {
			t.Errorf("%s: status %d, want %d", user, res.StatusCode, want)
		}
		if got := len(authReadLines(t, starts)); got < i+1 {
			t.Errorf("after %s: %d helpers started, want at least %d", user, got, i+1)
		}
	}
	if got := cacheLog.String(); !strings.Contains(got, "database down") || !strings.Contains(got, "exited") {
		t.Errorf("cache_log = %q, want the BH message and the exits", got)
	}
}

// TestBasicAuthACLs: proxy_auth with user names (and -i), proxy_auth_regex,
// and Squid's rule that a deny line ending with a proxy_auth ACL
// challenges the client again.
func TestBasicAuthACLs(t *testing.T) {
	t.Parallel()
	passwd := filepath.Join(t.TempDir(), "passwd")
	sha := "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=" // secret
	authWriteFile(t, passwd, "alice:"+sha+"\nbob:"+sha+"\nadmin7:"+sha+"\nCarl:"+sha+"\n", 0o600)
	alice := authACL(t, "proxy_auth", "alice")
	carl := authACL(t, "proxy_auth", "-i", "carl")
	admins := authACL(t, "proxy_auth_regex", "-i", "^ADMIN[0-9]+$")
	adminPath := authACL(t, "urlpath_regex", "^/admin")
	rules := []Rule{
		// http_access deny adminpath !admins
		{Allow: false, Terms: []Term{{ACL: adminPath}, {ACL: admins, Not: true}}},
		{Allow: true, Terms: []Term{{ACL: adminPath}}},
		{Allow: true, Terms: []Term{{ACL: alice}}},
		{Allow: true, Terms: []Term{{ACL: carl}}},
		{Allow: false, Terms: []Term{{ACL: aclAll{}}}},
	}
	p, _ := authProxy(t, newOrigin(t), hfNewClock(), rules, BasicAuth{
		Program:       []string{"basic_ncsa_auth", passwd},
		CaseSensitive: true,
	}, nil)
	tests := []struct {
		path, user string
		want       int
	}{
		{"/page", "", 401},
		{"/page", "alice", 200},
		{"/page", "bob", 403}, // authenticated, not allowed: deny all
		{"/page", "Carl", 200},
		{"/admin/x", "admin7", 200},
		{"/admin/x", "alice", 401}, // deny ... !admins: log in as someone else
		{"/admin/x", "", 401},
	}
	for _, tt := range tests {
		auth := ""
		if tt.user != "" {
			auth = authField(tt.user, "secret")
		}
		res, _, _ := p.do(t, get(tt.path, auth))
		if res.StatusCode != tt.want {
			t.Errorf("%s as %q: status %d, want %d", tt.path, tt.user, res.StatusCode, tt.want)
		}
	}
}

// TestBasicAuthNotForwarded: the credentials the client logged in with go
// to the origin only with cache_peer login=PASSTHRU or login=PASS.
func TestBasicAuthNotForwarded(t *testing.T) {
	t.Parallel()
	passwd := filepath.Join(t.TempDir(), "passwd")
	authWriteFile(t, passwd, "alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", 0o600)
	field := authField("alice", "secret")
	for _, login := range []string{"", "PASSTHRU", "PASS", "origin:pw"} {
		o := newOrigin(t)
		p, _ := authProxy(t, o, hfNewClock(), authRules(t), BasicAuth{
			Program: []string{"basic_ncsa_auth", passwd},
		}, func(opts *Options) { opts.Peers[0].Login = login })
		res, _, _ := p.do(t, get("/private", field, "Proxy-Authorization: Basic eDp5\r\n"))
		if res.StatusCode != 200 {
			t.Fatalf("login=%s: status %d", login, res.StatusCode)
		}
		got := o.last().Header.Get("Authorization")
		want := strings.TrimSuffix(strings.TrimPrefix(field, "Authorization: "), "\r\n")
		switch login {
		case "":
			want = ""
		case "origin:pw":
			want = "Basic " + base64.StdEncoding.EncodeToString([]byte("origin:pw"))
		}
		if got != want {
			t.Errorf("login=%s: origin got Authorization %q, want %q", login, got, want)
		}
		if pa := o.last().Header.Get("Proxy-Authorization"); pa != "" {
			t.Errorf("login=%s: origin got Proxy-Authorization %q", login, pa)
		}
	}
}

// TestBasicAuthSharing: a response to an authenticated request is shared
// only when RFC 9111, Section 3.5 allows (public here); and a stored
// response is served only after the client authenticated, as http_access
// runs before the lookup.
func TestBasicAuthSharing(t *testing.T) {
	t.Parallel()
	passwd := filepath.Join(t.TempDir(), "passwd")
	sha := "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=" // secret
	authWriteFile(t, passwd, "alice:"+sha+"\nbob:"+sha+"\n", 0o600)
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(_ int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		if req.URL.Path == "/public" {
			rw.Header().Set("Cache-Control", "public, max-age=60")
			io.WriteString(rw, "for everyone\n")
			return
		}
		rw.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(rw, "for %s\n", req.Header.Get("Authorization"))
	})
	p, _ := authProxy(t, o, c, authRules(t), BasicAuth{
		Program: []string{"basic_ncsa_auth", passwd},
	}, func(opts *Options) { opts.Peers[0].Login = "PASSTHRU" })

	alice, bob := authField("alice", "secret"), authField("bob", "secret")
	res, aliceBody, _ := p.do(t, get("/mine", alice))
	hfCheck(t, "alice /mine", res, aliceBody, 200, "*")
	res, bobBody, _ := p.do(t, get("/mine", bob))
	hfCheck(t, "bob /mine", res, bobBody, 200, "*")
	if aliceBody == bobBody {
		t.Errorf("bob got alice's response %q", aliceBody)
	}
	hfWantOrigin(t, o, 2)

	p.do(t, get("/public", alice))
	res, body, _ := p.do(t, get("/public", bob))
	hfCheck(t, "bob /public", res, body, 200, "for everyone\n", "X-Cache", "HIT from accel-test.local")
	res, body, _ = p.do(t, get("/public"))
	hfCheck(t, "anonymous /public", res, body, 401, "*")
	hfWantOrigin(t, o, 3)
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MISS/200", "TCP_MISS/200", "TCP_MEM_HIT/200", "TCP_DENIED/401")
}

// authWaiters counts the goroutines waiting in authenticate for a check
// that another request started.
func authWaiters() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, rest, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[select") && strings.HasPrefix(rest, "cuttle/httpcache.(*authenticator).authenticate(") {
			count++
		}
	}
	return count
}

// TestBasicAuthSharedCheck: requests that carry the same credentials while
// they are being checked wait for that check instead of asking the helper
// again. Not parallel: it counts goroutines.
func TestBasicAuthSharedCheck(t *testing.T) {
	dir := t.TempDir()
	record, gate := filepath.Join(dir, "requests"), filepath.Join(dir, "gate")
	prog := filepath.Join(dir, "helper.sh")
	authWriteFile(t, prog, `#!/bin/sh
while read -r user pass; do
	echo "$user" >> "`+record+`"
	while [ ! -f "`+gate+`" ]; do sleep 0.01; done
	echo OK
done
`, 0o755)
	p, _ := authProxy(t, newOrigin(t), hfNewClock(), authRules(t), BasicAuth{
		Program:        []string{prog},
		CredentialsTTL: time.Minute,
	}, nil)
	addr := p.Listener.Addr().String()
	const n = 5
	var wg sync.WaitGroup
	replies := make([]hfReply, n)
	for i := range n {
		wg.Go(func() { replies[i] = hfDo(addr, get("/page", authField("sam", "pw"))) })
	}
	hfPoll(t, "the other requests to wait", func() bool {
		return len(authReadLines(t, record)) == 1 && authWaiters() == n-1
	})
	authWriteFile(t, gate, "", 0o600)
	wg.Wait()
	for i, r := range replies {
		if r.err != nil || r.res.StatusCode != 200 {
			t.Errorf("request %d: %v %v", i, r.err, r.res)
		}
	}
	if got := authReadLines(t, record); len(got) != 1 {
		t.Errorf("helper requests = %q, want one", got)
	}
}

// TestHelperPoolClose: Close ends the helpers by closing their stdin.
func TestHelperPoolClose(t *testing.T) {
	t.Parallel()
	prog := filepath.Join(t.TempDir(), "helper.sh")
	authWriteFile(t, prog, "#!/bin/sh\nwhile read -r line; do echo OK; done\n", 0o755)
	pool := newHelperPool([]string{prog}, 3, 0, log.New(io.Discard, "", 0))
	if r := pool.check(t.Context(), "u", "p"); !r.ok {
		t.Fatalf("check = %+v, want OK", r)
	}
	pool.mu.Lock()
	procs := append([]*helperProc(nil), pool.procs...)
	pool.mu.Unlock()
	if len(procs) != 1 {
		t.Fatalf("%d helpers, want 1 (started when needed)", len(procs))
	}
	pool.close()
	select {
	case <-procs[0].exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the helper did not exit after close")
	}
	if r := pool.check(t.Context(), "u", "p"); r.ok || !r.broken {
		t.Errorf("check after close = %+v, want a failure", r)
	}
}

func TestParseHelperReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want authReply
	}{
		{"OK", authReply{ok: true}},
		{"OK user=bob%20b", authReply{ok: true, user: "bob b"}},
		{`OK user="bob \"b\"" tag=x`, authReply{ok: true, user: `bob "b"`}},
		{"ERR", authReply{}},
		{"ERR message=wrong%20password", authReply{message: "wrong password"}},
		{"ERR No such user", authReply{message: "No such user"}},
		{"BH message=db down", authReply{broken: true, message: "db"}},
		{"BH", authReply{broken: true, message: "the helper answered BH"}},
		{"YES", authReply{broken: true, message: `unexpected reply "YES"`}},
	}
	for _, tt := range tests {
		if got := parseHelperReply(tt.line); got != tt.want {
			t.Errorf("parseHelperReply(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestHelperEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"a b", "a%20b"},
		{"100%", "100%25"},
		{"ü", "%C3%BC"},
		{"x:y@z/?=&+", "x:y@z/?=&+"},
		{"tab\there\n", "tab%09here%0A"},
	}
	for _, tt := range tests {
		if got := helperEscape(tt.in); got != tt.want {
			t.Errorf("helperEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := helperUnescape(helperEscape(tt.in)); got != tt.in {
			t.Errorf("helperUnescape(helperEscape(%q)) = %q", tt.in, got)
		}
	}
}

func TestParseBasic(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		field, user, password string
		ok                    bool
	}{
		{"Basic " + b64("alice:pw"), "alice", "pw", true},
		{"basic  " + b64("alice:p:w"), "alice", "p:w", true},
		{"Basic " + strings.TrimRight(b64("al:p"), "="), "al", "p", true},
		{"Basic " + b64("alice:"), "alice", "", true},
		{"Basic " + b64(":pw"), "", "", false},
		{"Basic " + b64("alice"), "", "", false},
		{"Bearer abc", "", "", false},
		{"Basic", "", "", false},
		{"Basic %%%", "", "", false},
	}
	for _, tt := range tests {
		user, password, ok := parseBasic(tt.field)
		if user != tt.user || password != tt.password || ok != tt.ok {
			t.Errorf("parseBasic(%q) = %q, %q, %v, want %q, %q, %v", tt.field, user, password, ok, tt.user, tt.password, tt.ok)
		}
	}
}
