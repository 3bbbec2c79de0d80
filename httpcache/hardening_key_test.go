package httpcache

// Adversarial tests of the cache key (reliability checklist group C): the
// key and the forwarded request always agree, the Host is canonical,
// fragments are never keyed, unkeyed fields that change responses never
// reach the origin, and a GET with a body bypasses the cache. Each case is
// named by its checklist id. Helpers are prefixed hk.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// hkEcho is an origin that reflects the target, Host and the unkeyed
// fields it received, cacheable for a minute.
func hkEcho(_ int, rw http.ResponseWriter, req *http.Request) {
	rw.Header().Set("Cache-Control", "max-age=60")
	rw.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(rw, "target=%s host=%s", req.RequestURI, req.Host)
	for _, k := range unkeyedRequestFields {
		if v := req.Header.Get(k); v != "" {
			fmt.Fprintf(rw, " %s=%s", k, v)
		}
	}
}

// hkNewProxy is hfNewProxy listening with the given port settings.
func hkNewProxy(t *testing.T, o *origin, port Port, set func(*Options)) *hfProxy {
	t.Helper()
	p := hfNewProxy(t, o, hfNewClock(), nil, set)
	srv := httptest.NewServer(p.h.Port(port))
	t.Cleanup(srv.Close)
	pp := *p.proxy
	pp.Server = srv
	return &hfProxy{proxy: &pp, h: p.h}
}

// hkLogURL returns the URL (%ru) of the i-th access.log line.
func hkLogURL(t *testing.T, p *hfProxy, i int) string {
	t.Helper()
	lines := p.logLines(t)
	if i >= len(lines) {
		t.Fatalf("access.log has %d lines, want line %d:\n%s", len(lines), i, strings.Join(lines, "\n"))
	}
	f := strings.Fields(lines[i])
	if len(f) < 7 {
		t.Fatalf("short access.log line %q", lines[i])
	}
	return f[6]
}

var (
	hkVhost   = Port{Vhost: true, DefaultSite: "good.example", Scheme: "http", ListenPort: 3128}
	hkNoVhost = Port{DefaultSite: "good.example", Scheme: "http", ListenPort: 3128}
	hkHTTPS   = Port{Vhost: true, Scheme: "https", ListenPort: 3129}
)

