package squidconf

import (
	"fmt"
	"strings"
)

// aclNameMax is the longest ACL name Squid accepts (ACL_NAME_SZ - 1).
const aclNameMax = 63

// aclKind is how the values of an ACL type are read and checked.
type aclKind uint8

const (
	aclOther  aclKind = iota // kept as written
	aclIP                    // src, localip: addresses, networks, ranges
	aclDst                   // dst: addresses or host names
	aclDomain                // dstdomain, srcdomain
	aclRegex                 // regular expressions, with -i and +i between them
	aclHeader                // req_header, rep_header: a header name, then regexes
	aclPort                  // port, localport
	aclStatus                // http_status
	aclMethod                // method
	aclGroup                 // any-of, all-of: names of other ACLs
)

// aclTypeKind returns the kind of an ACL type Squid 5 or 6 knows.
func aclTypeKind(typ string) (aclKind, bool) {
	switch typ {
	case "src", "localip":
		return aclIP, true
	case "dst":
		return aclDst, true
	case "dstdomain", "srcdomain":
		return aclDomain, true
	case "url_regex", "urlpath_regex", "urllogin", "dstdom_regex", "srcdom_regex",
		"browser", "referer_regex", "peername_regex", "proxy_auth_regex", "ident_regex",
		"ext_user_regex", "req_mime_type", "rep_mime_type", "ssl::server_name_regex":
		return aclRegex, true
	case "req_header", "rep_header":
		return aclHeader, true
	case "port", "localport":
		return aclPort, true
	case "http_status":
		return aclStatus, true
	case "method":
		return aclMethod, true
	case "any-of", "all-of":
		return aclGroup, true
	case "arp", "eui64", "clientside_mark", "client_connection_mark", "src_as", "dst_as",
		"peername", "time", "myportname", "proto", "ident", "proxy_auth", "snmp_community",
		"maxconn", "max_user_ip", "random", "external", "user_cert", "ca_cert", "ext_user",
		"tag", "hier_code", "note", "annotate_transaction", "annotate_client",
		"adaptation_service", "transaction_initiator", "has", "at_step", "ssl_error",
		"server_cert_fingerprint", "ssl::server_name", "connections_encrypted", "squid_error":
		return aclOther, true
	}
	return 0, false
}

// isACLFlag reports whether tok is one of the flags Squid reads before
// ACL values.
func isACLFlag(tok string) bool {
	switch tok {
	case "-i", "+i", "-n", "-m", "-s", "--":
		return true
	}
	return strings.HasPrefix(tok, "-m=")
}

// addBuiltinACLs defines the ACLs Squid predefines.
func (p *parser) addBuiltinACLs() {
	for _, a := range []*ACL{
		{Name: "all", Type: "src", Values: []string{"all"}},
		{Name: "manager", Type: "url_regex", Flags: []string{"-i"},
			Values: []string{"^cache_object://", "+i", "^[^:]+://[^/]+/squid-internal-mgr/"}},
		{Name: "localhost", Type: "src", Values: []string{"127.0.0.1/32", "::1"}},
		{Name: "to_localhost", Type: "dst", Values: []string{"127.0.0.0/8", "0.0.0.0/32", "::1/128", "::/128"}},
		{Name: "CONNECT", Type: "method", Values: []string{"CONNECT"}},
	} {
		a.BuiltIn = true
		p.cfg.ACLs = append(p.cfg.ACLs, a)
		p.acls[strings.ToLower(a.Name)] = a
	}
}

// parseACL parses "acl name type [flags] value ..." (squid.conf acl).
func (p *parser) parseACL(d *directive) {
	name, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing ACL name")
		return
	}
	if len(name) > aclNameMax {
		p.errorf(d, "ACL name '%s' too long, max %d characters supported", name, aclNameMax)
		return
	}
	typ, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing ACL type")
		return
	}
	switch {
	case typ == "myip" || typ == "myport":
		newType := "local" + strings.TrimPrefix(typ, "my")
		p.warn(d, "ACL type '%s' is now '%s' (it matches what the client connected to)", typ, newType)
		typ = newType
	case typ == "proto" && strings.EqualFold(name, "manager"):
		p.warn(d, "ACL 'manager' is now a built-in ACL; remove this line")
		return
	}
	kind, ok := aclTypeKind(typ)
	if !ok {
		p.errorf(d, "Invalid ACL type '%s'", typ)
		return
	}
	existing := p.acls[strings.ToLower(name)]
	if existing != nil && existing.Type != typ {
		p.errorf(d, "ACL '%s' already exists with different type", name)
		return
	}

	flags, values, ok := p.readACLValues(d, name, kind)
	if !ok {
		return
	}
	if values, ok = p.checkACLType(d, name, typ, existing, values); !ok {
		return
	}
	if !p.checkACLValues(d, name, typ, kind, existing, values) {
		return
	}

	if existing == nil {
		a := &ACL{Pos: d.pos, Name: name, Type: typ, Flags: flags, Values: values}
		p.cfg.ACLs = append(p.cfg.ACLs, a)
		p.acls[strings.ToLower(name)] = a
		return
	}
	if existing.BuiltIn {
		p.notice(d, "ACL '%s' is built in; the values of this line are added to it", existing.Name)
	}
	regex := kind == aclRegex || kind == aclHeader
	if regex && caseFolded(existing.Flags, existing.Values) {
		// Each line starts case-sensitive: say so in the merged list.
		existing.Values = append(existing.Values, "+i")
	}
	for _, f := range flags {
		switch {
		case regex && (f == "-i" || f == "+i"):
			existing.Values = append(existing.Values, f)
		case !contains(existing.Flags, f):
			existing.Flags = append(existing.Flags, f)
		}
	}
	existing.Values = append(existing.Values, values...)
}

