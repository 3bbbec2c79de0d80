package httpcache

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ACL is a compiled squid.conf acl: a predicate over one transaction.
// ACLs are built once at start and shared by all requests.
type ACL interface {
	match(tx *transaction) bool
}

// Rule is one line of an allow/deny list such as http_access: it matches
// when every term matches (squid.conf http_access).
type Rule struct {
	Allow bool
	Terms []Term
}

// Term is an ACL in a rule, negated by '!' when Not is set.
type Term struct {
	ACL ACL
	Not bool
}

// allowed evaluates an access list with Squid's semantics: the first rule
// whose terms all match decides; when none matches the answer is the
// opposite of the last rule's action, and an empty list denies
// (squid.conf http_access).
func allowed(rules []Rule, tx *transaction) bool {
	for i := range rules {
		if rules[i].matches(tx) {
			return rules[i].Allow
		}
	}
	if len(rules) == 0 {
		return false
	}
	return !rules[len(rules)-1].Allow
}

func (r *Rule) matches(tx *transaction) bool {
	for _, t := range r.Terms {
		if t.ACL.match(tx) == t.Not {
			return false
		}
	}
	return true
}

// NewACL compiles an acl of the given Squid type from its arguments as
// written after the type (flags such as -i included). It supports the types
// cuttle evaluates today: all, src, dstdomain, port, localport, myportname,
// method, url_regex, urlpath_regex, proxy_auth and proxy_auth_regex (see
// acl_auth.go); any other type is an error.
func NewACL(typ string, args []string) (ACL, error) {
	switch typ {
	case "all":
		return aclAll{}, nil
	case "src":
		return newSrcACL(args)
	case "dstdomain":
		return newDomainACL(args), nil
	case "port", "localport":
		return newPortACL(typ == "localport", args)
	case "myportname":
		return aclPortName(slices.Clone(values(args))), nil
	case "method":
		return aclMethod(slices.Clone(values(args))), nil
	case "url_regex", "urlpath_regex":
		return newRegexACL(typ == "urlpath_regex", args)
	case "proxy_auth":
		return newProxyAuthACL(args)
	case "proxy_auth_regex":
		return newProxyAuthRegexACL(args)
	}
	return nil, fmt.Errorf("httpcache: acl type %q is not supported yet", typ)
}

// values drops the option flags Squid allows before acl values.
func values(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		switch a {
		case "-i", "+i", "-n", "-m", "--":
			continue
		}
		out = append(out, a)
	}
	return out
}

type aclAll struct{}

func (aclAll) match(*transaction) bool { return true }

// aclSrc matches the client address (acl src).
type aclSrc []netip.Prefix

func newSrcACL(args []string) (ACL, error) {
	var a aclSrc
	for _, v := range values(args) {
		switch {
		case v == "all":
			a = append(a, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"))
		case strings.Contains(v, "-"):
			lo, hi, _ := strings.Cut(v, "-")
			from, err1 := netip.ParseAddr(lo)
			to, err2 := netip.ParseAddr(strings.SplitN(hi, "/", 2)[0])
			if err1 != nil || err2 != nil || from.Is4() != to.Is4() || to.Less(from) {
				return nil, fmt.Errorf("httpcache: acl src: invalid range %q", v)
			}
			a = append(a, rangePrefixes(from, to)...)
		default:
			p, err := parseSrc(v)
			if err != nil {
				return nil, err
			}
			a = append(a, p)
		}
	}
	return a, nil
}

// parseSrc accepts an address, addr/bits or addr/dotted-mask.
func parseSrc(v string) (netip.Prefix, error) {
	addrPart, maskPart, hasMask := strings.Cut(v, "/")
	addr, err := netip.ParseAddr(addrPart)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("httpcache: acl src: invalid address %q", v)
	}
	bits := addr.BitLen()
	if hasMask {
		if n, err := strconv.Atoi(maskPart); err == nil {
			bits = n
		} else if m, err := netip.ParseAddr(maskPart); err == nil && m.Is4() {
			b := m.As4()
			bits = 0
			for _, x := range b {
				for x&0x80 != 0 {
					bits++
					x <<= 1
				}
			}
		} else {
			return netip.Prefix{}, fmt.Errorf("httpcache: acl src: invalid mask %q", v)
		}
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("httpcache: acl src: %q: %w", v, err)
	}
	return p, nil
}

