package httpcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuttle/accesslog"
)

// ACLEnv holds what compiling some acl types needs besides their values.
type ACLEnv struct {
	// Resolver answers the DNS questions of dst, srcdomain, srcdom_regex,
	// and of dstdomain and dstdom_regex for URLs that name their host by
	// address. nil: no lookups; a client then has no name ("none", as in
	// Squid when the lookup fails) and a dst host name no address.
	Resolver *Resolver

	// Defined holds the ACLs compiled so far, by name: any-of and all-of
	// refer to them. Squid requires them to be defined first.
	Defined map[string]ACL

	// Random returns numbers in [0, 1) for the random acl; nil uses
	// math/rand/v2.
	Random func() float64
}

// UnsupportedACLError is returned by [CompileACL] for the acl types cuttle
// does not evaluate: such an ACL never matches, and cmd/cuttle says so at
// start (squid.conf acl).
type UnsupportedACLError struct {
	Type   string
	Reason string
}

func (e *UnsupportedACLError) Error() string {
	return "httpcache: acl type " + e.Type + " is not evaluated: " + e.Reason
}

// unsupportedACLs says why each acl type that cuttle does not evaluate
// cannot be. The authentication types (proxy_auth, proxy_auth_regex,
// ext_user, ext_user_regex, max_user_ip) belong to the authentication code
// and go through [NewACL].
var unsupportedACLs = map[string]string{
	"arp":                     "the client's MAC address is not available to cuttle",
	"eui64":                   "the client's EUI-64 address is not available to cuttle",
	"ssl::server_name":        "it matches during TLS interception (SslBump), which an accelerator does not do",
	"ssl::server_name_regex":  "it matches during TLS interception (SslBump), which an accelerator does not do",
	"at_step":                 "it matches during TLS interception (SslBump), which an accelerator does not do",
	"ssl_error":               "it matches server certificate errors during TLS interception",
	"server_cert_fingerprint": "it matches server certificates during TLS interception",
	"user_cert":               "client certificates are not requested",
	"ca_cert":                 "client certificates are not requested",
	"src_as":                  "AS numbers need Squid's whois lookups, which cuttle does not do",
	"dst_as":                  "AS numbers need Squid's whois lookups, which cuttle does not do",
	"clientside_mark":         "netfilter connection marks are not read",
	"client_connection_mark":  "netfilter connection marks are not read",
	"ident":                   "ident (RFC 931) lookups are not done",
	"ident_regex":             "ident (RFC 931) lookups are not done",
	"snmp_community":          "cuttle has no SNMP agent",
	"external":                "external ACL helpers are not run",
	"tag":                     "external ACL helpers are not run",
	"adaptation_service":      "ICAP and eCAP services are not used",
}

// CompileACL compiles the acl named name of Squid type typ from its
// arguments as written after the type (flags such as -i, -n and -m
// included; the values of several lines of one ACL in order). It
// evaluates every type Squid 5 and 6 document except those of
// [UnsupportedACLError] and the authentication types, which [NewACL]
// handles. The ACL it returns records its name in the transaction when it
// is evaluated, so that deny_info finds the last ACL checked, as Squid's
// AclMatchedName (squid.conf acl, deny_info).
func CompileACL(name, typ string, args []string, env ACLEnv) (ACL, error) {
	acl, err := compileACL(typ, args, env)
	if err != nil {
		return nil, err
	}
	return &namedACL{name: name, acl: acl}, nil
}

