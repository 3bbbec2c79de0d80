package httpcache

import (
	"net/http"
	"strings"
)

// hopHeaders are the hop-by-hop fields removed in both directions
// (RFC 9110, Section 7.6.1), plus the obsolete ones proxies still see.
var hopHeaders = [...]string{
	"Connection",
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
