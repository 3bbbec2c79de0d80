package httpcache

// End-to-end tests of the access lists that run around the cache
// (http_reply_access, miss_access, send_hit, store_miss), of deny_info and
// of the error pages, through the Handler with real origins. Helpers are
// prefixed ac.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// acACL compiles a named ACL as cmd/cuttle does.
func acACL(t *testing.T, name, typ string, args ...string) ACL {
	t.Helper()
	a, err := CompileACL(name, typ, args, ACLEnv{})
	if err != nil {
		t.Fatalf("CompileACL(%s %s %q): %v", name, typ, args, err)
	}
	return a
}

func acRule(allow bool, acls ...ACL) Rule {
	r := Rule{Allow: allow}
	for _, a := range acls {
		r.Terms = append(r.Terms, Term{ACL: a})
	}
	return r
}

// acOrigin answers /secret* with X-Secret: yes, /bin* as
// application/octet-stream, /nocontent with 204, everything else as a
// cacheable text page.
func acOrigin(t *testing.T) *origin {
	t.Helper()
	return hfNewOrigin(t, hfNewClock(), func(_ int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=600")
		rw.Header().Set("Content-Type", "text/plain")
		rw.Header().Set("ETag", `"e"`)
		switch {
		case strings.HasPrefix(req.URL.Path, "/secret"):
			rw.Header().Set("X-Secret", "yes")
		case strings.HasPrefix(req.URL.Path, "/bin"):
			rw.Header().Set("Content-Type", "application/octet-stream")
		case req.URL.Path == "/nocontent":
			rw.Header().Set("X-Secret", "yes")
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		io.WriteString(rw, "body of "+req.URL.Path)
	})
}

// acFields returns the fields of the access.log lines: the result code
// and status, and the hierarchy field.
func acFields(t *testing.T, p *hfProxy) []string {
	t.Helper()
	var out []string
	for _, l := range p.logLines(t) {
		f := strings.Fields(l)
		out = append(out, f[3]+" "+f[8])
	}
	return out
}

func acWantLog(t *testing.T, p *hfProxy, want ...string) {
	t.Helper()
	if got := acFields(t, p); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("access.log = %q, want %q", got, want)
	}
}

func TestReplyAccess(t *testing.T) {
	t.Parallel()
	o := acOrigin(t)
	secret := acACL(t, "secretrep", "rep_header", "X-Secret", "yes")
	bin := acACL(t, "binrep", "rep_mime_type", "^application/octet-stream$")
	allowHdr := acACL(t, "allowhdr", "req_header", "X-Allow", ".")
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.ReplyAccess = []Rule{
			acRule(true, allowHdr),
			acRule(false, secret),
			acRule(false, bin),
			acRule(true, acACL(t, "all", "all")),
		}
	})
	res, body, _ := p.do(t, get("/ok"))
	hfCheck(t, "allowed", res, body, 200, "body of /ok")

	res, body, _ = p.do(t, get("/secret"))
	hfCheck(t, "rep_header denied", res, body, 403, "*", "X-Squid-Error", "ERR_ACCESS_DENIED 0")
	if strings.Contains(body, "body of") {
		t.Errorf("denied reply leaked the origin's body: %q", body)
	}
	res, body, _ = p.do(t, get("/bin"))
	hfCheck(t, "rep_mime_type denied", res, body, 403, "*", "X-Squid-Error", "ERR_ACCESS_DENIED 0")
	res, body, _ = p.do(t, get("/nocontent"))
	hfCheck(t, "204 always allowed", res, body, 204, "")

	// A stored reply is checked when it is served: stored while a request
	// field allowed it, denied from the cache afterwards.
	res, body, _ = p.do(t, get("/secret-stored", "X-Allow: 1\r\n"))
	hfCheck(t, "allowed by request field", res, body, 200, "body of /secret-stored")
	res, body, _ = p.do(t, get("/secret-stored"))
	hfCheck(t, "denied hit", res, body, 403, "*", "X-Squid-Error", "ERR_ACCESS_DENIED 0")
	res, body, _ = p.do(t, get("/secret-stored", "If-None-Match: \"e\"\r\n"))
	hfCheck(t, "304 always allowed", res, body, 304, "")
	// The denied /secret was not stored: asked again, it goes to the origin.
	p.do(t, get("/secret"))
	hfWantOrigin(t, o, 6)
	acWantLog(t, p,
		"TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1",
		"TCP_DENIED_REPLY/403 FIRSTUP_PARENT/127.0.0.1",
		"TCP_DENIED_REPLY/403 FIRSTUP_PARENT/127.0.0.1",
		"TCP_MISS/204 FIRSTUP_PARENT/127.0.0.1",
		"TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1",
		"TCP_DENIED_REPLY/403 HIER_NONE/-",
		"TCP_INM_HIT/304 HIER_NONE/-",
		"TCP_DENIED_REPLY/403 FIRSTUP_PARENT/127.0.0.1",
	)
}

