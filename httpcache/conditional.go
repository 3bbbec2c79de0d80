package httpcache

import (
	"net/http"
	"strings"
	"time"
)

// notModified reports whether a stored response with header h satisfies
// the client's conditional GET or HEAD, so that a 304 answers it
// (RFC 9111, Section 4.3.2; RFC 9110, Section 13.2.2 order: If-None-Match
// wins over If-Modified-Since). inm is true when If-None-Match decided,
// for Squid's TCP_INM_HIT versus TCP_IMS_HIT.
func notModified(req *http.Request, h http.Header, received time.Time) (ok, inm bool) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false, false
	}
	if fields := req.Header["If-None-Match"]; len(fields) > 0 {
		etag := h.Get("Etag")
		for _, f := range fields {
			if etagListMatchesWeak(f, etag) {
				return true, true
			}
		}
		return false, true
	}
	ims := req.Header.Get("If-Modified-Since")
	if ims == "" {
		return false, false
	}
	since, err := http.ParseTime(ims)
	if err != nil {
		return false, false // an invalid date is ignored (RFC 9110, 13.1.3)
	}
	// RFC 9111, Section 4.3.2: Last-Modified, else Date, else the time the
	// response was received.
	last, err := http.ParseTime(h.Get("Last-Modified"))
	if err != nil {
		if last, err = http.ParseTime(h.Get("Date")); err != nil {
			last = received
		}
	}
	return !last.After(since), false
}

// etagListMatchesWeak reports whether an If-None-Match field value ("*"
// or a list of entity-tags) matches etag by the weak comparison of
// RFC 9110, Section 8.8.3.2.
func etagListMatchesWeak(list, etag string) bool {
	if strings.TrimSpace(list) == "*" {
		return etag != ""
	}
	if etag == "" {
		return false
	}
	want := opaqueTag(etag)
	for list != "" {
		var tag string
		tag, list = nextETag(list)
		if tag != "" && opaqueTag(tag) == want {
			return true
		}
	}
	return false
}

// nextETag splits the first entity-tag off a comma-separated list; commas
// inside the quotes are part of the tag.
func nextETag(s string) (tag, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := 0
	if strings.HasPrefix(s, "W/") {
		i = 2
	}
	if i < len(s) && s[i] == '"' {
		if j := strings.IndexByte(s[i+1:], '"'); j >= 0 {
			end := i + 1 + j + 1
			return s[:end], s[end:]
		}
		return "", ""
	}
	if j := strings.IndexByte(s, ','); j >= 0 {
		return strings.TrimSpace(s[:j]), s[j+1:]
	}
	return strings.TrimSpace(s), ""
}

// opaqueTag drops the weakness indicator of an entity-tag.
func opaqueTag(tag string) string {
	return strings.TrimPrefix(strings.TrimSpace(tag), "W/")
}
