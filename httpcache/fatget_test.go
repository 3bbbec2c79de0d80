package httpcache

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// TestFatGETBypassesCache is C7 (and A13): a GET or HEAD with a body is
// forwarded with its body, and neither answered from nor stored in the
// cache, since the key does not hold the body.
func TestFatGETBypassesCache(t *testing.T) {
	t.Parallel()
	o := hfNewOrigin(t, hfNewClock(), func(n int, rw http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		rw.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(rw, "n=%d body=%q", n, b)
	})
	p := hfNewProxy(t, o, hfNewClock(), nil, nil)
	steps := []struct {
		name, raw, want, result string
	}{
		{"C7 fat GET is not stored", get("/fat", "Content-Length: 5\r\n") + "hello", `n=1 body="hello"`, "TCP_MISS/200"},
		{"C7 clean GET misses", get("/fat"), `n=2 body=""`, "TCP_MISS/200"},
		{"C7 clean GET hits", get("/fat"), `n=2 body=""`, "TCP_MEM_HIT/200"},
		{"C7 fat GET is not answered from the cache", get("/fat", "Content-Length: 3\r\n") + "abc", `n=3 body="abc"`, "TCP_MISS/200"},
		{"C7 chunked fat GET", get("/fat", "Transfer-Encoding: chunked\r\n") + "3\r\nxyz\r\n0\r\n\r\n", `n=4 body="xyz"`, "TCP_MISS/200"},
	}
	var want []string
	for _, s := range steps {
		res, body, _ := p.do(t, s.raw)
		hfCheck(t, s.name, res, body, 200, s.want)
		want = append(want, s.result)
	}
	hfWantResults(t, p, want...)
}

// TestHeadThenGet is C8: a HEAD that misses stores nothing, so the GET
// after it gets the whole body; a HEAD after the GET is a hit without one.
func TestHeadThenGet(t *testing.T) {
	t.Parallel()
	o := hfNewOrigin(t, hfNewClock(), hfStatic("max-age=60", "the body"))
	for _, cf := range []bool{false, true} {
		t.Run(fmt.Sprintf("C8 collapsed_forwarding=%v", cf), func(t *testing.T) {
			p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.CollapsedForwarding = cf })
			path := fmt.Sprintf("/head-%v", cf)
			res, body, _ := p.do(t, "HEAD "+path+" HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
			hfCheck(t, "HEAD", res, body, 200, "")
			res, body, _ = p.do(t, get(path))
			hfCheck(t, "GET after HEAD", res, body, 200, "the body", "Content-Length", "8")
			res, body, _ = p.do(t, "HEAD "+path+" HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
			hfCheck(t, "HEAD after GET", res, body, 200, "", "Content-Length", "8")
			res, body, _ = p.do(t, get(path))
			hfCheck(t, "GET again", res, body, 200, "the body")
			hfWantResults(t, p, "TCP_MISS/200", "TCP_MISS/200", "TCP_MEM_HIT/200", "TCP_MEM_HIT/200")
		})
	}
}
