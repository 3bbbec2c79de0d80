package squidconf

import (
	"testing"
	"time"
)

func TestTimeouts(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "negative_ttl", src: "negative_ttl 30 seconds",
			get: func(c *Config) any { return c.NegativeTTL }, want: 30 * time.Second},
		{name: "negative_ttl zero with unit", src: "negative_ttl 0 minutes",
			get: func(c *Config) any { return c.NegativeTTL }, want: time.Duration(0)},
		{name: "max_stale", src: "max_stale 2 days",
			get: func(c *Config) any { return c.MaxStale }, want: 48 * time.Hour},
		{name: "read_timeout", src: "read_timeout 1 hour",
			get: func(c *Config) any { return c.ReadTimeout }, want: time.Hour},
		{name: "request_timeout", src: "request_timeout 60 second",
			get: func(c *Config) any { return c.RequestTimeout }, want: time.Minute},
		{name: "connect_timeout", src: "connect_timeout 10 seconds",
			get: func(c *Config) any { return c.ConnectTimeout }, want: 10 * time.Second},
		{name: "peer_connect_timeout", src: "peer_connect_timeout 5 seconds",
			get: func(c *Config) any { return c.PeerConnectTimeout }, want: 5 * time.Second},
		{name: "client_lifetime fractional", src: "client_lifetime 1.5 hours",
			get: func(c *Config) any { return c.ClientLifetime }, want: 90 * time.Minute},
		{name: "server_idle_pconn_timeout", src: "server_idle_pconn_timeout 2 minutes",
			get: func(c *Config) any { return c.ServerIdlePconnTimeout }, want: 2 * time.Minute},
		{name: "pconn_timeout is server_idle_pconn_timeout", src: "pconn_timeout 90 seconds",
			get: func(c *Config) any { return c.ServerIdlePconnTimeout }, want: 90 * time.Second},
		{name: "client_idle_pconn_timeout", src: "client_idle_pconn_timeout 30 seconds",
			get: func(c *Config) any { return c.ClientIdlePconnTimeout }, want: 30 * time.Second},
		{name: "persistent_request_timeout is client_idle_pconn_timeout", src: "persistent_request_timeout 1 minute",
			get: func(c *Config) any { return c.ClientIdlePconnTimeout }, want: time.Minute},
		{name: "authenticate_ttl", src: "authenticate_ttl 30 minutes",
			get: func(c *Config) any { return c.AuthenticateTTL }, want: 30 * time.Minute},
		{name: "whole seconds", src: "read_timeout 1.5 seconds",
			get: func(c *Config) any { return c.ReadTimeout }, want: time.Second},
		{name: "zero with a small unit", src: "read_timeout 0 milliseconds",
			get: func(c *Config) any { return c.ReadTimeout }, want: time.Duration(0)},
		{name: "last one wins", src: "read_timeout 1 minute\nread_timeout 2 minutes",
			get: func(c *Config) any { return c.ReadTimeout }, want: 2 * time.Minute},

		{name: "missing unit", src: "read_timeout 15", wantErr: "squid.conf:1: read_timeout: missing time unit"},
		{name: "unknown unit", src: "connect_timeout 10 sec", wantErr: "squid.conf:1: connect_timeout: unknown time unit 'sec'"},
		{name: "negative", src: "negative_ttl -5 seconds", wantErr: "squid.conf:1: negative_ttl: time must have a positive value"},
		{name: "unit too small", src: "request_timeout 1500 milliseconds",
			wantErr: "squid.conf:1: request_timeout: time unit 'milliseconds' is too small to be used in this context, the minimal unit is second"},
		{name: "too small", src: "request_timeout 0.5 seconds",
			wantErr: "squid.conf:1: request_timeout: time value '0.5' is too small to be used in this context, the minimal value is 1 second"},
		{name: "missing value", src: "client_lifetime", wantErr: "squid.conf:1: client_lifetime: missing value"},
		{name: "error keeps the default", src: "max_stale x",
			get: func(c *Config) any { return c.MaxStale }, want: 7 * 24 * time.Hour,
			wantErr: "squid.conf:1: max_stale: invalid number 'x'"},
	}
	runParseCases(t, tests)
}

