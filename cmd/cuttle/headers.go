package main

import (
	"fmt"
	"io"
	"strings"

	"cuttle/accesslog"
	"cuttle/httpcache"
	"cuttle/squidconf"
)

// headerOptions turns the header directives of cfg into
// httpcache.HeaderOptions: request_header_access, reply_header_access,
// their *_replace values, request_header_add, reply_header_add,
// forwarded_for, follow_x_forwarded_for, acl_uses_indirect_client,
// log_uses_indirect_client and via. Problems Squid accepts are written to
// w; errors are appended to errs.
func headerOptions(cfg *squidconf.Config, acls map[string]httpcache.ACL, w io.Writer, errs []error) (httpcache.HeaderOptions, []error) {
	var o httpcache.HeaderOptions
	o.RequestAccess, errs = headerAccess("request_header_access", cfg.RequestHeaderAccess, cfg.RequestHeaderReplace, acls, w, errs)
	o.ReplyAccess, errs = headerAccess("reply_header_access", cfg.ReplyHeaderAccess, cfg.ReplyHeaderReplace, acls, w, errs)
	fopts := accesslog.FormatOptions{StripQueryTerms: cfg.StripQueryTerms}
	o.RequestAdd, errs = headerAdds("request_header_add", cfg.RequestHeaderAdd, fopts, acls, errs)
	o.ReplyAdd, errs = headerAdds("reply_header_add", cfg.ReplyHeaderAdd, fopts, acls, errs)
	// squidconf has already warned about a word Squid does not know; it
	// acts as transparent.
	o.ForwardedFor, _ = httpcache.ParseForwardedFor(cfg.ForwardedFor)
	o.FollowXForwardedFor, errs = buildRules("follow_x_forwarded_for", cfg.FollowXForwardedFor, acls, errs)
	o.DirectClientACLs = !cfg.ACLUsesIndirectClient
	o.DirectClientLog = !cfg.LogUsesIndirectClient
	o.NoVia = !cfg.Via
	return o, errs
}

// headerAccess builds the lists of one *_header_access directive, each
// with the *_header_replace value of its name. A replacement for a name
// without rules is never used, as in Squid, and w is told so.
func headerAccess(directive string, lists []squidconf.KeyedAccess, replaces []squidconf.HeaderReplace, acls map[string]httpcache.ACL, w io.Writer, errs []error) ([]httpcache.HeaderAccess, []error) {
	var out []httpcache.HeaderAccess
	for _, ka := range lists {
		ha := httpcache.HeaderAccess{Name: ka.Key}
		ha.Rules, errs = buildRules(directive, ka.Rules, acls, errs)
		out = append(out, ha)
	}
	replaceDirective := strings.Replace(directive, "_access", "_replace", 1)
	for _, hr := range replaces {
		found := false
		for i := range out {
			if sameHeaderKey(out[i].Name, hr.Header) {
				out[i].Replace, found = hr.Value, true
			}
		}
		if !found {
			fmt.Fprintf(w, "%s: %s: %s has no %s rules; the replacement is never used\n", hr.Pos, replaceDirective, hr.Header, directive)
		}
	}
	return out, errs
}

// sameHeaderKey reports whether two *_header_access names are the same:
// All and Other exactly, field names in any case.
func sameHeaderKey(a, b string) bool {
	special := func(s string) bool { return s == "All" || s == "Other" }
	if special(a) || special(b) {
		return a == b
	}
	return strings.EqualFold(a, b)
}

// headerAdds builds the lines of request_header_add or reply_header_add:
// a quoted value is a logformat specification, compiled with the access
// log's compiler (strip_query_terms applies to %ru, as in Squid).
func headerAdds(directive string, list []squidconf.HeaderAdd, fopts accesslog.FormatOptions, acls map[string]httpcache.ACL, errs []error) ([]httpcache.HeaderAdd, []error) {
	var out []httpcache.HeaderAdd
	for _, a := range list {
		ha := httpcache.HeaderAdd{Name: a.Header, Value: a.Value}
		if a.Quoted && strings.Contains(a.Value, "%") {
			f, err := accesslog.Compile(a.Value, fopts)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %s: %w", a.Pos, directive, a.Header, err))
				continue
			}
			ha.Format = f
		}
		rules, e := buildRules(directive, []squidconf.AccessRule{{Pos: a.Pos, Allow: true, ACLs: a.ACLs}}, acls, errs)
		errs = e
		ha.Terms = rules[0].Terms
		out = append(out, ha)
	}
	return out, errs
}
