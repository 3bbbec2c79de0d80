package main

import (
	"fmt"
	"io"

	"cuttle/httpcache"
	"cuttle/squidconf"
)

// buildDelayPools turns delay_pools and the lines that configure each pool
// into httpcache.DelayPools (nil when there are none). What Squid would
// accept but cuttle does not apply is written to w.
func buildDelayPools(cfg *squidconf.Config, acls map[string]httpcache.ACL, w io.Writer, errs []error) (*httpcache.DelayPools, []error) {
	if len(cfg.DelayPools) == 0 {
		return nil, errs
	}
	pools := make([]httpcache.DelayPool, len(cfg.DelayPools))
	for i, dp := range cfg.DelayPools {
		n := i + 1
		p := httpcache.DelayPool{Class: dp.Class}
		switch {
		case dp.Class == 0:
			fmt.Fprintf(w, "delay_pools: pool %d has no delay_class; it is not used\n", n)
		case dp.Class > 3:
			fmt.Fprintf(w, "%s: delay_class: class %d (per %s) is not supported by cuttle; the requests pool %d takes are not limited\n",
				dp.Pos, dp.Class, map[int]string{4: "user", 5: "tag"}[dp.Class], n)
		case len(dp.Access) == 0:
			// Squid's message, at its first use.
			fmt.Fprintf(w, "%s: delay_pool %d has no delay_access configured; no clients will ever use it\n", dp.Pos, n)
		}
		for _, r := range dp.Rates {
			p.Rates = append(p.Rates, httpcache.DelayRate{Restore: r.Restore, Max: r.Max})
		}
		p.Access, errs = buildRules("delay_access", dp.Access, acls, errs)
		pools[i] = p
	}
	return httpcache.NewDelayPools(pools, cfg.DelayInitialBucketLevel, nil), errs
}

// warnLimits reports limits that do something surprising.
func warnLimits(cfg *squidconf.Config, w io.Writer) {
	if cfg.ClientIPMaxConnections == 0 {
		fmt.Fprintf(w, "client_ip_max_connections 0: every client connection is refused; -1 (the default) sets no limit\n")
	}
}
