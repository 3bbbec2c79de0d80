package httpcache

import (
	"net/http"
	"testing"
	"time"
)

// responseCCOf parses one Cache-Control field value as a response's
// directives.
func responseCCOf(s string) CacheControl {
	return ParseCacheControl(http.Header{"Cache-Control": {s}})
}

// absentCC is a CacheControl without any directive.
var absentCC = CacheControl{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}

func TestDecideRequestDirectives(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		header          http.Header
		wantReload      bool
		wantConditional bool
		wantCC          CacheControl
	}{
		{"no directives", http.Header{}, false, false, absentCC},
		{"RFC 9111 5.2.1.4 request no-cache reloads", http.Header{"Cache-Control": {"no-cache"}}, true, false,
			CacheControl{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1, NoCache: true}},
		{"RFC 9111 5.4 Pragma no-cache without Cache-Control reloads", http.Header{"Pragma": {"no-cache"}}, true, false, absentCC},
		{"RFC 9111 5.4 Pragma no-cache is case-insensitive", http.Header{"Pragma": {"No-Cache"}}, true, false, absentCC},
		{"RFC 9111 5.4 Pragma ignored when Cache-Control present", http.Header{"Cache-Control": {"max-age=60"}, "Pragma": {"no-cache"}}, false, false,
			CacheControl{MaxAge: 60 * time.Second, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"RFC 9111 5.4 Pragma without no-cache does not reload", http.Header{"Pragma": {"x-other"}}, false, false, absentCC},
		{"RFC 9110 13.1.2 If-None-Match is conditional", http.Header{"If-None-Match": {`"a"`}}, false, true, absentCC},
		{"RFC 9110 13.1.3 If-Modified-Since is conditional", http.Header{"If-Modified-Since": {"Wed, 25 Nov 2026 12:00:00 GMT"}}, false, true, absentCC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseRequestDirectives(tt.header)
			if got.reload != tt.wantReload || got.conditional != tt.wantConditional || got.cc != tt.wantCC {
				t.Errorf("parseRequestDirectives(%v) = {reload: %v, conditional: %v, cc: %+v}, want {reload: %v, conditional: %v, cc: %+v}",
					tt.header, got.reload, got.conditional, got.cc, tt.wantReload, tt.wantConditional, tt.wantCC)
			}
		})
	}
}

// hitActionName names a hitAction in failure messages.
func hitActionName(a hitAction) string {
	switch a {
	case useStored:
		return "useStored"
	case useStaleRefresh:
		return "useStaleRefresh"
	case revalidate:
		return "revalidate"
	case reload:
		return "reload"
	}
	return "hitAction(?)"
}

