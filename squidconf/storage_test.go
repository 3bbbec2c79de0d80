package squidconf

import (
	"testing"
	"time"
)

func TestRefreshPattern(t *testing.T) {
	t.Parallel()
	first := func(c *Config) any { rp := c.RefreshPatterns[0]; rp.Pos = Pos{}; return rp }
	tests := []parseCase{
		{name: "default line", src: "refresh_pattern . 0 20% 4320",
			get: first, want: RefreshPattern{Regex: ".", Max: 4320 * time.Minute, Percent: 20, LMFactor: 0.2, MaxStale: -1}},
		{name: "-i and options", src: `refresh_pattern -i \.(css|js)$ 60 50% 1440 override-lastmod reload-into-ims max-stale=3600`,
			get: first, want: RefreshPattern{Regex: `\.(css|js)$`, IgnoreCase: true, Min: time.Hour, Max: 1440 * time.Minute,
				Percent: 50, LMFactor: 0.5, OverrideLastmod: true, ReloadIntoIMS: true, MaxStale: time.Hour,
				Options: []string{"override-lastmod", "reload-into-ims", "max-stale=3600"}}},
		{name: "all options", src: "refresh_pattern . 0 0 0 override-expire override-lastmod reload-into-ims ignore-reload " +
			"ignore-no-store ignore-private refresh-ims store-stale",
			get: func(c *Config) any {
				rp := c.RefreshPatterns[0]
				return []bool{rp.OverrideExpire, rp.OverrideLastmod, rp.ReloadIntoIMS, rp.IgnoreReload,
					rp.IgnoreNoStore, rp.IgnorePrivate, rp.RefreshIMS, rp.StoreStale}
			},
			want: []bool{true, true, true, true, true, true, true, true}},
		{name: "percent without sign", src: "refresh_pattern ^ftp: 1440 20 10080",
			get: func(c *Config) any { return c.RefreshPatterns[0].Percent }, want: 20},
		{name: "fractional percent", src: "refresh_pattern . 0 12.5% 10",
			get: func(c *Config) any { return []any{c.RefreshPatterns[0].Percent, c.RefreshPatterns[0].LMFactor} }, want: []any{12, 0.125}},
		{name: "large percent", src: "refresh_pattern . 0 1000% 10",
			get: func(c *Config) any { return c.RefreshPatterns[0].Percent }, want: 1000},
		{name: "order kept", src: "refresh_pattern ^ftp: 1440 20% 10080\nrefresh_pattern . 0 20% 4320",
			get: func(c *Config) any { return []string{c.RefreshPatterns[0].Regex, c.RefreshPatterns[1].Regex} }, want: []string{"^ftp:", "."}},
		{name: "escaped space", src: `refresh_pattern a\ b 0 20% 10`,
			get: func(c *Config) any { return c.RefreshPatterns[0].Regex }, want: `a\ b`},
		{name: "obsolete option", src: "refresh_pattern . 0 20% 10 ignore-no-cache",
			wantNotices: "squid.conf:1: refresh_pattern: option 'ignore-no-cache' is obsolete. Remove it."},
		{name: "unknown option", src: "refresh_pattern . 0 20% 10 bogus-opt",
			wantNotices: "squid.conf:1: refresh_pattern: unknown option 'bogus-opt'; ignored"},
		{name: "cropped", src: "refresh_pattern . -5 20% 999999",
			get:  func(c *Config) any { return []time.Duration{c.RefreshPatterns[0].Min, c.RefreshPatterns[0].Max} },
			want: []time.Duration{0, 525600 * time.Minute},
			wantNotices: "squid.conf:1: refresh_pattern: min age is negative; cropped to 0\n" +
				"squid.conf:1: refresh_pattern: max age is more than a year; cropped to 525600 minutes"},

		{name: "bad regex", src: "refresh_pattern ( 0 20% 10",
			get: func(c *Config) any { return len(c.RefreshPatterns) }, want: 0,
			wantNotices: "squid.conf:1: refresh_pattern: invalid regular expression '(': missing closing ); line ignored"},
		{name: "missing fields", src: "refresh_pattern . 0 20%",
			wantErr: "squid.conf:1: refresh_pattern: missing max"},
		{name: "missing regex", src: "refresh_pattern -i",
			wantErr: "squid.conf:1: refresh_pattern: missing regular expression"},
		{name: "minutes are integers", src: "refresh_pattern . 1.5 20% 10",
			wantErr: "squid.conf:1: refresh_pattern: invalid min age '1.5'"},
		{name: "bad percent", src: "refresh_pattern . 0 many 10",
			wantErr: "squid.conf:1: refresh_pattern: invalid percentage 'many'"},
		{name: "bad max-stale", src: "refresh_pattern . 0 20% 10 max-stale=1h",
			wantErr: "squid.conf:1: refresh_pattern: invalid value in refresh_pattern option 'max-stale=1h'"},
	}
	runParseCases(t, tests)
}

