package squidconf

import (
	"reflect"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("empty.conf", nil, Options{})
	if err != nil {
		t.Fatalf("Parse(empty) = %v, want no error", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"CacheMem", cfg.CacheMem, int64(256 << 20)},
		{"MaximumObjectSize", cfg.MaximumObjectSize, int64(4 << 20)},
		{"MaximumObjectSizeInMemory", cfg.MaximumObjectSizeInMemory, int64(512 << 10)},
		{"MinimumObjectSize", cfg.MinimumObjectSize, int64(0)},
		{"PidFilename", cfg.PidFilename, "/run/squid.pid"},
		{"CacheLog", cfg.CacheLog, "/var/log/squid/cache.log"},
		{"ShutdownLifetime", cfg.ShutdownLifetime, 30 * time.Second},
		{"StripQueryTerms", cfg.StripQueryTerms, true},
		{"CollapsedForwarding", cfg.CollapsedForwarding, false},
		{"VisibleHostname", cfg.VisibleHostname, ""},
		{"AccessLogs", cfg.AccessLogs, []AccessLog{{Module: "stdio", Path: "/var/log/squid/access.log", Format: "squid"}}},
		{"ACLs", len(cfg.ACLs), 5},
		{"Notices", len(cfg.Notices), 0},
		{"NegativeTTL", cfg.NegativeTTL, time.Duration(0)},
		{"MaxStale", cfg.MaxStale, 7 * 24 * time.Hour},
		{"RangeOffsetLimit", cfg.RangeOffsetLimit, []SizeLimit(nil)},
		{"QuickAbortMin", cfg.QuickAbortMin, int64(16 << 10)},
		{"QuickAbortMax", cfg.QuickAbortMax, int64(16 << 10)},
		{"QuickAbortPct", cfg.QuickAbortPct, 95},
		{"CacheReplacementPolicy", cfg.CacheReplacementPolicy, "lru"},
		{"MemoryReplacementPolicy", cfg.MemoryReplacementPolicy, "lru"},
		{"CacheSwapLow", cfg.CacheSwapLow, 90},
		{"CacheSwapHigh", cfg.CacheSwapHigh, 95},
		{"DenyInfo", cfg.DenyInfo, []DenyInfo(nil)},
		{"LogfileRotate", cfg.LogfileRotate, 0},
		{"DebugOptions", cfg.DebugOptions, "ALL,1"},
		{"UniqueHostname", cfg.UniqueHostname, ""},
		{"ForwardedFor", cfg.ForwardedFor, "on"},
		{"FollowXForwardedFor", cfg.FollowXForwardedFor, []AccessRule(nil)},
		{"Via", cfg.Via, true},
		{"HTTPDSuppressVersionString", cfg.HTTPDSuppressVersionString, false},
		{"ReadTimeout", cfg.ReadTimeout, 15 * time.Minute},
		{"RequestTimeout", cfg.RequestTimeout, 5 * time.Minute},
		{"ConnectTimeout", cfg.ConnectTimeout, time.Minute},
		{"PeerConnectTimeout", cfg.PeerConnectTimeout, 30 * time.Second},
		{"ClientLifetime", cfg.ClientLifetime, 24 * time.Hour},
		{"ServerIdlePconnTimeout", cfg.ServerIdlePconnTimeout, time.Minute},
		{"ClientIdlePconnTimeout", cfg.ClientIdlePconnTimeout, 2 * time.Minute},
		{"RequestHeaderMaxSize", cfg.RequestHeaderMaxSize, int64(64 << 10)},
		{"ReplyHeaderMaxSize", cfg.ReplyHeaderMaxSize, int64(64 << 10)},
		{"ClientRequestBufferMaxSize", cfg.ClientRequestBufferMaxSize, int64(512 << 10)},
		{"RequestBodyMaxSize", cfg.RequestBodyMaxSize, int64(0)},
		{"ReplyBodyMaxSize", cfg.ReplyBodyMaxSize, []SizeLimit(nil)},
		{"ClientIPMaxConnections", cfg.ClientIPMaxConnections, -1},
		{"ForwardMaxTries", cfg.ForwardMaxTries, 25},
		{"MaxFiledescriptors", cfg.MaxFiledescriptors, 0},
		{"DelayPools", cfg.DelayPools, []DelayPool(nil)},
		{"DelayInitialBucketLevel", cfg.DelayInitialBucketLevel, 50},
		{"AuthSchemes", cfg.AuthSchemes, []AuthScheme(nil)},
		{"AuthenticateTTL", cfg.AuthenticateTTL, time.Hour},
		{"Workers", cfg.Workers, 1},
		{"CoredumpDir", cfg.CoredumpDir, ""},
		{"CacheEffectiveUser", cfg.CacheEffectiveUser, "proxy"},
		{"CacheEffectiveGroup", cfg.CacheEffectiveGroup, ""},
		{"HTTPUpgradeRequestProtocols", cfg.HTTPUpgradeRequestProtocols, []KeyedAccess(nil)},
		{"Notices", len(cfg.Notices), 0},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("Parse(empty).%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestScalars(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "cache_mem", src: "cache_mem 64 MB", get: func(c *Config) any { return c.CacheMem }, want: int64(64 << 20)},
		{name: "cache_mem fractional", src: "cache_mem 1.5 GB", get: func(c *Config) any { return c.CacheMem }, want: int64(3 << 29)},
		{name: "last one wins", src: "cache_mem 64 MB\ncache_mem 128 MB", get: func(c *Config) any { return c.CacheMem }, want: int64(128 << 20)},
		{name: "maximum_object_size", src: "maximum_object_size 1 GB",
			get: func(c *Config) any { return c.MaximumObjectSize }, want: int64(1 << 30)},
		{name: "maximum_object_size none", src: "maximum_object_size none",
			get: func(c *Config) any { return c.MaximumObjectSize }, want: int64(-1)},
		{name: "maximum_object_size_in_memory", src: "maximum_object_size_in_memory 64 KB",
			get: func(c *Config) any { return c.MaximumObjectSizeInMemory }, want: int64(64 << 10)},
		{name: "minimum_object_size", src: "minimum_object_size 1 KB",
			get: func(c *Config) any { return c.MinimumObjectSize }, want: int64(1024)},
		{name: "no units", src: "maximum_object_size 4096",
			get:         func(c *Config) any { return c.MaximumObjectSize },
			want:        int64(4096),
			wantNotices: "squid.conf:1: No units on 'maximum_object_size 4096', assuming 4096 bytes"},
		{name: "zero needs no unit", src: "minimum_object_size 0",
			get: func(c *Config) any { return len(c.Notices) }, want: 0},
		{name: "visible_hostname", src: "visible_hostname cdn.example.com",
			get: func(c *Config) any { return c.VisibleHostname }, want: "cdn.example.com"},
		{name: "error_directory", src: "error_directory /etc/squid/errors/custom",
			get: func(c *Config) any { return c.ErrorDirectory }, want: "/etc/squid/errors/custom"},
		{name: "pid_filename", src: "pid_filename /tmp/squid.pid", get: func(c *Config) any { return c.PidFilename }, want: "/tmp/squid.pid"},
		{name: "pid_filename none", src: "pid_filename none", get: func(c *Config) any { return c.PidFilename }, want: ""},
		{name: "cache_log", src: "cache_log stdio:/squid/logs/cache.log",
			get: func(c *Config) any { return c.CacheLog }, want: "stdio:/squid/logs/cache.log"},
		{name: "shutdown_lifetime", src: "shutdown_lifetime 4 seconds",
			get: func(c *Config) any { return c.ShutdownLifetime }, want: 4 * time.Second},
		{name: "shutdown_lifetime whole seconds", src: "shutdown_lifetime 1.5 seconds",
			get: func(c *Config) any { return c.ShutdownLifetime }, want: time.Second},
		{name: "shutdown_lifetime zero", src: "shutdown_lifetime 0",
			get: func(c *Config) any { return c.ShutdownLifetime }, want: time.Duration(0)},
		{name: "strip_query_terms", src: "strip_query_terms off", get: func(c *Config) any { return c.StripQueryTerms }, want: false},
		{name: "strip_query_terms disable", src: "strip_query_terms disable",
			get:         func(c *Config) any { return c.StripQueryTerms },
			want:        false,
			wantNotices: "squid.conf:1: strip_query_terms: 'disable' is deprecated; use 'off'"},
		{name: "acl_uses_indirect_client", src: "acl_uses_indirect_client off",
			get: func(c *Config) any { return c.ACLUsesIndirectClient }, want: false},
		{name: "log_uses_indirect_client default", src: "",
			get: func(c *Config) any { return c.LogUsesIndirectClient }, want: true},
		{name: "log_uses_indirect_client", src: "log_uses_indirect_client off",
			get: func(c *Config) any { return c.LogUsesIndirectClient }, want: false},
		{name: "collapsed_forwarding", src: "collapsed_forwarding on",
			get: func(c *Config) any { return c.CollapsedForwarding }, want: true},
		{name: "configuration_includes_quoted_values", src: "configuration_includes_quoted_values off",
			get: func(c *Config) any { return c.QuotedValues }, want: false},

		{name: "bad unit", src: "cache_mem 64 furlongs", wantErr: "squid.conf:1: cache_mem: unknown bytes unit 'furlongs'"},
		{name: "bad number", src: "cache_mem lots", wantErr: "squid.conf:1: cache_mem: invalid number 'lots'"},
		{name: "missing size", src: "cache_mem", wantErr: "squid.conf:1: cache_mem: missing value"},
		{name: "missing time unit", src: "shutdown_lifetime 4", wantErr: "squid.conf:1: shutdown_lifetime: missing time unit"},
		{name: "bad time unit", src: "shutdown_lifetime 4 min", wantErr: "squid.conf:1: shutdown_lifetime: unknown time unit 'min'"},
		{name: "unit below a second", src: "shutdown_lifetime 1500 milliseconds",
			wantErr: "squid.conf:1: shutdown_lifetime: time unit 'milliseconds' is too small to be used in this context, the minimal unit is second"},
		{name: "bad boolean", src: "strip_query_terms yes",
			wantErr: "squid.conf:1: strip_query_terms: invalid value 'yes': boolean options can only be 'on' or 'off'"},
		{name: "missing string", src: "visible_hostname", wantErr: "squid.conf:1: visible_hostname: missing value"},
		{name: "errors keep the value", src: "cache_mem 64 MB\ncache_mem x\n",
			wantErr: "squid.conf:2: cache_mem: invalid number 'x'"},
	}
	runParseCases(t, tests)
}

func TestUntypedDirectives(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "unsupported", src: "url_rewrite_extras \"%>a\"",
			wantNotices: "squid.conf:1: 'url_rewrite_extras' is not supported by cuttle: " + noteRewrite},
		{name: "old name", src: "redirect_program /bin/cat",
			wantNotices: "squid.conf:1: 'redirect_program' (old name of 'url_rewrite_program') is not supported by cuttle: " + noteRewrite},
		{name: "squid 6", src: "cache_log_message id=4 level=2",
			wantNotices: "squid.conf:1: 'cache_log_message' is not needed by cuttle: " +
				"cuttle's cache.log messages have no Squid message IDs to tune (Squid 6)"},
		{name: "obsolete", src: "broken_vary_encoding allow apache",
			wantNotices: "squid.conf:1: 'broken_vary_encoding' is obsolete: " + noteSquid3},
		{name: "time checked", src: "dead_peer_timeout 0 minutes\nforward_timeout 10 second",
			get: func(c *Config) any { return len(c.Notices) }, want: 2},
		{name: "on|off checked", src: "icp_hit_stale off",
			wantNotices: "squid.conf:1: 'icp_hit_stale' has no effect in an accelerator: " + noteICP},
		{name: "size checked", src: "read_ahead_gap 16",
			wantNotices: "squid.conf:1: No units on 'read_ahead_gap 16', assuming 16 bytes\n" +
				"squid.conf:1: 'read_ahead_gap' is not needed by cuttle: replies are streamed to the client and the store as they arrive"},
		{name: "access list checked", src: "icp_access deny all",
			wantNotices: "squid.conf:1: 'icp_access' has no effect in an accelerator: " + noteICP},
		{name: "cache_access_log is access_log", src: "cache_access_log stdio:/tmp/a.log",
			get: func(c *Config) any { return c.AccessLogs[0].Path }, want: "/tmp/a.log"},

		{name: "bad time", src: "forward_timeout 10", wantErr: "squid.conf:1: forward_timeout: missing time unit"},
		{name: "bad on|off", src: "icp_hit_stale yes",
			wantErr: "squid.conf:1: icp_hit_stale: invalid value 'yes': boolean options can only be 'on' or 'off'"},
		{name: "bad size", src: "read_ahead_gap 16 KiB", wantErr: "squid.conf:1: read_ahead_gap: unknown bytes unit 'KiB'"},
		{name: "keyed list without key", src: "client_delay_access", wantErr: "squid.conf:1: client_delay_access: missing value"},
		{name: "access list with an undefined acl", src: "icp_access deny nope",
			wantErr: "squid.conf:1: icp_access: ACL not found: nope"},
	}
	runParseCases(t, tests)
}