// readACLValues reads the flags and values of an acl line, expanding
// "file" values.
func (p *parser) readACLValues(d *directive, name string, kind aclKind) (flags, values []string, ok bool) {
	regex := kind == aclRegex || kind == aclHeader
	if regex && p.cfg.QuotedValues {
		p.errorf(d, "can not read regex expression while configuration_includes_quoted_values is enabled")
		return nil, nil, false
	}
	next := d.sc.next
	if regex {
		next = d.sc.nextRegex
	}
	inFlags := true
	for {
		tok, more := next()
		if !more {
			break
		}
		if inFlags && isACLFlag(tok) {
			flags = append(flags, tok)
			inFlags = tok != "--"
			continue
		}
		inFlags = false
		if file, ok := p.aclFileName(tok); ok {
			values = append(values, p.aclFileValues(d, name, file)...)
			continue
		}
		values = append(values, tok)
	}
	if d.sc.err != nil {
		p.error(d, d.sc.err)
		return nil, nil, false
	}
	return flags, values, true
}

// caseFolded reports whether the patterns after flags and values would be
// case-insensitive.
func caseFolded(flags, values []string) bool {
	ci := contains(flags, "-i")
	for _, v := range values {
		switch v {
		case "-i":
			ci = true
		case "+i":
			ci = false
		}
	}
	return ci
}

// aclFileName recognizes the ways an acl line names a file of values:
// "/path" (quotes not recognized otherwise) and, with
// configuration_includes_quoted_values on, parameters("/path").
func (p *parser) aclFileName(tok string) (string, bool) {
	if p.cfg.QuotedValues {
		inner, ok := strings.CutPrefix(tok, "parameters(")
		if !ok || !strings.HasSuffix(inner, ")") {
			return "", false
		}
		inner = strings.TrimSuffix(inner, ")")
		inner = strings.Trim(inner, `"'`)
		return inner, true
	}
	if tok == "" || (tok[0] != '"' && tok[0] != '\'') {
		return "", false
	}
	name := tok[1:]
	if i := strings.IndexAny(name, `"'`); i >= 0 {
		name = name[:i]
	}
	return name, true
}

// aclFileValues reads the values of an acl "file": one a line, blank
// lines and lines starting with '#' skipped, and on each line the words up
// to one starting with '#'. A file that cannot be read leaves the values
// out with a notice, as in Squid.
func (p *parser) aclFileValues(d *directive, name, file string) []string {
	data, err := p.opts.readFile(file)
	if err != nil {
		p.warn(d, "can not open file %s for reading (%v); acl '%s' gets no values from it", file, unwrapPathError(err), name)
		return nil
	}
	var values []string
	for line := range strings.Lines(string(data)) {
		if p.cfg.QuotedValues {
			values = append(values, newScanner(line, true).remaining()...)
			continue
		}
		line = strings.TrimLeft(line, spaceChars)
		if line == "" || line[0] == '#' {
			continue
		}
		end := 0
		sc := newScanner(line, false)
		for sc.more() {
			sc.next()
			end = sc.i
		}
		values = append(values, line[:end])
	}
	return values
}

// checkACLValues validates the values of one acl line by type.
func (p *parser) checkACLValues(d *directive, name, typ string, kind aclKind, existing *ACL, values []string) bool {
	var err error
	switch kind {
	case aclIP, aclDst:
		err = checkEach(values, p.checkIPHost)
	case aclPort:
		err = checkEach(values, func(v string) error { return checkRange(v, 0, 65535, false, "port") })
	case aclStatus:
		err = checkEach(values, func(v string) error { return checkRange(v, 100, 999, true, "status code") })
	case aclMethod:
		err = checkEach(values, checkMethod)
	case aclDomain:
		key := strings.ToLower(name)
		idx := p.domains[key]
		if idx == nil {
			idx = newDomainIndex()
			p.domains[key] = idx
		}
		if err = checkDomains(idx, name, values, func(msg string) { p.warn(d, "%s", msg) }); err != nil {
			// Forget the values of the refused line.
			idx = newDomainIndex()
			if existing != nil {
				for _, v := range existing.Values {
					idx.add(v)
				}
			}
			p.domains[key] = idx
		}
	case aclRegex:
		// Squid reports a pattern regcomp(3) refuses and goes on without
		// it; cuttle's are Go's (RE2), which refuse a few more.
		if rerr := checkRegexps(values); rerr != nil {
			p.warn(d, "%v; the pattern is ignored", rerr)
		}
	case aclGroup:
		for _, v := range values {
			if strings.EqualFold(v, name) {
				err = fmt.Errorf("ACL '%s' cannot be a member of itself", name)
				break
			}
			if _, ok := p.lookupACL(v); !ok || strings.HasPrefix(v, "!") {
				err = fmt.Errorf("ACL not found: %s", v)
				break
			}
		}
	}
	if err != nil {
		p.error(d, err)
		return false
	}
	return true
}

// checkACLsEmpty notes the ACLs left without values, which never match.
func (p *parser) checkACLsEmpty() {
	for _, a := range p.cfg.ACLs {
		if len(a.Values) == 0 && !a.BuiltIn {
			p.warnf(a.Pos, "acl: empty ACL '%s' never matches", a.Name)
		}
	}
}

func checkEach(values []string, check func(string) error) error {
	for _, v := range values {
		if err := check(v); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
