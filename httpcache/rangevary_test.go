package httpcache

// Adversarial Range and Vary tests (reliability checklist F4, G1-G6, H6):
// the number of ranges and the bytes sent are bounded, invalid or
// overflowing ranges give 416 or 200 and never store metadata, hostile
// Vary fields cause no panic, and the variants of one URL are capped.
// Helpers are prefixed rv.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rvSize is the size of the object the Range tests cut.
const rvSize = 100000

// rvSecret is a stored response field: it must never show in a body.
const rvSecret = "stored-metadata-7f3a"

// rvOrigin serves a cacheable rvSize-byte object with a strong ETag.
func rvOrigin(t *testing.T) *origin {
	body := bigBody(rvSize)
	return hfNewOrigin(t, hfNewClock(), func(_ int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=3600")
		rw.Header().Set("Content-Type", "text/plain")
		rw.Header().Set("ETag", `"v1"`)
		rw.Header().Set("X-Meta", rvSecret)
		http.ServeContent(rw, req, "", time.Time{}, strings.NewReader(body))
	})
}

// TestRangeAdversarial sends hostile Range fields for a stored object, in
// the memory tier and in the disk tier: each is answered with a correct
// 206, a 416 with "Content-Range: bytes */size", or the whole object; the
// bytes sent never exceed the object's size by more than the multipart
// framing, and no body holds stored metadata (nginx CVE-2017-7529).
func TestRangeAdversarial(t *testing.T) {
	t.Parallel()
	body := bigBody(rvSize)
	many := func(n int, spec string) string {
		return "bytes=" + strings.Repeat(spec+",", n-1) + spec
	}
	tests := []struct {
		name       string
		rng        string
		status     int    // 200, 206 or 416
		want       string // the body of a single-part 206 ("" for others)
		multiParts int    // the parts of a multipart 206
	}{
		{"G1 1000 single bytes", many(1000, "0-0"), 200, "", 0},
		{"G1 1000 distinct ranges", "bytes=" + rvRanges(1000), 200, "", 0},
		{"G1 16 whole overlapping", many(16, "0-"), 200, "", 0},
		{"G1 16 overlapping halves", many(16, "0-60000"), 200, "", 0},
		{"G1 16 suffixes", many(16, "-99999"), 200, "", 0},
		{"G1 16 small ranges", "bytes=" + rvRanges(16), 206, "", 16},
		{"G1 17 small ranges", "bytes=" + rvRanges(17), 200, "", 0},
		{"G2 beyond the end", "bytes=999999999-", 416, "", 0},
		{"G2 at the end", "bytes=100000-", 416, "", 0},
		{"G2 last byte", "bytes=99999-", 206, body[99999:], 0},
		{"G2 suffix of zero", "bytes=-0", 416, "", 0},
		{"G3 min int64 suffix", "bytes=-9223372036854775808", 200, "", 0},
		{"G3 max int64 end", "bytes=0-9223372036854775807", 200, "", 0},
		{"G3 beyond uint64", "bytes=0-18446744073709551616", 200, "", 0},
		{"G3 nginx CVE-2017-7529", "bytes=-100000,-9223372036854775808+100000", 200, "", 0},
		{"G3 nginx with valid numbers", "bytes=-100000,-999999999999999999", 200, "", 0},
		{"G3 18-digit start", "bytes=999999999999999999-", 416, "", 0},
		{"G3 18-digit suffix", "bytes=-999999999999999999", 206, body, 0},
		{"G3 end before start", "bytes=5-4", 200, "", 0},
		{"G3 negative", "bytes=-5-10", 200, "", 0},
		{"G3 sign", "bytes=+1-2", 200, "", 0},
		{"G3 hex", "bytes=0x1-0x2", 200, "", 0},
		{"G3 other unit", "items=0-1", 200, "", 0},
		{"G3 empty set", "bytes=", 200, "", 0},
		{"G3 only commas", "bytes=,,,", 200, "", 0},
		{"G3 unit in upper case", "BYTES=0-1", 206, body[:2], 0},
		{"G3 spaces", "bytes= 0-1 , 4-5", 206, "", 2},
		{"G6 two ranges", "bytes=0-9,99990-", 206, "", 2},
	}
	for _, disk := range []bool{false, true} {
		t.Run(fmt.Sprintf("disk=%v", disk), func(t *testing.T) {
			t.Parallel()
			o := rvOrigin(t)
			var p *hfProxy
			if disk {
				p, _ = diskProxy(t, o, hfNewClock())
			} else {
				p = hfNewProxy(t, o, hfNewClock(), nil, nil)
			}
			res, got, _ := p.do(t, get("/obj"))
			hfCheck(t, "fill", res, got, 200, body)
			for _, tt := range tests {
				res, got, n := p.do(t, get("/obj", "Range: "+tt.rng+"\r\n"))
				what := fmt.Sprintf("%s (%.40q)", tt.name, tt.rng)
				if res.StatusCode != tt.status {
					t.Errorf("%s: status %d, want %d", what, res.StatusCode, tt.status)
					continue
				}
				if n > rvSize+16<<10 {
					t.Errorf("%s: %d bytes sent for a %d-byte object", what, n, rvSize)
				}
				if strings.Contains(got, rvSecret) || strings.Contains(got, "www.example.com") {
					t.Errorf("%s: the body shows stored metadata", what)
				}
				if res.Header.Get("X-Cache") != "HIT from accel-test.local" {
					t.Errorf("%s: X-Cache %q, want a hit", what, res.Header.Get("X-Cache"))
				}
				switch {
				case tt.status == 200 && got != body:
					t.Errorf("%s: 200 with a %d-byte body, want the whole object", what, len(got))
				case tt.status == 416:
					if cr := res.Header.Get("Content-Range"); cr != "bytes */"+strconv.Itoa(rvSize) {
						t.Errorf("%s: 416 with Content-Range %q", what, cr)
					}
				case tt.status == 206 && tt.multiParts == 0:
					if got != tt.want {
						t.Errorf("%s: 206 with %d bytes, want %d", what, len(got), len(tt.want))
					}
				case tt.status == 206:
					if parts := rvParts(t, what, res, got, body); parts != tt.multiParts {
						t.Errorf("%s: %d parts, want %d", what, parts, tt.multiParts)
					}
				}
			}
		})
	}
}