// TestReplyAccessErrorPage: cuttle's own error pages are replies too.
func TestReplyAccessErrorPage(t *testing.T) {
	t.Parallel()
	p := hfNewProxy(t, nil, hfNewClock(), nil, func(opts *Options) {
		opts.ReplyAccess = []Rule{acRule(false, acACL(t, "unavailable", "http_status", "503"))}
	})
	res, body, _ := p.do(t, get("/x"))
	hfCheck(t, "503 page denied", res, body, 403, "*", "X-Squid-Error", "ERR_ACCESS_DENIED 0")
	acWantLog(t, p, "TCP_DENIED_REPLY/403 HIER_NONE/-")
}

func TestMissAccess(t *testing.T) {
	t.Parallel()
	o := acOrigin(t)
	nomiss := acACL(t, "nomiss", "req_header", "X-No-Miss", ".")
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.MissAccess = []Rule{acRule(false, nomiss), acRule(true, acACL(t, "all", "all"))}
	})
	res, body, _ := p.do(t, get("/cached"))
	hfCheck(t, "miss allowed", res, body, 200, "body of /cached")
	res, body, _ = p.do(t, get("/cached", "X-No-Miss: 1\r\n"))
	hfCheck(t, "hit served", res, body, 200, "body of /cached")
	res, body, _ = p.do(t, get("/other", "X-No-Miss: 1\r\n"))
	hfCheck(t, "miss denied", res, body, 403, "*", "X-Squid-Error", "ERR_FORWARDING_DENIED 0",
		"X-Cache-Lookup", "MISS from accel-test.local:3128")
	hfWantOrigin(t, o, 1)
	acWantLog(t, p, "TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1", "TCP_MEM_HIT/200 HIER_NONE/-", "TCP_MISS/403 HIER_NONE/-")
}

func TestSendHitStoreMiss(t *testing.T) {
	t.Parallel()
	o := acOrigin(t)
	fresh := acACL(t, "fresh", "req_header", "X-Fresh", ".")
	nostore := acACL(t, "nostore", "urlpath_regex", "^/nostore")
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.SendHit = []Rule{acRule(false, fresh)}
		opts.StoreMiss = []Rule{acRule(false, nostore)}
	})
	p.do(t, get("/nostore"))
	p.do(t, get("/nostore"))
	p.do(t, get("/a"))
	res, body, _ := p.do(t, get("/a", "X-Fresh: 1\r\n"))
	hfCheck(t, "send_hit denied", res, body, 200, "body of /a")
	p.do(t, get("/a"))
	hfWantOrigin(t, o, 4)
	acWantLog(t, p,
		"TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1", "TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1",
		"TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1", "TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1",
		"TCP_MEM_HIT/200 HIER_NONE/-")
}

