package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuttle/httpcache"
	"cuttle/squidconf"
	"cuttle/store"
)

// setup is a squid.conf turned into what the other packages take.
type setup struct {
	cfg       *squidconf.Config
	listeners []listener
	handler   httpcache.Options // without Store, Log and ErrorLog

	// logTerms holds the acl list of each access_log line, by index.
	logTerms [][]httpcache.Term
}

// listener is one http_port or https_port to open.
type listener struct {
	addr string
	port httpcache.Port
	tls  *tls.Config // nil for an http_port (tlsport.go)
}

// diskOptions turns the cache_dir lines into disk tier options. Every
// type (ufs, aufs, diskd, rock) becomes cuttle's own store in the path;
// options that only mean something to Squid's stores are reported to w.
func diskOptions(cfg *squidconf.Config, w io.Writer, logf func(string, ...any), onPanic func(any)) []store.DiskOptions {
	var out []store.DiskOptions
	for _, cd := range cfg.CacheDirs {
		o := store.DiskOptions{
			Dir:           cd.Path,
			MaxBytes:      cd.SizeMB << 20,
			L1:            cd.L1,
			L2:            cd.L2,
			MinObjectSize: max(cd.MinSize, cfg.MinimumObjectSize),
			MaxObjectSize: cfg.MaximumObjectSize,
			ReadOnly:      cd.NoStore,
			LowWater:      cfg.CacheSwapLow,
			HighWater:     cfg.CacheSwapHigh,
			Policy:        cd.ReplacementPolicy,
			Logf:          logf,
			OnPanic:       onPanic,
		}
		if cd.MaxSize >= 0 && (o.MaxObjectSize <= 0 || cd.MaxSize < o.MaxObjectSize) {
			o.MaxObjectSize = cd.MaxSize
		}
		for _, opt := range cd.Options {
			name, _, _ := strings.Cut(opt, "=")
			switch name {
			case "min-size", "max-size", "no-store", "read-only":
			default:
				fmt.Fprintf(w, "%s: cache_dir %s: option %s applies to Squid's %s store only; cuttle ignores it\n", cd.Pos, cd.Path, opt, cd.Type)
			}
		}
		out = append(out, o)
	}
	return out
}

// buildRules turns an access list (http_access, cache) into rules, adding
// an error for each ACL name that is not defined.
func buildRules(directive string, list []squidconf.AccessRule, acls map[string]httpcache.ACL, errs []error) ([]httpcache.Rule, []error) {
	var rules []httpcache.Rule
	for _, r := range list {
		rule := httpcache.Rule{Allow: r.Allow}
		for _, ref := range r.ACLs {
			acl, ok := acls[ref.Name]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: %s: ACL not found: %s", r.Pos, directive, ref.Name))
				continue
			}
			rule.Terms = append(rule.Terms, httpcache.Term{ACL: acl, Not: ref.Not})
		}
		rules = append(rules, rule)
	}
	return rules, errs
}