// rvRanges returns n disjoint ranges of 2 bytes.
func rvRanges(n int) string {
	rs := make([]string, n)
	for i := range rs {
		rs[i] = fmt.Sprintf("%d-%d", 10*i, 10*i+1)
	}
	return strings.Join(rs, ",")
}

// rvParts checks a multipart/byteranges body against the object: every
// part's Content-Range names its exact bytes. It returns the parts.
func rvParts(t *testing.T, what string, res *http.Response, got, body string) int {
	t.Helper()
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
		t.Fatalf("%s: Content-Type %q", what, res.Header.Get("Content-Type"))
	}
	if strings.Contains(body, params["boundary"]) {
		t.Errorf("%s: the boundary occurs in the object", what)
	}
	mr := multipart.NewReader(strings.NewReader(got), params["boundary"])
	n := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("%s: part %d: %v", what, n, err)
		}
		n++
		b, _ := io.ReadAll(part)
		var first, last, size int
		if _, err := fmt.Sscanf(part.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); err != nil ||
			size != len(body) || string(b) != body[first:last+1] {
			t.Errorf("%s: part %d: Content-Range %q with %d bytes", what, n, part.Header.Get("Content-Range"), len(b))
		}
	}
}

// TestMultipartBoundaryUnique is G6: two multi-range answers for the same
// stored object use different boundaries.
func TestMultipartBoundaryUnique(t *testing.T) {
	t.Parallel()
	o := rvOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, nil)
	p.do(t, get("/obj"))
	seen := map[string]bool{}
	for range 2 {
		res, _, _ := p.do(t, get("/obj", "Range: bytes=0-1,5-6\r\n"))
		_, params, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
		if b := params["boundary"]; b == "" || seen[b] {
			t.Errorf("G6 boundary %q: empty or reused", b)
		}
		seen[params["boundary"]] = true
	}
}

