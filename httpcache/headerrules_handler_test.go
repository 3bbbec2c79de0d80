package httpcache

import (
	"bufio"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"cuttle/accesslog"
)

// hrFormat compiles a *_header_add value as cmd does.
func hrFormat(t *testing.T, spec string) accesslog.Formatter {
	t.Helper()
	f, err := accesslog.Compile(spec, accesslog.FormatOptions{StripQueryTerms: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// hrLogClients returns the client field (%>a) of every access.log line.
func hrLogClients(t *testing.T, p *hfProxy) []string {
	t.Helper()
	var out []string
	for _, l := range p.logLines(t) {
		out = append(out, strings.Fields(l)[2])
	}
	return out
}

func TestRequestHeaderRules(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.Headers = HeaderOptions{
			RequestAccess: []HeaderAccess{
				{Name: "User-Agent", Rules: []Rule{allRule(false)}, Replace: "Replaced/1.0"},
				{Name: "Other", Rules: []Rule{allRule(false)}},
				{Name: "X-Keep", Rules: []Rule{allRule(true)}},
			},
			RequestAdd: []HeaderAdd{
				{Name: "X-Client", Format: hrFormat(t, "%>a %rm %ru %{Referer}>h")},
				{Name: "X-Static", Value: "static"},
				{Name: "X-Keep", Value: "second"},
			},
		}
	})
	p.do(t, get("/page?q=1", "User-Agent: curl/8\r\n", "Referer: http://r/\r\n", "X-Foo: 1\r\n",
		"X-Forwarded-Host: evil\r\n", "X-Keep: first\r\n", "Cookie: a=b\r\n"))
	req := o.last()
	want := map[string][]string{
		"User-Agent":       {"Replaced/1.0"},
		"Referer":          {"http://r/"},
		"Cookie":           {"a=b"},
		"X-Foo":            nil, // Other
		"X-Forwarded-Host": nil, // Other
		"X-Keep":           {"first", "second"},
		"X-Client":         {"127.0.0.1 GET http://www.example.com/page? http://r/"},
		"X-Static":         {"static"},
		"X-Forwarded-For":  {"127.0.0.1"},
		"Via":              {"1.1 accel-test.local (cuttle/test)"},
	}
	for k, v := range want {
		if got := req.Header[k]; !reflect.DeepEqual(got, v) {
			t.Errorf("origin %s = %q, want %q", k, got, v)
		}
	}
	if req.Host != "www.example.com" {
		t.Errorf("origin Host = %q, want www.example.com", req.Host)
	}
}

func TestRequestHeaderReplaceHost(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.Headers.RequestAccess = []HeaderAccess{
			{Name: "Host", Rules: []Rule{allRule(false)}, Replace: "backend.internal"},
			{Name: "Via", Rules: []Rule{allRule(false)}},
			{Name: "X-Forwarded-For", Rules: []Rule{allRule(false)}},
		}
	})
	res, _, _ := p.do(t, get("/page"))
	req := o.last()
	if req.Host != "backend.internal" {
		t.Errorf("origin Host = %q, want backend.internal", req.Host)
	}
	// The fields cuttle adds are subject to the rules too, as in Squid.
	for _, k := range []string{"Via", "X-Forwarded-For"} {
		if v, ok := req.Header[k]; ok {
			t.Errorf("origin %s = %q, want none", k, v)
		}
	}
	// The cache key is still the client's URL.
	res.Body.Close()
	p.do(t, get("/page"))
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/200")
}

