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
// Responses that set cookies are not stored either. RFC 9111, Section 7.3
// would allow it, but a shared cache that replays one visitor's Set-Cookie
// to the next hands out sessions; cuttle chooses to be safe here.
func Storable(req *http.Request, status int, res http.Header, resCC CacheControl, lifetime time.Duration) bool {
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
	if noStore || resCC.Private {
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
	// A response stale on arrival, or marked no-cache, is worth keeping
	// only when it can be revalidated (RFC 9111, Section 4.3).
	return lifetime > 0 && !resCC.NoCache || hasValidator(res)
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
