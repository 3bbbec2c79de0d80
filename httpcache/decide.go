package httpcache

import (
	"net/http"
	"strings"
	"time"
)

// hitAction is what a stored response may do for a request.
type hitAction uint8

const (
	// useStored serves the stored response as it is: fresh and acceptable
	// to the client, or stale within the client's max-stale.
	useStored hitAction = iota

	// useStaleRefresh serves the stale stored response at once and
	// refreshes it in the background (RFC 5861, Section 3).
	useStaleRefresh

	// revalidate asks the origin first, conditionally when the stored
	// response has a validator (RFC 9111, Section 4.3.1); the stored copy
	// may still answer when the origin fails (Section 4.2.4).
	revalidate

	// reload fetches the response again without conditions: the client
	// asked for a reload (RFC 9111, Section 5.2.1.4; Squid's
	// TCP_CLIENT_REFRESH_MISS).
	reload
)

// requestDirectives is what a request says about the use of stored
// responses: its Cache-Control (RFC 9111, Section 5.2.1) and Pragma
// (Section 5.4), parsed once.
type requestDirectives struct {
	cc CacheControl

	// reload is no-cache in Cache-Control, or Pragma: no-cache without any
	// Cache-Control field.
	reload bool

	// conditional is true when the request carries If-None-Match or
	// If-Modified-Since.
	conditional bool
}

// parseRequestDirectives reads the request fields that decide the use of
// stored responses.
func parseRequestDirectives(h http.Header) requestDirectives {
	d := requestDirectives{
		cc:          noDirectives,
		conditional: len(h["If-None-Match"]) > 0 || len(h["If-Modified-Since"]) > 0,
	}
	if len(h["Cache-Control"]) > 0 {
		d.cc = ParseCacheControl(h)
		d.reload = d.cc.NoCache
		return d
	}
	for _, p := range h["Pragma"] {
		if strings.Contains(strings.ToLower(p), "no-cache") {
			d.reload = true
		}
	}
	return d
}

// decideHit chooses how a stored response of current age age and
// freshness lifetime lifetime answers a request (RFC 9111, Section 4):
//
//   - a client reload (Section 5.2.1.4) refetches, or revalidates with
//     refresh_pattern reload-into-ims, or is ignored with ignore-reload;
//   - a fresh response is used when the client's max-age and min-fresh
//     accept it (Sections 5.2.1.1 and 5.2.1.3);
//   - a stale one is used when the client's max-stale allows it
//     (Section 5.2.1.2), or served while it is refreshed within the
//     response's stale-while-revalidate (RFC 5861, Section 3), unless the
//     response forbids serving it stale (Sections 5.2.2.2, 5.2.2.8 and
//     5.2.2.10, and no-cache);
//   - everything else is revalidated.
//
// resCC is parsed lazily by the caller only when the answer depends on it,
// so it is passed as a function.
func decideHit(req *requestDirectives, rp *RefreshPattern, age, lifetime time.Duration, resCC func() CacheControl) hitAction {
	if req.reload && !rp.IgnoreReload {
		if rp.ReloadIntoIMS {
			return revalidate
		}
		return reload
	}
	cc := &req.cc
	if age < lifetime {
		switch {
		case cc.MaxAge >= 0 && age > cc.MaxAge:
			return revalidate
		case cc.MinFresh >= 0 && lifetime-age < cc.MinFresh:
			return revalidate
		case rp.RefreshIMS && req.conditional:
			return revalidate
		}
		return useStored
	}
	res := resCC()
	if forbidsStale(&res) {
		return revalidate
	}
	staleness := age - lifetime
	if (cc.MaxStaleAny || cc.MaxStale >= 0 && staleness <= cc.MaxStale) &&
		(cc.MaxAge < 0 || age <= cc.MaxAge) && cc.MinFresh < 0 {
		return useStored
	}
	if res.StaleWhileRevalidate >= 0 && staleness < res.StaleWhileRevalidate &&
		cc.MaxAge < 0 && cc.MinFresh < 0 {
		return useStaleRefresh
	}
	return revalidate
}

// forbidsStale reports whether a response may never be served stale by a
// shared cache: must-revalidate, proxy-revalidate and s-maxage
// (RFC 9111, Sections 5.2.2.2, 5.2.2.8 and 5.2.2.10), and no-cache, which
// asks for validation before every use (Section 5.2.2.4).
func forbidsStale(cc *CacheControl) bool {
	return cc.MustRevalidate || cc.ProxyRevalidate || cc.SMaxAge >= 0 || cc.NoCache
}

// staleOnError reports whether a stored response that is staleness past
// its lifetime may answer a request when the origin cannot be reached or
// answers with a 5xx status (RFC 9111, Section 4.2.4). Never when the
// response forbids stale use. A stale-if-error in the request or the
// response (RFC 5861, Section 4) bounds the staleness; without one the
// admin's max_stale does (squid.conf max_stale, refresh_pattern
// max-stale=), which is the out-of-band permission Section 4.2.4 allows.
func staleOnError(resCC, reqCC *CacheControl, staleness, maxStale time.Duration) bool {
	if forbidsStale(resCC) {
		return false
	}
	switch {
	case reqCC.StaleIfError >= 0:
		return staleness <= reqCC.StaleIfError
	case resCC.StaleIfError >= 0:
		return staleness <= resCC.StaleIfError
	}
	return staleness <= maxStale
}

// originFailed reports whether an origin status lets a stale response be
// served instead (RFC 5861, Section 4: 500, 502, 503 and 504).
func originFailed(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
