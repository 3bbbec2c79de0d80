package httpcache

import (
	"net/http"
	"strings"
)

// hopHeaders are the hop-by-hop fields removed in both directions
// (RFC 9110, Section 7.6.1), plus the obsolete ones proxies still see.
// HTTP2-Settings belongs to an h2c upgrade, which is hop-by-hop by
// definition (RFC 7540, Section 3.2.1) and never forwarded, even when a
// client fails to name it in Connection.
var hopHeaders = [...]string{
	"Connection",
	"Http2-Settings",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// removeHopByHop deletes the fixed hop-by-hop fields and every field named
// in Connection (RFC 9110, Section 7.6.1).
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
}
