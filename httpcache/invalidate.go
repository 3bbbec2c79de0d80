package httpcache

import (
	"context"
	"net/http"
	"net/url"
)

// safeMethod reports whether a method is safe (RFC 9110, Section 9.2.1):
// only unsafe methods invalidate stored responses.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// invalidate removes what a non-error response to an unsafe request makes
// stale (RFC 9111, Section 4.4): the target URI, and the URIs in Location
// and Content-Location when they have the same origin.
func (h *Handler) invalidate(ctx context.Context, tx *transaction, res http.Header) {
	ctx = context.WithoutCancel(ctx)
	h.deleteURL(ctx, tx.url)
	base, err := url.Parse(tx.url)
	if err != nil {
		return
	}
	for _, field := range [...]string{"Location", "Content-Location"} {
		v := res.Get(field)
		if v == "" {
			continue
		}
		ref, err := url.Parse(v)
		if err != nil {
			continue
		}
		u := base.ResolveReference(ref)
		if u.Scheme != base.Scheme || u.Host != base.Host {
			continue // another origin: RFC 9111, 4.4 forbids invalidating it
		}
		u.Fragment, u.RawFragment = "", ""
		h.deleteURL(ctx, u.String())
	}
}
