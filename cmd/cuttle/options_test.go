package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"cuttle/squidconf"
)

// TestBuildOptionsCaching checks that the caching directives of squid.conf
// reach httpcache.Options with Squid's meaning.
func TestBuildOptionsCaching(t *testing.T) {
	t.Parallel()
	const conf = `http_port 127.0.0.1:3128 accel defaultsite=example.com
cache_peer 127.0.0.1 parent 8080 0 no-query originserver name=o
acl PURGE method PURGE
acl nocache urlpath_regex ^/private/
http_access allow all
cache deny nocache
negative_ttl 30 seconds
max_stale 2 hours
collapsed_forwarding on
range_offset_limit -1
refresh_pattern -i \.css$ 10 50% 60 override-expire override-lastmod ignore-reload ignore-no-store ignore-private refresh-ims store-stale max-stale=600
refresh_pattern . 0 20% 4320 reload-into-ims
`
	cfg, err := squidconf.Parse("test.conf", []byte(conf), squidconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var warnings bytes.Buffer
	s, err := buildOptions(cfg, &warnings)
	if err != nil {
		t.Fatal(err)
	}
	o := s.handler
	if !o.EnablePurge {
		t.Error("EnablePurge = false; an acl of type method names PURGE")
	}
	if !o.ReloadLookup {
		t.Error("ReloadLookup = false; a refresh_pattern has reload-into-ims")
	}
	if o.NegativeTTL != 30*time.Second || o.MaxStale != 2*time.Hour || !o.CollapsedForwarding || o.RangeOffsetLimit != -1 {
		t.Errorf("NegativeTTL %v, MaxStale %v, CollapsedForwarding %v, RangeOffsetLimit %d",
			o.NegativeTTL, o.MaxStale, o.CollapsedForwarding, o.RangeOffsetLimit)
	}
	if len(o.CacheAccess) != 1 || o.CacheAccess[0].Allow {
		t.Errorf("CacheAccess = %+v, want one deny rule", o.CacheAccess)
	}
	if len(o.RefreshPatterns) != 2 {
		t.Fatalf("%d refresh patterns, want 2", len(o.RefreshPatterns))
	}
	css := o.RefreshPatterns[0]
	if !css.OverrideExpire || !css.OverrideLastmod || !css.IgnoreReload || !css.IgnoreNoStore ||
		!css.IgnorePrivate || !css.RefreshIMS || !css.StoreStale || css.ReloadIntoIMS ||
		css.MaxStale != 10*time.Minute || css.Min != 10*time.Minute || css.Max != time.Hour || css.Percent != 50 {
		t.Errorf("first refresh_pattern = %+v", css)
	}
	if !css.Regexp.MatchString("http://example.com/A.CSS") {
		t.Error("-i pattern does not ignore case")
	}
	if !o.RefreshPatterns[1].ReloadIntoIMS || o.RefreshPatterns[1].MaxStale != 0 {
		t.Errorf("second refresh_pattern = %+v", o.RefreshPatterns[1])
	}
	if strings.Contains(warnings.String(), "range_offset_limit") {
		t.Errorf("unexpected warning: %s", warnings.String())
	}
}

// TestBuildOptionsPurgeOff checks Squid's rule that PURGE stays off unless
// an acl of type method names it, and that max_stale 0 forbids stale
// answers on error.
func TestBuildOptionsPurgeOff(t *testing.T) {
	t.Parallel()
	const conf = `http_port 3128 accel defaultsite=example.com
http_access allow all
max_stale 0
`
	cfg, err := squidconf.Parse("test.conf", []byte(conf), squidconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := buildOptions(cfg, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if s.handler.EnablePurge || s.handler.ReloadLookup || s.handler.MaxStale >= 0 {
		t.Errorf("EnablePurge %v, ReloadLookup %v, MaxStale %v; want false, false, negative",
			s.handler.EnablePurge, s.handler.ReloadLookup, s.handler.MaxStale)
	}
}