func TestDenyInfo(t *testing.T) {
	t.Parallel()
	o := acOrigin(t)
	dir := t.TempDir()
	tmpl := "<p>%c at %U for %i on %H via %h: %M %% %Q</p>\n<pre>%R</pre>\n"
	if err := os.WriteFile(filepath.Join(dir, "ERR_CUSTOM"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	redir := acACL(t, "redir", "urlpath_regex", "^/redir")
	see := acACL(t, "see", "urlpath_regex", "^/see")
	reset := acACL(t, "reset", "urlpath_regex", "^/reset")
	custom := acACL(t, "custom", "urlpath_regex", "^/custom")
	c404 := acACL(t, "c404", "urlpath_regex", "^/c404")
	builtin := acACL(t, "builtin", "urlpath_regex", "^/builtin")
	local := acACL(t, "local", "src", "127.0.0.1")
	open := acACL(t, "open", "urlpath_regex", "^/open")
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.Access = []Rule{
			acRule(false, redir), acRule(false, see), acRule(false, reset), acRule(false, custom),
			acRule(false, c404), acRule(false, builtin), acRule(true, local, open),
		}
		opts.ErrorDirectory = dir
		opts.DenyInfo = []DenyInfo{
			{Page: "http://example.net/denied?u=%u&H=%H&R=%R&M=%M&i=%i&h=%h&pc=%%", URL: "http://example.net/denied?u=%u&H=%H&R=%R&M=%M&i=%i&h=%h&pc=%%", ACLs: []string{"redir"}},
			{Page: "303:http://example.net/see/%H%R", Status: 303, URL: "http://example.net/see/%H%R", ACLs: []string{"see"}},
			{Page: "TCP_RESET", Reset: true, ACLs: []string{"reset"}},
			{Page: "ERR_CUSTOM", Template: "ERR_CUSTOM", ACLs: []string{"custom"}},
			{Page: "404:ERR_CUSTOM", Status: 404, Template: "ERR_CUSTOM", ACLs: []string{"c404"}},
			{Page: "ERR_CANNOT_FORWARD", Template: "ERR_CANNOT_FORWARD", ACLs: []string{"builtin"}},
			// The last ACL tried when no rule matches: "open" on the last
			// rule (local matched first).
			{Page: "404:ERR_CUSTOM", Status: 404, Template: "ERR_CUSTOM", ACLs: []string{"open"}},
			{Page: "ERR_ACCESS_DENIED", Template: "ERR_ACCESS_DENIED", ACLs: []string{"redir"}}, // the first line wins
		}
	})

	// Squid 5.7 HTML-quotes the values before escaping them: "&" arrives
	// as "&amp;" (checked against Squid in cmd/cuttle).
	res, body, _ := p.do(t, get("/redir/x?a=b&c=%3Cd%3E"))
	hfCheck(t, "redirect", res, body, 302, "", "X-Squid-Error", "403 Access Denied", "Content-Length", "0",
		"Location", "http://example.net/denied?u=http%3A%2F%2Fwww.example.com%2Fredir%2Fx%3Fa%3Db%26amp%3Bc%3D%253Cd%253E&H=www.example.com&R=/redir/x?a=b&amp;c=%3Cd%3E&M=GET&i=127.0.0.1&h=accel-test.local&pc=%25")
	res, body, _ = p.do(t, "POST /redir/p HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 1\r\n\r\nx")
	hfCheck(t, "redirect POST", res, body, 307, "")
	res, body, _ = p.do(t, get("/see/y"))
	hfCheck(t, "303", res, body, 303, "", "X-Squid-Error", "303 Access Denied", "Location", "http://example.net/see/www.example.com/see/y")

	res, body, _ = p.do(t, get("/custom/<script>", "Cookie: session=s3cr3t\r\nAuthorization: Basic dXNlcjpzM2NyM3Q=\r\n"))
	hfCheck(t, "custom page", res, body, 403, "*", "X-Squid-Error", "ERR_CUSTOM 0", "Content-Language", "", "Vary", "")
	for _, want := range []string{"<p>ERR_CUSTOM at http://www.example.com/custom/%3Cscript%3E for 127.0.0.1 on www.example.com via accel-test.local: GET % %Q</p>",
		"GET /custom/&lt;script&gt; HTTP/1.1\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("custom page lacks %q:\n%s", want, body)
		}
	}
	for _, secret := range []string{"s3cr3t", "dXNlcjpzM2NyM3Q", "<script>"} {
		if strings.Contains(body, secret) {
			t.Errorf("custom page shows %q:\n%s", secret, body)
		}
	}
	res, body, _ = p.do(t, get("/c404"))
	hfCheck(t, "404 custom", res, body, 404, "*", "X-Squid-Error", "404:ERR_CUSTOM 0")
	res, body, _ = p.do(t, get("/builtin"))
	hfCheck(t, "built-in name", res, body, 403, "*", "X-Squid-Error", "ERR_CANNOT_FORWARD 0")
	if !strings.Contains(body, errorPages["ERR_CANNOT_FORWARD"].text) {
		t.Errorf("ERR_CANNOT_FORWARD page without its text:\n%s", body)
	}
	res, body, _ = p.do(t, get("/elsewhere"))
	hfCheck(t, "no rule matched", res, body, 404, "*", "X-Squid-Error", "404:ERR_CUSTOM 0")

	// TCP_RESET: the connection ends without an answer.
	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, get("/reset"))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := conn.Read(make([]byte, 1))
	if n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("TCP_RESET: read %d bytes, %v; want the connection reset", n, err)
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Logf("TCP_RESET: connection ended with %v (not a reset)", err)
	}
	hfWantOrigin(t, o, 0)
	acWantLog(t, p, "TCP_DENIED/302 HIER_NONE/-", "TCP_DENIED/307 HIER_NONE/-", "TCP_DENIED/303 HIER_NONE/-",
		"TCP_DENIED/403 HIER_NONE/-", "TCP_DENIED/404 HIER_NONE/-", "TCP_DENIED/403 HIER_NONE/-", "TCP_DENIED/404 HIER_NONE/-",
		"TCP_DENIED/000 HIER_NONE/-")
}

