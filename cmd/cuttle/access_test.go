package main

import (
	"bytes"
	"strings"
	"testing"

	"cuttle/squidconf"
)

// TestBuildAccessControl checks that the acl types, the access lists
// around the cache, deny_info, error_directory and
// httpd_suppress_version_string reach httpcache.Options, and that what
// never matches is reported.
func TestBuildAccessControl(t *testing.T) {
	t.Parallel()
	const conf = `http_port 127.0.0.1:3128 accel defaultsite=example.com
cache_peer 127.0.0.1 parent 8080 0 no-query originserver name=o
acl mac arp 00:11:22:33:44:55
acl sni ssl::server_name .example.com
acl secretrep rep_header X-Secret yes
acl st http_status 500-
acl busy maxconn 10
acl office time MTWHF 08:00-18:00
acl either any-of busy office
acl ua browser -i bot
acl mark annotate_transaction checked=yes
http_access deny busy
http_access deny st
http_access allow all mark
http_reply_access deny secretrep
miss_access deny ua
send_hit deny either
store_miss deny st
deny_info 404:ERR_CUSTOM secretrep
deny_info http://example.net/?u=%u busy
deny_info TCP_RESET ua
error_directory /nonexistent/errors
httpd_suppress_version_string on
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
	if len(o.ReplyAccess) != 1 || len(o.MissAccess) != 1 || len(o.SendHit) != 1 || len(o.StoreMiss) != 1 {
		t.Errorf("ReplyAccess %d, MissAccess %d, SendHit %d, StoreMiss %d rules; want 1 each",
			len(o.ReplyAccess), len(o.MissAccess), len(o.SendHit), len(o.StoreMiss))
	}
	if len(o.DenyInfo) != 3 || o.DenyInfo[0].Status != 404 || o.DenyInfo[0].Template != "ERR_CUSTOM" ||
		o.DenyInfo[1].URL != "http://example.net/?u=%u" || !o.DenyInfo[2].Reset || o.DenyInfo[2].ACLs[0] != "ua" {
		t.Errorf("DenyInfo = %+v", o.DenyInfo)
	}
	if o.ErrorDirectory != "/nonexistent/errors" || !o.SuppressVersion {
		t.Errorf("ErrorDirectory %q, SuppressVersion %v", o.ErrorDirectory, o.SuppressVersion)
	}
	w := warnings.String()
	for _, want := range []string{
		"test.conf:3: acl mac arp: never matches: the client's MAC address is not available to cuttle",
		"test.conf:4: acl sni ssl::server_name: never matches: it matches during TLS interception",
		"test.conf:13: http_access: acl st (http_status) looks at the reply, which is not known yet here; it never matches",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	for _, unwanted := range []string{"acl busy", "acl office", "acl either", "acl ua", "acl mark", "acl secretrep", "not evaluated"} {
		if strings.Contains(w, unwanted) {
			t.Errorf("warnings mention %q:\n%s", unwanted, w)
		}
	}
}