func TestLimits(t *testing.T) {
	t.Parallel()
	all := []ACLRef{{Name: "all"}}
	tests := []parseCase{
		{name: "quick_abort_min", src: "quick_abort_min 8 KB",
			get: func(c *Config) any { return c.QuickAbortMin }, want: int64(8 << 10)},
		{name: "quick_abort_min always finish", src: "quick_abort_min -1 KB",
			get: func(c *Config) any { return c.QuickAbortMin }, want: int64(-1)},
		{name: "quick_abort_max", src: "quick_abort_max 1 MB",
			get: func(c *Config) any { return c.QuickAbortMax }, want: int64(1 << 20)},
		{name: "quick_abort_min in KB", src: "quick_abort_min 16",
			get:         func(c *Config) any { return c.QuickAbortMin },
			want:        int64(16 << 10),
			wantNotices: "squid.conf:1: No units on 'quick_abort_min 16', assuming 16 KB"},
		{name: "quick_abort_pct", src: "quick_abort_pct 50",
			get: func(c *Config) any { return c.QuickAbortPct }, want: 50},
		{name: "quick_abort_pct hex", src: "quick_abort_pct 0x10",
			get: func(c *Config) any { return c.QuickAbortPct }, want: 16},
		{name: "range_offset_limit -1", src: "range_offset_limit -1",
			get: func(c *Config) any { return c.RangeOffsetLimit }, want: []SizeLimit{{Pos: Pos{"squid.conf", 1}, Size: -1}}},
		{name: "range_offset_limit with acl", src: "range_offset_limit 10 MB all\nrange_offset_limit none",
			get:  func(c *Config) any { return c.RangeOffsetLimit },
			want: []SizeLimit{{Pos: Pos{"squid.conf", 1}, Size: 10 << 20, ACLs: all}, {Pos: Pos{"squid.conf", 2}, Size: -1}}},
		{name: "range_offset_limit in bytes", src: "range_offset_limit 100",
			get:         func(c *Config) any { return c.RangeOffsetLimit[0].Size },
			want:        int64(100),
			wantNotices: "squid.conf:1: No units on 'range_offset_limit 100', assuming 100 bytes"},
		{name: "request_header_max_size", src: "request_header_max_size 32 KB",
			get: func(c *Config) any { return c.RequestHeaderMaxSize }, want: int64(32 << 10)},
		{name: "reply_header_max_size", src: "reply_header_max_size 128 KB",
			get: func(c *Config) any { return c.ReplyHeaderMaxSize }, want: int64(128 << 10)},
		{name: "larger buffer for larger headers", src: "request_header_max_size 1 MB\nclient_request_buffer_max_size 2 MB",
			get: func(c *Config) any { return []int64{c.RequestHeaderMaxSize, c.ClientRequestBufferMaxSize} }, want: []int64{1 << 20, 2 << 20}},
		{name: "request_body_max_size", src: "request_body_max_size 10 MB",
			get: func(c *Config) any { return c.RequestBodyMaxSize }, want: int64(10 << 20)},
		{name: "reply_body_max_size", src: "acl big dstdomain .example.com\nreply_body_max_size 10 MB !big\nreply_body_max_size none",
			get: func(c *Config) any { return c.ReplyBodyMaxSize },
			want: []SizeLimit{{Pos: Pos{"squid.conf", 2}, Size: 10 << 20, ACLs: []ACLRef{{Name: "big", Not: true}}},
				{Pos: Pos{"squid.conf", 3}, Size: -1}}},
		{name: "forward_max_tries", src: "forward_max_tries 3",
			get: func(c *Config) any { return c.ForwardMaxTries }, want: 3},
		{name: "client_ip_max_connections", src: "client_ip_max_connections 10",
			get: func(c *Config) any { return c.ClientIPMaxConnections }, want: 10},
		{name: "max_filedescriptors", src: "max_filedescriptors 65536",
			get: func(c *Config) any { return c.MaxFiledescriptors }, want: 65536},
		{name: "max_filedesc is max_filedescriptors", src: "max_filedesc 4096",
			get: func(c *Config) any { return c.MaxFiledescriptors }, want: 4096},
		{name: "workers", src: "workers 4", get: func(c *Config) any { return c.Workers }, want: 4},
		{name: "workers no daemon", src: "workers 0", get: func(c *Config) any { return c.Workers }, want: 0},
		{name: "negative workers", src: "workers -1",
			get: func(c *Config) any { return c.Workers }, want: -1,
			wantNotices: "squid.conf:1: workers: negative number of workers -1"},

		{name: "large reply headers", src: "reply_header_max_size 128 KB",
			wantNotices: "squid.conf:1: reply_header_max_size: increasing reply_header_max_size beyond 65536 bytes makes Squid more vulnerable " +
				"to denial-of-service attacks; configured value: 131072 bytes"},
		{name: "headers larger than the buffer", src: "request_header_max_size 1 MB",
			wantErr: "squid.conf:1: request_header_max_size: client_request_buffer_max_size (524288 bytes) must be larger than " +
				"request_header_max_size (1048576 bytes), or the buffer cannot hold the request headers"},
		{name: "headers without limit", src: "request_header_max_size none\nclient_request_buffer_max_size none",
			wantErr: "squid.conf:2: client_request_buffer_max_size: client_request_buffer_max_size (none) must be larger than " +
				"request_header_max_size (none), or the buffer cannot hold the request headers"},
		{name: "bad integer", src: "quick_abort_pct many", wantErr: "squid.conf:1: quick_abort_pct: invalid integer 'many'"},
		{name: "integer too large", src: "max_filedescriptors 4294967296",
			wantErr: "squid.conf:1: max_filedescriptors: integer value '4294967296' is larger than the type 'int'"},
		{name: "missing integer", src: "workers", wantErr: "squid.conf:1: workers: missing value"},
		{name: "range acl not found", src: "range_offset_limit -1 nope", wantErr: "squid.conf:1: range_offset_limit: ACL not found: nope"},
		{name: "bad size", src: "reply_body_max_size 10 furlongs", wantErr: "squid.conf:1: reply_body_max_size: unknown bytes unit 'furlongs'"},
	}
	runParseCases(t, tests)
}

