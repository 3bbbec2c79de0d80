package httpcache

import (
	"fmt"
	"math/rand/v2"
	"net/http"
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
