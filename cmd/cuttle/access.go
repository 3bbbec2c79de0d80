package main

import (
	"errors"
	"fmt"
	"io"

	"cuttle/httpcache"
	"cuttle/squidconf"
)

// compileACLs compiles every acl of cfg. An ACL of a type cuttle does not
// evaluate never matches, and the reason is written to w (squid.conf acl).
func compileACLs(cfg *squidconf.Config, w io.Writer) map[string]httpcache.ACL {
	acls := make(map[string]httpcache.ACL, len(cfg.ACLs))
	env := httpcache.ACLEnv{
		Resolver: httpcache.NewResolver(httpcache.ResolverOptions{}),
		Defined:  acls,
	}
	for _, a := range cfg.ACLs {
		args := append(append([]string(nil), a.Flags...), a.Values...)
		acl, err := httpcache.CompileACL(a.Name, a.Type, args, env)
		if err != nil {
			var unsupported *httpcache.UnsupportedACLError
			switch {
			case a.BuiltIn:
			case errors.As(err, &unsupported):
				fmt.Fprintf(w, "%s: acl %s %s: never matches: %s\n", a.Pos, a.Name, a.Type, unsupported.Reason)
			default:
				fmt.Fprintf(w, "%s: acl %s %s: not evaluated by cuttle (%v); it never matches\n", a.Pos, a.Name, a.Type, err)
			}
			acl = httpcache.NeverACL()
		}
		acls[a.Name] = acl
	}
	return acls
}

// replyACLTypes are the acl types that look at the reply: in http_access
// and miss_access, which run before there is one, they never match.
var replyACLTypes = map[string]bool{
	"rep_header": true, "rep_mime_type": true, "http_status": true,
}

// buildAccessControl turns http_reply_access, miss_access, send_hit,
// store_miss, deny_info and error_directory into handler options.
func buildAccessControl(cfg *squidconf.Config, o *httpcache.Options, acls map[string]httpcache.ACL, w io.Writer, errs []error) []error {
	o.ReplyAccess, errs = buildRules("http_reply_access", cfg.HTTPReplyAccess, acls, errs)
	o.MissAccess, errs = buildRules("miss_access", cfg.MissAccess, acls, errs)
	o.SendHit, errs = buildRules("send_hit", cfg.SendHit, acls, errs)
	o.StoreMiss, errs = buildRules("store_miss", cfg.StoreMiss, acls, errs)
	for _, di := range cfg.DenyInfo {
		o.DenyInfo = append(o.DenyInfo, httpcache.DenyInfo{
			Page: di.Page, Status: di.Status, Template: di.Template, URL: di.URL, Reset: di.Reset, ACLs: di.ACLs,
		})
	}
	o.ErrorDirectory = cfg.ErrorDirectory

	types := make(map[string]string, len(cfg.ACLs))
	for _, a := range cfg.ACLs {
		types[a.Name] = a.Type
	}
	for _, list := range []struct {
		directive string
		rules     []squidconf.AccessRule
	}{{"http_access", cfg.HTTPAccess}, {"miss_access", cfg.MissAccess}, {"cache", cfg.CacheAccess}} {
		for _, r := range list.rules {
			for _, ref := range r.ACLs {
				if replyACLTypes[types[ref.Name]] {
					fmt.Fprintf(w, "%s: %s: acl %s (%s) looks at the reply, which is not known yet here; it never matches\n",
						r.Pos, list.directive, ref.Name, types[ref.Name])
				}
			}
		}
	}
	return errs
}