func TestQuotedValues(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "quotes are plain characters by default", src: `visible_hostname "a b"`,
			get: func(c *Config) any { return c.VisibleHostname }, want: `"a`},
		{name: "quoted token", src: "configuration_includes_quoted_values on\nvisible_hostname \"a b\"",
			get: func(c *Config) any { return c.VisibleHostname }, want: "a b"},
		{name: "escapes", src: "configuration_includes_quoted_values on\nvisible_hostname 'a\\tb\\\"c'",
			get: func(c *Config) any { return c.VisibleHostname }, want: "a\tb\"c"},
		{name: "acl value", src: "configuration_includes_quoted_values on\nacl d dstdomain \"/x\" .example.com",
			get: aclValues("d"), want: []string{"/x", ".example.com"}},
		{name: "parameters()", src: "configuration_includes_quoted_values on\nacl d dstdomain parameters(\"/etc/list.txt\")",
			files: mapFS("etc/list.txt", "a.example # comment\n\"b.example\" c.example\n"),
			get:   aclValues("d"), want: []string{"a.example", "b.example", "c.example"}},
		{name: "logformat", src: "configuration_includes_quoted_values on\nlogformat q \"%ts %ru\"",
			get: func(c *Config) any { return c.LogFormats[0].Format }, want: "%ts %ru"},
		{name: "off again", src: "configuration_includes_quoted_values on\nconfiguration_includes_quoted_values off\nvisible_hostname \"a",
			get: func(c *Config) any { return c.VisibleHostname }, want: `"a`},

		{name: "bad escape", src: "configuration_includes_quoted_values on\nvisible_hostname \"a\\qb\"",
			wantErr: "squid.conf:2: visible_hostname: unsupported escape sequence: \\qb\""},
		{name: "unterminated", src: "configuration_includes_quoted_values on\nvisible_hostname \"ab",
			wantErr: "squid.conf:2: visible_hostname: missing quote char at the end of quoted string: \"ab"},
		{name: "no space after", src: "configuration_includes_quoted_values on\nvisible_hostname \"a\"b",
			wantErr: "squid.conf:2: visible_hostname: expecting space after the end of quoted token: \"a\"b"},
		{name: "regex acl", src: "configuration_includes_quoted_values on\nacl r url_regex a",
			wantErr: "squid.conf:2: acl: can not read regex expression while configuration_includes_quoted_values is enabled"},
	}
	runParseCases(t, tests)
}

