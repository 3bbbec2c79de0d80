package httpcache

// Adversarial privacy tests (reliability checklist group D): a response
// to a request with credentials, or marked private or no-store, or setting
// a cookie, is never served to another client, also under collapsed
// forwarding, stale-if-error and Range; path-confusion URLs never make a
// private page cacheable; error pages and the access log never echo
// credentials. Each case is named by its checklist id.

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// hpUser is an origin that answers each request with a body naming the
// client's credentials and the request's number, with the given response
// fields, so that a body served to the wrong client shows.
func hpUser(fields ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, rw http.ResponseWriter, req *http.Request) {
		for i := 0; i+1 < len(fields); i += 2 {
			rw.Header().Add(fields[i], fields[i+1])
		}
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(rw, "n=%d user=%s cookie=%s", n, req.Header.Get("X-User"), req.Header.Get("Cookie"))
	}
}

// TestPrivacyNotShared: a response a first client got is stored (and so
// served to a second client) only when RFC 9111 allows it.
func TestPrivacyNotShared(t *testing.T) {
	t.Parallel()
	auth := "Authorization: Basic dXNlcjpzZWNyZXQ=\r\nX-User: alice\r\n"
	cookie := "Cookie: session=alice\r\nX-User: alice\r\n"
	tests := []struct {
		name   string
		fields []string // the origin's response fields
		first  string   // the first client's extra request fields
		second string   // the second client's
		shared bool     // whether the second client gets the first's response
	}{
		{"D1 Authorization", []string{"Cache-Control", "max-age=60"}, auth, "", false},
		{"D1 Authorization public", []string{"Cache-Control", "public, max-age=60"}, auth, "", true},
		{"D1 Authorization s-maxage", []string{"Cache-Control", "s-maxage=60"}, auth, "", true},
		{"D1 Authorization must-revalidate", []string{"Cache-Control", "max-age=60, must-revalidate"}, auth, "", true},
		{"D1 Authorization private", []string{"Cache-Control", "public, private, max-age=60"}, auth, "", false},
		{"D1 Cookie alone does not forbid storing", []string{"Cache-Control", "max-age=60"}, cookie, "", true},
		{"D1 Set-Cookie", []string{"Cache-Control", "max-age=60", "Set-Cookie", "session=alice"}, cookie, "", false},
		{"D1 Set-Cookie public", []string{"Cache-Control", "public, max-age=60", "Set-Cookie", "id=1"}, "", "", false},
		{"D2 private", []string{"Cache-Control", "private, max-age=60"}, "", "", false},
		{"D2 no-store", []string{"Cache-Control", "no-store, max-age=60"}, "", "", false},
		{"D2 request no-store", []string{"Cache-Control", "max-age=60"}, "Cache-Control: no-store\r\n", "", false},
		{"D4 Vary Cookie", []string{"Cache-Control", "max-age=60", "Vary", "Cookie"}, cookie, "Cookie: session=bob\r\n", false},
		{"D4 Vary Cookie none", []string{"Cache-Control", "max-age=60", "Vary", "Cookie"}, cookie, "", false},
		{"D4 Vary Cookie same", []string{"Cache-Control", "max-age=60", "Vary", "Cookie"}, cookie, cookie, true},
		{"D4 Vary Authorization", []string{"Cache-Control", "public, max-age=60", "Vary", "Authorization"}, auth,
			"Authorization: Basic Ym9iOnNlY3JldA==\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := hfNewOrigin(t, hfNewClock(), hpUser(tt.fields...))
			p := hfNewProxy(t, o, hfNewClock(), nil, nil)
			res, first, _ := p.do(t, get("/d", tt.first))
			hfCheck(t, "first client", res, first, 200, "*")
			res, second, _ := p.do(t, get("/d", tt.second))
			hfCheck(t, "second client", res, second, 200, "*")
			if got := second == first; got != tt.shared {
				t.Errorf("second client got %q after the first got %q: shared %v, want %v", second, first, got, tt.shared)
			}
			if _, ok := res.Header["Set-Cookie"]; ok && tt.shared {
				t.Errorf("a shared response carries Set-Cookie %q", res.Header["Set-Cookie"])
			}
		})
	}
}

