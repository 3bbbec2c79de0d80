package httpcache

import (
	"bytes"
	"context"
	"net/http"
	"time"
)

// staleObject is a stored response that is no longer fresh (or that the
// client refuses as too old) and is being revalidated, with its body read
// into memory so that it can be served and stored again.
type staleObject struct {
	c    *cached
	body []byte
}

// hasValidator reports whether a response can be revalidated
// (RFC 9111, Section 4.3.1: ETag or Last-Modified).
func hasValidator(h http.Header) bool {
	return h.Get("Etag") != "" || h.Get("Last-Modified") != ""
}

// addConditions makes the origin request conditional on the stored
// validators (RFC 9111, Section 4.3.1).
func (s *staleObject) addConditions(h http.Header) {
	if etag := s.c.header.Get("Etag"); etag != "" {
		h.Set("If-None-Match", etag)
	}
	if lm := s.c.header.Get("Last-Modified"); lm != "" {
		h.Set("If-Modified-Since", lm)
	}
}

// servableOnError reports whether the stale copy may be served when the
// origin cannot be reached: not when the response says must-revalidate,
// proxy-revalidate, s-maxage or no-cache (RFC 9111, Sections 4.2.4 and
// 5.2.2).
func (s *staleObject) servableOnError() bool {
	cc := ParseCacheControl(s.c.header)
	return !cc.MustRevalidate && !cc.ProxyRevalidate && cc.SMaxAge < 0 && !cc.NoCache
}

// keepOn304 lists the stored fields a 304 does not replace: they describe
// the stored content itself (its length, coding, digest and range) or
// identify it (RFC 9111, Section 3.2 allows keeping such fields).
var keepOn304 = map[string]bool{
	"Content-Length":   true,
	"Content-Encoding": true,
	"Content-Md5":      true,
	"Content-Range":    true,
	"Etag":             true,
}

// refreshed applies a 304 to the stored response (RFC 9111, Section 4.3.4):
// every field of the 304 replaces the stored one except those of
// keepOn304; the freshness starts again from the 304.
// The updated response is stored again.
func (h *Handler) refreshed(tx *transaction, s *staleObject, res http.Header, requestTime, responseTime time.Time) *cached {
	old := s.c
	merged := old.header.Clone()
	for k, v := range res {
		if keepOn304[k] {
			continue
		}
		merged[k] = v
	}
	cc := ParseCacheControl(merged)
	lifetime, _ := FreshnessLifetime(old.status, merged, cc, tx.url, h.opts.RefreshPatterns, responseTime)
	if cc.NoCache {
		lifetime = 0
	}
	c := &cached{
		status:       old.status,
		header:       merged,
		requestTime:  requestTime,
		responseTime: responseTime,
		initialAge:   InitialAge(res, requestTime, responseTime),
		lifetime:     lifetime,
		varyNames:    old.varyNames,
		varyValues:   old.varyValues,
	}
	c.headerBytes = hitFieldsSize(merged)
	c.setSize(int64(len(s.body)))
	if cc.NoStore || cc.Private {
		h.opts.Store.Delete(context.WithoutCancel(tx.req.Context()), tx.url) //nolint:errcheck // best effort
		return c
	}
	err := h.opts.Store.Put(context.WithoutCancel(tx.req.Context()), tx.url, metaFor(c, int64(len(s.body))), bytes.NewReader(s.body))
	if err != nil {
		h.errorLog.Printf("httpcache: store refreshed %s: %v", tx.url, err)
	}
	return c
}

// serveStale sends the stored body of s with the header of c (the stored
// response, or its refreshed form after a 304).
func (h *Handler) serveStale(rw *countingWriter, tx *transaction, s *staleObject, c *cached, cacheStatus []string) {
	out := rw.Header()
	clear(out)
	h.storedHeader(out, c, CurrentAge(c.initialAge, c.responseTime, h.now()), cacheStatus, int64(len(s.body)))
	rw.WriteHeader(c.status)
	if tx.req.Method != http.MethodHead {
		rw.Write(s.body) //nolint:errcheck // the client may be gone; logged by status
	}
}