// TestCacheKeyAgreesWithForwarded: for every request-target and Host, the
// origin receives exactly the authority and target the response is keyed
// (and logged) under, and a later clean request for that key is a hit.
// Invalid ones get 400 and reach no origin.
func TestCacheKeyAgreesWithForwarded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		port       Port
		raw        string // request line and fields, without the final CRLF
		wantStatus int
		wantHost   string // Host the origin gets
		wantTarget string // request-target the origin gets
		clean      string // a clean request for the same key: must hit
	}{
		{"C2 absolute-form wins with vhost", hkVhost, "GET http://evil.example/x HTTP/1.1\r\nHost: good.example",
			200, "evil.example", "/x", "GET /x HTTP/1.1\r\nHost: evil.example"},
		{"C2 absolute-form ignored without vhost", hkNoVhost, "GET http://evil.example/x HTTP/1.1\r\nHost: evil.example",
			200, "good.example", "/x", "GET /x HTTP/1.1\r\nHost: other.example"},
		{"C2 absolute-form userinfo dropped", hkVhost, "GET http://user:secret@good.example/u HTTP/1.1\r\nHost: good.example",
			200, "good.example", "/u", "GET /u HTTP/1.1\r\nHost: good.example"},
		{"C2 absolute-form default port", hkVhost, "GET http://Good.Example:80/p HTTP/1.1\r\nHost: x",
			200, "good.example", "/p", "GET /p HTTP/1.1\r\nHost: good.example"},
		{"C3 upper case", hkVhost, "GET /a HTTP/1.1\r\nHost: A.COM",
			200, "a.com", "/a", "GET /a HTTP/1.1\r\nHost: a.com"},
		{"C3 trailing dot", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com.",
			200, "a.com", "/a", "GET /a HTTP/1.1\r\nHost: a.com"},
		{"C3 default port", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com:80",
			200, "a.com", "/a", "GET /a HTTP/1.1\r\nHost: a.com"},
		{"C3 default port with zeros", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com:080",
			200, "a.com", "/a", "GET /a HTTP/1.1\r\nHost: a.com"},
		{"C3 empty port", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com:",
			200, "a.com", "/a", "GET /a HTTP/1.1\r\nHost: a.com"},
		{"C3 other port kept", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com:8080",
			200, "a.com:8080", "/a", "GET /a HTTP/1.1\r\nHost: A.com:08080"},
		{"C3 https default port", hkHTTPS, "GET /a HTTP/1.1\r\nHost: a.com:443",
			200, "a.com", "/a", "GET /a HTTP/1.1\r\nHost: a.com"},
		{"C3 https keeps port 80", hkHTTPS, "GET /a HTTP/1.1\r\nHost: a.com:80",
			200, "a.com:80", "/a", "GET /a HTTP/1.1\r\nHost: a.com:80"},
		{"C3 IPv6 literal", hkVhost, "GET /a HTTP/1.1\r\nHost: [0:0::1]:80",
			200, "[::1]", "/a", "GET /a HTTP/1.1\r\nHost: [::1]"},
		{"C3 punycode", hkVhost, "GET /a HTTP/1.1\r\nHost: XN--bcher-kva.example",
			200, "xn--bcher-kva.example", "/a", "GET /a HTTP/1.1\r\nHost: xn--bcher-kva.example"},
		{"C3 empty Host uses defaultsite", hkVhost, "GET /a HTTP/1.1\r\nHost: ",
			200, "good.example", "/a", "GET /a HTTP/1.1\r\nHost: good.example"},
		{"C3 userinfo", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com@b", 400, "", "", ""},
		{"C3 empty label", hkVhost, "GET /a HTTP/1.1\r\nHost: a..com", 400, "", "", ""},
		{"C3 leading dot", hkVhost, "GET /a HTTP/1.1\r\nHost: .a.com", 400, "", "", ""},
		{"C3 only dots", hkVhost, "GET /a HTTP/1.1\r\nHost: ...", 400, "", "", ""},
		{"C3 port too large", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com:65536", 400, "", "", ""},
		{"C3 port zero", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com:0", 400, "", "", ""},
		{"C3 port not a number", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com:8o", 400, "", "", ""},
		{"C3 two colons", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com:80:80", 400, "", "", ""},
		{"C3 bare IPv6", hkVhost, "GET /a HTTP/1.1\r\nHost: ::1", 400, "", "", ""},
		{"C3 duplicated Host", hkVhost, "GET /a HTTP/1.1\r\nHost: a.com\r\nHost: b.com", 400, "", "", ""},
		{"C3 IDN bytes", hkVhost, "GET /a HTTP/1.1\r\nHost: b\xc3\xbccher.example", 400, "", "", ""},
		{"C3 absolute-form bad port", hkVhost, "GET http://a.com:99999/a HTTP/1.1\r\nHost: a.com", 400, "", "", ""},
		{"C4 encoded slash", hkVhost, "GET /a%2fb HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/a%2fb", "GET /a%2fb HTTP/1.1\r\nHost: a.com"},
		{"C4 dot segments", hkVhost, "GET /a/../b HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/a/../b", "GET /a/../b HTTP/1.1\r\nHost: a.com"},
		{"C4 dot", hkVhost, "GET /./ HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/./", "GET /./ HTTP/1.1\r\nHost: a.com"},
		{"C4 double slash", hkVhost, "GET //a HTTP/1.1\r\nHost: a.com",
			200, "a.com", "//a", "GET //a HTTP/1.1\r\nHost: a.com"},
		{"C4 encoded dots", hkVhost, "GET /%2e%2e/x HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/%2e%2e/x", "GET /%2e%2e/x HTTP/1.1\r\nHost: a.com"},
		{"C4 semicolon", hkVhost, "GET /a;x HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/a;x", "GET /a;x HTTP/1.1\r\nHost: a.com"},
		{"C4 case kept", hkVhost, "GET /A%2Fb HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/A%2Fb", "GET /A%2Fb HTTP/1.1\r\nHost: a.com"},
		{"C4 backslash escaped once", hkVhost, "GET /a\\b HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/a%5Cb", "GET /a%5Cb HTTP/1.1\r\nHost: a.com"},
		{"C4 query kept", hkVhost, "GET /q?b=2&a=1&a=1 HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/q?b=2&a=1&a=1", "GET /q?b=2&a=1&a=1 HTTP/1.1\r\nHost: a.com"},
		{"C5 fragment stripped", hkVhost, "GET /f#frag HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/f", "GET /f HTTP/1.1\r\nHost: a.com"},
		{"C5 fragment after query stripped", hkVhost, "GET /f?x=1#frag HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/f?x=1", "GET /f?x=1 HTTP/1.1\r\nHost: a.com"},
		{"C5 fragment of absolute-form stripped", hkVhost, "GET http://a.com/f#frag HTTP/1.1\r\nHost: a.com",
			200, "a.com", "/f", "GET /f HTTP/1.1\r\nHost: a.com"},
		// net/http refuses a fragment right after the authority itself.
		{"C5 fragment after authority", hkVhost, "GET http://a.com#frag HTTP/1.1\r\nHost: a.com", 400, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := hfNewOrigin(t, hfNewClock(), hkEcho)
			p := hkNewProxy(t, o, tt.port, nil)
			res, body, _ := p.do(t, tt.raw+"\r\n\r\n")
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("%q: status %d, want %d (%q)", tt.raw, res.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus != 200 {
				hfWantOrigin(t, o, 0)
				return
			}
			want := "target=" + tt.wantTarget + " host=" + tt.wantHost
			if body != want {
				t.Errorf("%q: origin saw %q, want %q", tt.raw, body, want)
			}
			// The log strips the query terms (strip_query_terms on).
			target, _, query := strings.Cut(tt.wantTarget, "?")
			if query {
				target += "?"
			}
			if got, want := hkLogURL(t, p, 0), tt.port.Scheme+"://"+tt.wantHost+target; got != want {
				t.Errorf("%q: logged (keyed) URL %q, want %q", tt.raw, got, want)
			}
			res, body2, _ := p.do(t, tt.clean+"\r\n\r\n")
			hfCheck(t, "clean request "+tt.clean, res, body2, 200, body, "X-Cache", "HIT from accel-test.local")
			hfWantOrigin(t, o, 1)
		})
	}
}

// TestAbsoluteFormDoesNotPoisonHost is C2 (G3, CVE-2016-4553) end to end:
// a response fetched for "GET http://evil/x" with "Host: good" is never
// served to a clean request for good's /x, with vhost or without.
func TestAbsoluteFormDoesNotPoisonHost(t *testing.T) {
	t.Parallel()
	for _, port := range []Port{hkVhost, hkNoVhost} {
		t.Run(fmt.Sprintf("C2 vhost=%v", port.Vhost), func(t *testing.T) {
			t.Parallel()
			o := hfNewOrigin(t, hfNewClock(), hkEcho)
			p := hkNewProxy(t, o, port, nil)
			_, evil, _ := p.do(t, "GET http://evil.example/x HTTP/1.1\r\nHost: good.example\r\n\r\n")
			res, body, _ := p.do(t, "GET /x HTTP/1.1\r\nHost: good.example\r\n\r\n")
			if res.StatusCode != 200 || body != "target=/x host=good.example" {
				t.Errorf("clean request after %q: %d %q, want good.example's own page", evil, res.StatusCode, body)
			}
		})
	}
}

func TestCanonicalAuthority(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scheme, in, want string
		ok               bool
	}{
		{"http", "Example.COM", "example.com", true},
		{"http", "example.com...", "example.com", true},
		{"http", "example.com:80", "example.com", true},
		{"http", "example.com:0080", "example.com", true},
		{"https", "example.com:443", "example.com", true},
		{"https", "example.com:80", "example.com:80", true},
		{"http", "example.com:443", "example.com:443", true},
		{"http", "[::FFFF:1.2.3.4]:8080", "[::ffff:1.2.3.4]:8080", true},
		{"http", "[fe80::1%25eth0]", "", false},
		{"http", "[1.2.3.4]", "", false},
		{"http", "[::1", "", false},
		{"http", "[::1]x", "", false},
		{"http", "1.2.3.4:80", "1.2.3.4", true},
		{"http", "a_b.example", "a_b.example", true},
		{"http", "", "", false},
		{"http", ":80", "", false},
		{"http", "a.com:-1", "", false},
		{"http", "a.com:+80", "", false},
		{"http", "a.com:1e3", "", false},
		{"http", "a b", "", false},
		{"http", "a]b", "", false},
	}
	for _, tt := range tests {
		got, ok := canonicalAuthority(tt.scheme, tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("canonicalAuthority(%q, %q) = %q, %v, want %q, %v", tt.scheme, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzCanonicalAuthority: a canonical authority is its own canonical form
// (so a key's authority, sent as Host, keys the same again), and never
// holds a byte that could split a URL, a header or a log line.
func FuzzCanonicalAuthority(f *testing.F) {
	for _, s := range []string{"A.com.:080", "[::1]:443", "a..b", "x:", "1.2.3.4:65535", "a@b"} {
		f.Add("http", s)
		f.Add("https", s)
	}
	f.Fuzz(func(t *testing.T, scheme, in string) {
		out, ok := canonicalAuthority(scheme, in)
		if !ok {
			return
		}
		again, ok := canonicalAuthority(scheme, out)
		if !ok || again != out {
			t.Fatalf("canonicalAuthority(%q, %q) = %q, but that gives %q, %v", scheme, in, out, again, ok)
		}
		if strings.ContainsAny(out, " \t\r\n/?#@\\") || strings.ToLower(out) != out {
			t.Fatalf("canonicalAuthority(%q, %q) = %q", scheme, in, out)
		}
	})
}
