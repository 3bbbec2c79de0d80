package squidconf

import (
	"fmt"
	"strings"
)

// checkACLType checks the values of one acl line of the types whose
// values Squid reads in its own way, and returns the values to keep.
// ok is false when the line must not be used: an error was reported, or
// Squid ignores the line of an existing ACL with a message. A new ACL is
// kept even when Squid ignores its values (it is then empty and never
// matches), as Squid defines it anyway.
func (p *parser) checkACLType(d *directive, name, typ string, existing *ACL, values []string) ([]string, bool) {
	switch typ {
	case "req_header", "rep_header":
		return p.checkHeaderACL(d, existing, values)
	case "proto":
		return p.checkProtoACL(d, name, values), true
	case "time":
		return values, p.checkTimeACL(d, values)
	case "note":
		return p.checkNoteACL(d, existing, values)
	case "maxconn", "max_user_ip":
		return p.checkLimitACL(d, typ, existing, values)
	case "proxy_auth":
		values = p.checkUserACL(d, existing, values)
		return values, p.checkAuthACL(d, existing)
	case "proxy_auth_regex":
		return values, p.checkAuthACL(d, existing)
	}
	return values, true
}

// checkHeaderACL checks "req_header|rep_header Header-Name [-i] regex
// ...": one header per ACL, then regular expressions. The values of a
// later line are its patterns only.
func (p *parser) checkHeaderACL(d *directive, existing *ACL, values []string) ([]string, bool) {
	if len(values) == 0 {
		p.warn(d, "missing header name in ACL; line ignored")
		return nil, existing == nil
	}
	if err := checkRegexps(values[1:]); err != nil {
		// Squid reports it and goes on without the pattern.
		p.warn(d, "%v; the pattern is ignored", err)
	}
	if existing == nil || len(existing.Values) == 0 {
		return values, true
	}
	if hdr := existing.Values[0]; !strings.EqualFold(hdr, values[0]) {
		p.warn(d, "ACL cannot match both %s and %s headers (use an any-of ACL); line ignored", hdr, values[0])
		return nil, false
	}
	return values[1:], true
}

// uriSchemes are the protocol names of Squid 5's AnyP::ProtocolType, which
// proto ACLs match case-insensitively.
var uriSchemes = []string{"NONE", "HTTP", "FTP", "HTTPS", "COAP", "COAPS", "GOPHER", "WAIS",
	"CACHE_OBJECT", "ICP", "HTCP", "URN", "WHOIS", "ICY", "TLS", "SSL", "AUTHORITY_FORM"}

// checkProtoACL drops the protocols Squid does not know from a proto ACL,
// with Squid's warning.
func (p *parser) checkProtoACL(d *directive, name string, values []string) []string {
	kept := values[:0:0]
	for _, v := range values {
		known := false
		for _, s := range uriSchemes {
			known = known || strings.EqualFold(v, s)
		}
		if !known {
			p.warn(d, "ignoring unknown protocol '%s' in the ACL named '%s'", v, name)
			continue
		}
		kept = append(kept, v)
	}
	return kept
}

// checkTimeACL checks "time [SMTWHFAD] [h1:m1-h2:m2] ...": day letters
// (H is Thursday, A Saturday, D every weekday, '-' a placeholder), and
// time ranges of the same day with h1:m1 not after h2:m2 (24:00 may end
// one). Squid skips a bad day letter with a message; a bad range is fatal.
func (p *parser) checkTimeACL(d *directive, values []string) bool {
	for _, v := range values {
		if v == "" || v[0] < '0' || v[0] > '9' {
			for _, c := range []byte(v) {
				if !strings.ContainsRune("SMTWHFAD-", rune(c)) {
					p.warn(d, "bad day '%c' in '%s' (expecting S M T W H F A or D); ignored", c, v)
				}
			}
			continue
		}
		var h1, m1, h2, m2 int
		n, _ := fmt.Sscanf(v, "%d:%d-%d:%d", &h1, &m1, &h2, &m2)
		if n < 4 || h1 < 0 || h1 > 23 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 ||
			!(h2 >= 0 && h2 < 24 || h2 == 24 && m2 == 0) {
			p.errorf(d, "bad time range '%s' (expecting h1:m1-h2:m2, from 00:00 to 24:00)", v)
			return false
		}
		if h1*60+m1 > h2*60+m2 {
			p.errorf(d, "reversed time range '%s' (a range cannot span midnight; use two ACLs)", v)
			return false
		}
	}
	return true
}

