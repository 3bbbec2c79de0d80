package httpcache

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// aclLocalIP matches the address the client connected to (acl localip,
// formerly myip).
type aclLocalIP struct{ prefixes aclSrc }

func (a aclLocalIP) match(tx *transaction) bool {
	ip, err := netip.ParseAddr(localIP(tx.req))
	if err != nil {
		return false
	}
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// aclDst matches the address of the URL's host (acl dst): the host itself
// when it is an address, else its DNS addresses (none with -n).
type aclDst struct {
	prefixes aclSrc
	noDNS    bool
	res      *Resolver
}

func newDstACL(args []string, noDNS bool, res *Resolver) (ACL, error) {
	a := &aclDst{noDNS: noDNS, res: res}
	for _, v := range values(args) {
		lo, _, _ := strings.Cut(v, "-")
		lo, _, _ = strings.Cut(lo, "/")
		if _, err := netip.ParseAddr(lo); err == nil || v == "all" {
			p, err := newSrcACL([]string{v})
			if err != nil {
				return nil, err
			}
			a.prefixes = append(a.prefixes, p.(aclSrc)...)
			continue
		}
		// Squid resolves the host names of a dst acl when it reads it.
		if res == nil {
			return nil, fmt.Errorf("httpcache: acl dst: cannot resolve %q without DNS", v)
		}
		addrs := res.Addrs(context.Background(), v)
		if len(addrs) == 0 {
			return nil, fmt.Errorf("httpcache: acl dst: %q does not resolve", v)
		}
		for _, ip := range addrs {
			a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return a, nil
}

func (a *aclDst) match(tx *transaction) bool {
	if ip, err := netip.ParseAddr(tx.host); err == nil {
		return a.prefixes.contains(ip)
	}
	if a.noDNS || a.res == nil {
		return false
	}
	for _, ip := range a.res.Addrs(tx.req.Context(), tx.host) {
		if a.prefixes.contains(ip) {
			return true
		}
	}
	return false
}

func (a aclSrc) contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range a {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// aclDstDomain matches the URL's host by domain (acl dstdomain) or regex
// (acl dstdom_regex). When the host is an address and does not match,
// its DNS name does (unless -n), or "none" when it has none, as in Squid.
type aclDstDomain struct {
	domains aclDomain
	re      *regexp.Regexp
	noDNS   bool
	res     *Resolver
}

func (a *aclDstDomain) matchName(name string) bool {
	if a.re != nil {
		return a.re.MatchString(name)
	}
	return a.domains.matchHost(name)
}

func (a *aclDstDomain) match(tx *transaction) bool {
	if a.matchName(tx.host) {
		return true
	}
	ip, err := netip.ParseAddr(tx.host)
	if err != nil || a.noDNS {
		return false
	}
	name := ""
	if a.res != nil {
		name = a.res.Name(tx.req.Context(), ip)
	}
	if name == "" {
		name = "none"
	}
	return a.matchName(name)
}

// aclSrcDomain matches the client's DNS name (acl srcdomain, srcdom_regex);
// a client without one is named "none", as in Squid.
type aclSrcDomain struct {
	domains aclDomain
	re      *regexp.Regexp
	res     *Resolver
}

func (a *aclSrcDomain) match(tx *transaction) bool {
	if !tx.acl.srcNameDone {
		tx.acl.srcNameDone = true
		if a.res != nil && tx.clientIP.IsValid() {
			tx.acl.srcName = a.res.Name(tx.req.Context(), tx.clientIP)
		}
		if tx.acl.srcName == "" {
			tx.acl.srcName = "none"
		}
	}
	if a.re != nil {
		return a.re.MatchString(tx.acl.srcName)
	}
	return a.domains.matchHost(tx.acl.srcName)
}

// matchHost reports whether host is one of the domains: ".example.com"
// matches the domain and every subdomain, "example.com" only itself.
func (a aclDomain) matchHost(host string) bool {
	for _, d := range a {
		if strings.HasPrefix(d, ".") {
			if host == d[1:] || strings.HasSuffix(host, d) {
				return true
			}
		} else if host == d {
			return true
		}
	}
	return false
}
