package httpcache

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cuttle/accesslog"
	"cuttle/store"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// origin is a real HTTP origin server that records what it received.
type origin struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request // protected by mu
}

func (o *origin) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.requests)
}

func (o *origin) last() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests[len(o.requests)-1]
}

const originDate = "Wed, 25 Nov 2026 17:27:27 GMT"

func newOrigin(t *testing.T) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		o.mu.Lock()
		o.requests = append(o.requests, req)
		o.mu.Unlock()
		h := rw.Header()
		h.Set("Date", originDate)
		switch req.URL.Path {
		case "/static/a.css":
			h.Set("Content-Type", "text/css")
			h.Set("Cache-Control", "max-age=60")
			io.WriteString(rw, "body { color: teal }\n")
		case "/page":
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "max-age=60")
			io.WriteString(rw, "<p>page</p>\n")
		case "/private":
			h.Set("Content-Type", "text/plain")
			h.Set("Cache-Control", "private, max-age=60")
			io.WriteString(rw, "mine\n")
		case "/vary":
			h.Set("Content-Type", "text/plain")
			h.Set("Cache-Control", "max-age=60")
			h.Set("Vary", "Accept-Language")
			io.WriteString(rw, "lang="+req.Header.Get("Accept-Language")+"\n")
		case "/truncated":
			h.Set("Cache-Control", "max-age=60")
			h.Set("Content-Length", "100")
			io.WriteString(rw, "short")
			panic(http.ErrAbortHandler)
		case "/etag":
			h.Set("Content-Type", "text/plain")
			h.Set("Cache-Control", "max-age=60")
			h.Set("ETag", `"v1"`)
			h.Set("Last-Modified", "Tue, 24 Nov 2026 10:00:00 GMT")
			if req.Method == http.MethodPost {
				h.Set("Location", "/moved")
				rw.WriteHeader(http.StatusOK)
				return
			}
			io.WriteString(rw, "etag body\n")
		case "/reval":
			h.Set("Content-Type", "text/plain")
			h.Set("Cache-Control", "max-age=1")
			h.Set("ETag", `"r1"`)
			if req.Header.Get("If-None-Match") == `"r1"` {
				h.Set("X-Version", "2")
				h.Set("Cache-Control", "max-age=60")
				rw.WriteHeader(http.StatusNotModified)
				return
			}
			h.Set("X-Version", "1")
			io.WriteString(rw, "reval body\n")
		case "/form":
			body, _ := io.ReadAll(req.Body)
			h.Set("Content-Type", "text/plain")
			rw.WriteHeader(http.StatusCreated)
			fmt.Fprintf(rw, "got %d bytes\n", len(body))
		default:
			h.Set("Cache-Control", "max-age=60")
			h.Set("Content-Type", "text/plain")
			io.WriteString(rw, "path "+req.URL.RequestURI()+"\n")
		}
	}))
	t.Cleanup(o.Close)
	return o
}

type proxy struct {
	*httptest.Server
	mem     *store.Memory
	logPath string
	logger  *accesslog.Logger
	clock   *clock
}

// newProxy starts cuttle's handler on a real listener in front of o (nil
// for no peer), logging in the squid format to a file.
func newProxy(t *testing.T, o *origin, access []Rule) *proxy {
	t.Helper()
	return hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.Access = access }).proxy
}

