package httpcache

import "net/http"

// hasBody reports whether a request carries a body: a Content-Length
// above 0 or a chunked one (-1). A body that is not in the key must not
// choose the stored response of a GET or HEAD (RFC 9110, Section 9.3.1:
// such a body has no generally defined semantics).
func hasBody(req *http.Request) bool {
	return req.ContentLength != 0 && req.Body != nil && req.Body != http.NoBody
}