// TestIfRange is G5: If-Range with a weak, mismatched or date validator
// gets the whole object; only the stored strong ETag gets the range
// (RFC 9110, Section 13.1.5).
func TestIfRange(t *testing.T) {
	t.Parallel()
	o := rvOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, nil)
	p.do(t, get("/obj"))
	tests := []struct {
		name, ifRange string
		status        int
	}{
		{"G5 strong match", `"v1"`, 206},
		{"G5 weak", `W/"v1"`, 200},
		{"G5 mismatch", `"v2"`, 200},
		{"G5 date without Last-Modified", "Wed, 25 Nov 2026 17:27:27 GMT", 200},
		{"G5 junk", "junk", 200},
	}
	for _, tt := range tests {
		res, body, _ := p.do(t, get("/obj", "Range: bytes=0-1\r\nIf-Range: "+tt.ifRange+"\r\n"))
		if res.StatusCode != tt.status || tt.status == 200 && len(body) != rvSize {
			t.Errorf("%s: %d with %d bytes, want %d", tt.name, res.StatusCode, len(body), tt.status)
		}
	}
}

// TestRangeMissNotAmplified is G4 (RangeAmp SBR): with the default
// range_offset_limit 0, a one-byte Range miss of a large object asks the
// origin for that byte only.
func TestRangeMissNotAmplified(t *testing.T) {
	t.Parallel()
	o := rvOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, nil)
	res, body, _ := p.do(t, get("/big", "Range: bytes=5-5\r\n"))
	hfCheck(t, "G4 one byte", res, body, 206, bigBody(rvSize)[5:6])
	if got := hfRequest(o, 0).Header.Get("Range"); got != "bytes=5-5" {
		t.Errorf("G4: origin asked for Range %q, want bytes=5-5", got)
	}
}

// TestVaryAdversarial is F4 (SQUID-2021:2, CVE-2016-2569/3948): hostile
// Vary fields from the origin cause no panic, the client gets the
// response, and what cannot be matched is not stored.
func TestVaryAdversarial(t *testing.T) {
	t.Parallel()
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("X-H%d", i)
	}
	longName := strings.Repeat("A", 64<<10)
	var longList bytes.Buffer
	for i := 0; longList.Len() < 64<<10; i++ {
		fmt.Fprintf(&longList, "X-%d, ", i%8)
	}
	tests := []struct {
		name   string
		vary   []string
		stored bool
	}{
		{"F4 Other colon", []string{"Other:"}, false},
		{"F4 star", []string{"*"}, false},
		{"F4 star in a list", []string{"Accept-Language, *"}, false},
		{"F4 star in a second line", []string{"Accept-Language", "*"}, false},
		{"F4 1000 names", []string{strings.Join(names, ", ")}, false},
		{"F4 1000 lines", names, false},
		{"F4 64 KiB name", []string{longName}, false},
		{"F4 64 KiB list of few names", []string{longList.String()}, true},
		{"F4 empty members", []string{", ,Accept-Language,,"}, true},
		{"F4 quoted", []string{`"Accept"`}, false},
		{"F4 empty", []string{""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := hfNewOrigin(t, hfNewClock(), func(n int, rw http.ResponseWriter, _ *http.Request) {
				rw.Header()["Vary"] = tt.vary
				rw.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprintf(rw, "response %d", n)
			})
			// A 64 KiB Vary is over reply_header_max_size's default (a
			// 502, F6 in originstrict_test.go): raise it to reach the Vary code.
			p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.ReplyHeaderMaxSize = 1 << 20 })
			res, body, _ := p.do(t, get("/v", "Accept-Language: da\r\n"))
			hfCheck(t, "first", res, body, 200, "response 1")
			res, body, _ = p.do(t, get("/v", "Accept-Language: da\r\n"))
			if stored := body == "response 1"; stored != tt.stored || res.StatusCode != 200 {
				t.Errorf("second: %d %q: stored %v, want %v", res.StatusCode, body, stored, tt.stored)
			}
		})
	}
}