func TestCacheDir(t *testing.T) {
	t.Parallel()
	first := func(c *Config) any { cd := c.CacheDirs[0]; cd.Pos = Pos{}; return cd }
	tests := []parseCase{
		{name: "ufs", src: "cache_dir ufs /var/spool/squid 100 16 256",
			get: first, want: CacheDir{Type: "ufs", Path: "/var/spool/squid", SizeMB: 100, L1: 16, L2: 256, MaxSize: -1, ReplacementPolicy: "lru"}},
		{name: "aufs options", src: "cache_dir aufs /c 1000 32 512 min-size=1024 max-size=1048576 no-store",
			get: first, want: CacheDir{Type: "aufs", Path: "/c", SizeMB: 1000, L1: 32, L2: 512, MinSize: 1024, MaxSize: 1048576,
				NoStore: true, Options: []string{"min-size=1024", "max-size=1048576", "no-store"}, ReplacementPolicy: "lru"}},
		{name: "diskd", src: "cache_dir diskd /c 100 16 256 Q1=64 Q2=72",
			get: func(c *Config) any { return c.CacheDirs[0].Options }, want: []string{"Q1=64", "Q2=72"}},
		{name: "rock", src: "cache_dir rock /rock 1000 slot-size=16384 max-swap-rate=200 swap-timeout=300",
			get: first, want: CacheDir{Type: "rock", Path: "/rock", SizeMB: 1000, MaxSize: -1,
				Options: []string{"slot-size=16384", "max-swap-rate=200", "swap-timeout=300"}, ReplacementPolicy: "lru"}},
		{name: "several", src: "cache_dir rock /a 10\ncache_dir rock /b 20",
			get: func(c *Config) any { return len(c.CacheDirs) }, want: 2},
		{name: "same path replaces", src: "cache_dir ufs /a 10 16 256\ncache_dir ufs /a 20 16 256",
			get:         func(c *Config) any { return []any{len(c.CacheDirs), c.CacheDirs[0].SizeMB} },
			want:        []any{1, int64(20)},
			wantNotices: "squid.conf:2: cache_dir: cache_dir /a is already defined at squid.conf:1; this line replaces it"},
		{name: "unsupported type", src: "cache_dir coss /c 100",
			get:         func(c *Config) any { return len(c.CacheDirs) },
			want:        0,
			wantNotices: "squid.conf:1: cache_dir: this proxy does not support the 'coss' cache type; line ignored"},

		{name: "missing levels", src: "cache_dir ufs /c 100",
			wantErr: "squid.conf:1: cache_dir: missing level 1 directories"},
		{name: "zero size", src: "cache_dir ufs /c 0 16 256",
			wantErr: "squid.conf:1: cache_dir: invalid size value '0'"},
		{name: "size with unit", src: "cache_dir ufs /c 100MB 16 256",
			wantErr: "squid.conf:1: cache_dir: invalid size value '100MB'"},
		{name: "bad level", src: "cache_dir ufs /c 100 16 x",
			wantErr: "squid.conf:1: cache_dir: invalid level 2 directories value 'x'"},
		{name: "max-size with unit", src: "cache_dir ufs /c 100 16 256 max-size=4MB",
			wantErr: "squid.conf:1: cache_dir: max-size= takes a plain number of bytes, got '4MB'"},
		{name: "unknown option", src: "cache_dir rock /c 100 Q1=4",
			wantErr: "squid.conf:1: cache_dir: unknown cache_dir option 'Q1=4'"},
		{name: "other type same path", src: "cache_dir ufs /a 10 16 256\ncache_dir rock /a 20",
			wantErr: "squid.conf:2: cache_dir: cannot change the type of the cache_dir /a from ufs to rock"},
		{name: "missing path", src: "cache_dir ufs", wantErr: "squid.conf:1: cache_dir: missing cache_dir path"},
	}
	runParseCases(t, tests)
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	first := func(c *Config) any { al := c.AccessLogs[0]; al.Pos = Pos{}; return al }
	tests := []parseCase{
		{name: "daemon", src: "access_log daemon:/var/log/squid/access.log squid",
			get: first, want: AccessLog{Module: "daemon", Path: "/var/log/squid/access.log", Format: "squid"}},
		{name: "no module", src: "access_log /var/log/a.log",
			get: first, want: AccessLog{Module: "stdio", Path: "/var/log/a.log", Format: "squid"}},
		{name: "older form with acl", src: "acl a src all\naccess_log stdio:/l combined a",
			get: first, want: AccessLog{Module: "stdio", Path: "/l", Format: "combined", ACLs: []ACLRef{{Name: "a"}}}},
		{name: "older form without format", src: "acl a src all\naccess_log stdio:/l !a",
			get: first, want: AccessLog{Module: "stdio", Path: "/l", Format: "squid", ACLs: []ACLRef{{Name: "a", Not: true}}}},
		{name: "options", src: "access_log stdio:/l logformat=common buffer-size=64KB on-error=drop rotate=3 all",
			get: first, want: AccessLog{Module: "stdio", Path: "/l", Format: "common",
				Options: []string{"buffer-size=64KB", "on-error=drop", "rotate=3"}, ACLs: []ACLRef{{Name: "all"}}}},
		{name: "user format", src: "logformat timing %ts %tr\naccess_log stdio:/l timing",
			get: func(c *Config) any { return c.AccessLogs[0].Format }, want: "timing"},
		{name: "none", src: "access_log none",
			get: first, want: AccessLog{Module: "none"}},
		{name: "none replaces the default", src: "access_log none all",
			get: func(c *Config) any { return len(c.AccessLogs) }, want: 1},
		{name: "several", src: "access_log syslog:daemon.info\naccess_log udp://127.0.0.1:514 common",
			get: func(c *Config) any {
				return []string{c.AccessLogs[0].Module, c.AccessLogs[1].Module, c.AccessLogs[1].Path}
			},
			want: []string{"syslog", "udp", "//127.0.0.1:514"}},

		{name: "unknown format", src: "access_log stdio:/l logformat=mine",
			wantErr: "squid.conf:1: access_log: unknown logformat 'mine'"},
		{name: "format defined later", src: "access_log stdio:/l mine\nlogformat mine %ts",
			wantErr: "squid.conf:1: access_log: ACL not found: mine"},
		{name: "unknown option", src: "access_log stdio:/l colour=blue",
			wantErr: "squid.conf:1: access_log: unsupported access_log option: colour=blue"},
		{name: "bad on-error", src: "access_log stdio:/l on-error=retry",
			wantErr: "squid.conf:1: access_log: unsupported option value in 'on-error=retry': use on-error=die or on-error=drop"},
		{name: "missing place", src: "access_log", wantErr: "squid.conf:1: access_log: missing value"},
	}
	runParseCases(t, tests)
}

