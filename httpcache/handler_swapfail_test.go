package httpcache

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"cuttle/store"
)

// TestSwapFailMiss checks Squid's TCP_SWAPFAIL_MISS: a stored object whose
// metadata cannot be decoded is never served; it is removed, fetched again
// and replaced.
func TestSwapFailMiss(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, hfStatic("max-age=60", "fresh body\n"))
	p := hfNewProxy(t, o, c, nil, nil)
	const url = "http://www.example.com/obj"
	bad := store.Meta{Header: []byte("cuttle-cached 1\nnot numbers\n\n"), Size: 7}
	if err := p.mem.Put(context.Background(), url, bad, bytes.NewReader([]byte("garbage"))); err != nil {
		t.Fatal(err)
	}
	p.mem.Wait()

	res, body, _ := p.do(t, get("/obj"))
	if res.StatusCode != http.StatusOK || body != "fresh body\n" {
		t.Fatalf("first request: %d %q, want 200 from the origin", res.StatusCode, body)
	}
	res, body, _ = p.do(t, get("/obj"))
	if res.StatusCode != http.StatusOK || body != "fresh body\n" {
		t.Fatalf("second request: %d %q, want 200 from the cache", res.StatusCode, body)
	}
	hfWantOrigin(t, o, 1)
	hfWantResults(t, p, "TCP_SWAPFAIL_MISS/200", "TCP_MEM_HIT/200")
}