// do sends one raw request on a new connection and returns the response,
// its body and the exact number of bytes the proxy sent for it.
func (p *proxy) do(t *testing.T, raw string) (*http.Response, string, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	cr := &countReader{r: conn}
	br := bufio.NewReader(cr)
	method, _, _ := strings.Cut(raw, " ")
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response to %q: %v", raw, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return res, string(body), -1
	}
	p.mem.Wait()
	return res, string(body), cr.n - int64(br.Buffered())
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (p *proxy) logLines(t *testing.T) []string {
	t.Helper()
	if err := p.logger.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func get(path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: www.example.com\r\n" + strings.Join(extra, "") + "\r\n"
}

func TestMissThenHit(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := newProxy(t, o, []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}})

	res, body, n1 := p.do(t, get("/static/a.css"))
	if res.StatusCode != 200 || body != "body { color: teal }\n" {
		t.Fatalf("MISS: got %d %q", res.StatusCode, body)
	}
	for k, want := range map[string]string{
		"X-Cache":       "MISS from accel-test.local",
		"Via":           "1.1 accel-test.local (cuttle/test)",
		"Cache-Status":  "accel-test.local; fwd=uri-miss; stored; fwd-status=200",
		"Cache-Control": "max-age=60",
		"Date":          originDate,
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("MISS %s = %q, want %q", k, got, want)
		}
	}

	p.clock.advance(2 * time.Second)
	res, body, n2 := p.do(t, get("/static/a.css"))
	if res.StatusCode != 200 || body != "body { color: teal }\n" {
		t.Fatalf("HIT: got %d %q", res.StatusCode, body)
	}
	for k, want := range map[string]string{
		"X-Cache":      "HIT from accel-test.local",
		"Cache-Status": "accel-test.local; hit; ttl=57",
		"Age":          "2",
		"Content-Type": "text/css",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("HIT %s = %q, want %q", k, got, want)
		}
	}
	if got := o.count(); got != 1 {
		t.Errorf("origin requests = %d, want 1", got)
	}

	want := []string{
		fmt.Sprintf("1795627647.617      0 127.0.0.1 TCP_MISS/200 %d GET http://www.example.com/static/a.css - FIRSTUP_PARENT/127.0.0.1 text/css", n1),
		fmt.Sprintf("1795627649.617      0 127.0.0.1 TCP_MEM_HIT/200 %d GET http://www.example.com/static/a.css - HIER_NONE/- text/css", n2),
	}
	got := p.logLines(t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("access.log =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestForwardedRequest(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := newProxy(t, o, []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}})
	p.do(t, get("/echo?a=1", "Connection: X-Secret\r\n", "X-Secret: 1\r\n", "Authorization: Basic eDp5\r\n",
		"Keep-Alive: timeout=1\r\n", "X-Forwarded-For: 10.9.9.9\r\n"))
	req := o.last()
	if req.Host != "www.example.com" || req.URL.RequestURI() != "/echo?a=1" {
		t.Errorf("origin saw Host %q URI %q, want www.example.com /echo?a=1", req.Host, req.URL.RequestURI())
	}
	for _, k := range []string{"X-Secret", "Authorization", "Keep-Alive"} {
		if v := req.Header.Get(k); v != "" {
			t.Errorf("origin saw %s: %q, want it removed", k, v)
		}
	}
	if got, want := req.Header.Get("X-Forwarded-For"), "10.9.9.9, 127.0.0.1"; got != want {
		t.Errorf("origin X-Forwarded-For = %q, want %q", got, want)
	}
	if got, want := req.Header.Get("Via"), "1.1 accel-test.local (cuttle/test)"; got != want {
		t.Errorf("origin Via = %q, want %q", got, want)
	}
}

// step is one request of a sequence and what it must produce.
type step struct {
	raw        string
	wantStatus int
	wantLog    string // the log line after the elapsed field, %d for the bytes
	wantOrigin int    // origin requests so far
}

// runSteps sends each step to p in order, checks its status and the
// origin's request count, then checks the whole access.log (fixed clock).
// It returns the responses.
func runSteps(t *testing.T, p *proxy, o *origin, steps []step) []*http.Response {
	t.Helper()
	var want []string
	var responses []*http.Response
	for i, s := range steps {
		res, _, n := p.do(t, s.raw)
		if res.StatusCode != s.wantStatus {
			t.Errorf("step %d %q: status %d, want %d", i, s.raw, res.StatusCode, s.wantStatus)
		}
		if got := o.count(); got != s.wantOrigin {
			t.Errorf("step %d %q: origin requests %d, want %d", i, s.raw, got, s.wantOrigin)
		}
		want = append(want, "1795627647.617      0 127.0.0.1 "+fmt.Sprintf(s.wantLog, n))
		responses = append(responses, res)
	}
	if got := p.logLines(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("access.log =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	return responses
}

func TestTransactions(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	deny, err := NewACL("urlpath_regex", []string{"^/secret/"})
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, o, []Rule{
		{Allow: false, Terms: []Term{{ACL: deny}}},
		{Allow: true, Terms: []Term{{ACL: aclAll{}}}},
	})
	steps := []step{
		{get("/secret/x"), 403, "TCP_DENIED/403 %d GET http://www.example.com/secret/x - HIER_NONE/- text/html", 0},
		{"POST /form HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 3\r\n\r\nabc", 201,
			"TCP_MISS/201 %d POST http://www.example.com/form - FIRSTUP_PARENT/127.0.0.1 text/plain", 1},
		{get("/private"), 200, "TCP_MISS/200 %d GET http://www.example.com/private - FIRSTUP_PARENT/127.0.0.1 text/plain", 2},
		{get("/private"), 200, "TCP_MISS/200 %d GET http://www.example.com/private - FIRSTUP_PARENT/127.0.0.1 text/plain", 3},
		{get("/q?x=1"), 200, "TCP_MISS/200 %d GET http://www.example.com/q? - FIRSTUP_PARENT/127.0.0.1 text/plain", 4},
		{get("/q?x=1"), 200, "TCP_MEM_HIT/200 %d GET http://www.example.com/q? - HIER_NONE/- text/plain", 4},
		{get("/q?x=2"), 200, "TCP_MISS/200 %d GET http://www.example.com/q? - FIRSTUP_PARENT/127.0.0.1 text/plain", 5},
		{get("/page"), 200, "TCP_MISS/200 %d GET http://www.example.com/page - FIRSTUP_PARENT/127.0.0.1 text/html", 6},
		{"HEAD /page HTTP/1.1\r\nHost: www.example.com\r\n\r\n", 200,
			"TCP_MEM_HIT/200 %d HEAD http://www.example.com/page - HIER_NONE/- text/html", 6},
		{get("/page", "Cache-Control: no-cache\r\n"), 200,
			"TCP_MISS/200 %d GET http://www.example.com/page - FIRSTUP_PARENT/127.0.0.1 text/html", 7},
		{get("/page", "Pragma: no-cache\r\n"), 200,
			"TCP_MISS/200 %d GET http://www.example.com/page - FIRSTUP_PARENT/127.0.0.1 text/html", 8},
		{get("/vary", "Accept-Language: en\r\n"), 200,
			"TCP_MISS/200 %d GET http://www.example.com/vary - FIRSTUP_PARENT/127.0.0.1 text/plain", 9},
		{get("/vary", "Accept-Language: en\r\n"), 200,
			"TCP_MEM_HIT/200 %d GET http://www.example.com/vary - HIER_NONE/- text/plain", 9},
		{get("/vary", "Accept-Language: de\r\n"), 200,
			"TCP_MISS/200 %d GET http://www.example.com/vary - FIRSTUP_PARENT/127.0.0.1 text/plain", 10},
		{"GET /x HTTP/1.0\r\n\r\n", 400, "NONE_NONE/400 %d GET error:invalid-request - HIER_NONE/- text/html", 10},
		{get("/only", "Cache-Control: only-if-cached\r\n"), 504,
			"TCP_MISS/504 %d GET http://www.example.com/only - HIER_NONE/- text/html", 10},
		{get("/page", "Cache-Control: only-if-cached\r\n"), 200,
			"TCP_MEM_HIT/200 %d GET http://www.example.com/page - HIER_NONE/- text/html", 10},
		{"CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n", 501,
			"NONE_NONE/501 %d CONNECT error:unsupported-request - HIER_NONE/- text/html", 10},
	}
	for i, res := range runSteps(t, p, o, steps) {
		if steps[i].wantStatus == 403 && res.Header.Get("X-Squid-Error") != "ERR_ACCESS_DENIED 0" {
			t.Errorf("step %d: X-Squid-Error = %q, want ERR_ACCESS_DENIED 0", i, res.Header.Get("X-Squid-Error"))
		}
	}
}

func TestOriginFailures(t *testing.T) {
	t.Parallel()
	all := []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}}

	t.Run("no peer", func(t *testing.T) {
		t.Parallel()
		p := newProxy(t, nil, all)
		res, body, _ := p.do(t, get("/"))
		if res.StatusCode != 503 || res.Header.Get("X-Squid-Error") != "ERR_CANNOT_FORWARD 0" {
			t.Errorf("no peer: %d %q, want 503 ERR_CANNOT_FORWARD", res.StatusCode, res.Header.Get("X-Squid-Error"))
		}
		if !strings.Contains(body, "http://www.example.com/") {
			t.Errorf("error page does not name the URL:\n%s", body)
		}
	})

	t.Run("origin down", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t)
		p := newProxy(t, o, all)
		o.Close()
		res, _, _ := p.do(t, get("/"))
		if res.StatusCode != 503 || res.Header.Get("X-Squid-Error") != "ERR_CONNECT_FAIL 0" {
			t.Errorf("origin down: %d %q, want 503 ERR_CONNECT_FAIL", res.StatusCode, res.Header.Get("X-Squid-Error"))
		}
		lines := p.logLines(t)
		if !regexp.MustCompile(` TCP_MISS/503 \d+ GET http://www.example.com/ - FIRSTUP_PARENT/127.0.0.1 text/html$`).MatchString(lines[0]) {
			t.Errorf("log line %q, want TCP_MISS/503 ... FIRSTUP_PARENT", lines[0])
		}
	})

	t.Run("truncated body is not stored", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t)
		p := newProxy(t, o, all)
		for range 2 {
			_, body, n := p.do(t, get("/truncated"))
			if n != -1 && len(body) == 100 {
				t.Errorf("client got a complete body from a truncated origin reply")
			}
		}
		if got := o.count(); got != 2 {
			t.Errorf("origin requests = %d, want 2 (the truncated reply must not be cached)", got)
		}
	})

	t.Run("escaped error page", func(t *testing.T) {
		t.Parallel()
		p := newProxy(t, nil, nil)
		res, body, _ := p.do(t, get("/<script>alert(1)</script>"))
		if res.StatusCode != 403 || strings.Contains(body, "<script>") {
			t.Errorf("denied page: %d, body contains raw markup: %v", res.StatusCode, strings.Contains(body, "<script>"))
		}
	})
}