// TestPrivacyCollapsed is D2 under collapsed forwarding: with 3 clients
// collapsed on one miss, a response that may not be shared goes to its
// initiator only; each waiter fetches its own. Not parallel: it counts
// goroutines.
func TestPrivacyCollapsed(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
	}{
		{"D2 private", []string{"Cache-Control", "private, max-age=60"}},
		{"D2 no-store", []string{"Cache-Control", "no-store"}},
		{"D2 Set-Cookie", []string{"Cache-Control", "max-age=60", "Set-Cookie", "session=first"}},
		{"D2 Vary Cookie", []string{"Cache-Control", "max-age=60", "Vary", "Cookie, X-Client"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := hfNewClock()
			wait, release := hfGate()
			o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
				if n == 1 {
					wait()
				}
				for i := 0; i+1 < len(tt.fields); i += 2 {
					rw.Header().Set(tt.fields[i], tt.fields[i+1])
				}
				fmt.Fprintf(rw, "response %d for client %s", n, req.Header.Get("X-Client"))
			})
			p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.CollapsedForwarding = true })
			const n = 3
			replies := hfCollapse(t, p, o, release, n, "/d2")
			hfWantOrigin(t, o, n)
			for i, r := range replies {
				if r.res.StatusCode != 200 || !strings.HasSuffix(r.body, fmt.Sprintf(" for client %d", i)) {
					t.Errorf("client %d: %d %q, want its own response", i, r.res.StatusCode, r.body)
				}
			}
			got := hfCount(hfResults(t, p))
			if got["TCP_MISS/200"] != 1 || got["TCP_CF_MISS/200"] != n-1 {
				t.Errorf("access.log results = %v, want 1 TCP_MISS/200 and %d TCP_CF_MISS/200", got, n-1)
			}
		})
	}
}

// TestPathConfusion is D3 (web cache deception): with a refresh_pattern
// that makes every .css URL cacheable for a day, ignoring Expires and
// reloads, a private page reached through a .css-looking URL is still never
// stored when it says private or no-store or sets a cookie. Only the
// explicit ignore-private / ignore-no-store options store such pages.
func TestPathConfusion(t *testing.T) {
	t.Parallel()
	css := RefreshPattern{Regexp: regexp.MustCompile(`\.css$`), Min: 24 * time.Hour, Percent: 100, Max: 7 * 24 * time.Hour,
		OverrideExpire: true, OverrideLastmod: true, IgnoreReload: true, StoreStale: true}
	paths := []string{"/account.php/x.css", "/account;x.css", "/account%2fx.css", "/account%23.css",
		"/account%3f.css", "/static/..%2faccount.css", "/account.php/.css"}
	tests := []struct {
		name   string
		fields []string
		rp     func(RefreshPattern) RefreshPattern
		stored bool
	}{
		{"D3 private", []string{"Cache-Control", "private"}, nil, false},
		{"D3 private max-age", []string{"Cache-Control", "private, max-age=600"}, nil, false},
		{"D3 no-store", []string{"Cache-Control", "no-store"}, nil, false},
		{"D3 Set-Cookie", []string{"Set-Cookie", "session=alice"}, nil, false},
		{"D3 Set-Cookie Expires", []string{"Set-Cookie", "session=alice", "Expires", "Thu, 01 Jan 1970 00:00:00 GMT"}, nil, false},
		{"D3 Set-Cookie with ignore-private", []string{"Set-Cookie", "session=alice"},
			func(rp RefreshPattern) RefreshPattern { rp.IgnorePrivate, rp.IgnoreNoStore = true, true; return rp }, false},
		{"D3 private with explicit ignore-private", []string{"Cache-Control", "private"},
			func(rp RefreshPattern) RefreshPattern { rp.IgnorePrivate = true; return rp }, true},
		{"D3 no-store with explicit ignore-no-store", []string{"Cache-Control", "no-store"},
			func(rp RefreshPattern) RefreshPattern { rp.IgnoreNoStore = true; return rp }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := hfNewOrigin(t, hfNewClock(), hpUser(tt.fields...))
			rp := css
			if tt.rp != nil {
				rp = tt.rp(rp)
			}
			p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.RefreshPatterns = []RefreshPattern{rp} })
			for _, path := range paths {
				_, first, _ := p.do(t, get(path, "Cookie: session=alice\r\nX-User: alice\r\n"))
				res, second, _ := p.do(t, get(path))
				if shared := second == first; shared != tt.stored {
					t.Errorf("%s: second client got %q after the first got %q: shared %v, want %v", path, second, first, shared, tt.stored)
				}
				if _, ok := res.Header["Set-Cookie"]; ok && second == first {
					t.Errorf("%s: a shared response carries Set-Cookie", path)
				}
			}
		})
	}
}

// TestPrivateNeverStaleOnError is D5: a private response stored on the
// admin's word (ignore-private) is not served stale when the origin fails;
// a public one is (the control).
func TestPrivateNeverStaleOnError(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"private, max-age=10, stale-if-error=3600", "max-age=10, stale-if-error=3600"} {
		t.Run("D5 "+cc, func(t *testing.T) {
			t.Parallel()
			c := hfNewClock()
			o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, _ *http.Request) {
				if n > 1 {
					rw.WriteHeader(http.StatusInternalServerError)
					return
				}
				rw.Header().Set("Cache-Control", cc)
				rw.Header().Set("ETag", `"v1"`)
				fmt.Fprint(rw, "alice's page")
			})
			rp := RefreshPattern{Regexp: regexp.MustCompile(`.`), IgnorePrivate: true}
			p := hfNewProxy(t, o, c, nil, func(opts *Options) { opts.RefreshPatterns = []RefreshPattern{rp} })
			p.do(t, get("/d5"))
			c.advance(time.Minute)
			res, body, _ := p.do(t, get("/d5"))
			wantStatus, wantBody := 200, "alice's page"
			if strings.HasPrefix(cc, "private") {
				wantStatus, wantBody = 500, ""
			}
			hfCheck(t, "after the origin fails", res, body, wantStatus, wantBody)
		})
	}
}