// checkNoteACL checks "note [-m[=delimiters]] name [value ...]". Squid
// keeps one annotation name per ACL, the last one given.
func (p *parser) checkNoteACL(d *directive, existing *ACL, values []string) ([]string, bool) {
	if len(values) == 0 {
		p.errorf(d, "missing annotation name")
		return nil, false
	}
	if existing == nil || len(existing.Values) == 0 {
		return values, true
	}
	if old := existing.Values[0]; old != values[0] {
		p.warn(d, "the annotation name of ACL '%s' changes from %s to %s, for the values of every line", existing.Name, old, values[0])
		existing.Values[0] = values[0]
	}
	return values[1:], true
}

// checkLimitACL checks the limit of a maxconn or max_user_ip ACL: Squid
// reads it with atoi, refuses a new ACL whose limit is below 1 (Invalid
// ACL) and reads only the first value. A later line of the same ACL
// replaces the limit of maxconn; for max_user_ip Squid ignores it.
func (p *parser) checkLimitACL(d *directive, typ string, existing *ACL, values []string) ([]string, bool) {
	if existing != nil && typ == "max_user_ip" {
		p.warn(d, "the limit of an existing max_user_ip ACL cannot be changed; line ignored")
		return nil, false
	}
	if len(values) == 0 {
		if existing == nil {
			p.errorf(d, "invalid ACL: %s needs a limit above 0", typ)
			return nil, false
		}
		return nil, true
	}
	n, clean := atoi(values[0])
	if n < 1 && existing == nil {
		p.errorf(d, "invalid ACL: %s needs a limit above 0, got '%s'", typ, values[0])
		return nil, false
	}
	if !clean {
		p.warn(d, "limit '%s' is read as %d", values[0], n)
	}
	if len(values) > 1 {
		p.warn(d, "%s takes a single limit; ignoring %s", typ, strings.Join(values[1:], " "))
	}
	if existing != nil {
		p.warn(d, "this line replaces the limit %s of ACL '%s'", strings.Join(existing.Values, " "), existing.Name)
		existing.Values = nil
	}
	return values[:1], true
}

// atoi reads a number as C's atoi does: leading whitespace, a sign and
// digits, ignoring what follows; clean reports whether s was just the
// number.
func atoi(s string) (n int, clean bool) {
	t := strings.TrimLeft(s, spaceChars)
	lead := len(s) - len(t)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg, t = t[0] == '-', t[1:]
	}
	i := 0
	for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
		if int64(n) < 1<<31 {
			n = n*10 + int(t[i]-'0')
		}
	}
	if neg {
		n = -n
	}
	return n, lead == 0 && i > 0 && i == len(t)
}

// checkUserACL checks a proxy_auth ACL: REQUIRED (any authenticated user)
// or user names. REQUIRED is recognised as the first value of a line;
// Squid then drops every user name of the ACL, with a warning.
func (p *parser) checkUserACL(d *directive, existing *ACL, values []string) []string {
	lineRequired := len(values) > 0 && values[0] == "REQUIRED"
	wasRequired := existing != nil && len(existing.Values) > 0 && existing.Values[0] == "REQUIRED"
	switch {
	case existing == nil || len(existing.Values) == 0:
		if lineRequired && len(values) > 1 {
			p.warn(d, "user names in an ACL of type REQUIRED are ignored: %s", strings.Join(values[1:], " "))
			return values[:1]
		}
		return values
	case wasRequired:
		if lineRequired {
			values = values[1:]
		}
		if len(values) > 0 {
			p.warn(d, "user names in an ACL of type REQUIRED are ignored: %s", strings.Join(values, " "))
		}
		return nil
	case lineRequired:
		p.warn(d, "REQUIRED makes Squid ignore the user names of ACL '%s': %s", existing.Name,
			strings.Join(append(append([]string(nil), existing.Values...), values[1:]...), " "))
		existing.Values = []string{"REQUIRED"}
		return nil
	}
	return values
}

// checkAuthACL makes Squid's check of a new proxy_auth or
// proxy_auth_regex ACL: an auth_param scheme with a program (and realm)
// must be configured above it.
func (p *parser) checkAuthACL(d *directive, existing *ACL) bool {
	if existing != nil || p.authActive() {
		return true
	}
	p.errorf(d, "invalid ACL: cannot use proxy auth because no authentication schemes are fully configured (an auth_param program line must come first)")
	return false
}