func TestReplyHeaderRules(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		h := rw.Header()
		h.Set("Cache-Control", "max-age=60")
		h.Set("Content-Type", "text/plain")
		h["Server"] = []string{"origin/1", "extra/2"}
		h.Set("X-Internal", "secret")
		io.WriteString(rw, "body\n")
	})
	rules := func(opts *Options) {
		opts.Headers = HeaderOptions{
			ReplyAccess: []HeaderAccess{
				{Name: "Server", Rules: []Rule{allRule(false)}, Replace: "Hidden"},
				{Name: "X-Cache", Rules: []Rule{allRule(false)}},
				{Name: "Other", Rules: []Rule{allRule(false)}},
			},
			ReplyAdd: []HeaderAdd{
				{Name: "X-Result", Format: hrFormat(t, "%Ss %>Hs %{Server}<h")},
			},
		}
	}
	p := hfNewProxy(t, o, c, nil, rules)
	check := func(what, result string, res *http.Response) {
		t.Helper()
		if got := res.Header["Server"]; !reflect.DeepEqual(got, []string{"Hidden", "Hidden"}) {
			t.Errorf("%s: Server = %q, want [Hidden Hidden]", what, got)
		}
		// X-Cache named, X-Internal and Cache-Status by Other (Squid 5.7
		// does not know Cache-Status).
		for _, k := range []string{"X-Cache", "X-Internal", "Cache-Status"} {
			if v, ok := res.Header[k]; ok {
				t.Errorf("%s: %s = %q, want none", what, k, v)
			}
		}
		if got := res.Header.Get("X-Result"); got != result {
			t.Errorf("%s: X-Result = %q, want %q", what, got, result)
		}
		if res.Header.Get("Via") == "" || res.Header.Get("X-Cache-Lookup") == "" {
			t.Errorf("%s: Via %q, X-Cache-Lookup %q: known fields without rules must stay", what, res.Header.Get("Via"), res.Header.Get("X-Cache-Lookup"))
		}
	}
	res, body, _ := p.do(t, get("/r"))
	hfCheck(t, "miss", res, body, 200, "body\n")
	check("miss", "TCP_MISS 200 Hidden", res)
	res, body, _ = p.do(t, get("/r"))
	hfCheck(t, "hit", res, body, 200, "body\n", "Age", "0")
	check("hit", "TCP_MEM_HIT 200 Hidden", res)
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/200")

	// The stored response is untouched: a handler without rules on the
	// same store serves the origin's fields.
	plain := hfNewProxy(t, o, c, p.mem, nil)
	res, _, _ = plain.do(t, get("/r"))
	if got := res.Header["Server"]; !reflect.DeepEqual(got, []string{"origin/1", "extra/2"}) {
		t.Errorf("stored Server = %q, want the origin's", got)
	}
	if res.Header.Get("X-Internal") != "secret" || res.Header.Get("X-Result") != "" {
		t.Errorf("stored response changed: X-Internal %q, X-Result %q", res.Header.Get("X-Internal"), res.Header.Get("X-Result"))
	}
	hfWantOrigin(t, o, 1)
}

// TestReplyHeaderRulesErrorPage checks that cuttle's own error pages get
// the reply rules too, as Squid's do.
func TestReplyHeaderRulesErrorPage(t *testing.T) {
	t.Parallel()
	p := hfNewProxy(t, nil, hfNewClock(), nil, func(opts *Options) {
		opts.Access = []Rule{allRule(false)}
		opts.Headers = HeaderOptions{
			ReplyAccess: []HeaderAccess{{Name: "X-Squid-Error", Rules: []Rule{allRule(false)}}},
			ReplyAdd:    []HeaderAdd{{Name: "X-Error", Format: hrFormat(t, "%err_code %>Hs")}},
		}
	})
	res, _, _ := p.do(t, get("/x"))
	hfCheck(t, "denied", res, "", 403, "*", "X-Squid-Error", "", "X-Error", "ERR_ACCESS_DENIED 403", "Server", "cuttle/test")
}

func TestForwardedForModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode ForwardedFor
		want []string
	}{
		{ForwardedForOn, []string{"192.0.2.1, 192.0.2.2, 127.0.0.1"}},
		{ForwardedForOff, []string{"192.0.2.1, 192.0.2.2, unknown"}},
		{ForwardedForTransparent, []string{"192.0.2.1, 192.0.2.2"}},
		{ForwardedForTruncate, []string{"127.0.0.1"}},
		{ForwardedForDelete, nil},
	}
	for _, tt := range tests {
		o := newOrigin(t)
		p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.Headers.ForwardedFor = tt.mode })
		p.do(t, get("/page", "X-Forwarded-For: 192.0.2.1\r\n", "X-Forwarded-For: 192.0.2.2\r\n"))
		if got := o.last().Header["X-Forwarded-For"]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("forwarded_for %d: origin X-Forwarded-For = %q, want %q", tt.mode, got, tt.want)
		}
	}
}