func TestLogFormat(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "definition", src: "logformat timing %ts.%03tu %6tr %>a %Ss/%03>Hs",
			get:  func(c *Config) any { lf := c.LogFormats[0]; lf.Pos = Pos{}; return lf },
			want: LogFormat{Name: "timing", Format: "%ts.%03tu %6tr %>a %Ss/%03>Hs"}},
		{name: "rest of line verbatim", src: `logformat probe %ts.%03tu %>a %ru # not-a-comment? "quoted"`,
			get: func(c *Config) any { return c.LogFormats[0].Format }, want: `%ts.%03tu %>a %ru # not-a-comment? "quoted"`},
		{name: "first definition wins", src: "logformat mine %ts\nlogformat mine %tr",
			get:         func(c *Config) any { return []any{len(c.LogFormats), c.LogFormats[0].Format} },
			want:        []any{1, "%ts"},
			wantNotices: "squid.conf:2: logformat: logformat mine is already defined. Ignoring."},
		{name: "built-in names", src: "logformat squid %ts\nlogformat combined %ts",
			get: func(c *Config) any { return len(c.LogFormats) }, want: 0,
			wantNotices: "squid.conf:1: logformat: logformat squid is already defined. Ignoring.\n" +
				"squid.conf:2: logformat: logformat combined is already defined. Ignoring."},
		{name: "missing format", src: "logformat mine", wantErr: "squid.conf:1: logformat: missing format for logformat mine"},
		{name: "missing name", src: "logformat", wantErr: "squid.conf:1: logformat: missing logformat name"},
	}
	runParseCases(t, tests)
}
