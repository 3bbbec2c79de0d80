package httpcache

// Cache-poisoned denial of service (CPDoS, Nguyen et al., CCS 2019): a
// request that the cache accepts but the origin refuses must not leave the
// origin's error in the cache for everyone else. The three variants are
// an oversized header (HHO: the origin answers 400 or 431), a meta
// character (HMC: a control byte in a field value) and a method override
// (HMO: X-HTTP-Method-Override turns the origin's GET into something else).

import (
	"errors"
	"net/http"
	"strconv"
)

// requestErrorStatus reports whether a status describes the request rather
// than the resource, so that storing it on the cache's own initiative
// would hand one client's error to every other: 400 Bad Request,
// 405 Method Not Allowed (to a GET, only a method override explains it),
// 413 Content Too Large and 431 Request Header Fields Too Large
// (RFC 9110, Section 15.5; RFC 6585, Section 5). cuttle stores them only
// with explicit freshness from the origin (RFC 9111, Section 3): never
// by heuristic (which RFC 9110, Section 15.1 allows for 405) nor by
// negative_ttl (which Squid applies to 400 and 405).
func requestErrorStatus(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge,
		http.StatusRequestHeaderFieldsTooLarge:
		return true
	}
	return false
}

// methodOverrideFields are the fields some frameworks read to replace the
// request method.
var methodOverrideFields = [...]string{"X-Http-Method-Override", "X-Method-Override", "X-Http-Method"}

// stripMethodOverride removes the method-override fields from a GET or
// HEAD request on its way to the origin: the cache keys the answer by the
// method it sees (RFC 9111, Section 2), so the origin must answer that
// method and not another. Other methods keep them, as their answers are
// not stored and some clients need them.
func stripMethodOverride(method string, hdr http.Header) {
	if method != http.MethodGet && method != http.MethodHead {
		return
	}
	for _, k := range methodOverrideFields {
		delete(hdr, k)
	}
}

// controlByteInFields reports whether a request field value holds a
// control byte other than HTAB (RFC 9110, Section 5.5: field values are
// VCHAR, obs-text, SP and HTAB). net/http refuses CR, LF and NUL, and on
// HTTP/1.1 the rest too; this holds for every protocol.
func controlByteInFields(hdr http.Header) bool {
	for _, vs := range hdr {
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
					return true
				}
			}
		}
	}
	return false
}

// refuseMalformedRequest answers a request whose fields hold control bytes
// with 400 (ERR_INVALID_REQ) and reports whether it did: nothing of it is
// forwarded or stored.
func (h *Handler) refuseMalformedRequest(cw *countingWriter, tx *transaction) bool {
	if !controlByteInFields(tx.req.Header) {
		return false
	}
	tx.url, tx.result = "error:invalid-request", "NONE_NONE"
	h.serveError(cw, tx, http.StatusBadRequest, "ERR_INVALID_REQ")
	return true
}

// checkGeneratedField checks a value cuttle puts in the header fields it
// generates (visible_hostname in Via, X-Cache and X-Cache-Lookup; the
// version in Via and Server): a control byte or, with token set, a space
// would let configuration split or garble a response.
func checkGeneratedField(what, v string, token bool) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c == 0x7f || token && c == ' ' {
			return errors.New("httpcache: " + what + " " + strconv.Quote(v) + ": invalid character in a header field")
		}
	}
	return nil
}