func compileACL(typ string, args []string, env ACLEnv) (ACL, error) {
	if reason, ok := unsupportedACLs[typ]; ok {
		return nil, &UnsupportedACLError{Type: typ, Reason: reason}
	}
	noDNS := slices.Contains(args, "-n")
	switch typ {
	case "localip":
		src, err := newSrcACL(args)
		if err != nil {
			return nil, err
		}
		return aclLocalIP{src.(aclSrc)}, nil
	case "dst":
		return newDstACL(args, noDNS, env.Resolver)
	case "dstdomain", "dstdom_regex":
		a := &aclDstDomain{noDNS: noDNS, res: env.Resolver}
		if typ == "dstdomain" {
			a.domains = newDomainACL(args).(aclDomain)
		} else {
			re, err := compilePatterns(args)
			if err != nil {
				return nil, err
			}
			a.re = re
		}
		return a, nil
	case "srcdomain", "srcdom_regex":
		a := &aclSrcDomain{res: env.Resolver}
		if typ == "srcdomain" {
			a.domains = newDomainACL(args).(aclDomain)
		} else {
			re, err := compilePatterns(args)
			if err != nil {
				return nil, err
			}
			a.re = re
		}
		return a, nil
	case "proto":
		vs := values(args)
		for i, v := range vs {
			vs[i] = strings.ToUpper(v)
		}
		return aclProto(vs), nil
	case "time":
		return newTimeACL(values(args))
	case "browser":
		return newFieldACL("User-Agent", false, false, args)
	case "referer_regex":
		return newFieldACL("Referer", false, false, args)
	case "req_mime_type":
		return newFieldACL("Content-Type", false, true, args)
	case "rep_mime_type":
		return newFieldACL("Content-Type", true, true, args)
	case "req_header", "rep_header":
		i := slices.IndexFunc(args, func(a string) bool { return !isFlag(a) })
		if i < 0 {
			return nil, fmt.Errorf("httpcache: acl %s: no header name", typ)
		}
		rest := append(slices.Clone(args[:i]), args[i+1:]...)
		return newFieldACL(http.CanonicalHeaderKey(args[i]), typ == "rep_header", false, rest)
	case "http_status":
		return newStatusACL(values(args))
	case "maxconn":
		vs := values(args)
		if len(vs) == 0 {
			return nil, fmt.Errorf("httpcache: acl maxconn: no limit")
		}
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("httpcache: acl maxconn: invalid limit %q", vs[0])
		}
		return aclMaxConn(n), nil
	case "note":
		return newNoteACL(args)
	case "annotate_transaction", "annotate_client":
		return newAnnotateACL(typ == "annotate_client", args)
	case "any-of", "all-of":
		g := &aclGroup{all: typ == "all-of"}
		for _, n := range values(args) {
			member, ok := env.Defined[n]
			if !ok {
				return nil, fmt.Errorf("httpcache: acl %s: ACL not found: %s", typ, n)
			}
			g.members = append(g.members, member)
		}
		return g, nil
	case "hier_code":
		vs := values(args)
		for i, v := range vs {
			switch v {
			case "NONE", "DIRECT":
				vs[i] = "HIER_" + v
			}
		}
		return aclHierCode(vs), nil
	case "random":
		vs := values(args)
		if len(vs) != 1 {
			return nil, fmt.Errorf("httpcache: acl random: one probability expected")
		}
		p, err := parseProbability(vs[0])
		if err != nil {
			return nil, err
		}
		r := env.Random
		if r == nil {
			r = rand.Float64
		}
		return &aclRandom{p: p, rand: r}, nil
	case "urllogin", "url_login":
		re, err := compilePatterns(args)
		if err != nil {
			return nil, err
		}
		return aclURLLogin{re}, nil
	case "peername":
		return aclPeerName{names: values(args)}, nil
	case "peername_regex":
		re, err := compilePatterns(args)
		if err != nil {
			return nil, err
		}
		return aclPeerName{re: re}, nil
	case "has":
		return aclHas(values(args)), nil
	case "transaction_initiator":
		// Every transaction cuttle checks comes from a client.
		match := false
		for _, v := range values(args) {
			match = match || v == "client" || v == "all"
		}
		if match {
			return aclAll{}, nil
		}
		return aclNever{}, nil
	case "connections_encrypted":
		return aclEncrypted{}, nil
	case "squid_error":
		return aclSquidError(values(args)), nil
	}
	return NewACL(typ, args)
}

// isFlag reports whether a is one of the flags Squid reads before acl
// values (-i and +i also switch case-folding between patterns).
func isFlag(a string) bool {
	switch a {
	case "-i", "+i", "-n", "-m", "-s", "--":
		return true
	}
	return strings.HasPrefix(a, "-m=")
}