// TestErrorPageEscapesAndRedacts: what the request carries is escaped on
// the built-in page, and credentials never show, on the page or in the
// log (reliability J2, D7).
func TestErrorPageEscapesAndRedacts(t *testing.T) {
	t.Parallel()
	p := hfNewProxy(t, nil, hfNewClock(), nil, func(opts *Options) {
		opts.Access = []Rule{acRule(false, acACL(t, "all", "all"))}
	})
	for _, raw := range []string{
		"GET /<script>alert(1)</script>?q=\"'<b> HTTP/1.1\r\nHost: www.example.com\r\nCookie: id=s3cr3t\r\nAuthorization: Basic dXNlcjpzM2NyM3Q=\r\n\r\n",
		"GET http://user:s3cr3t@www.example.com/<script>x</script> HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: <script>.example.com\r\n\r\n",
	} {
		res, body, _ := p.do(t, raw)
		if res.StatusCode != 403 && res.StatusCode != 400 {
			t.Errorf("%q: status %d, want 403 or 400", raw, res.StatusCode)
		}
		for _, bad := range []string{"<script", "s3cr3t", "dXNlcjpzM2NyM3Q", "user:", "<b>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%q: page contains %q:\n%s", raw, bad, body)
			}
		}
		for k, vs := range res.Header {
			if strings.Contains(strings.Join(vs, " "), "s3cr3t") {
				t.Errorf("%q: header %s shows the password", raw, k)
			}
		}
	}
	log := strings.Join(p.logLines(t), "\n")
	if strings.Contains(log, "s3cr3t") {
		t.Errorf("access.log shows the password:\n%s", log)
	}
}

func TestErrorPageHeaders(t *testing.T) {
	t.Parallel()
	p := hfNewProxy(t, nil, hfNewClock(), nil, func(opts *Options) {
		opts.Access = []Rule{acRule(false, acACL(t, "all", "all"))}
		opts.SuppressVersion = true
	})
	res, body, _ := p.do(t, get("/x"))
	hfCheck(t, "denied", res, body, 403, "*",
		"Server", "cuttle", "Mime-Version", "1.0", "Content-Type", "text/html;charset=utf-8",
		"X-Squid-Error", "ERR_ACCESS_DENIED 0", "Vary", "Accept-Language", "Content-Language", "en",
		"Cache-Control", "", "X-Cache", "MISS from accel-test.local", "X-Cache-Lookup", "NONE from accel-test.local:3128",
		"Via", "1.1 accel-test.local (cuttle)")
	if !strings.Contains(body, "accel-test.local (cuttle)") || strings.Contains(body, "cuttle/test") {
		t.Errorf("footer without the host name, or with the version:\n%s", body)
	}
}

// TestMaxConn opens real connections: the third from one address is
// denied (maxconn 2 means more than two), and once one closes a new
// request is allowed again. localip is checked on the way.
func TestMaxConn(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := acOrigin(t)
	var h *Handler
	p := hfNewProxy(t, o, c, nil, func(opts *Options) {
		// localip needs the connection's record too: every request here
		// is to 127.0.0.1, so the second rule never denies.
		notLocal := Rule{Allow: false, Terms: []Term{{ACL: acACL(t, "me", "localip", "127.0.0.1"), Not: true}}}
		opts.Access = []Rule{acRule(false, acACL(t, "many", "maxconn", "2")), notLocal, acRule(true, acACL(t, "all", "all"))}
	})
	h = p.h
	srv := httptest.NewUnstartedServer(h.Port(Port{Vhost: true, Scheme: "http", ListenPort: 3128}))
	srv.Config.ConnState = h.ConnState
	srv.Config.ConnContext = h.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)

	type client struct {
		conn net.Conn
		br   *bufio.Reader
	}
	dial := func() *client {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return &client{conn, bufio.NewReader(conn)}
	}
	ask := func(cl *client) int {
		io.WriteString(cl.conn, get("/x"))
		res, err := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	a, b := dial(), dial()
	if s := ask(a); s != 200 {
		t.Fatalf("first connection: %d, want 200", s)
	}
	if s := ask(b); s != 200 {
		t.Fatalf("second connection: %d, want 200", s)
	}
	third := dial()
	if s := ask(third); s != 403 {
		t.Errorf("third connection: %d, want 403", s)
	}
	third.conn.Close()
	a.conn.Close()
	ip := netipLoopback()
	hfPoll(t, "two connections closed", func() bool { return h.opts.Conns.PerIP(ip) == 1 })
	d := dial()
	if s := ask(d); s != 200 {
		t.Errorf("after closing two: %d, want 200", s)
	}
	b.conn.Close()
	d.conn.Close()
	hfPoll(t, "all closed", func() bool { return h.opts.Conns.PerIP(ip) == 0 })
}

func netipLoopback() netip.Addr { return netip.MustParseAddr("127.0.0.1") }