// TestVaryExplosion is H6: distinct Accept-Language values under
// "Vary: Accept-Language" leave at most DefaultMaxVariants variants for the
// URL, and the heap does not grow with the number of values. The handler
// is called in process with an origin stub, to send many requests fast.
// Not parallel: it measures the heap, which other tests would share.
func TestVaryExplosion(t *testing.T) {
	n := 100000
	if testing.Short() || rvRace {
		n = 10000
	}
	stub := rvTransport(func(req *http.Request) (*http.Response, error) {
		body := "lang=" + req.Header.Get("Accept-Language")
		return &http.Response{
			StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: req,
			Header: http.Header{"Cache-Control": {"max-age=3600"}, "Vary": {"Accept-Language"},
				"Content-Length": {strconv.Itoa(len(body))}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		}, nil
	})
	p := hfNewProxy(t, nil, hfNewClock(), nil, func(opts *Options) {
		opts.Peers = []Peer{{Name: "stub", Host: "127.0.0.1", Port: 9}}
		opts.Transport = stub
		opts.Log = nil
	})
	port := p.h.Port(Port{Vhost: true, Scheme: "http", ListenPort: 3128})
	send := func(lang string) *rvRecorder {
		req, _ := http.NewRequest(http.MethodGet, "/x", nil)
		req.Host, req.RequestURI, req.RemoteAddr = "www.example.com", "/x", "192.0.2.1:1234"
		req.Header.Set("Accept-Language", lang)
		rw := &rvRecorder{h: http.Header{}}
		port.ServeHTTP(rw, req)
		return rw
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for i := range 1000 { // warm up: the store and pools at their working size
		send("warm-" + strconv.Itoa(i))
	}
	p.mem.Wait()
	before := heap()
	start := time.Now()
	for i := range n {
		rw := send("l" + strconv.Itoa(i))
		if rw.status != 200 || rw.body.String() != "lang=l"+strconv.Itoa(i) {
			t.Fatalf("request %d: %d %q", i, rw.status, rw.body.String())
		}
	}
	elapsed := time.Since(start)
	p.mem.Wait()
	after := heap()
	obj, err := p.h.opts.Store.Get(context.Background(), "http://www.example.com/x")
	if err != nil {
		t.Fatalf("H6: no variant index: %v", err)
	}
	idx, err := decodeVariantIndex(&obj.Meta)
	obj.Body.Close()
	if err != nil || len(idx.keys) > DefaultMaxVariants {
		t.Fatalf("H6: variant index %v, %v: want at most %d variants", idx, err, DefaultMaxVariants)
	}
	// The newest variant is still served from the cache.
	if rw := send("l" + strconv.Itoa(n-1)); rw.h.Get("X-Cache") != "HIT from accel-test.local" {
		t.Errorf("H6: newest variant not a hit: X-Cache %q", rw.h.Get("X-Cache"))
	}
	growth := int64(after) - int64(before)
	t.Logf("H6: %d distinct Accept-Language values in %v (%.0f/s): %d variants kept, heap %d -> %d KiB (%+d KiB)",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), len(idx.keys), before>>10, after>>10, growth>>10)
	if growth > 32<<20 {
		t.Errorf("H6: heap grew by %d MiB over %d variants, want it bounded by the store", growth>>20, n)
	}
}

// rvRecorder is a minimal http.ResponseWriter for in-process requests.
type rvRecorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *rvRecorder) Header() http.Header { return r.h }
func (r *rvRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *rvRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(p)
}

// rvTransport is an http.RoundTripper made of a function: an origin
// without a network.
type rvTransport func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f rvTransport) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
