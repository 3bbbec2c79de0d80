package httpcache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"cuttle/store"
)

// staleObject is a stored response that is no longer fresh (or that the
// client refuses as too old) and is being revalidated, with its body read
// into memory so that it can be served and stored again.
type staleObject struct {
	c    *cached
	body io.ReadSeeker // the stored body, open; Close releases it
	size int64
	key  string        // where it is stored
	age  time.Duration // its current age when the request came in

	closer io.Closer
}

// close releases the stored body.
func (s *staleObject) close() {
	if s != nil && s.closer != nil {
		s.closer.Close()
	}
}

// staleFrom keeps a stored object open for revalidation: its body is
// streamed from the store (memory or disk) when the stale copy answers,
// and streamed back into the store when a 304 refreshes it, so a large
// disk object is never held whole in memory. A body that cannot seek is
// read into memory when it is small enough, else nil is returned (the
// object is fetched again).
func (h *Handler) staleFrom(obj *store.Object, c *cached, key string, age time.Duration) *staleObject {
	s := &staleObject{c: c, size: obj.Meta.Size, key: key, age: age, closer: obj.Body}
	if rs, ok := obj.Body.(io.ReadSeeker); ok {
		s.body = rs
		return s
	}
	defer obj.Body.Close()
	if obj.Meta.Size > h.maxRevalidate {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(obj.Body, obj.Meta.Size+1))
	if err != nil || int64(len(b)) != obj.Meta.Size {
		return nil
	}
	s.body, s.closer = bytes.NewReader(b), nil
	return s
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

// servableOnError reports whether the stale copy may answer the request
// when the origin cannot be reached or fails (staleOnError), with the
// max_stale of the request's refresh_pattern.
func (h *Handler) servableOnError(tx *transaction, s *staleObject) bool {
	if s.c.status >= 500 {
		return false // an error is no better than the origin's new one
	}
	if privateStored(s.c) {
		return false // privacy.go
	}
	maxStale := h.opts.MaxStale
	if rp := tx.refresh(h.opts.RefreshPatterns); rp.MaxStale > 0 {
		maxStale = rp.MaxStale
	}
	resCC := h.responseCC(s.c.header)
	return staleOnError(&resCC, &tx.rd.cc, s.age-s.c.lifetime, maxStale)
}

// conditionalFields are the request fields of RFC 9110, Section 13.1. A
// revalidation replaces the client's with the cache's own; the client's are
// then answered from the result.
var conditionalFields = [...]string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"}

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
// storeRefreshed stores it again.
func (h *Handler) refreshed(tx *transaction, s *staleObject, res http.Header, requestTime, responseTime time.Time) *cached {
	old := s.c
	merged := old.header.Clone()
	for k, v := range res {
		if keepOn304[k] {
			continue
		}
		merged[k] = v
	}
	cc := h.responseCC(merged)
	lifetime, _ := FreshnessLifetime(old.status, merged, cc, tx.refresh(h.opts.RefreshPatterns), responseTime)
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
	c.setSize(s.size)
	return c
}

// storeRefreshed stores the refreshed response c with the stale object's
// body, or removes the object when the 304 made it unstorable.
func (h *Handler) storeRefreshed(tx *transaction, s *staleObject, c *cached) {
	ctx := context.WithoutCancel(tx.req.Context())
	cc := h.responseCC(c.header)
	rp := tx.refresh(h.opts.RefreshPatterns)
	if cc.NoStore && !rp.IgnoreNoStore || cc.Private && !rp.IgnorePrivate || tx.noStore {
		h.opts.Store.Delete(ctx, s.key) //nolint:errcheck // best effort
		return
	}
	if _, err := s.body.Seek(0, io.SeekStart); err != nil {
		return
	}
	c = withoutCookies(c) // privacy.go
	err := h.storePut(ctx, s.key, metaFor(c, s.size), s.body)
	if err != nil && !store.Refused(err) {
		h.errorLog.Printf("httpcache: store refreshed %s: %v", tx.url, err)
	}
}

// serveStale sends the stored body of s with the header of c (the stored
// response, or its refreshed form after a 304).
//
// The client's own conditions, which the revalidation did not carry, are
// answered here (RFC 9111, Section 4.3.2).
func (h *Handler) serveStale(rw *countingWriter, tx *transaction, s *staleObject, c *cached, cacheStatus []string) {
	out := rw.Header()
	clear(out)
	h.storedHeader(out, tx, c, CurrentAge(c.initialAge, c.responseTime, h.now()), cacheStatus, s.size)
	if h.answerConditional(rw, tx, c) {
		return // a 304, which http_reply_access always allows
	}
	if !h.replyAllowed(rw, tx, c.status, c.header) {
		return
	}
	if _, err := s.body.Seek(0, io.SeekStart); err != nil {
		h.serveError(rw, tx, http.StatusBadGateway, "ERR_READ_ERROR")
		return
	}
	rw.WriteHeader(c.status)
	if tx.req.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(rw, s.body); err != nil {
		tx.result += "_ABORTED"
		if errors.Is(err, store.ErrCorrupt) {
			// As on a hit: a damaged stored block breaks the message off.
			h.logTransaction(tx, rw)
			tx.logged = true
			panic(http.ErrAbortHandler)
		}
	}
}
