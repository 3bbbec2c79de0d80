package httpcache

import "net/http"

// unkeyedRequestFields are request fields that frameworks and origin
// servers commonly trust to rebuild the URL, scheme or host of a request
// (to make absolute links and redirects, or to route it), but that are not
// part of the cache key. A client that sends one can make the origin build
// a response for another site and have it stored under the key of the
// real one: web cache poisoning through unkeyed inputs (Kettle, "Practical
// Web Cache Poisoning", 2018). In front of an origin, these fields are
// only meaningful when a proxy sets them, and cuttle sets none of them, so
// the client's are removed from forwarded requests by default.
//
// An admin whose origin needs one of them from the client names it in
// request_header_access: the rules of that name then decide, as Squid's
// would (request_header_access X-Forwarded-Proto allow all keeps it).
// Fields added by request_header_add are never removed: they come from the
// configuration, not from the client. X-HTTP-Method-Override and its
// kind are handled with the other method overrides (RFC 9110,
// Section 9.1: the method is the request line's).
var unkeyedRequestFields = [...]string{
	"Forwarded", // RFC 7239; only proxies may set it
	"Front-End-Https",
	"X-Forwarded-Host",
	"X-Forwarded-Port",
	"X-Forwarded-Prefix",
	"X-Forwarded-Proto",
	"X-Forwarded-Scheme",
	"X-Forwarded-Server",
	"X-Forwarded-Ssl",
	"X-Host",
	"X-Original-Host",
	"X-Original-Url",
	"X-Rewrite-Url",
}

// removeUnkeyed deletes the unkeyedRequestFields of a request header about
// to be forwarded, except those that request_header_access names: their
// own rules decide.
func (r *headerRules) removeUnkeyed(out http.Header) {
	for _, name := range unkeyedRequestFields {
		if _, ok := out[name]; !ok {
			continue
		}
		if r.request != nil && r.request.named[name] != nil {
			continue
		}
		delete(out, name)
	}
}