func TestStorageDirectives(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "heap LFUDA", src: "cache_replacement_policy heap LFUDA",
			get: func(c *Config) any { return c.CacheReplacementPolicy }, want: "heap LFUDA"},
		{name: "memory heap GDSF", src: "memory_replacement_policy heap GDSF",
			get: func(c *Config) any { return c.MemoryReplacementPolicy }, want: "heap GDSF"},
		{name: "lru", src: "memory_replacement_policy heap LRU\nmemory_replacement_policy lru",
			get: func(c *Config) any { return c.MemoryReplacementPolicy }, want: "lru"},
		{name: "per cache_dir", src: "cache_dir ufs /a 10 16 256\ncache_replacement_policy heap GDSF\ncache_dir ufs /b 10 16 256",
			get: func(c *Config) any {
				return []string{c.CacheDirs[0].ReplacementPolicy, c.CacheDirs[1].ReplacementPolicy, c.CacheReplacementPolicy}
			},
			want: []string{"lru", "heap GDSF", "heap GDSF"}},
		{name: "heap without key", src: "cache_replacement_policy heap",
			get: func(c *Config) any { return c.CacheReplacementPolicy }, want: "heap LRU",
			wantNotices: "squid.conf:1: cache_replacement_policy: no heap key type specified; using LRU"},
		{name: "unknown heap key", src: "cache_replacement_policy heap FOO",
			get: func(c *Config) any { return c.CacheReplacementPolicy }, want: "heap LRU",
			wantNotices: "squid.conf:1: cache_replacement_policy: unknown heap key type 'FOO' (expecting GDSF, LFUDA or LRU); using LRU"},
		{name: "extra arguments", src: "memory_replacement_policy lru x",
			wantNotices: "squid.conf:1: memory_replacement_policy: extra arguments ignored: x"},
		{name: "swap marks", src: "cache_swap_low 94\ncache_swap_high 95",
			get: func(c *Config) any { return []int{c.CacheSwapLow, c.CacheSwapHigh} }, want: []int{94, 95}},
		{name: "swap low above high", src: "cache_swap_high 80\ncache_swap_low 85",
			wantNotices: "squid.conf:2: cache_swap_low: cache_swap_low 85 is above cache_swap_high 80; Squid accepts it, but its disk cache eviction expects low <= high"},
		{name: "swap not a percentage", src: "cache_swap_high 101",
			wantNotices: "squid.conf:1: cache_swap_high: 101 is not a percentage (0-100)"},

		{name: "unknown cache policy", src: "cache_replacement_policy LRU\ncache_dir rock /r 10",
			get: func(c *Config) any { return []string{c.CacheReplacementPolicy, c.CacheDirs[0].ReplacementPolicy} }, want: []string{"lru", "lru"},
			wantNotices: "squid.conf:1: cache_replacement_policy: unknown policy 'LRU' (expecting lru or heap GDSF|LFUDA|LRU); " +
				"Squid refuses the ufs, aufs and diskd cache_dir lines after this one"},
		{name: "unknown cache policy fixed", src: "cache_replacement_policy LRU\ncache_replacement_policy lru\ncache_dir ufs /a 10 16 256",
			get: func(c *Config) any { return len(c.CacheDirs) }, want: 1},

		{name: "unknown cache policy before a ufs cache_dir", src: "cache_replacement_policy foo\ncache_dir ufs /a 10 16 256",
			wantErr: "squid.conf:2: cache_dir: unknown cache_replacement_policy at squid.conf:1"},
		{name: "unknown memory policy", src: "memory_replacement_policy LRU",
			wantErr: "squid.conf:1: memory_replacement_policy: unknown policy 'LRU' (expecting lru or heap GDSF|LFUDA|LRU); Squid refuses to start"},
		{name: "missing policy", src: "memory_replacement_policy", wantErr: "squid.conf:1: memory_replacement_policy: missing value"},
		{name: "bad swap mark", src: "cache_swap_low 90%", wantErr: "squid.conf:1: cache_swap_low: invalid integer '90%'"},
	}
	runParseCases(t, tests)
}

