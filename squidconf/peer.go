package squidconf

import (
	"fmt"
	"strings"
	"time"
)

// parseCachePeer parses "cache_peer host type http-port icp-port
// [options]" (squid.conf cache_peer).
func (p *parser) parseCachePeer(d *directive) {
	host, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing hostname")
		return
	}
	typ, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing peer type")
		return
	}
	switch typ {
	case "parent", "sibling", "multicast":
	default:
		// Squid warns and goes on with a sibling.
		p.warn(d, "unknown neighbor type '%s'; using 'sibling'", typ)
		typ = "sibling"
	}
	cp := CachePeer{Pos: d.pos, Host: host, Type: typ, Name: host, Weight: 1, ConnectFailLimit: 10}
	for i, dst := range []*int{&cp.HTTPPort, &cp.ICPPort} {
		what := [...]string{"http-port", "icp-port"}[i]
		tok, ok := d.sc.next()
		if !ok {
			p.errorf(d, "missing %s", what)
			return
		}
		n, err := parseInt(tok)
		if err != nil || n < 0 || n > 65535 || strings.HasPrefix(tok, "+") {
			p.errorf(d, "invalid %s '%s'", what, tok)
			return
		}
		*dst = n
	}
	for {
		opt, ok := d.sc.next()
		if !ok {
			break
		}
		cp.Options = append(cp.Options, opt)
		known, err := peerOption(&cp, opt)
		if err != nil {
			p.error(d, err)
			return
		}
		if !known {
			p.warn(d, "ignoring unknown cache_peer option '%s'", opt)
		}
	}
	key := strings.ToLower(cp.Name)
	if _, dup := p.peers[key]; dup {
		p.errorf(d, "cache_peer %s specified twice", cp.Name)
		return
	}
	p.peers[key] = len(p.cfg.CachePeers)
	p.cfg.CachePeers = append(p.cfg.CachePeers, cp)
}

// peerOption applies one cache_peer option. It reports whether Squid 5 or
// 6 knows it; the values of numeric options must be integers.
func peerOption(cp *CachePeer, opt string) (bool, error) {
	name, value, hasValue := strings.Cut(opt, "=")
	intValue := func(dst *int) error {
		n, err := parseInt(value)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid value in cache_peer option '%s'", opt)
		}
		*dst = n
		return nil
	}
	if !hasValue {
		switch opt {
		case "originserver":
			cp.OriginServer = true
		case "no-query":
			cp.NoQuery = true
		case "tls", "ssl":
			cp.TLS = true
		case "round-robin":
			cp.RoundRobin = true
		case "weighted-round-robin":
			cp.WeightedRoundRobin = true
		case "default":
			cp.Default = true
		case "proxy-only":
			cp.ProxyOnly = true
		case "carp":
			cp.CARP = true
		case "sourcehash":
			cp.SourceHash = true
		case "userhash":
			cp.UserHash = true
		case "tls-default-ca":
			cp.TLSOptions.NoDefaultCA = false
		case "background-ping", "no-digest", "no-delay", "closest-only", "multicast-responder", "multicast-siblings", "no-netdb-exchange", "allow-miss",
			"no-tproxy", "htcp", "htcp-oldsquid", "htcp-no-clr", "htcp-no-purge-clr",
			"htcp-only-clr", "htcp-forward-clr", "front-end-https", "auth-no-keytab",
			"tls-no-npn", "connection-auth":
		default:
			return false, nil
		}
		return true, nil
	}
	switch name {
	case "name":
		if value == "" {
			return true, fmt.Errorf("empty name= in cache_peer option '%s'", opt)
		}
		cp.Name = value
	case "login":
		cp.Login = value
	case "forceddomain":
		cp.ForcedDomain = value
	case "weight":
		if err := intValue(&cp.Weight); err != nil {
			return true, err
		}
		cp.Weight = max(cp.Weight, 1)
	case "max-conn":
		return true, intValue(&cp.MaxConn)
	case "connect-fail-limit":
		if err := intValue(&cp.ConnectFailLimit); err != nil {
			return true, err
		}
		if cp.ConnectFailLimit < 1 {
			cp.ConnectFailLimit = 10
		}
	case "connect-timeout":
		var secs int
		if err := intValue(&secs); err != nil {
			return true, err
		}
		cp.ConnectTimeout = time.Duration(secs) * time.Second
	case "basetime", "ttl", "standby":
		var n int
		return true, intValue(&n)
	case "sslcafile", "tls-cafile":
		cp.TLSOptions.CAFiles = append(cp.TLSOptions.CAFiles, value)
	case "sslflags", "tls-flags":
		cp.TLSOptions.Flags = strings.Split(value, ",")
	case "tls-min-version":
		cp.TLSOptions.MinVersion = value
	case "sslversion", "tls-version":
		return true, intValue(&cp.TLSOptions.Version)
	case "ssldomain", "tls-domain", "tls-servername":
		cp.TLSOptions.Domain = value
	case "tls-default-ca":
		cp.TLSOptions.NoDefaultCA = value == "off" || value == "no" || value == "0"
	case "carp-key", "htcp", "digest-url", "front-end-https", "connection-auth",
		"sslcert", "sslkey", "ssloptions", "sslcipher", "sslcapath", "sslcrlfile":
	default:
		return strings.HasPrefix(name, "tls-"), nil
	}
	return true, nil
}

// parseCachePeerAccess parses "cache_peer_access peer allow|deny [!]acl
// ..." (squid.conf cache_peer_access). The peer must be defined above;
// Squid skips the line with a message otherwise, and so does cuttle.
func (p *parser) parseCachePeerAccess(d *directive) {
	name, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing cache_peer name")
		return
	}
	i, ok := p.peers[strings.ToLower(name)]
	if !ok {
		p.warn(d, "No cache_peer '%s'; line ignored", name)
		return
	}
	if r, ok := p.parseAccessRule(d); ok {
		p.cfg.CachePeers[i].Access = append(p.cfg.CachePeers[i].Access, r)
	}
}