func TestParseFile(t *testing.T) {
	t.Parallel()
	fsys := mapFS("main.conf", "include inc.conf\n", "inc.conf", "visible_hostname x\n")
	cfg, err := ParseFile("main.conf", Options{FS: fsys})
	if err != nil || cfg.VisibleHostname != "x" {
		t.Errorf("ParseFile(main.conf) = %q, %v, want \"x\", nil", cfg.VisibleHostname, err)
	}
	cfg, err = ParseFile("missing.conf", Options{FS: fsys})
	want := "missing.conf: unable to open configuration file: file does not exist"
	if cfg != nil || err == nil || err.Error() != want {
		t.Errorf("ParseFile(missing.conf) = %v, %v, want nil, %q", cfg, err, want)
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Pos: Pos{"squid.conf", 12}, Directive: "http_port", Err: errString(`invalid port "80a"`)},
			`squid.conf:12: http_port: invalid port "80a"`},
		{&Error{Pos: Pos{"squid.conf", 3}, Err: errString("unrecognized: 'x'")}, "squid.conf:3: unrecognized: 'x'"},
		{&Error{Pos: Pos{"a.conf", 1}, Directive: "acl", Err: errString("e"), IncludedFrom: []Pos{{"main.conf", 40}}},
			"a.conf:1: acl: e (included from main.conf:40)"},
		{&Error{Pos: Pos{File: "x.conf"}, Err: errString("unable to open")}, "x.conf: unable to open"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	var empty ErrorList
	if empty.Err() != nil {
		t.Errorf("ErrorList(nil).Err() = %v, want nil", empty.Err())
	}
	list := ErrorList{tests[0].err, tests[1].err}
	if got, want := list.Err().Error(), tests[0].want+" (and 1 more errors)"; got != want {
		t.Errorf("ErrorList.Error() = %q, want %q", got, want)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
