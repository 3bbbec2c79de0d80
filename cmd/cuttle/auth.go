package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"cuttle/httpcache"
	"cuttle/squidconf"
)

// basicAuth turns auth_param basic into the handler's authentication, or
// nil when it has no program. proxy_auth ACLs then never match; squidconf
// has already refused them when no scheme at all is configured.
func basicAuth(cfg *squidconf.Config, w io.Writer) *httpcache.BasicAuth {
	for _, a := range cfg.AuthSchemes {
		if a.Scheme != "basic" || len(a.Program) == 0 {
			continue
		}
		ba := &httpcache.BasicAuth{
			Program:         a.Program,
			Realm:           a.Realm,
			Children:        a.Children,
			CredentialsTTL:  a.CredentialsTTL,
			AuthenticateTTL: cfg.AuthenticateTTL,
			CaseSensitive:   a.CaseSensitive,
		}
		for _, opt := range a.ChildrenOptions {
			name, value, _ := strings.Cut(opt, "=")
			switch name {
			case "concurrency":
				ba.Concurrency, _ = strconv.Atoi(value) // squidconf checked it
			case "startup", "idle":
				// Helpers start when first needed and stay.
			default:
				fmt.Fprintf(w, "%s: auth_param basic children: option %s is not applied by cuttle\n", a.Pos, opt)
			}
		}
		return ba
	}
	return nil
}