// TestRangeOfPrivateNotStored is D6: a Range request for a private object
// stores nothing, whether the range or (range_offset_limit) the whole
// object is fetched.
func TestRangeOfPrivateNotStored(t *testing.T) {
	t.Parallel()
	for _, limit := range []int64{0, -1} {
		t.Run(fmt.Sprintf("D6 range_offset_limit=%d", limit), func(t *testing.T) {
			t.Parallel()
			o := hfNewOrigin(t, hfNewClock(), func(n int, rw http.ResponseWriter, req *http.Request) {
				rw.Header().Set("Cache-Control", "private, max-age=60")
				http.ServeContent(rw, req, "", time.Time{}, strings.NewReader(fmt.Sprintf("private body %d of alice", n)))
			})
			p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.RangeOffsetLimit = limit })
			res, body, _ := p.do(t, get("/d6", "Range: bytes=0-11\r\n"))
			if res.StatusCode != 206 && res.StatusCode != 200 {
				t.Fatalf("range request: %d %q", res.StatusCode, body)
			}
			res, body, _ = p.do(t, get("/d6"))
			hfCheck(t, "second client", res, body, 200, "private body 2 of alice")
			res, body, _ = p.do(t, get("/d6", "Range: bytes=0-11\r\n"))
			if res.Header.Get("X-Cache") != "MISS from accel-test.local" {
				t.Errorf("range request after: X-Cache %q, want a miss (%q)", res.Header.Get("X-Cache"), body)
			}
			hfWantOrigin(t, o, 3)
		})
	}
}

// TestNoCredentialsEchoed is D7 (SQUID-2025:2): neither error pages nor the
// access log repeat the client's credentials: URL userinfo, Authorization,
// Cookie.
func TestNoCredentialsEchoed(t *testing.T) {
	t.Parallel()
	secrets := []string{"s3cret", "dXNlcjpzM2NyZXQ=", "c00kie"}
	creds := "Authorization: Basic dXNlcjpzM2NyZXQ=\r\nCookie: session=c00kie\r\nProxy-Authorization: Basic dXNlcjpzM2NyZXQ=\r\n"
	tests := []struct {
		name string
		set  func(*Options)
		raw  string
	}{
		{"D7 cannot forward", nil, "GET http://user:s3cret@www.example.com/x HTTP/1.1\r\nHost: www.example.com\r\n" + creds + "\r\n"},
		{"D7 denied", func(o *Options) { o.Access = nil }, "GET http://user:s3cret@www.example.com/x HTTP/1.1\r\nHost: x\r\n" + creds + "\r\n"},
		{"D7 invalid URL", nil, "GET /x HTTP/1.1\r\nHost: user:s3cret@www.example.com\r\n" + creds + "\r\n"},
		{"D7 only-if-cached", nil, get("/x", creds, "Cache-Control: only-if-cached\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := hfNewProxy(t, nil, hfNewClock(), nil, tt.set)
			res, body, _ := p.do(t, tt.raw)
			if res.StatusCode < 400 {
				t.Fatalf("status %d, want an error page", res.StatusCode)
			}
			var hdr strings.Builder
			res.Header.Write(&hdr)
			log := strings.Join(p.logLines(t), "\n")
			for _, s := range secrets {
				for what, text := range map[string]string{"error page": body, "response header": hdr.String(), "access.log": log} {
					if strings.Contains(text, s) {
						t.Errorf("%s contains the credential %q:\n%s", what, s, text)
					}
				}
			}
		})
	}
}

// TestRevalidationCookieNotStored is D1 for revalidation: a 304 that sets
// a cookie refreshes the stored response, and the client that revalidated
// gets the cookie, but later hits do not.
func TestRevalidationCookieNotStored(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, func(n int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=10")
		rw.Header().Set("ETag", `"v1"`)
		if req.Header.Get("If-None-Match") == `"v1"` {
			rw.Header().Set("Set-Cookie", fmt.Sprintf("session=%d", n))
			rw.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(rw, "page")
	})
	p := hfNewProxy(t, o, c, nil, nil)
	p.do(t, get("/d1"))
	c.advance(time.Minute)
	res, body, _ := p.do(t, get("/d1"))
	hfCheck(t, "revalidated", res, body, 200, "page", "Set-Cookie", "session=2")
	res, body, _ = p.do(t, get("/d1"))
	hfCheck(t, "hit after", res, body, 200, "page", "Set-Cookie", "", "X-Cache", "HIT from accel-test.local")
	hfWantResults(t, p, "TCP_MISS/200", "TCP_REFRESH_UNMODIFIED/200", "TCP_MEM_HIT/200")
}