func TestDenyInfo(t *testing.T) {
	t.Parallel()
	first := func(c *Config) any { di := c.DenyInfo[0]; di.Pos = Pos{}; return di }
	tests := []parseCase{
		{name: "template", src: "acl a src all\ndeny_info ERR_ACCESS_DENIED a",
			get: first, want: DenyInfo{Page: "ERR_ACCESS_DENIED", Template: "ERR_ACCESS_DENIED", ACLs: []string{"a"}}},
		{name: "status and template", src: "acl a src all\ndeny_info 404:ERR_CUSTOM a all",
			get: first, want: DenyInfo{Page: "404:ERR_CUSTOM", Status: 404, Template: "ERR_CUSTOM", ACLs: []string{"a", "all"}}},
		{name: "url", src: "acl a src all\ndeny_info http://example.com/blocked?u=%u a",
			get: first, want: DenyInfo{Page: "http://example.com/blocked?u=%u", URL: "http://example.com/blocked?u=%u", ACLs: []string{"a"}}},
		{name: "status and url", src: "acl a src all\ndeny_info 303:https://example.com/ a",
			get: first, want: DenyInfo{Page: "303:https://example.com/", Status: 303, URL: "https://example.com/", ACLs: []string{"a"}}},
		{name: "reset", src: "acl a src all\ndeny_info TCP_RESET a",
			get: first, want: DenyInfo{Page: "TCP_RESET", Reset: true, ACLs: []string{"a"}}},
		{name: "acl defined later, names as defined", src: "deny_info ERR_X Blocked\nacl blocked src all",
			get: func(c *Config) any { return c.DenyInfo[0].ACLs }, want: []string{"blocked"}},
		{name: "undefined acl", src: "deny_info ERR_X nope",
			get: func(c *Config) any { return len(c.DenyInfo) }, want: 1,
			wantNotices: "squid.conf:1: deny_info: ACL 'nope' is not defined; this deny_info never applies to it"},
		{name: "no acl", src: "deny_info ERR_X",
			get: func(c *Config) any { return len(c.DenyInfo) }, want: 0,
			wantNotices: "squid.conf:1: deny_info: deny_info line contains no ACLs; line ignored"},
		{name: "no page", src: "deny_info",
			wantNotices: "squid.conf:1: deny_info: missing error page; line ignored"},

		{name: "3xx needs a url", src: "deny_info 302:ERR_X all",
			wantErr: "squid.conf:1: deny_info: status 302 requires a URL on '302:ERR_X'"},
		{name: "4xx needs a template", src: "deny_info 404:http://example.com/ all",
			wantErr: "squid.conf:1: deny_info: status 404 requires a template on '404:http://example.com/'"},
		{name: "2xx needs a template", src: "deny_info 200:http://example.com/ all",
			wantErr: "squid.conf:1: deny_info: status 200 requires a template on '200:http://example.com/'"},
		{name: "status out of range", src: "deny_info 600:ERR_X all",
			wantErr: "squid.conf:1: deny_info: status 600 is not valid on '600:ERR_X'"},
	}
	runParseCases(t, tests)
}

