package httpcache

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Port describes one accelerator listener (squid.conf http_port ... accel):
// how a request's URL is rebuilt and how ACLs see the port.
type Port struct {
	// Name is the port's name= (the myportname ACL).
	Name string

	// Scheme is "http" or "https" (protocol=).
	Scheme string

	// DefaultSite is defaultsite=: the host used without a Host header, or
	// always when Vhost is false.
	DefaultSite string

	// Vhost is true when the Host header names the site (accel implies it;
	// no-vhost clears it).
	Vhost bool

	// Vport is vport=: 0 keeps the Host's port, -1 uses the listening port,
	// any other value replaces the port with it.
	Vport int

	// ListenPort is the TCP port the listener is bound to.
	ListenPort int

	// AllowDirect is allow-direct: requests may go to the origin named by
	// their URL when no peer takes them (and never_direct does not forbid
	// it). Without it, an accelerated request only goes to peers, as in
	// Squid.
	AllowDirect bool

	// X-Cache-Lookup values for this port, set by Handler.Port.
	lookupHit, lookupMiss, lookupNone []string
}

// errInvalidRequest means the request cannot be mapped to a site.
var errInvalidRequest = errors.New("httpcache: request names no site")

// siteURL rebuilds the absolute URL Squid's accelerator mode gives a request
// (the URL that is logged, matched by ACLs and used as cache key): an
// absolute-form target is taken as is; otherwise the host comes from Host
// (with vhost), then defaultsite, then the listening address with vport.
// The authority is brought to its canonical form and a fragment is
// dropped (canonical.go): the URL is the cache key and names exactly what
// is forwarded.
func (p *Port) siteURL(req *http.Request) (string, error) {
	target := targetURL(req)
	if target.Scheme != "" && target.Host != "" && p.Vhost {
		// Only web URLs can be accelerated; userinfo is never kept.
		if target.Scheme != "http" && target.Scheme != "https" {
			return "", errInvalidRequest
		}
		host, ok := canonicalAuthority(target.Scheme, target.Host)
		if !ok {
			return "", errInvalidRequest
		}
		return p.join(target.Scheme, host, target), nil
	}
	var host string
	switch {
	case p.Vhost && req.Host != "":
		host = req.Host
		if p.Vport != 0 {
			host = withPort(hostOnly(host), p.vport())
		}
	case p.DefaultSite != "":
		host = p.DefaultSite
		if p.Vport != 0 {
			host = withPort(hostOnly(host), p.vport())
		}
	case p.Vport != 0 && req.Context().Value(http.LocalAddrContextKey) != nil:
		addr, _ := req.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if addr == nil {
			return "", errInvalidRequest
		}
		host = withPort(hostOnly(addr.String()), p.vport())
	default:
		return "", errInvalidRequest
	}
	host, ok := canonicalAuthority(p.Scheme, host)
	if !ok {
		return "", errInvalidRequest
	}
	return p.join(p.Scheme, host, target), nil
}

func (p *Port) vport() int {
	if p.Vport < 0 {
		return p.ListenPort
	}
	return p.Vport
}

func (p *Port) join(scheme, host string, target *url.URL) string {
	path := target.RequestURI()
	if target.Scheme != "" {
		// RequestURI of an absolute-form URL keeps the path only.
		path = target.EscapedPath()
		if path == "" {
			path = "/"
		}
		if target.RawQuery != "" || target.ForceQuery {
			path += "?" + target.RawQuery
		}
	}
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + host + path
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return hostport
}

func withPort(host string, port int) string {
	return host + ":" + strconv.Itoa(port)
}

// validHost reports whether s is a plausible uri-host[:port]: no bytes that
// could split the URL or the log line.
func validHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\' {
			return false
		}
	}
	return true
}
