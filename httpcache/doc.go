// Package httpcache is cuttle's shared HTTP cache (RFC 9111) and the
// accelerator http.Handler in front of origin servers.
//
// The RFC rules are pure functions of a request or response header, stored
// metadata and the current time ([ParseCacheControl], [FreshnessLifetime],
// [CurrentAge], [Storable]); they never read a clock or touch the network.
// [Handler] puts them together the way Squid's accelerator mode does: it
// rebuilds the absolute URL from Host or defaultsite (squid.conf http_port),
// evaluates http_access, serves fresh objects from the store, forwards
// misses to the origin server cache_peer that Squid's peer selection would
// pick (peerselect.go; liveness, limits and retries in peers.go) and
// streams the reply to the client and into the store at the same time,
// then writes one access.log line per transaction.
//
// http_access may ask clients to log in: [BasicAuth] (auth_param basic)
// checks the Basic credentials of proxy_auth ACLs against an htpasswd file
// in process or with Squid authentication helpers.
//
// Access control follows Squid: the acl types ([CompileACL]) and the
// first-match access lists http_access, http_reply_access, miss_access,
// send_hit, store_miss and cache; a denial sends one of Squid's error pages
// (errors.go, in cuttle's own words) or what deny_info says for the last
// ACL evaluated (denyinfo.go).
package httpcache