func TestIdentityDirectives(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "logfile_rotate", src: "logfile_rotate 10", get: func(c *Config) any { return c.LogfileRotate }, want: 10},
		{name: "debug_options to end of line", src: "debug_options ALL,1 33,2 rotate=3 # kept",
			get: func(c *Config) any { return c.DebugOptions }, want: "ALL,1 33,2 rotate=3 # kept"},
		{name: "debug_options quoted", src: "configuration_includes_quoted_values on\ndebug_options \"ALL,2\"",
			get: func(c *Config) any { return c.DebugOptions }, want: "ALL,2"},
		{name: "unique_hostname", src: "unique_hostname cache1.example.com",
			get: func(c *Config) any { return c.UniqueHostname }, want: "cache1.example.com"},
		{name: "forwarded_for values", src: "forwarded_for off\nforwarded_for delete",
			get: func(c *Config) any { return c.ForwardedFor }, want: "delete"},
		{name: "forwarded_for truncate", src: "forwarded_for truncate",
			get: func(c *Config) any { return c.ForwardedFor }, want: "truncate"},
		{name: "forwarded_for maybe", src: "forwarded_for maybe",
			get: func(c *Config) any { return c.ForwardedFor }, want: "transparent",
			wantNotices: "squid.conf:1: forwarded_for: unknown value 'maybe' (expecting on, off, transparent, truncate or delete); " +
				"Squid accepts it and leaves X-Forwarded-For alone, as transparent does"},
		{name: "forwarded_for is case-sensitive", src: "forwarded_for On",
			get: func(c *Config) any { return c.ForwardedFor }, want: "transparent"},
		{name: "follow_x_forwarded_for", src: "acl proxies src 10.0.0.0/8\nfollow_x_forwarded_for allow proxies\nfollow_x_forwarded_for deny all",
			get: func(c *Config) any {
				return []string{c.FollowXForwardedFor[0].String(), c.FollowXForwardedFor[1].String()}
			},
			want: []string{"allow proxies", "deny all"}},
		{name: "via off", src: "via off",
			get: func(c *Config) any { return c.Via }, want: false,
			wantNotices: "squid.conf:1: via: HTTP requires the use of Via"},
		{name: "via on again", src: "via off\nvia on",
			get: func(c *Config) any { return []any{c.Via, len(c.Notices)} }, want: []any{true, 0}},
		{name: "persistent connections default on", src: "",
			get: func(c *Config) any { return []bool{c.ClientPersistentConnections, c.ServerPersistentConnections} }, want: []bool{true, true}},
		{name: "persistent connections off", src: "client_persistent_connections off\nserver_persistent_connections off",
			get: func(c *Config) any { return []bool{c.ClientPersistentConnections, c.ServerPersistentConnections} }, want: []bool{false, false}},
		{name: "bad server_persistent_connections", src: "server_persistent_connections no",
			wantErr: "squid.conf:1: server_persistent_connections: invalid value 'no': boolean options can only be 'on' or 'off'"},
		{name: "httpd_suppress_version_string", src: "httpd_suppress_version_string on",
			get: func(c *Config) any { return c.HTTPDSuppressVersionString }, want: true},
		{name: "coredump_dir", src: "coredump_dir /var/spool/squid",
			get: func(c *Config) any { return c.CoredumpDir }, want: "/var/spool/squid"},
		{name: "coredump_dir none", src: "coredump_dir /x\ncoredump_dir none",
			get: func(c *Config) any { return c.CoredumpDir }, want: ""},
		{name: "cache_effective_user and group", src: "cache_effective_user squid\ncache_effective_group squid",
			get: func(c *Config) any { return []string{c.CacheEffectiveUser, c.CacheEffectiveGroup} }, want: []string{"squid", "squid"}},

		{name: "uri_whitespace default", src: "",
			get: func(c *Config) any { return c.URIWhitespace }, want: "strip"},
		{name: "uri_whitespace encode", src: "uri_whitespace encode",
			get: func(c *Config) any { return c.URIWhitespace }, want: "encode"},
		{name: "bad uri_whitespace", src: "uri_whitespace squeeze",
			wantErr: "squid.conf:1: uri_whitespace: unknown value 'squeeze' (expecting strip, deny, allow, encode or chop)"},
		{name: "missing debug_options", src: "debug_options", wantErr: "squid.conf:1: debug_options: missing value"},
		{name: "missing forwarded_for", src: "forwarded_for", wantErr: "squid.conf:1: forwarded_for: missing value"},
		{name: "bad via", src: "via yes",
			wantErr: "squid.conf:1: via: invalid value 'yes': boolean options can only be 'on' or 'off'"},
		{name: "follow_x_forwarded_for acl not found", src: "follow_x_forwarded_for allow nope",
			wantErr: "squid.conf:1: follow_x_forwarded_for: ACL not found: nope"},
	}
	runParseCases(t, tests)
}

