package main

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"cuttle/httpcache"
	"cuttle/squidconf"
)

// buildPeers turns the cache_peer and cache_peer_access lines, and
// always_direct, never_direct, forward_max_tries, connect_timeout and
// peer_connect_timeout, into handler options. Options cuttle does not
// apply are reported to w; unreadable CA files are errors.
func buildPeers(s *setup, acls map[string]httpcache.ACL, w io.Writer, errs []error) []error {
	cfg := s.cfg
	for _, cp := range cfg.CachePeers {
		if !cp.OriginServer || cp.Type != "parent" {
			fmt.Fprintf(w, "%s: cache_peer %s: only 'parent ... originserver' peers are used by cuttle; ignored\n", cp.Pos, cp.Name)
			continue
		}
		p := httpcache.Peer{
			Name: cp.Name, Host: cp.Host, Port: cp.HTTPPort, Login: cp.Login,
			ForcedDomain: cp.ForcedDomain,
			RoundRobin:   cp.RoundRobin, WeightedRoundRobin: cp.WeightedRoundRobin,
			CARP: cp.CARP, SourceHash: cp.SourceHash, UserHash: cp.UserHash, Default: cp.Default,
			Weight:           cp.Weight,
			MaxConn:          cp.MaxConn,
			ConnectTimeout:   cmp.Or(cp.ConnectTimeout, cfg.PeerConnectTimeout),
			ConnectFailLimit: cp.ConnectFailLimit,
		}
		p.Access, errs = buildRules("cache_peer_access", cp.Access, acls, errs)
		if cp.TLS {
			c, err := peerTLSConfig(cp, w)
			if err != nil {
				errs = append(errs, err)
			}
			p.TLS = c
		}
		for _, opt := range cp.Options {
			name, _, _ := strings.Cut(opt, "=")
			switch name {
			case "standby", "proxy-only", "carp-key", "allow-miss", "front-end-https", "connection-auth",
				"tls-cert", "tls-key", "sslcert", "sslkey", "tls-cipher", "sslcipher", "tls-options", "ssloptions",
				"tls-capath", "sslcapath", "tls-crlfile", "sslcrlfile":
				fmt.Fprintf(w, "%s: cache_peer %s: option %s is not applied by cuttle yet\n", cp.Pos, cp.Name, opt)
			}
		}
		s.handler.Peers = append(s.handler.Peers, p)
	}
	s.handler.AlwaysDirect, errs = buildRules("always_direct", cfg.AlwaysDirect, acls, errs)
	s.handler.NeverDirect, errs = buildRules("never_direct", cfg.NeverDirect, acls, errs)
	s.handler.ForwardMaxTries = cfg.ForwardMaxTries
	s.handler.ConnectTimeout = cfg.ConnectTimeout
	return errs
}

// peerTLSConfig builds the TLS configuration of a cache_peer with tls (or
// ssl): tls-cafile= (sslcafile=) added to the system's CAs unless
// tls-default-ca=off, tls-flags= (sslflags=) DONT_VERIFY_PEER and
// DONT_VERIFY_DOMAIN, tls-min-version=, sslversion= and tls-domain=
// (ssldomain=), the name the certificate must carry.
func peerTLSConfig(cp squidconf.CachePeer, w io.Writer) (*tls.Config, error) {
	o := cp.TLSOptions
	c := &tls.Config{ServerName: o.Domain}
	noDefaultCA := o.NoDefaultCA
	verifyPeer, verifyDomain := true, true
	for _, f := range o.Flags {
		switch f {
		case "DONT_VERIFY_PEER":
			verifyPeer = false
		case "DONT_VERIFY_DOMAIN":
			verifyDomain = false
		case "NO_DEFAULT_CA":
			noDefaultCA = true
		case "":
		default:
			fmt.Fprintf(w, "%s: cache_peer %s: TLS flag %s is not applied by cuttle\n", cp.Pos, cp.Name, f)
		}
	}
	if len(o.CAFiles) > 0 || noDefaultCA {
		pool := x509.NewCertPool()
		if !noDefaultCA {
			if sys, err := x509.SystemCertPool(); err == nil {
				pool = sys
			}
		}
		for _, f := range o.CAFiles {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("%s: cache_peer %s: tls-cafile: %w", cp.Pos, cp.Name, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: cache_peer %s: tls-cafile: no PEM certificate in %s", cp.Pos, cp.Name, f)
			}
		}
		c.RootCAs = pool
	}
	switch {
	case !verifyPeer:
		c.InsecureSkipVerify = true
	case !verifyDomain:
		// Check the chain but not the name: crypto/tls has no switch
		// for that, so verify by hand.
		c.InsecureSkipVerify = true
		roots := c.RootCAs
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the peer sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, cert := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(cert)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	}
	versions := map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}
	if o.MinVersion != "" {
		v, ok := versions[o.MinVersion]
		if !ok {
			return nil, fmt.Errorf("%s: cache_peer %s: unknown tls-min-version=%s", cp.Pos, cp.Name, o.MinVersion)
		}
		c.MinVersion = v
	}
	// sslversion= (OpenSSL builds) pins one version: 4 TLSv1.0, 5 TLSv1.1,
	// 6 TLSv1.2; 1 is automatic.
	switch o.Version {
	case 0, 1:
	case 4, 5, 6:
		v := [...]uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12}[o.Version-4]
		c.MinVersion, c.MaxVersion = v, v
	default:
		fmt.Fprintf(w, "%s: cache_peer %s: sslversion=%d (SSLv2, SSLv3) is not supported; TLS 1.2 or later is used\n", cp.Pos, cp.Name, o.Version)
	}
	return c, nil
}