// rangePrefixes covers [from, to] with the prefixes of its largest aligned
// blocks.
func rangePrefixes(from, to netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for {
		bits := from.BitLen()
		for bits > 0 {
			p, _ := from.Prefix(bits - 1)
			if p.Addr() != from || lastAddr(p).Compare(to) > 0 {
				break
			}
			bits--
		}
		p, _ := from.Prefix(bits)
		out = append(out, p)
		last := lastAddr(p)
		if last.Compare(to) >= 0 || !last.Next().IsValid() {
			return out
		}
		from = last.Next()
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (a aclSrc) match(tx *transaction) bool {
	ip := tx.srcAddr().Unmap()
	for _, p := range a {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// aclDomain matches the URL host (acl dstdomain): ".example.com" matches
// the domain and every subdomain, "example.com" only itself.
type aclDomain []string

func newDomainACL(args []string) ACL {
	vs := values(args)
	a := make(aclDomain, len(vs))
	for i, v := range vs {
		a[i] = strings.ToLower(v)
	}
	return a
}

func (a aclDomain) match(tx *transaction) bool {
	host := tx.host
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

// aclPort matches the URL port (acl port) or the listening port
// (acl localport); values are numbers or lo-hi ranges.
type aclPort struct {
	local  bool
	ranges [][2]int
}

func newPortACL(local bool, args []string) (ACL, error) {
	a := &aclPort{local: local}
	for _, v := range values(args) {
		lo, hi, isRange := strings.Cut(v, "-")
		l, err1 := strconv.Atoi(lo)
		h := l
		var err2 error
		if isRange {
			h, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || l < 0 || h < l || h > 65535 {
			return nil, fmt.Errorf("httpcache: acl port: invalid port %q", v)
		}
		a.ranges = append(a.ranges, [2]int{l, h})
	}
	return a, nil
}

func (a *aclPort) match(tx *transaction) bool {
	p := tx.urlPort
	if a.local {
		p = tx.port.ListenPort
	}
	for _, r := range a.ranges {
		if p >= r[0] && p <= r[1] {
			return true
		}
	}
	return false
}

// aclPortName matches the listener's name= (acl myportname).
type aclPortName []string

func (a aclPortName) match(tx *transaction) bool { return slices.Contains(a, tx.port.Name) }

// aclMethod matches the request method (acl method).
type aclMethod []string

func (a aclMethod) match(tx *transaction) bool { return slices.Contains(a, tx.req.Method) }

// aclRegex matches the whole URL (acl url_regex) or its path and query
// (acl urlpath_regex). -i makes the following patterns case-insensitive and
// +i turns that off again, as in Squid.
type aclRegex struct {
	pathOnly bool
	re       *regexp.Regexp
}

func newRegexACL(pathOnly bool, args []string) (ACL, error) {
	if !pathOnly && slices.Equal(args, managerACLArgs[:]) {
		return aclManagerURL{}, nil
	}
	var parts []string
	fold := false
	for _, v := range args {
		switch v {
		case "-i":
			fold = true
			continue
		case "+i":
			fold = false
			continue
		}
		if fold {
			parts = append(parts, "(?i:"+v+")")
		} else {
			parts = append(parts, "(?:"+v+")")
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("httpcache: acl regex: no pattern")
	}
	// One compilation of the alternation; the patterns one by one only
	// to name the bad one.
	re, err := regexp.Compile(strings.Join(parts, "|"))
	if err != nil {
		for _, v := range args {
			if v == "-i" || v == "+i" {
				continue
			}
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("httpcache: acl regex %q: %w", v, err)
			}
		}
		return nil, fmt.Errorf("httpcache: acl regex: %w", err)
	}
	return &aclRegex{pathOnly: pathOnly, re: re}, nil
}

// managerACLArgs are the arguments of Squid's built-in "manager" acl
// (squidconf's built-in ACLs, Squid's src/cache_cf.cc): url_regex -i
// ^cache_object:// +i ^[^:]+://[^/]+/squid-internal-mgr/.
var managerACLArgs = [...]string{"-i", "^cache_object://", "+i", "^[^:]+://[^/]+/squid-internal-mgr/"}

// aclManagerURL is the built-in manager acl matched by code: every
// configuration has it, and compiling its regular expressions took a
// tenth of cuttle's start-up work in serve. TestManagerACLMatchesRegex
// holds it to the regular expressions.
type aclManagerURL struct{}

func (aclManagerURL) match(tx *transaction) bool { return isManagerURL(tx.url) }

// isManagerURL reports whether u matches (?i:^cache_object://) or
// ^[^:]+://[^/]+/squid-internal-mgr/.
func isManagerURL(u string) bool {
	const scheme, path = "cache_object://", "/squid-internal-mgr/"
	if len(u) >= len(scheme) && strings.EqualFold(u[:len(scheme)], scheme) {
		return true
	}
	// [^:]+ then "://": the first colon, after at least one byte.
	colon := strings.IndexByte(u, ':')
	if colon < 1 || !strings.HasPrefix(u[colon:], "://") {
		return false
	}
	// [^/]+ then the path: the first slash after the authority, after at
	// least one byte.
	rest := u[colon+3:]
	slash := strings.IndexByte(rest, '/')
	return slash >= 1 && strings.HasPrefix(rest[slash:], path)
}

func (a *aclRegex) match(tx *transaction) bool {
	if a.pathOnly {
		return a.re.MatchString(tx.pathQuery())
	}
	return a.re.MatchString(tx.url)
}

// NeverACL returns an ACL that matches nothing: what Squid does with an
// empty acl, and what cuttle uses for acl types it does not evaluate yet.
func NeverACL() ACL { return aclNever{} }

type aclNever struct{}

func (aclNever) match(*transaction) bool { return false }