func TestDecideHit(t *testing.T) {
	t.Parallel()
	const s = time.Second
	const lifetime = 100 * s
	ims := "Wed, 25 Nov 2026 12:00:00 GMT"
	tests := []struct {
		name string
		req  http.Header
		rp   RefreshPattern
		age  time.Duration
		// res is the stored response's Cache-Control; "-" means decideHit
		// must not need it (it fails the test if it asks).
		res  string
		want hitAction
	}{
		// Client reloads.
		{"RFC 9111 5.2.1.4 request no-cache reloads", http.Header{"Cache-Control": {"no-cache"}}, RefreshPattern{}, 10 * s, "-", reload},
		{"RFC 9111 5.2.1.4 request no-cache reloads a stale object", http.Header{"Cache-Control": {"no-cache"}}, RefreshPattern{}, 500 * s, "-", reload},
		{"RFC 9111 5.4 Pragma no-cache without Cache-Control reloads", http.Header{"Pragma": {"no-cache"}}, RefreshPattern{}, 10 * s, "-", reload},
		{"RFC 9111 5.4 Pragma ignored when Cache-Control present", http.Header{"Cache-Control": {"max-age=3600"}, "Pragma": {"no-cache"}},
			RefreshPattern{}, 10 * s, "-", useStored},
		{"squid.conf refresh_pattern reload-into-ims revalidates", http.Header{"Cache-Control": {"no-cache"}},
			RefreshPattern{ReloadIntoIMS: true}, 10 * s, "-", revalidate},
		{"squid.conf refresh_pattern reload-into-ims revalidates a Pragma reload", http.Header{"Pragma": {"no-cache"}},
			RefreshPattern{ReloadIntoIMS: true}, 10 * s, "-", revalidate},
		{"squid.conf refresh_pattern ignore-reload serves the fresh object", http.Header{"Cache-Control": {"no-cache"}},
			RefreshPattern{IgnoreReload: true}, 10 * s, "-", useStored},
		{"squid.conf refresh_pattern ignore-reload beats reload-into-ims", http.Header{"Pragma": {"no-cache"}},
			RefreshPattern{IgnoreReload: true, ReloadIntoIMS: true}, 10 * s, "-", useStored},
		{"squid.conf refresh_pattern ignore-reload still revalidates a stale object", http.Header{"Cache-Control": {"no-cache"}},
			RefreshPattern{IgnoreReload: true}, 200 * s, "max-age=100", revalidate},

		// Fresh responses (RFC 9111, Section 4.2).
		{"RFC 9111 4.2 fresh response is used", nil, RefreshPattern{}, 10 * s, "-", useStored},
		{"RFC 9111 4.2 age zero is fresh", nil, RefreshPattern{}, 0, "-", useStored},
		{"RFC 9111 4.2 age equal to the lifetime is stale", nil, RefreshPattern{}, lifetime, "max-age=100", revalidate},
		{"RFC 9111 5.2.1.1 request max-age exceeded revalidates", http.Header{"Cache-Control": {"max-age=5"}}, RefreshPattern{}, 10 * s, "-", revalidate},
		{"RFC 9111 5.2.1.1 request max-age equal to the age accepts", http.Header{"Cache-Control": {"max-age=10"}}, RefreshPattern{}, 10 * s, "-", useStored},
		{"RFC 9111 5.2.1.1 request max-age=0 revalidates an aged response", http.Header{"Cache-Control": {"max-age=0"}}, RefreshPattern{}, 1 * s, "-", revalidate},
		{"RFC 9111 5.2.1.3 min-fresh not met revalidates", http.Header{"Cache-Control": {"min-fresh=95"}}, RefreshPattern{}, 10 * s, "-", revalidate},
		{"RFC 9111 5.2.1.3 min-fresh met exactly accepts", http.Header{"Cache-Control": {"min-fresh=90"}}, RefreshPattern{}, 10 * s, "-", useStored},
		{"squid.conf refresh_pattern refresh-ims revalidates for a conditional request (If-Modified-Since)", http.Header{"If-Modified-Since": {ims}},
			RefreshPattern{RefreshIMS: true}, 10 * s, "-", revalidate},
		{"squid.conf refresh_pattern refresh-ims revalidates for a conditional request (If-None-Match)", http.Header{"If-None-Match": {`"v1"`}},
			RefreshPattern{RefreshIMS: true}, 10 * s, "-", revalidate},
		{"squid.conf refresh_pattern refresh-ims leaves an unconditional request to the cache", nil,
			RefreshPattern{RefreshIMS: true}, 10 * s, "-", useStored},
		{"RFC 9111 4.3.2 conditional request on a fresh object without refresh-ims is answered from the cache", http.Header{"If-None-Match": {`"v1"`}},
			RefreshPattern{}, 10 * s, "-", useStored},
		{"squid.conf refresh_pattern refresh-ims on a stale object revalidates", http.Header{"If-None-Match": {`"v1"`}},
			RefreshPattern{RefreshIMS: true}, 200 * s, "max-age=100", revalidate},
		{"RFC 9111 5.2.1.1 request max-age beats refresh-ims", http.Header{"Cache-Control": {"max-age=5"}, "If-None-Match": {`"v1"`}},
			RefreshPattern{RefreshIMS: true}, 10 * s, "-", revalidate},

		// Stale responses.
		{"RFC 9111 4.2.4 stale response is revalidated", nil, RefreshPattern{}, 200 * s, "max-age=100", revalidate},
		{"RFC 9111 5.2.1.2 bare max-stale allows stale", http.Header{"Cache-Control": {"max-stale"}}, RefreshPattern{}, 100000 * s, "max-age=100", useStored},
		{"RFC 9111 5.2.1.2 max-stale allows staleness within it", http.Header{"Cache-Control": {"max-stale=60"}}, RefreshPattern{}, 150 * s, "max-age=100", useStored},
		{"RFC 9111 5.2.1.2 max-stale allows staleness of exactly its value", http.Header{"Cache-Control": {"max-stale=60"}}, RefreshPattern{}, 160 * s, "max-age=100", useStored},
		{"RFC 9111 5.2.1.2 max-stale exceeded revalidates", http.Header{"Cache-Control": {"max-stale=60"}}, RefreshPattern{}, 161 * s, "max-age=100", revalidate},
		{"RFC 9111 5.2.1.2 max-stale=0 does not allow staleness", http.Header{"Cache-Control": {"max-stale=0"}}, RefreshPattern{}, 101 * s, "max-age=100", revalidate},
		{"RFC 9111 5.2.1.1 request max-age bounds max-stale", http.Header{"Cache-Control": {"max-stale, max-age=150"}}, RefreshPattern{}, 200 * s, "max-age=100", revalidate},
		{"RFC 9111 5.2.1.1 request max-age with max-stale accepts a stale response young enough", http.Header{"Cache-Control": {"max-stale, max-age=150"}},
			RefreshPattern{}, 120 * s, "max-age=100", useStored},
		{"RFC 9111 5.2.1.3 min-fresh rules out max-stale", http.Header{"Cache-Control": {"max-stale, min-fresh=10"}}, RefreshPattern{}, 120 * s, "max-age=100", revalidate},
		{"RFC 9111 5.2.2.2 must-revalidate forbids max-stale", http.Header{"Cache-Control": {"max-stale"}}, RefreshPattern{}, 120 * s, "max-age=100, must-revalidate", revalidate},
		{"RFC 9111 5.2.2.8 proxy-revalidate forbids max-stale", http.Header{"Cache-Control": {"max-stale"}}, RefreshPattern{}, 120 * s, "max-age=100, proxy-revalidate", revalidate},
		{"RFC 9111 5.2.2.10 s-maxage forbids max-stale", http.Header{"Cache-Control": {"max-stale"}}, RefreshPattern{}, 120 * s, "s-maxage=100", revalidate},
		{"RFC 9111 5.2.2.4 no-cache forbids max-stale", http.Header{"Cache-Control": {"max-stale"}}, RefreshPattern{}, 120 * s, "max-age=100, no-cache", revalidate},

		// stale-while-revalidate (RFC 5861, Section 3).
		{"RFC 5861 3 stale-while-revalidate window serves stale and refreshes", nil, RefreshPattern{}, 130 * s,
			"max-age=100, stale-while-revalidate=60", useStaleRefresh},
		{"RFC 5861 3 stale-while-revalidate from the end of the lifetime", nil, RefreshPattern{}, lifetime,
			"max-age=100, stale-while-revalidate=60", useStaleRefresh},
		{"RFC 5861 3 outside the stale-while-revalidate window revalidates", nil, RefreshPattern{}, 200 * s,
			"max-age=100, stale-while-revalidate=60", revalidate},
		{"RFC 5861 3 stale-while-revalidate=0 gives no window", nil, RefreshPattern{}, 101 * s,
			"max-age=100, stale-while-revalidate=0", revalidate},
		{"RFC 5861 3 stale-while-revalidate not used when the client sends max-age", http.Header{"Cache-Control": {"max-age=1000"}},
			RefreshPattern{}, 130 * s, "max-age=100, stale-while-revalidate=60", revalidate},
		{"RFC 5861 3 stale-while-revalidate not used when the client sends min-fresh", http.Header{"Cache-Control": {"min-fresh=1"}},
			RefreshPattern{}, 130 * s, "max-age=100, stale-while-revalidate=60", revalidate},
		{"RFC 9111 5.2.1.2 max-stale serves stale without a background refresh", http.Header{"Cache-Control": {"max-stale"}},
			RefreshPattern{}, 130 * s, "max-age=100, stale-while-revalidate=60", useStored},
		{"RFC 9111 5.2.2.2 must-revalidate forbids stale-while-revalidate", nil, RefreshPattern{}, 130 * s,
			"max-age=100, stale-while-revalidate=60, must-revalidate", revalidate},
		{"RFC 9111 5.2.2.8 proxy-revalidate forbids stale-while-revalidate", nil, RefreshPattern{}, 130 * s,
			"max-age=100, stale-while-revalidate=60, proxy-revalidate", revalidate},
		{"RFC 9111 5.2.2.10 s-maxage forbids stale-while-revalidate", nil, RefreshPattern{}, 130 * s,
			"s-maxage=100, stale-while-revalidate=60", revalidate},
		{"RFC 9111 5.2.2.4 no-cache forbids stale-while-revalidate", nil, RefreshPattern{}, 130 * s,
			"max-age=100, stale-while-revalidate=60, no-cache", revalidate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.req
			if h == nil {
				h = http.Header{}
			}
			rd := parseRequestDirectives(h)
			rp := tt.rp
			resCC := func() CacheControl {
				if tt.res == "-" {
					t.Fatalf("decideHit asked for the response's Cache-Control, which it does not need here")
				}
				return responseCCOf(tt.res)
			}
			if got := decideHit(&rd, &rp, tt.age, lifetime, resCC); got != tt.want {
				t.Errorf("decideHit(req %v, rp %+v, age %v, lifetime %v, res %q) = %v, want %v",
					tt.req, tt.rp, tt.age, lifetime, tt.res, hitActionName(got), hitActionName(tt.want))
			}
		})
	}
}