func TestForwardedHostKeepsPort(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := newProxy(t, o, []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}})
	for _, tt := range []struct{ raw, wantHost string }{
		{"GET /a HTTP/1.1\r\nHost: WWW.example.com:8080\r\n\r\n", "www.example.com:8080"},
		{"GET https://secure.example:8443/b HTTP/1.1\r\nHost: x\r\n\r\n", "secure.example:8443"},
	} {
		p.do(t, tt.raw)
		if got := o.last().Host; got != tt.wantHost {
			t.Errorf("request %q: origin saw Host %q, want %q", tt.raw, got, tt.wantHost)
		}
	}
}

func TestConditionalAndInvalidation(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := newProxy(t, o, []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}})
	steps := []step{
		{get("/etag"), 200, "TCP_MISS/200 %d GET http://www.example.com/etag - FIRSTUP_PARENT/127.0.0.1 text/plain", 1},
		{get("/moved"), 200, "TCP_MISS/200 %d GET http://www.example.com/moved - FIRSTUP_PARENT/127.0.0.1 text/plain", 2},
		{get("/etag", "If-None-Match: W/\"v1\"\r\n"), 304,
			"TCP_INM_HIT/304 %d GET http://www.example.com/etag - HIER_NONE/- text/plain", 2},
		{get("/etag", "If-None-Match: \"v2\"\r\n"), 200,
			"TCP_MEM_HIT/200 %d GET http://www.example.com/etag - HIER_NONE/- text/plain", 2},
		{get("/etag", "If-Modified-Since: Wed, 25 Nov 2026 00:00:00 GMT\r\n"), 304,
			"TCP_IMS_HIT/304 %d GET http://www.example.com/etag - HIER_NONE/- text/plain", 2},
		{get("/etag", "If-Modified-Since: Mon, 23 Nov 2026 00:00:00 GMT\r\n"), 200,
			"TCP_MEM_HIT/200 %d GET http://www.example.com/etag - HIER_NONE/- text/plain", 2},
		// RFC 9111, Section 4.4: a successful POST invalidates the target
		// and the same-origin Location.
		{"POST /etag HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 0\r\n\r\n", 200,
			"TCP_MISS/200 %d POST http://www.example.com/etag - FIRSTUP_PARENT/127.0.0.1 text/plain", 3},
		{get("/etag"), 200, "TCP_MISS/200 %d GET http://www.example.com/etag - FIRSTUP_PARENT/127.0.0.1 text/plain", 4},
		{get("/moved"), 200, "TCP_MISS/200 %d GET http://www.example.com/moved - FIRSTUP_PARENT/127.0.0.1 text/plain", 5},
	}
	runSteps(t, p, o, steps)
}