func TestHeaderDirectives(t *testing.T) {
	t.Parallel()
	allow, deny := AccessRule{Allow: true, ACLs: []ACLRef{{Name: "all"}}}, AccessRule{ACLs: []ACLRef{{Name: "all"}}}
	// keys returns the keys of a keyed list with the number of rules.
	keys := func(list []KeyedAccess) []string {
		var out []string
		for _, k := range list {
			out = append(out, k.Key+":"+string(rune('0'+len(k.Rules))))
		}
		return out
	}
	tests := []parseCase{
		{name: "request_header_access per header", src: "request_header_access Cookie allow all\nrequest_header_access cookie deny all\n" +
			"request_header_access All deny all\nrequest_header_access Other deny all",
			get: func(c *Config) any { return keys(c.RequestHeaderAccess) }, want: []string{"Cookie:2", "All:1", "Other:1"}},
		{name: "rules kept", src: "reply_header_access X-Cache deny all",
			get:  func(c *Config) any { return c.ReplyHeaderAccess },
			want: []KeyedAccess{{Pos: Pos{"squid.conf", 1}, Key: "X-Cache", Rules: []AccessRule{{Pos: Pos{"squid.conf", 1}, ACLs: deny.ACLs}}}}},
		{name: "lower-case all is a header", src: "reply_header_access all deny all",
			get: func(c *Config) any { return keys(c.ReplyHeaderAccess) }, want: []string{"all:1"},
			wantNotices: "squid.conf:1: reply_header_access: 'all' is taken as a header name; the special names are 'All' and 'Other' (case-sensitive)"},
		{name: "missing header name", src: "request_header_access",
			wantNotices: "squid.conf:1: request_header_access: missing header name; line ignored"},
		{name: "request_header_replace", src: "request_header_replace User-Agent Mozilla/5.0 (X11; Linux)",
			get:  func(c *Config) any { return c.RequestHeaderReplace },
			want: []HeaderReplace{{Pos: Pos{"squid.conf", 1}, Header: "User-Agent", Value: "Mozilla/5.0 (X11; Linux)"}}},
		{name: "header_replace is request_header_replace", src: "header_replace Accept */*",
			get: func(c *Config) any { return c.RequestHeaderReplace[0].Value }, want: "*/*"},
		{name: "last replacement wins", src: "reply_header_replace Server a\nreply_header_replace server b",
			get:  func(c *Config) any { return c.ReplyHeaderReplace },
			want: []HeaderReplace{{Pos: Pos{"squid.conf", 2}, Header: "server", Value: "b"}}},
		{name: "request_header_add quoted", src: "acl a src all\nrequest_header_add X-Client \"%>a port %>p\" a",
			get:  func(c *Config) any { return c.RequestHeaderAdd },
			want: []HeaderAdd{{Pos: Pos{"squid.conf", 2}, Header: "X-Client", Value: "%>a port %>p", Quoted: true, ACLs: []ACLRef{{Name: "a"}}}}},
		{name: "reply_header_add plain", src: "reply_header_add X-Served-By cuttle",
			get:  func(c *Config) any { return c.ReplyHeaderAdd },
			want: []HeaderAdd{{Pos: Pos{"squid.conf", 1}, Header: "X-Served-By", Value: "cuttle"}}},
		{name: "http_upgrade_request_protocols", src: "http_upgrade_request_protocols WebSocket allow all\n" +
			"http_upgrade_request_protocols websocket deny all\nhttp_upgrade_request_protocols OTHER deny all",
			get: func(c *Config) any { return keys(c.HTTPUpgradeRequestProtocols) }, want: []string{"WebSocket:1", "websocket:1", "OTHER:1"}},
		{name: "upgrade rules", src: "http_upgrade_request_protocols Bar/1 deny all\nhttp_upgrade_request_protocols Bar/1 allow all",
			get: func(c *Config) any {
				r := c.HTTPUpgradeRequestProtocols[0].Rules
				return []bool{r[0].Allow, r[1].Allow}
			},
			want: []bool{deny.Allow, allow.Allow}},
		{name: "lower-case other is a protocol", src: "http_upgrade_request_protocols other deny all",
			wantNotices: "squid.conf:1: http_upgrade_request_protocols: 'other' is taken as a protocol name; the special name is 'OTHER' (case-sensitive)"},

		{name: "access acl not found", src: "request_header_access Cookie deny nope",
			wantErr: "squid.conf:1: request_header_access: ACL not found: nope"},
		{name: "missing replacement", src: "reply_header_replace Server",
			wantErr: "squid.conf:1: reply_header_replace: missing replacement value for header Server"},
		{name: "add without value", src: "request_header_add X-Foo",
			wantErr: "squid.conf:1: request_header_add: missing value for header X-Foo"},
		{name: "add without header", src: "reply_header_add", wantErr: "squid.conf:1: reply_header_add: missing header name"},
		{name: "add unterminated quote", src: "request_header_add X-Foo \"abc",
			wantErr: "squid.conf:1: request_header_add: missing quote char at the end of quoted string: \"abc"},
		{name: "add acl not found", src: "request_header_add X-Foo bar nope",
			wantErr: "squid.conf:1: request_header_add: ACL not found: nope"},
		{name: "upgrade without protocol", src: "http_upgrade_request_protocols",
			wantErr: "squid.conf:1: http_upgrade_request_protocols: expected a protocol name or OTHER"},
	}
	runParseCases(t, tests)
}