func TestDecideHitFreshDoesNotParseResponse(t *testing.T) {
	t.Parallel()
	// resCC is parsed lazily: a fresh object acceptable to the client never
	// needs the stored response's directives.
	fatal := func() CacheControl {
		t.Fatal("resCC called for a fresh object")
		return CacheControl{}
	}
	for _, req := range []http.Header{
		{},
		{"Cache-Control": {"max-age=60"}},
		{"Cache-Control": {"min-fresh=10"}},
		{"Cache-Control": {"max-stale=10"}},
		{"If-None-Match": {`"v1"`}},
	} {
		rd := parseRequestDirectives(req)
		rp := defaultRefresh
		if got := decideHit(&rd, &rp, 30*time.Second, time.Hour, fatal); got != useStored {
			t.Errorf("decideHit(req %v, fresh) = %v, want useStored", req, hitActionName(got))
		}
	}
}

func TestStaleOnError(t *testing.T) {
	t.Parallel()
	const (
		s    = time.Second
		day  = 24 * time.Hour
		week = 7 * day
	)
	tests := []struct {
		name      string
		res, req  string
		staleness time.Duration
		maxStale  time.Duration
		want      bool
	}{
		{"RFC 5861 4 request stale-if-error beats a longer response stale-if-error", "max-age=10, stale-if-error=100", "stale-if-error=10",
			50 * s, week, false},
		{"RFC 5861 4 request stale-if-error beats a shorter response stale-if-error", "max-age=10, stale-if-error=10", "stale-if-error=100",
			50 * s, week, true},
		{"RFC 5861 4 request stale-if-error allows staleness within it", "max-age=10", "stale-if-error=60", 59 * s, 0, true},
		{"RFC 5861 4 request stale-if-error bounds staleness", "max-age=10", "stale-if-error=60", 61 * s, week, false},
		{"RFC 5861 4 response stale-if-error allows staleness within it", "max-age=10, stale-if-error=60", "", 59 * s, 0, true},
		{"RFC 5861 4 response stale-if-error bounds staleness", "max-age=10, stale-if-error=60", "", 61 * s, week, false},
		{"RFC 5861 4 stale-if-error=0 allows no staleness beyond the lifetime", "max-age=10, stale-if-error=0", "", 1 * s, week, false},
		{"squid.conf max_stale bounds staleness without stale-if-error (allowed)", "max-age=10", "", day, week, true},
		{"squid.conf max_stale bounds staleness without stale-if-error (exceeded)", "max-age=10", "", 8 * day, week, false},
		{"squid.conf max_stale negative means never", "max-age=10", "", 0, -1, false},
		{"squid.conf max_stale negative means never, even one second stale", "max-age=10", "", 1 * s, -s, false},
		{"RFC 9111 5.2.2.2 must-revalidate forbids stale on error", "max-age=10, must-revalidate, stale-if-error=600", "stale-if-error=600",
			1 * s, week, false},
		{"RFC 9111 5.2.2.8 proxy-revalidate forbids stale on error", "max-age=10, proxy-revalidate, stale-if-error=600", "stale-if-error=600",
			1 * s, week, false},
		{"RFC 9111 5.2.2.10 s-maxage forbids stale on error", "s-maxage=10, stale-if-error=600", "stale-if-error=600",
			1 * s, week, false},
		{"RFC 9111 5.2.2.4 no-cache forbids stale on error", "max-age=10, no-cache, stale-if-error=600", "stale-if-error=600",
			1 * s, week, false},
		{"RFC 9111 5.2.2.2 must-revalidate forbids stale on error within max_stale", "max-age=10, must-revalidate", "", 1 * s, week, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := responseCCOf(tt.res)
			req := absentCC
			if tt.req != "" {
				req = ParseCacheControl(http.Header{"Cache-Control": {tt.req}})
			}
			if got := staleOnError(&res, &req, tt.staleness, tt.maxStale); got != tt.want {
				t.Errorf("staleOnError(res %q, req %q, staleness %v, maxStale %v) = %v, want %v",
					tt.res, tt.req, tt.staleness, tt.maxStale, got, tt.want)
			}
		})
	}
}

