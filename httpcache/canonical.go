package httpcache

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// The cache key of a request is its site URL (siteurl.go), and the origin
// is asked for exactly that URL: the path and query forwarded are the
// key's, and the Host sent is the key's authority (forward.go). So that
// one resource has one key, and no request can store a response under a
// key other than the one its forwarded form names, the authority is
// brought to one canonical form before it is used for either, as Squid
// does when it parses a URL: the host in lower case without trailing dots,
// and the port without leading zeros, left out when it is the scheme's
// default (RFC 3986, Sections 3.2.2, 3.2.3 and 6.2.3; RFC 9110,
// Section 4.2.3). The path is never normalised: the key holds the bytes
// that are forwarded (Go's url escaping is idempotent, so the escaped path
// that keys a request is also the one the origin receives).

// canonicalAuthority returns hostport (a Host field value or the authority
// of an absolute-form target) in canonical form for scheme, and false when
// it is not a valid uri-host[:port]: empty, with userinfo, with an empty
// label ("a..com", ".a.com"), with a port that is not a number from 1 to
// 65535, or with bytes that do not belong in a host. Squid 5.7 answers
// these with 400 too, except that it ignores a Host with userinfo and uses
// defaultsite instead.
func canonicalAuthority(scheme, hostport string) (string, bool) {
	if !validHost(hostport) {
		return "", false
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", false
		}
		host, port = hostport[:end+1], hostport[end+1:]
		if port != "" && port[0] != ':' {
			return "", false
		}
		addr, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", false
		}
		host = "[" + addr.String() + "]"
	} else {
		if i := strings.IndexByte(hostport, ':'); i >= 0 {
			host, port = hostport[:i], hostport[i:]
		}
		if strings.ContainsAny(host, "[]") {
			return "", false
		}
		host = strings.ToLower(strings.TrimRight(host, "."))
		if host == "" || host[0] == '.' || strings.Contains(host, "..") {
			return "", false
		}
	}
	if port = strings.TrimPrefix(port, ":"); port == "" {
		// RFC 3986, Section 3.2.3: an empty port is the default one.
		return host, true
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return "", false
	}
	if n == defaultPort(scheme) {
		return host, true
	}
	return host + ":" + strconv.Itoa(n), true
}

// defaultPort is the port a URL of scheme names when it names none.
func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}

// targetURL returns the request's target without a fragment. A
// request-target never carries one (RFC 9112, Section 3.2), but net/http
// does not look for it and keeps "#frag" as part of the path (escaped as
// %23) or of the query. A fragment only means something to the client, so
// it is removed before the URL is keyed and forwarded, as ATS does since
// CVE-2021-27577; Squid 5.7 keeps and forwards it.
func targetURL(req *http.Request) *url.URL {
	i := strings.IndexByte(req.RequestURI, '#')
	if i < 0 {
		return req.URL
	}
	u, err := url.ParseRequestURI(req.RequestURI[:i])
	if err != nil {
		return req.URL
	}
	return u
}