// compilePatterns compiles the patterns of a regex acl into one
// expression; -i makes the patterns after it case-insensitive and +i
// turns that off again, as in Squid.
func compilePatterns(args []string) (*regexp.Regexp, error) {
	var parts []string
	fold := false
	for _, v := range args {
		switch {
		case v == "-i":
			fold = true
			continue
		case v == "+i":
			fold = false
			continue
		case isFlag(v):
			continue
		}
		if _, err := regexp.Compile(v); err != nil {
			return nil, fmt.Errorf("httpcache: acl regex %q: %w", v, err)
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
	return regexp.Compile(strings.Join(parts, "|"))
}

// aclState is what ACLs read and leave in a transaction beyond its
// request.
type aclState struct {
	// last is the name of the last ACL evaluated: Squid's AclMatchedName,
	// which deny_info looks up.
	last string

	// reply and replyStatus are the reply's header and status once it is
	// known (reply acls: rep_header, rep_mime_type, http_status); reply
	// is nil before.
	reply       http.Header
	replyStatus int

	// notes are the transaction's annotations (note acl, %note).
	notes []accesslog.Note

	conns *ConnTable
	conn  *connInfo // nil for a request without a recorded connection

	srcName     string // the client's name, once looked up
	srcNameDone bool

	// internal marks a transaction no client waits for (a background
	// refresh): miss_access and http_reply_access do not apply.
	internal bool
}

// namedACL records its name in the transaction before it is evaluated.
type namedACL struct {
	name string
	acl  ACL
}

func (a *namedACL) match(tx *transaction) bool {
	tx.acl.last = a.name
	if tx.req == nil && !requestFree(a.acl) {
		// A connection closed before its request (access_log acl lists):
		// Squid assumes a mismatch for the ACLs that need a request.
		return false
	}
	return a.acl.match(tx)
}

// requestFree reports whether an ACL can be evaluated without a request.
func requestFree(a ACL) bool {
	switch a.(type) {
	case aclAll, aclSrc, aclMaxConn, *aclTime, aclTime, *aclRandom, aclHierCode, *aclGroup,
		*aclAnnotate, *aclNote, aclNever:
		return true
	}
	return false
}

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

// aclProto matches the URL's scheme (acl proto), in upper case.
type aclProto []string

func (a aclProto) match(tx *transaction) bool {
	scheme, _, ok := strings.Cut(tx.url, "://")
	return ok && slices.Contains(a, strings.ToUpper(scheme))
}

// timeSpan is a day set (bit 0 Sunday) and a range of minutes of the day,
// both ends included.
type timeSpan struct {
	days     uint8
	from, to int
}

// aclTime matches the local time of the request (acl time): day letters S
// M T W H F A (D for Monday to Friday), then h1:m1-h2:m2 ranges.
type aclTime []timeSpan

func newTimeACL(vs []string) (ACL, error) {
	var a aclTime
	days, pending := uint8(0x7f), false
	for _, v := range vs {
		if v == "" {
			continue
		}
		if v[0] < '0' || v[0] > '9' {
			days, pending = 0, true
			for _, c := range v {
				switch i := strings.IndexRune("SMTWHFA", c); {
				case i >= 0:
					days |= 1 << i
				case c == 'D':
					days |= 0x3e
				}
			}
			continue
		}
		var h1, m1, h2, m2 int
		if n, _ := fmt.Sscanf(v, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); n != 4 || h1*60+m1 > h2*60+m2 {
			return nil, fmt.Errorf("httpcache: acl time: invalid range %q", v)
		}
		a = append(a, timeSpan{days: days, from: h1*60 + m1, to: h2*60 + m2})
		pending = false
	}
	if pending || len(a) == 0 {
		a = append(a, timeSpan{days: days, from: 0, to: 24 * 60})
	}
	return a, nil
}

func (a aclTime) match(tx *transaction) bool {
	t := tx.start.Local()
	day := uint8(1) << t.Weekday()
	m := t.Hour()*60 + t.Minute()
	for _, s := range a {
		if s.days&day != 0 && m >= s.from && m <= s.to {
			return true
		}
	}
	return false
}

// aclField matches a request or reply header field with regexes (acl
// browser, referer_regex, req_header, rep_header, req_mime_type,
// rep_mime_type). The values of a repeated field are joined with ", ".
// A missing field never matches, except for the mime types, which then
// match against "", as in Squid. Reply acls never match before the reply
// is known.
type aclField struct {
	name       string
	reply      bool
	emptyMatch bool
	re         *regexp.Regexp
}

func newFieldACL(name string, reply, emptyMatch bool, args []string) (ACL, error) {
	re, err := compilePatterns(args)
	if err != nil {
		return nil, err
	}
	return &aclField{name: name, reply: reply, emptyMatch: emptyMatch, re: re}, nil
}

func (a *aclField) match(tx *transaction) bool {
	hdr := tx.req.Header
	if a.reply {
		hdr = tx.acl.reply
		if hdr == nil {
			return false
		}
	}
	vs := hdr[a.name]
	switch {
	case len(vs) == 0 && a.emptyMatch:
		return a.re.MatchString("")
	case len(vs) == 0:
		return false
	case len(vs) == 1:
		return a.re.MatchString(vs[0])
	}
	return a.re.MatchString(strings.Join(vs, ", "))
}

// aclStatus matches the reply's status (acl http_status): codes, ranges
// and open ranges ("500-").
type aclStatus [][2]int

func newStatusACL(vs []string) (ACL, error) {
	var a aclStatus
	for _, v := range vs {
		lo, hi, isRange := strings.Cut(v, "-")
		l, err := strconv.Atoi(lo)
		h := l
		if err == nil && isRange {
			h = 999
			if hi != "" {
				h, err = strconv.Atoi(hi)
			}
		}
		if err != nil || h < l {
			return nil, fmt.Errorf("httpcache: acl http_status: invalid status %q", v)
		}
		a = append(a, [2]int{l, h})
	}
	return a, nil
}

func (a aclStatus) match(tx *transaction) bool {
	if tx.acl.reply == nil {
		return false
	}
	s := tx.acl.replyStatus
	for _, r := range a {
		if s >= r[0] && s <= r[1] {
			return true
		}
	}
	return false
}

// aclMaxConn matches when the client's address has more than this many
// open connections (acl maxconn), counted by the [ConnTable].
type aclMaxConn int

func (a aclMaxConn) match(tx *transaction) bool {
	return tx.acl.conns != nil && tx.acl.conns.PerIP(tx.clientIP) > int(a)
}

// aclNote matches an annotation of the transaction (acl note): by name,
// and by value when values are given; with -m the annotation's value is a
// list of tokens (separated by commas, or by the characters of
// -m=delimiters) and one token must be among the values.
type aclNote struct {
	name   string
	values []string
	delims string // "" without -m
}

func newNoteACL(args []string) (ACL, error) {
	a := &aclNote{}
	for _, f := range args {
		if f == "-m" {
			a.delims = ","
		} else if d, ok := strings.CutPrefix(f, "-m="); ok {
			a.delims = d
		}
	}
	vs := values(slices.DeleteFunc(slices.Clone(args), func(s string) bool { return strings.HasPrefix(s, "-m=") }))
	if len(vs) == 0 {
		return nil, fmt.Errorf("httpcache: acl note: no annotation name")
	}
	a.name, a.values = vs[0], vs[1:]
	return a, nil
}

func (a *aclNote) match(tx *transaction) bool {
	for _, n := range tx.acl.notes {
		if n.Name != a.name {
			continue
		}
		if len(a.values) == 0 {
			return true
		}
		if a.delims == "" {
			if slices.Contains(a.values, n.Value) {
				return true
			}
			continue
		}
		for tok := range strings.FieldsFuncSeq(n.Value, func(r rune) bool { return strings.ContainsRune(a.delims, r) }) {
			if slices.Contains(a.values, strings.TrimSpace(tok)) {
				return true
			}
		}
	}
	return false
}

// aclAnnotate always matches and annotates the transaction (acl
// annotate_transaction) or the client connection, whose later
// transactions inherit the annotations (acl annotate_client): key=value
// replaces the annotations of that name, key+=value adds one; with -m the
// value is a comma-separated list of values.
type aclAnnotate struct {
	client bool
	notes  []annotation
}

type annotation struct {
	accesslog.Note
	add bool
}

func newAnnotateACL(client bool, args []string) (ACL, error) {
	a := &aclAnnotate{client: client}
	delims := ""
	for _, f := range args {
		if f == "-m" {
			delims = ","
		} else if d, ok := strings.CutPrefix(f, "-m="); ok {
			delims = d
		}
	}
	for _, v := range values(slices.DeleteFunc(slices.Clone(args), func(s string) bool { return strings.HasPrefix(s, "-m=") })) {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || k == "+" {
			return nil, fmt.Errorf("httpcache: acl annotate: %q is not key=value", v)
		}
		add := strings.HasSuffix(k, "+")
		k = strings.TrimSuffix(k, "+")
		vals := []string{val}
		if delims != "" {
			vals = strings.FieldsFunc(val, func(r rune) bool { return strings.ContainsRune(delims, r) })
		}
		for i, x := range vals {
			a.notes = append(a.notes, annotation{Note: accesslog.Note{Name: k, Value: x}, add: add || i > 0})
		}
	}
	return a, nil
}

func (a *aclAnnotate) match(tx *transaction) bool {
	tx.acl.notes = annotate(tx.acl.notes, a.notes)
	if a.client && tx.acl.conn != nil {
		ci := tx.acl.conn
		ci.mu.Lock()
		ci.notes = annotate(ci.notes, a.notes)
		ci.mu.Unlock()
	}
	return true
}

// annotate applies annotations to a list of notes.
func annotate(notes []accesslog.Note, add []annotation) []accesslog.Note {
	for _, n := range add {
		if !n.add {
			notes = slices.DeleteFunc(notes, func(x accesslog.Note) bool { return x.Name == n.Name })
		}
		notes = append(notes, n.Note)
	}
	return notes
}

// aclGroup matches when any (acl any-of) or all (acl all-of) of its
// members match, evaluated in order until the answer is known.
type aclGroup struct {
	all     bool
	members []ACL
}

func (a *aclGroup) match(tx *transaction) bool {
	for _, m := range a.members {
		if m.match(tx) != a.all {
			return !a.all
		}
	}
	return a.all
}

// aclHierCode matches the hierarchy code logged by %Sh (acl hier_code):
// HIER_NONE until a peer is chosen.
type aclHierCode []string

func (a aclHierCode) match(tx *transaction) bool {
	h := tx.hier
	if h == "" {
		h = "HIER_NONE"
	}
	return slices.Contains(a, h)
}

// aclRandom matches with a probability (acl random).
type aclRandom struct {
	p    float64
	rand func() float64
}

// parseProbability reads a probability as a decimal (0.333), a fraction
// (1/3) or a ratio of matches to non-matches (3:5).
func parseProbability(v string) (float64, error) {
	bad := fmt.Errorf("httpcache: acl random: invalid probability %q", v)
	if a, b, ok := strings.Cut(v, "/"); ok {
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 != nil || err2 != nil || y <= 0 || x < 0 || x > y {
			return 0, bad
		}
		return x / y, nil
	}
	if a, b, ok := strings.Cut(v, ":"); ok {
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 != nil || err2 != nil || x < 0 || y < 0 || x+y == 0 {
			return 0, bad
		}
		return x / (x + y), nil
	}
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, bad
	}
	return p, nil
}

func (a *aclRandom) match(*transaction) bool { return a.rand() < a.p }

// aclURLLogin matches the user information of an absolute request URL
// ("user:password", acl urllogin); cuttle never keeps it in the URL it
// logs and forwards.
type aclURLLogin struct{ re *regexp.Regexp }

func (a aclURLLogin) match(tx *transaction) bool {
	login := ""
	if u := tx.req.URL; u != nil && u.User != nil {
		login = u.User.String()
	}
	return a.re.MatchString(login)
}

// aclPeerName matches the name= of the cache_peer chosen for the request
// (acl peername, peername_regex); nothing before one is chosen.
type aclPeerName struct {
	names []string
	re    *regexp.Regexp
}

func (a aclPeerName) match(tx *transaction) bool {
	if tx.peer == nil {
		return false
	}
	if a.re != nil {
		return a.re.MatchString(tx.peer.Name)
	}
	return slices.Contains(a.names, tx.peer.Name)
}

// aclHas matches a transaction that has the components named (acl has):
// request, response, ALE.
type aclHas []string

func (a aclHas) match(tx *transaction) bool {
	for _, c := range a {
		switch c {
		case "request", "ALE":
			return true
		case "response":
			if tx.acl.reply != nil {
				return true
			}
		}
	}
	return false
}

// aclEncrypted matches when the messages of the transaction came over TLS
// (acl connections_encrypted): the client's request and, once a peer is
// chosen, the connection to it.
type aclEncrypted struct{}

func (aclEncrypted) match(tx *transaction) bool {
	if tx.req.TLS == nil {
		return false
	}
	return tx.peer == nil || strings.HasPrefix(tx.peer.base, "https:")
}

// aclSquidError matches the error page of the transaction (acl
// squid_error), by its ERR_ name.
type aclSquidError []string

func (a aclSquidError) match(tx *transaction) bool {
	return tx.errCode != "" && slices.Contains(a, tx.errCode)
}