func TestFollowXForwardedForACLAndLog(t *testing.T) {
	t.Parallel()
	indirect, _ := NewACL("src", []string{"198.51.100.9"})
	for _, direct := range []bool{false, true} {
		o := newOrigin(t)
		p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
			opts.Access = []Rule{{Allow: false, Terms: []Term{{ACL: indirect}}}, allRule(true)}
			opts.Headers = HeaderOptions{
				FollowXForwardedFor: []Rule{srcRule(t, true, "127.0.0.1"), srcRule(t, true, "192.0.2.0/24")},
				DirectClientACLs:    direct,
				DirectClientLog:     direct,
				RequestAdd:          []HeaderAdd{{Name: "X-Client", Format: hrFormat(t, "%>a")}},
			}
		})
		res, _, _ := p.do(t, get("/a", "X-Forwarded-For: 198.51.100.1, 198.51.100.9, 192.0.2.5\r\n"))
		res2, _, _ := p.do(t, get("/b", "X-Forwarded-For: 198.51.100.1, 192.0.2.5\r\n"))
		wantStatus, wantLog, wantClient := 403, []string{"198.51.100.9", "198.51.100.1"}, "198.51.100.1"
		if direct {
			// acl_uses_indirect_client off, log_uses_indirect_client off.
			wantStatus, wantLog, wantClient = 200, []string{"127.0.0.1", "127.0.0.1"}, "127.0.0.1"
		}
		if res.StatusCode != wantStatus || res2.StatusCode != 200 {
			t.Errorf("direct=%v: statuses %d, %d, want %d, 200", direct, res.StatusCode, res2.StatusCode, wantStatus)
		}
		if got := hrLogClients(t, p); !reflect.DeepEqual(got, wantLog) {
			t.Errorf("direct=%v: access.log clients %q, want %q", direct, got, wantLog)
		}
		req := o.last()
		if got := req.Header.Get("X-Client"); got != wantClient {
			t.Errorf("direct=%v: %%>a in request_header_add = %q, want %q", direct, got, wantClient)
		}
		// X-Forwarded-For names who connected, whatever was trusted.
		if got, want := req.Header.Get("X-Forwarded-For"), "198.51.100.1, 192.0.2.5, 127.0.0.1"; got != want {
			t.Errorf("direct=%v: origin X-Forwarded-For = %q, want %q", direct, got, want)
		}
	}
}

func TestViaOff(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.Headers.NoVia = true })
	res, _, _ := p.do(t, get("/page", "Via: 1.0 upstream\r\n"))
	if v, ok := res.Header["Via"]; ok {
		t.Errorf("miss: Via = %q, want none", v)
	}
	if got := o.last().Header["Via"]; !reflect.DeepEqual(got, []string{"1.0 upstream"}) {
		t.Errorf("origin Via = %q, want the client's only", got)
	}
	res, _, _ = p.do(t, get("/page"))
	if v, ok := res.Header["Via"]; ok {
		t.Errorf("hit: Via = %q, want none", v)
	}
	res, _, _ = p.do(t, "CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n")
	if v, ok := res.Header["Via"]; ok || res.StatusCode != 501 {
		t.Errorf("error page: status %d, Via = %q, want 501 and none", res.StatusCode, v)
	}
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/200", "NONE_NONE/501")
}

// TestVersionToken checks that the product token (squid.conf
// httpd_suppress_version_string makes it "cuttle") is what Via and error
// pages show, and that X-Cache carries none.
func TestVersionToken(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.Version = "cuttle" })
	res, _, _ := p.do(t, get("/page"))
	hfCheck(t, "miss", res, "", 200, "*", "Via", "1.1 accel-test.local (cuttle)", "X-Cache", "MISS from accel-test.local")
	if got := o.last().Header.Get("Via"); got != "1.1 accel-test.local (cuttle)" {
		t.Errorf("origin Via = %q", got)
	}
	res, body, _ := p.do(t, "CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n")
	hfCheck(t, "error", res, body, 501, "*", "Server", "cuttle", "Via", "1.1 accel-test.local (cuttle)")
	if !strings.Contains(body, "(cuttle)") || strings.Contains(body, "cuttle/") {
		t.Errorf("error page does not name the bare product:\n%s", body)
	}
}

