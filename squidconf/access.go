package squidconf

import "strings"

// parseAccessList parses an allow|deny line (squid.conf http_access and
// the other acl_access directives) and appends it to dst.
func (p *parser) parseAccessList(d *directive, dst *[]AccessRule) {
	if r, ok := p.parseAccessRule(d); ok {
		*dst = append(*dst, r)
	}
}

// parseAccessRule parses "allow|deny [!]acl ..." as Squid's
// aclParseAccessLine does. A missing or misspelt action and a rule without
// ACLs make Squid skip the line with a message and go on: they are
// notices here too. An ACL that is not defined (yet) is an error.
func (p *parser) parseAccessRule(d *directive) (AccessRule, bool) {
	r := AccessRule{Pos: d.pos}
	action, ok := d.sc.next()
	switch {
	case !ok:
		p.warn(d, "missing 'allow' or 'deny'; line ignored")
		return r, false
	case action == "allow":
		r.Allow = true
	case action == "deny":
	default:
		p.warn(d, "expecting 'allow' or 'deny', got '%s'; line ignored", action)
		return r, false
	}
	refs, ok := p.parseACLRefs(d)
	if !ok {
		return r, false
	}
	if len(refs) == 0 {
		p.warn(d, "the rule names no ACL; line ignored")
		return r, false
	}
	r.ACLs = refs
	return r, true
}

// parseACLRefs reads the rest of the line as a list of [!]acl names, each
// of which must be defined.
func (p *parser) parseACLRefs(d *directive) ([]ACLRef, bool) {
	var refs []ACLRef
	for {
		tok, ok := d.sc.next()
		if !ok {
			return refs, true
		}
		ref, ok := p.lookupACL(tok)
		if !ok {
			p.errorf(d, "ACL not found: %s", strings.TrimPrefix(tok, "!"))
			return nil, false
		}
		refs = append(refs, ref)
	}
}

// lookupACL resolves "[!]name" to a reference to a defined ACL. Squid
// compares ACL names case-insensitively.
func (p *parser) lookupACL(tok string) (ACLRef, bool) {
	var ref ACLRef
	if strings.HasPrefix(tok, "!") {
		ref.Not = true
		tok = tok[1:]
	}
	a, ok := p.acls[strings.ToLower(tok)]
	if !ok {
		return ref, false
	}
	ref.Name = a.Name
	return ref, true
}

// String formats r as written in squid.conf after the directive name:
// "allow a !b".
func (r AccessRule) String() string {
	var b strings.Builder
	if r.Allow {
		b.WriteString("allow")
	} else {
		b.WriteString("deny")
	}
	for _, ref := range r.ACLs {
		b.WriteByte(' ')
		b.WriteString(ref.String())
	}
	return b.String()
}

// String formats ref as written in a rule: "name" or "!name".
func (ref ACLRef) String() string {
	if ref.Not {
		return "!" + ref.Name
	}
	return ref.Name
}
