package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"

	"cuttle/httpcache"
	"cuttle/squidconf"
)

// setup is a squid.conf turned into what the other packages take.
type setup struct {
	cfg       *squidconf.Config
	listeners []listener
	handler   httpcache.Options // without Store, Log and ErrorLog
}

// listener is one http_port to open.
type listener struct {
	addr string
	port httpcache.Port
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
		}})
	}

	for _, cp := range cfg.CachePeers {
		if !cp.OriginServer || cp.Type != "parent" {
			fmt.Fprintf(w, "%s: cache_peer %s: only 'parent ... originserver' peers are used by cuttle; ignored\n", cp.Pos, cp.Name)
			continue
		}
		s.handler.Peers = append(s.handler.Peers, httpcache.Peer{
			Name: cp.Name, Host: cp.Host, Port: cp.HTTPPort, Login: cp.Login,
		})
	}
	if len(s.handler.Peers) > 1 {
		fmt.Fprintf(w, "%s: cache_peer: cuttle uses the first origin server only for now (FIRSTUP_PARENT)\n", cfg.CachePeers[0].Pos)
	}

	acls := make(map[string]httpcache.ACL, len(cfg.ACLs))
	for _, a := range cfg.ACLs {
		args := append(append([]string(nil), a.Flags...), a.Values...)
		acl, err := httpcache.NewACL(a.Type, args)
		if err != nil {
			if a.BuiltIn {
				acl = httpcache.NeverACL()
			} else {
				fmt.Fprintf(w, "%s: acl %s %s: not evaluated by cuttle yet; it never matches\n", a.Pos, a.Name, a.Type)
				acl = httpcache.NeverACL()
			}
		}
		acls[a.Name] = acl
	}
	for _, r := range cfg.HTTPAccess {
		rule := httpcache.Rule{Allow: r.Allow}
		for _, ref := range r.ACLs {
			acl, ok := acls[ref.Name]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: http_access: ACL not found: %s", r.Pos, ref.Name))
				continue
			}
			rule.Terms = append(rule.Terms, httpcache.Term{ACL: acl, Not: ref.Not})
		}
		s.handler.Access = append(s.handler.Access, rule)
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
		})
	}

	s.handler.VisibleHostname = cfg.VisibleHostname
	if s.handler.VisibleHostname == "" {
		if h, err := os.Hostname(); err == nil {
			s.handler.VisibleHostname = h
		}
	}
	s.handler.Version = "cuttle/" + version
	s.handler.MaxObjectSize = cfg.MaximumObjectSize
	for _, al := range cfg.AccessLogs {
		if len(al.ACLs) > 0 {
			fmt.Fprintf(w, "%s: access_log: acl filters are not applied yet; every transaction is logged\n", al.Pos)
		}
		if al.Module != "stdio" && al.Module != "daemon" && al.Module != "none" {
			fmt.Fprintf(w, "%s: access_log: module %s: not supported yet; nothing is logged there\n", al.Pos, al.Module)
		}
	}
	return s, errors.Join(errs...)
}