// buildOptions turns cfg into package options. Problems that Squid accepts
// but that change behaviour are written to w; errors stop the start.
func buildOptions(cfg *squidconf.Config, w io.Writer) (*setup, error) {
	s := &setup{cfg: cfg}
	var errs []error

	for _, p := range cfg.HTTPPorts {
		if !p.Accel {
			fmt.Fprintf(w, "%s: http_port without accel: cuttle is an accelerator only; serving it as 'accel vhost'\n", p.Pos)
			p.Vhost = true
		}
		_, portStr, err := net.SplitHostPort(p.Addr)
		n, err2 := strconv.Atoi(portStr)
		if err != nil || err2 != nil {
			errs = append(errs, fmt.Errorf("%s: http_port: invalid address %q", p.Pos, p.Addr))
			continue
		}
		s.listeners = append(s.listeners, listener{addr: p.Addr, port: httpcache.Port{
			Name:        p.Name,
			Scheme:      p.Protocol,
			DefaultSite: p.DefaultSite,
			Vhost:       p.Vhost,
			Vport:       p.Vport,
			ListenPort:  n,
			AllowDirect: p.AllowDirect,
		}})
	}

	s.listeners, errs = appendHTTPSListeners(s.listeners, cfg, w, errs)

	s.handler.Auth = basicAuth(cfg, w)

	acls := compileACLs(cfg, w)
	s.handler.Access, errs = buildRules("http_access", cfg.HTTPAccess, acls, errs)
	s.handler.CacheAccess, errs = buildRules("cache", cfg.CacheAccess, acls, errs)
	s.handler.DelayPools, errs = buildDelayPools(cfg, acls, w, errs)
	warnLimits(cfg, w)
	errs = hardeningOptions(s, cfg, acls, w, errs) // hardening.go
	errs = buildPeers(s, acls, w, errs)
	errs = buildAccessControl(cfg, &s.handler, acls, w, errs)
	for _, a := range cfg.ACLs {
		// Squid enables PURGE when an acl of type method names it.
		if a.Type == "method" && slices.Contains(a.Values, "PURGE") {
			s.handler.EnablePurge = true
		}
	}

	for _, rp := range cfg.RefreshPatterns {
		expr := rp.Regex
		if rp.IgnoreCase {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: refresh_pattern: %v", rp.Pos, err))
			continue
		}
		s.handler.RefreshPatterns = append(s.handler.RefreshPatterns, httpcache.RefreshPattern{
			Regexp: re, Min: rp.Min, Max: rp.Max, Percent: rp.Percent,
			OverrideExpire: rp.OverrideExpire, OverrideLastmod: rp.OverrideLastmod,
			ReloadIntoIMS: rp.ReloadIntoIMS, IgnoreReload: rp.IgnoreReload,
			IgnoreNoStore: rp.IgnoreNoStore, IgnorePrivate: rp.IgnorePrivate,
			RefreshIMS: rp.RefreshIMS, StoreStale: rp.StoreStale,
			MaxStale: max(rp.MaxStale, 0),
		})
		if rp.ReloadIntoIMS || rp.IgnoreReload {
			s.handler.ReloadLookup = true
		}
	}
	s.handler.NegativeTTL = cfg.NegativeTTL
	s.handler.ReplyHeaderMaxSize = cfg.ReplyHeaderMaxSize // -1 (none) is negative too
	s.handler.MaxStale = cfg.MaxStale
	if cfg.MaxStale == 0 {
		s.handler.MaxStale = -1 // max_stale 0: never serve stale on error
	}
	s.handler.CollapsedForwarding = cfg.CollapsedForwarding
	for i, rl := range cfg.RangeOffsetLimit {
		if len(rl.ACLs) > 0 {
			fmt.Fprintf(w, "%s: range_offset_limit: acl lists are not evaluated yet; the line applies to every request\n", rl.Pos)
		}
		if i == 0 {
			s.handler.RangeOffsetLimit = rl.Size
		}
	}

	s.handler.VisibleHostname = cfg.VisibleHostname
	if s.handler.VisibleHostname == "" {
		if h, err := os.Hostname(); err == nil {
			s.handler.VisibleHostname = h
		}
	}
	s.handler.Version = "cuttle/" + version
	if cfg.HTTPDSuppressVersionString {
		s.handler.Version = "cuttle" // in Via and on error pages; X-Cache has none
	}
	s.handler.Headers, errs = headerOptions(cfg, acls, w, errs)
	s.handler.SuppressVersion = cfg.HTTPDSuppressVersionString
	s.handler.MaxObjectSize = cfg.MaximumObjectSize
	s.handler.Requests = requestLimits(cfg) // the request pre-scan (prescan.go)
	s.logTerms = make([][]httpcache.Term, len(cfg.AccessLogs))
	for i, al := range cfg.AccessLogs {
		for _, ref := range al.ACLs {
			acl, ok := acls[ref.Name]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: access_log: ACL not found: %s", al.Pos, ref.Name))
				continue
			}
			s.logTerms[i] = append(s.logTerms[i], httpcache.Term{ACL: acl, Not: ref.Not})
		}
		if al.Module != "stdio" && al.Module != "daemon" && al.Module != "syslog" && al.Module != "none" {
			fmt.Fprintf(w, "%s: access_log: module %s: not supported yet; nothing is logged there\n", al.Pos, al.Module)
		}
	}
	return s, errors.Join(errs...)
}