// TestForwardingHeadersNeverRoute checks item C1 of reliability.md: fields
// that some servers use to rebuild the URL (X-Forwarded-Host,
// X-Original-URL, X-Rewrite-URL, Forwarded, X-Forwarded-Scheme) change
// neither where a request goes nor its cache key: only the request line
// and Host do.
func TestForwardingHeadersNeverRoute(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, nil)
	poison := []string{"X-Forwarded-Host: evil.example\r\n", "X-Original-URL: /admin\r\n",
		"X-Rewrite-URL: /admin\r\n", "Forwarded: host=evil.example;proto=https\r\n",
		"X-Forwarded-Scheme: nothttps\r\n", "X-Forwarded-Proto: https\r\n"}
	res, body, _ := p.do(t, get("/page", poison...))
	hfCheck(t, "poisoned", res, body, 200, "<p>page</p>\n")
	req := o.last()
	if req.Host != "www.example.com" || req.URL.RequestURI() != "/page" {
		t.Errorf("origin got Host %q URI %q, want www.example.com /page", req.Host, req.URL.RequestURI())
	}
	// A clean request for the same URL hits what the poisoned one stored
	// (the key ignored the fields), and /admin is a different object.
	res, _, _ = p.do(t, get("/page"))
	res.Body.Close()
	p.do(t, get("/admin"))
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/200", "TCP_MISS/200")
	hfWantOrigin(t, o, 2)
	lines := p.logLines(t)
	for i, want := range []string{"http://www.example.com/page", "http://www.example.com/page", "http://www.example.com/admin"} {
		if f := strings.Fields(lines[i]); f[6] != want {
			t.Errorf("access.log line %d URL %q, want %q", i, f[6], want)
		}
	}
	if got := hfRequest(o, 1).URL.Path; got != "/admin" {
		t.Errorf("second origin request for %q, want /admin", got)
	}
}

// TestSiteURLIgnoresForwardingHeaders is the same check on the pure
// function that rebuilds the URL (siteurl.go).
func TestSiteURLIgnoresForwardingHeaders(t *testing.T) {
	t.Parallel()
	p := &Port{Vhost: true, Scheme: "http", ListenPort: 3128}
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET /page HTTP/1.1\r\nHost: www.example.com\r\n" +
		"X-Forwarded-Host: evil.example\r\nX-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\n" +
		"Forwarded: host=evil.example;proto=https\r\nX-Forwarded-Proto: https\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.siteURL(req); got != "http://www.example.com/page" || err != nil {
		t.Errorf("siteURL = %q, %v, want http://www.example.com/page", got, err)
	}
}

// TestHopByHopBothWays checks that the hop-by-hop fields (RFC 9110,
// Section 7.6.1), those named by Connection and the obsolete ones never
// cross cuttle, in either direction; Proxy-Authorization is consumed by
// the proxy.
func TestHopByHopBothWays(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		h := rw.Header()
		h.Set("Cache-Control", "max-age=60")
		h.Set("Connection", "X-Hop-Res, keep-alive")
		h.Set("X-Hop-Res", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic realm=x")
		h.Set("Proxy-Connection", "keep-alive")
		h.Set("Upgrade", "h2c")
		io.WriteString(rw, "ok\n")
	})
	p := hfNewProxy(t, o, c, nil, nil)
	for i := range 2 { // the miss, then the hit from the stored response
		res, _, _ := p.do(t, get("/h", "Connection: X-Hop-Req\r\n", "X-Hop-Req: 1\r\n", "TE: trailers\r\n",
			"Trailer: X-T\r\n", "Upgrade: websocket\r\n", "Proxy-Authorization: Basic eDp5\r\n",
			"Proxy-Connection: keep-alive\r\n", "Keep-Alive: timeout=1\r\n"))
		for _, k := range []string{"X-Hop-Res", "Keep-Alive", "Proxy-Authenticate", "Proxy-Connection", "Upgrade"} {
			if v, ok := res.Header[k]; ok {
				t.Errorf("response %d: %s = %q, want none", i, k, v)
			}
		}
	}
	req := o.last()
	for _, k := range []string{"X-Hop-Req", "Te", "Trailer", "Upgrade", "Proxy-Authorization", "Proxy-Connection", "Keep-Alive"} {
		if v, ok := req.Header[k]; ok {
			t.Errorf("origin %s = %q, want none", k, v)
		}
	}
	hfWantResults(t, p, "TCP_MISS/200", "TCP_MEM_HIT/200")
}
