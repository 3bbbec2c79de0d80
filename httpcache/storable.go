package httpcache

import (
	"net/http"
	"time"
)

// Storable reports whether a shared cache may store the response to req
// (RFC 9111, Section 3): the request method is GET, the status is a final,
// complete one (not 206 or 304), and neither request nor response says
// no-store, nor the response private or no-cache. A request carrying
// Authorization is stored only when the response allows it with public,
// s-maxage or must-revalidate (Section 3.5). "Vary: *" never matches a later
// request, so it is not stored (Section 4.1). lifetime is the response's
// freshness lifetime: until revalidation lands, a response that is stale on
// arrival, or one marked no-cache, is stored only with a validator, so that
// it can be revalidated (Section 4.3).
//
// The refresh_pattern rp may relax this on the admin's explicit request:
// ignore-no-store, ignore-private, and store-stale (keep a response even
// when it is stale on arrival and has no validator).
//
// Responses that set cookies are not stored. RFC 9111, Section 7.3 would
// allow it, and Squid stores them (dropping Set-Cookie when it serves a
// hit), but the body of such a response is often personal, and a shared
// cache that hands it to the next visitor leaks it; cuttle chooses to be
// safe here (docs: README, "Caching").
func Storable(req *http.Request, status int, res http.Header, resCC CacheControl, lifetime time.Duration, rp *RefreshPattern) bool {
	if rp == nil {
		rp = &defaultRefresh
	}
	if req.Method != http.MethodGet {
		return false
	}
	if status < 200 || status == http.StatusPartialContent || status == http.StatusNotModified {
		return false
	}
	// RFC 9111, Section 5.2.2.3: with must-understand, a status code the
	// cache does not know the caching rules of is never stored, and a known
	// one is stored even when no-store is there as a fallback for caches
	// that do not know must-understand.
	noStore := resCC.NoStore
	if resCC.MustUnderstand {
		if !understoodStatus(status) {
			return false
		}
		noStore = false
	}
	if noStore && !rp.IgnoreNoStore || resCC.Private && !rp.IgnorePrivate {
		return false
	}
	if reqCC := ParseCacheControl(req.Header); reqCC.NoStore {
		return false
	}
	if req.Header.Get("Authorization") != "" && !resCC.Public && resCC.SMaxAge < 0 && !resCC.MustRevalidate {
		return false
	}
	if _, ok := res["Set-Cookie"]; ok {
		return false
	}
	if _, ok := parseVary(res); !ok {
		return false
	}
	// Section 3: without explicit freshness (or a negative_ttl lifetime),
	// only heuristically cacheable statuses and public responses may be
	// stored.
	explicit := resCC.MaxAge >= 0 || resCC.SMaxAge >= 0 || len(res["Expires"]) > 0
	if !explicit && lifetime <= 0 && !resCC.Public && !heuristicStatus(status) {
		return false
	}
	// A response stale on arrival, or marked no-cache, is worth keeping
	// only when it can be revalidated (RFC 9111, Section 4.3).
	return lifetime > 0 && !resCC.NoCache || hasValidator(res) || rp.StoreStale
}

// understoodStatus reports whether cuttle implements the caching rules of a
// final status code (RFC 9110, Section 15): the ones it may store.
func understoodStatus(code int) bool {
	switch code {
	case 200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}
