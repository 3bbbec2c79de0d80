package squidconf

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"
)

// checkIPHost checks a src, dst or localip value: all (or ipv4, ipv6), an
// address, addr/bits, addr/netmask, a range addr1-addr2 with an optional
// /mask, or a host name. Squid resolves host names when it reads the
// config, and one that does not resolve is fatal; cuttle checks them the
// same way and keeps them as written.
func (p *parser) checkIPHost(v string) error {
	switch v {
	case "all", "ipv4", "ipv6":
		return nil
	}
	perr := parseIPValue(v)
	if perr == nil {
		return nil
	}
	lo, _, _ := strings.Cut(v, "-")
	if _, err := netip.ParseAddr(lo); err == nil || !isHostName(v) {
		// An address form gone wrong, not a host name.
		return fmt.Errorf("bad host/IP: '%s' (%v)", v, perr)
	}
	if _, err := p.opts.lookupHost(v); err != nil {
		return fmt.Errorf("bad host/IP: '%s' (%v)", v, lookupFailure(err))
	}
	return nil
}

// parseIPValue parses the address forms of IP ACLs.
func parseIPValue(v string) error {
	addrs, mask, hasMask := strings.Cut(v, "/")
	lo, hi, isRange := strings.Cut(addrs, "-")
	a, err := netip.ParseAddr(lo)
	if err != nil || a.Zone() != "" {
		return fmt.Errorf("bad address %q", lo)
	}
	if isRange {
		b, err := netip.ParseAddr(hi)
		if err != nil || b.Zone() != "" || a.Is4() != b.Is4() || b.Less(a) {
			return fmt.Errorf("bad range %q", addrs)
		}
	}
	if hasMask {
		if bits, err := parseInt(mask); err == nil {
			if bits < 0 || bits > a.BitLen() || strings.HasPrefix(mask, "+") {
				return fmt.Errorf("bad mask %q", mask)
			}
			return nil
		}
		m, err := netip.ParseAddr(mask)
		if err != nil || m.Is4() != a.Is4() || !contiguousMask(m) {
			return fmt.Errorf("bad mask %q", mask)
		}
	}
	return nil
}

// contiguousMask reports whether m is a netmask: ones, then zeros.
func contiguousMask(m netip.Addr) bool {
	b := m.AsSlice()
	zero := false
	for _, x := range b {
		for bit := 7; bit >= 0; bit-- {
			one := x&(1<<bit) != 0
			if one && zero {
				return false
			}
			zero = zero || !one
		}
	}
	return true
}

// isHostName reports whether s looks like a DNS name.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// checkRange checks an integer or an integer range "a-b" within [lo, hi];
// with open, "a-" means a and above.
func checkRange(v string, lo, hi int, open bool, what string) error {
	bad := fmt.Errorf("invalid %s '%s'", what, v)
	first, last, isRange := strings.Cut(v, "-")
	a, err := parseInt(first)
	if err != nil || a < lo || a > hi || strings.HasPrefix(first, "+") {
		return bad
	}
	if !isRange {
		return nil
	}
	if last == "" && open {
		return nil
	}
	b, err := parseInt(last)
	if err != nil || b < a || b > hi || strings.HasPrefix(last, "+") {
		return bad
	}
	return nil
}

// checkMethod checks a method name: an HTTP token (RFC 9110, Section 9.1).
func checkMethod(v string) error {
	for i := 0; i < len(v); i++ {
		if !isTokenChar(v[i]) {
			return fmt.Errorf("invalid method '%s'", v)
		}
	}
	return nil
}

// isTokenChar reports whether c is a tchar (RFC 9110, Section 5.6.2).
func isTokenChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// checkRegexps compiles the patterns of a regex ACL with Go's regexp,
// honouring the -i and +i switches between them.
func checkRegexps(values []string) error {
	ci := false
	for _, v := range values {
		switch v {
		case "-i":
			ci = true
			continue
		case "+i":
			ci = false
			continue
		}
		expr := v
		if ci {
			expr = "(?i)" + v
		}
		if _, err := regexp.Compile(expr); err != nil {
			return fmt.Errorf("invalid regular expression '%s': %v", v, unwrapRegexpError(err))
		}
	}
	return nil
}

// unwrapRegexpError drops the "error parsing regexp" prefix and the
// repeated pattern from regexp's errors.
func unwrapRegexpError(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return se.Code.String()
	}
	return err.Error()
}

// checkDomains checks the values of a dstdomain or srcdomain line against
// each other and against the earlier lines of the same ACL, indexed in
// idx, as Squid's aclDomainCompare does: a wildcard that covers an
// earlier entry (".example.com" after "www.example.com", or after
// "example.com") is fatal; an entry that an earlier wildcard covers
// ("www.example.com" after ".example.com") is ignored with a warning,
// passed to warn; the same spelling twice is dropped silently. The values
// are added to idx.
func checkDomains(idx *domainIndex, name string, values []string, warn func(msg string)) error {
	for _, v := range values {
		sub, super, bad := idx.conflict(v)
		switch {
		case bad && sub == v && super != v:
			warn(fmt.Sprintf("'%s' is a subdomain of '%s'; it is ignored (you should remove '%s' from the ACL named '%s')", sub, super, sub, name))
			continue
		case bad && sub == v:
			continue
		case bad:
			return fmt.Errorf("'%s' is a subdomain of '%s'; remove '%s' from the ACL named '%s'", sub, super, sub, name)
		}
		idx.add(v)
	}
	return nil
}

// domainIndex finds overlapping dstdomain entries quickly.
type domainIndex struct {
	exact map[string]string // bare lower-case domain → entry
	under map[string]string // parent domain → first entry below it
}

func newDomainIndex() *domainIndex {
	return &domainIndex{exact: make(map[string]string), under: make(map[string]string)}
}

func bareDomain(v string) string { return strings.ToLower(strings.TrimLeft(v, ".")) }

func (x *domainIndex) add(v string) {
	bare := bareDomain(v)
	if _, ok := x.exact[bare]; !ok {
		x.exact[bare] = v
	}
	for i := 0; i < len(bare); i++ {
		if bare[i] == '.' {
			if _, ok := x.under[bare[i+1:]]; !ok {
				x.under[bare[i+1:]] = v
			}
		}
	}
}

// conflict reports whether v overlaps an entry, naming the entry that is
// covered (sub) and the one covering it, in Squid's order.
func (x *domainIndex) conflict(v string) (sub, super string, bad bool) {
	bare := bareDomain(v)
	if bare == "" {
		return "", "", false
	}
	if e, ok := x.exact[bare]; ok {
		if strings.EqualFold(e, v) {
			// Squid compares the values in lower case.
			return v, v, true
		}
		return e, v, true
	}
	if strings.HasPrefix(v, ".") {
		if e, ok := x.under[bare]; ok {
			return e, v, true
		}
	}
	for i := 0; i < len(bare); i++ {
		if bare[i] == '.' {
			if e, ok := x.exact[bare[i+1:]]; ok && strings.HasPrefix(e, ".") {
				return v, e, true
			}
		}
	}
	return "", "", false
}
