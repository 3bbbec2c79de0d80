package main

import (
	"cmp"
	"fmt"
	"io"
	"time"

	"cuttle/httpcache"
	"cuttle/squidconf"
)

// hardeningOptions sets the handler options that bound what one client
// or origin can cost: read_timeout, server_idle_pconn_timeout and
// server_persistent_connections, write_timeout on HTTP/2 streams,
// request_body_max_size and the http_upgrade_request_protocols rules.
func hardeningOptions(s *setup, cfg *squidconf.Config, acls map[string]httpcache.ACL, w io.Writer, errs []error) []error {
	s.handler.ReadTimeout = cfg.ReadTimeout
	if cfg.ReadTimeout == 0 {
		// "read_timeout 0": Squid would time every read out at once;
		// cuttle reads without a timeout instead, and says so.
		fmt.Fprintf(w, "read_timeout 0: origin and request body reads are never timed out\n")
		s.handler.ReadTimeout = -1
	}
	s.handler.ServerIdleTimeout = cfg.ServerIdlePconnTimeout
	if cfg.ServerIdlePconnTimeout == 0 || !cfg.ServerPersistentConnections {
		// "server_idle_pconn_timeout 0" or "server_persistent_connections
		// off": no origin connection waits for a next request.
		s.handler.ServerIdleTimeout = -1
	}
	s.handler.RequestBodyMaxSize = cfg.RequestBodyMaxSize
	s.handler.WriteTimeout = cfg.WriteTimeout // HTTP/2 streams; the connections' writes: guardOptions
	for _, ka := range cfg.HTTPUpgradeRequestProtocols {
		var rules []httpcache.Rule
		rules, errs = buildRules("http_upgrade_request_protocols", ka.Rules, acls, errs)
		s.handler.UpgradeProtocols = append(s.handler.UpgradeProtocols, httpcache.UpgradeRule{Protocol: ka.Key, Rules: rules})
	}
	return errs
}

// serverTimeouts returns the http.Server timeouts of the client ports:
// request_timeout for the request header (Squid: "how long to wait for
// complete HTTP request headers after initial connection establishment",
// 5 minutes) and client_idle_pconn_timeout between requests (2 minutes),
// unless --read-header-timeout or --idle-timeout set them.
func serverTimeouts(cfg *squidconf.Config, cf *cuttleFlags) (readHeader, idle time.Duration) {
	readHeader = cmp.Or(cf.readHeaderTimeout, cfg.RequestTimeout)
	idle = cmp.Or(cf.idleTimeout, cfg.ClientIdlePconnTimeout)
	return readHeader, idle
}

// guardOptions returns the limits of the client connections: at most
// fdLimit less Squid's reserve (but at least a few), write_timeout and
// client_lifetime.
func guardOptions(cfg *squidconf.Config, fdLimit int) httpcache.ConnGuardOptions {
	o := httpcache.ConnGuardOptions{WriteTimeout: cfg.WriteTimeout, Lifetime: cfg.ClientLifetime}
	if fdLimit > 0 {
		o.MaxConns = max(fdLimit-httpcache.FDReserve, 16)
	}
	return o
}