// TestRevalidation checks RFC 9111, Section 4.3: a stale response with a
// validator is revalidated, a 304 refreshes its headers and freshness, and
// the stored body is served (Squid's TCP_REFRESH_UNMODIFIED).
func TestRevalidation(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := newProxy(t, o, []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}})
	res, body, n1 := p.do(t, get("/reval"))
	if res.Header.Get("X-Version") != "1" || body != "reval body\n" {
		t.Fatalf("first response: X-Version %q body %q", res.Header.Get("X-Version"), body)
	}
	p.clock.advance(2 * time.Second)
	res, body, n2 := p.do(t, get("/reval"))
	if res.StatusCode != 200 || body != "reval body\n" || res.Header.Get("X-Version") != "2" {
		t.Errorf("revalidated response: %d X-Version %q body %q, want 200, 2 and the stored body",
			res.StatusCode, res.Header.Get("X-Version"), body)
	}
	if got := o.last().Header.Get("If-None-Match"); got != `"r1"` {
		t.Errorf("origin saw If-None-Match %q, want \"r1\"", got)
	}
	res, _, n3 := p.do(t, get("/reval"))
	if res.Header.Get("X-Cache") != "HIT from accel-test.local" || res.Header.Get("X-Version") != "2" {
		t.Errorf("after the 304: X-Cache %q X-Version %q, want a hit with the updated header",
			res.Header.Get("X-Cache"), res.Header.Get("X-Version"))
	}
	if got := o.count(); got != 2 {
		t.Errorf("origin requests = %d, want 2", got)
	}
	want := []string{
		fmt.Sprintf("1795627647.617      0 127.0.0.1 TCP_MISS/200 %d GET http://www.example.com/reval - FIRSTUP_PARENT/127.0.0.1 text/plain", n1),
		fmt.Sprintf("1795627649.617      0 127.0.0.1 TCP_REFRESH_UNMODIFIED/200 %d GET http://www.example.com/reval - FIRSTUP_PARENT/127.0.0.1 text/plain", n2),
		fmt.Sprintf("1795627649.617      0 127.0.0.1 TCP_MEM_HIT/200 %d GET http://www.example.com/reval - HIER_NONE/- text/plain", n3),
	}
	if got := p.logLines(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("access.log =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRangeFromHit checks RFC 9110, Section 14: a range of a stored
// complete response is served from the cache (Squid logs TCP_MEM_HIT/206).
func TestRangeFromHit(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := newProxy(t, o, []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}})
	p.do(t, get("/static/a.css"))
	tests := []struct {
		rng, wantBody, wantRange string
		wantStatus               int
	}{
		{"bytes=0-3", "body", "bytes 0-3/21", 206},
		{"bytes=-2", "}\n", "bytes 19-20/21", 206},
		{"bytes=100-200", "", "bytes */21", 416},
	}
	for _, tt := range tests {
		res, body, _ := p.do(t, get("/static/a.css", "Range: "+tt.rng+"\r\n"))
		if res.StatusCode != tt.wantStatus || res.Header.Get("Content-Range") != tt.wantRange ||
			(tt.wantStatus == 206 && body != tt.wantBody) {
			t.Errorf("Range %s: %d %q Content-Range %q, want %d %q %q",
				tt.rng, res.StatusCode, body, res.Header.Get("Content-Range"), tt.wantStatus, tt.wantBody, tt.wantRange)
		}
	}
	if got := o.count(); got != 1 {
		t.Errorf("origin requests = %d, want 1", got)
	}
	lines := p.logLines(t)
	if len(lines) != 4 || !strings.Contains(lines[1], " TCP_MEM_HIT/206 ") || !strings.Contains(lines[3], " TCP_MEM_HIT/416 ") {
		t.Errorf("access.log:\n%s\nwant TCP_MEM_HIT/206 and TCP_MEM_HIT/416 lines", strings.Join(lines, "\n"))
	}
}