func TestForbidsStale(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		res  string
		want bool
	}{
		{"RFC 9111 4.2.4 max-age alone allows stale", "max-age=10", false},
		{"RFC 5861 stale-while-revalidate and stale-if-error allow stale", "max-age=10, stale-while-revalidate=5, stale-if-error=5", false},
		{"RFC 9111 5.2.2.2 must-revalidate", "max-age=10, must-revalidate", true},
		{"RFC 9111 5.2.2.8 proxy-revalidate", "max-age=10, proxy-revalidate", true},
		{"RFC 9111 5.2.2.10 s-maxage", "s-maxage=10", true},
		{"RFC 9111 5.2.2.10 s-maxage=0", "s-maxage=0", true},
		{"RFC 9111 5.2.2.4 no-cache", "no-cache", true},
		{"RFC 9111 5.2.2.4 qualified no-cache treated as no-cache", `no-cache="set-cookie"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := responseCCOf(tt.res)
			if got := forbidsStale(&cc); got != tt.want {
				t.Errorf("forbidsStale(%q) = %v, want %v", tt.res, got, tt.want)
			}
		})
	}
}

func TestOriginFailed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   bool
	}{
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusGatewayTimeout, true},
		{http.StatusNotImplemented, false},
		{http.StatusHTTPVersionNotSupported, false},
		{http.StatusNotFound, false},
		{http.StatusTooManyRequests, false},
		{http.StatusOK, false},
		{http.StatusNotModified, false},
	}
	for _, tt := range tests {
		t.Run("RFC 5861 4 status "+http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			if got := originFailed(tt.status); got != tt.want {
				t.Errorf("originFailed(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestParseCacheControlStaleExtensions(t *testing.T) {
	t.Parallel()
	const s = time.Second
	with := func(swr, sie time.Duration) CacheControl {
		cc := absentCC
		cc.StaleWhileRevalidate, cc.StaleIfError = swr, sie
		return cc
	}
	maxAge := func(cc CacheControl, d time.Duration) CacheControl {
		cc.MaxAge = d
		return cc
	}
	tests := []struct {
		name   string
		fields []string
		want   CacheControl
	}{
		{"RFC 5861 3 stale-while-revalidate parsed", []string{"max-age=60, stale-while-revalidate=30"}, maxAge(with(30*s, -1), 60*s)},
		{"RFC 5861 4 stale-if-error parsed", []string{"stale-if-error=86400"}, with(-1, 86400*s)},
		{"RFC 5861 both parsed", []string{"stale-while-revalidate=1, stale-if-error=2"}, with(1*s, 2*s)},
		{"RFC 9111 4.2.1 duplicate stale-while-revalidate keeps the smallest", []string{"stale-while-revalidate=60, stale-while-revalidate=5"}, with(5*s, -1)},
		{"RFC 9111 4.2.1 duplicate stale-if-error across lines keeps the smallest", []string{"stale-if-error=5", "stale-if-error=60"}, with(-1, 5*s)},
		{"RFC 9111 5.2 directive names are case-insensitive", []string{"Stale-While-Revalidate=7, STALE-IF-ERROR=8"}, with(7*s, 8*s)},
		{"RFC 9111 5.2 quoted arguments", []string{`stale-while-revalidate="30", stale-if-error="40"`}, with(30*s, 40*s)},
		{"RFC 9111 1.2.2 delta overflow saturates at 2^31", []string{"stale-while-revalidate=99999999999999999999, stale-if-error=2147483649"},
			with(maxDelta*s, maxDelta*s)},
		{"RFC 9111 1.2.2 2^31 itself is kept", []string{"stale-if-error=2147483648"}, with(-1, maxDelta*s)},
		{"RFC 9111 1.2.2 invalid delta is the most restrictive (zero)", []string{"stale-while-revalidate=abc, stale-if-error=-5"}, with(0, 0)},
		{"RFC 9111 1.2.2 missing argument is zero", []string{"stale-while-revalidate, stale-if-error"}, with(0, 0)},
		{"RFC 9111 5.2 directive inside a quoted string is not parsed", []string{`x-ext="stale-while-revalidate=60", max-age=1`}, maxAge(absentCC, 1*s)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Cache-Control": tt.fields}
			if got := ParseCacheControl(h); got != tt.want {
				t.Errorf("ParseCacheControl(%q) = %+v, want %+v", tt.fields, got, tt.want)
			}
		})
	}
}
