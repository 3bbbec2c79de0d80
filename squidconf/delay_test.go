package squidconf

import (
	"testing"
	"time"
)

func TestDelayPools(t *testing.T) {
	t.Parallel()
	pools := func(c *Config) any { return c.DelayPools }
	unlimited := DelayRate{Restore: -1, Max: -1}
	tests := []parseCase{
		{name: "wiki example", src: "delay_pools 1\ndelay_class 1 2\ndelay_parameters 1 -1/-1 8000/8000\ndelay_access 1 allow all",
			get: pools, want: []DelayPool{{Pos: Pos{"squid.conf", 2}, Class: 2,
				Rates:  []DelayRate{unlimited, {Restore: 8000, Max: 8000}},
				Access: []AccessRule{{Pos: Pos{"squid.conf", 4}, Allow: true, ACLs: []ACLRef{{Name: "all"}}}}}}},
		{name: "every class", src: "delay_pools 5\n" +
			"delay_class 1 1\ndelay_parameters 1 none\n" +
			"delay_class 2 2\ndelay_parameters 2 64000/64000 -1/-1\n" +
			"delay_class 3 3\ndelay_parameters 3 1/2 3/4 5/6\n" +
			"delay_class 4 4\ndelay_parameters 4 1/2 3/4 5/6 7/8\n" +
			"delay_class 5 5\ndelay_parameters 5 100/200",
			get: func(c *Config) any {
				var n []int
				for _, p := range c.DelayPools {
					n = append(n, p.Class, len(p.Rates))
				}
				return n
			},
			want: []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 1}},
		{name: "unused pool", src: "delay_pools 2\ndelay_class 2 1",
			get: func(c *Config) any { return []int{len(c.DelayPools), c.DelayPools[0].Class, c.DelayPools[1].Class} }, want: []int{2, 0, 1}},
		{name: "no limit spellings", src: "delay_pools 1\ndelay_class 1 2\ndelay_parameters 1 none -5/100",
			get: func(c *Config) any { return c.DelayPools[0].Rates }, want: []DelayRate{unlimited, unlimited}},
		{name: "new class resets rates", src: "delay_pools 1\ndelay_class 1 1\ndelay_parameters 1 1/1\ndelay_class 1 2",
			get: func(c *Config) any { return []any{c.DelayPools[0].Class, len(c.DelayPools[0].Rates)} }, want: []any{2, 0},
			wantNotices: "squid.conf:4: delay_class: the pool already has class 1 (squid.conf:2); this line replaces it and its delay_parameters"},
		{name: "delay_pools again", src: "delay_pools 1\ndelay_class 1 1\ndelay_pools 2",
			get: func(c *Config) any { return []int{len(c.DelayPools), c.DelayPools[0].Class} }, want: []int{2, 0},
			wantNotices: "squid.conf:3: delay_pools: delay_pools again: the 1 pools declared above and their settings are discarded"},
		{name: "pool out of range", src: "delay_class 1 2",
			wantNotices: "squid.conf:1: delay_class: ignoring pool 1 not in 1 .. 0 (set delay_pools first)"},
		{name: "class out of range", src: "delay_pools 1\ndelay_class 1 6",
			get: func(c *Config) any { return c.DelayPools[0].Class }, want: 0,
			wantNotices: "squid.conf:2: delay_class: ignoring class 6 not in 1 .. 5"},
		{name: "rates without class", src: "delay_pools 1\ndelay_parameters 1 1/1",
			wantNotices: "squid.conf:2: delay_parameters: ignoring the rates of a pool without delay_class"},
		{name: "extra rates", src: "delay_pools 1\ndelay_class 1 1\ndelay_parameters 1 1/1 2/2",
			get: func(c *Config) any { return len(c.DelayPools[0].Rates) }, want: 1,
			wantNotices: "squid.conf:3: delay_parameters: a class 1 pool takes 1 restore/max pairs; ignoring 2/2"},
		{name: "access out of range", src: "delay_pools 1\ndelay_access 2 allow all",
			wantNotices: "squid.conf:2: delay_access: ignoring pool 2 not in 1 .. 1 (set delay_pools first)"},
		{name: "max read as strtoll does", src: "delay_pools 1\ndelay_class 1 1\ndelay_parameters 1 8000/8k",
			get: func(c *Config) any { return c.DelayPools[0].Rates }, want: []DelayRate{{Restore: 8000, Max: 8}},
			wantNotices: "squid.conf:3: delay_parameters: delay rate '8000/8k' is read as 8000/8"},
		{name: "delay_initial_bucket_level", src: "delay_initial_bucket_level 75",
			get: func(c *Config) any { return c.DelayInitialBucketLevel }, want: 75},
		{name: "bucket level above 100", src: "delay_initial_bucket_level 150",
			wantNotices: "squid.conf:1: delay_initial_bucket_level: 150 is not a percentage (0-100)"},

		{name: "missing rates", src: "delay_pools 1\ndelay_class 1 3\ndelay_parameters 1 1/1 2/2",
			wantErr: "squid.conf:3: delay_parameters: a class 3 pool takes 3 restore/max pairs, got 2"},
		{name: "rate without max", src: "delay_pools 1\ndelay_class 1 1\ndelay_parameters 1 8000",
			wantErr: "squid.conf:3: delay_parameters: invalid delay rate '8000': expecting restore/max or 'none'"},
		{name: "rate not a number", src: "delay_pools 1\ndelay_class 1 1\ndelay_parameters 1 8k/8000",
			wantErr: "squid.conf:3: delay_parameters: invalid delay rate '8k/8000': expecting restore/max or 'none'"},
		{name: "max without digits", src: "delay_pools 1\ndelay_class 1 1\ndelay_parameters 1 8000/k",
			wantErr: "squid.conf:3: delay_parameters: invalid delay rate '8000/k': expecting restore/max or 'none'"},
		{name: "bad pool count", src: "delay_pools x",
			wantErr: "squid.conf:1: delay_pools: invalid number of delay pools 'x': expecting a number from 0 to 65535"},
		{name: "pool count too large", src: "delay_pools 65536",
			wantErr: "squid.conf:1: delay_pools: invalid number of delay pools '65536': expecting a number from 0 to 65535"},
		{name: "missing pool", src: "delay_access", wantErr: "squid.conf:1: delay_access: missing value"},
		{name: "access acl not found", src: "delay_pools 1\ndelay_access 1 allow nope",
			wantErr: "squid.conf:2: delay_access: ACL not found: nope"},
	}
	runParseCases(t, tests)
}

func TestAuthParam(t *testing.T) {
	t.Parallel()
	first := func(c *Config) any { a := c.AuthSchemes[0]; a.Pos = Pos{}; return a }
	tests := []parseCase{
		{name: "basic", src: "auth_param basic program /usr/lib/squid/basic_ncsa_auth /etc/squid/passwd\n" +
			"auth_param basic children 5 startup=1 idle=1 concurrency=0\n" +
			"auth_param basic realm Squid proxy # to the end of the line\n" +
			"auth_param basic credentialsttl 1 hour\n" +
			"auth_param basic casesensitive on\n" +
			"auth_param basic utf8 on\n" +
			"auth_param basic keep_alive off",
			get: first, want: AuthScheme{Scheme: "basic",
				Program:  []string{"/usr/lib/squid/basic_ncsa_auth", "/etc/squid/passwd"},
				Children: 5, ChildrenOptions: []string{"startup=1", "idle=1", "concurrency=0"},
				Realm:          "Squid proxy # to the end of the line",
				CredentialsTTL: time.Hour, CaseSensitive: true, UTF8: true}},
		{name: "basic defaults", src: "auth_param basic program /bin/helper",
			get: first, want: AuthScheme{Scheme: "basic", Program: []string{"/bin/helper"}, Children: 20,
				Realm: "Squid proxy-caching web server", KeepAlive: true, CredentialsTTL: 2 * time.Hour}},
		{name: "quoted program arguments", src: `auth_param basic program /bin/helper "a b" 'c'`,
			get: func(c *Config) any { return c.AuthSchemes[0].Program }, want: []string{"/bin/helper", "a b", "c"}},
		{name: "key_extras", src: `auth_param basic key_extras "%>la %lp"`,
			get: func(c *Config) any { return c.AuthSchemes[0].KeyExtras }, want: "%>la %lp"},
		{name: "schemes in order", src: "auth_param negotiate program /bin/n\nauth_param basic program /bin/b\nauth_param negotiate children 10",
			get: func(c *Config) any {
				return []any{c.AuthSchemes[0].Scheme, c.AuthSchemes[0].Children, c.AuthSchemes[1].Scheme}
			},
			want: []any{"negotiate", 10, "basic"},
			wantNotices: "squid.conf:1: auth_param: cuttle does not support the negotiate authentication scheme; " +
				"its auth_param lines are checked but not applied"},
		{name: "digest parameters", src: "auth_param digest program /bin/d\nauth_param digest realm r\n" +
			"auth_param digest nonce_garbage_interval 5 minutes\nauth_param digest nonce_max_count 50\nauth_param digest nonce_strictness on",
			get:  func(c *Config) any { return c.AuthSchemes[0].Options },
			want: []string{"nonce_garbage_interval 5m0s", "nonce_max_count 50", "nonce_strictness on"}},
		{name: "key_extras junk", src: `auth_param basic key_extras "%>la" x`,
			get: func(c *Config) any { return c.AuthSchemes[0].KeyExtras }, want: "%>la",
			wantNotices: "squid.conf:1: auth_param: ignoring x after the key_extras format"},
		{name: "unknown parameter", src: "auth_param basic bogus 1",
			wantNotices: "squid.conf:1: auth_param: unrecognised basic auth scheme parameter 'bogus'; ignored"},
		{name: "idle=0", src: "auth_param basic children 5 idle=0",
			wantNotices: "squid.conf:1: auth_param: idle=0 makes helper requests fail; using idle=1"},
		{name: "startup above children", src: "auth_param basic children 5 startup=10",
			wantNotices: "squid.conf:1: auth_param: capping startup=10 to the maximum number of children (5)"},
		{name: "proxy_auth after a program", src: "auth_param basic program /bin/b\nacl users proxy_auth REQUIRED\nhttp_access allow users",
			get: aclValues("users"), want: []string{"REQUIRED"}},

		{name: "unknown scheme", src: "auth_param Basic program /bin/b",
			wantErr: "squid.conf:1: auth_param: unknown authentication scheme 'Basic' (expecting basic, digest, ntlm or negotiate)"},
		{name: "missing scheme", src: "auth_param", wantErr: "squid.conf:1: auth_param: missing authentication scheme"},
		{name: "missing parameter", src: "auth_param basic", wantErr: "squid.conf:1: auth_param: missing basic auth scheme parameter"},
		{name: "missing program", src: "auth_param basic program", wantErr: "squid.conf:1: auth_param: missing basic auth program"},
		{name: "no children", src: "auth_param basic children 0",
			wantErr: "squid.conf:1: auth_param: the maximum number of processes cannot be less than 1"},
		{name: "bad children", src: "auth_param basic children many",
			wantErr: "squid.conf:1: auth_param: invalid number of children 'many'"},
		{name: "unknown children option", src: "auth_param basic children 5 foo=1",
			wantErr: "squid.conf:1: auth_param: undefined children option 'foo=1'"},
		{name: "bad overload action", src: "auth_param basic children 5 on-persistent-overload=retry",
			wantErr: "squid.conf:1: auth_param: unsupported on-persistent-overload action 'retry' (expecting ERR or die)"},
		{name: "missing realm", src: "auth_param basic realm", wantErr: "squid.conf:1: auth_param: missing auth_param basic realm"},
		{name: "credentialsttl needs a unit", src: "auth_param basic credentialsttl 2",
			wantErr: "squid.conf:1: auth_param: missing time unit"},
		{name: "bad casesensitive", src: "auth_param basic casesensitive yes",
			wantErr: "squid.conf:1: auth_param: invalid value 'yes': boolean options can only be 'on' or 'off'"},
		{name: "proxy_auth without scheme", src: "acl users proxy_auth REQUIRED",
			wantErr: "squid.conf:1: acl: invalid ACL: cannot use proxy auth because no authentication schemes are fully configured " +
				"(an auth_param program line must come first)"},
		{name: "digest without realm is not configured", src: "auth_param digest program /bin/d\nacl users proxy_auth_regex ^a",
			wantErr: "squid.conf:2: acl: invalid ACL: cannot use proxy auth because no authentication schemes are fully configured " +
				"(an auth_param program line must come first)"},
	}
	runParseCases(t, tests)
}

func TestACLTypes(t *testing.T) {
	t.Parallel()
	const auth = "auth_param basic program /bin/b\n"
	tests := []parseCase{
		{name: "proto", src: "acl p proto HTTP https cache_object",
			get: aclValues("p"), want: []string{"HTTP", "https", "cache_object"}},
		{name: "unknown proto", src: "acl p proto HTTP gopherx",
			get: aclValues("p"), want: []string{"HTTP"},
			wantNotices: "squid.conf:1: acl: ignoring unknown protocol 'gopherx' in the ACL named 'p'"},
		{name: "time", src: "acl t time MTWHF 08:00-17:00\nacl t time A 00:00-24:00\nacl t time D\nacl t time 09:30-09:30",
			get: aclValues("t"), want: []string{"MTWHF", "08:00-17:00", "A", "00:00-24:00", "D", "09:30-09:30"}},
		{name: "bad day", src: "acl t time MX 08:00-09:00",
			wantNotices: "squid.conf:1: acl: bad day 'X' in 'MX' (expecting S M T W H F A or D); ignored"},
		{name: "header", src: "acl h req_header User-Agent -i curl\nacl h req_header user-agent wget",
			get: aclValues("h"), want: []string{"User-Agent", "-i", "curl", "+i", "wget"}},
		{name: "other header", src: "acl h rep_header Server apache\nacl h rep_header Via squid",
			get: aclValues("h"), want: []string{"Server", "apache"},
			wantNotices: "squid.conf:2: acl: ACL cannot match both Server and Via headers (use an any-of ACL); line ignored"},
		{name: "header without name", src: "acl h req_header",
			wantNotices: "squid.conf:1: acl: missing header name in ACL; line ignored\nsquid.conf:1: acl: empty ACL 'h' never matches"},
		{name: "note", src: "acl n note color red\nacl n note color blue",
			get: aclValues("n"), want: []string{"color", "red", "blue"}},
		{name: "note renamed", src: "acl n note color red\nacl n note shade blue",
			get: aclValues("n"), want: []string{"shade", "red", "blue"},
			wantNotices: "squid.conf:2: acl: the annotation name of ACL 'n' changes from color to shade, for the values of every line"},
		{name: "maxconn", src: "acl m maxconn 10", get: aclValues("m"), want: []string{"10"}},
		{name: "maxconn not clean", src: "acl m maxconn 10x",
			get: aclValues("m"), want: []string{"10x"},
			wantNotices: "squid.conf:1: acl: limit '10x' is read as 10"},
		{name: "maxconn extra", src: "acl m maxconn 5 6",
			get: aclValues("m"), want: []string{"5"},
			wantNotices: "squid.conf:1: acl: maxconn takes a single limit; ignoring 6"},
		{name: "maxconn replaced", src: "acl m maxconn 5\nacl m maxconn 6",
			get: aclValues("m"), want: []string{"6"},
			wantNotices: "squid.conf:2: acl: this line replaces the limit 5 of ACL 'm'"},
		{name: "max_user_ip", src: auth + "acl u max_user_ip -s 2",
			get:  func(c *Config) any { a := lastACL(c).(ACL); return []any{a.Flags, a.Values} },
			want: []any{[]string{"-s"}, []string{"2"}}},
		{name: "max_user_ip again", src: "acl u max_user_ip 2\nacl u max_user_ip 3",
			get: aclValues("u"), want: []string{"2"},
			wantNotices: "squid.conf:2: acl: the limit of an existing max_user_ip ACL cannot be changed; line ignored"},
		{name: "proxy_auth names", src: auth + "acl u proxy_auth alice bob\nacl u proxy_auth carol",
			get: aclValues("u"), want: []string{"alice", "bob", "carol"}},
		{name: "REQUIRED with names", src: auth + "acl u proxy_auth REQUIRED alice",
			get: aclValues("u"), want: []string{"REQUIRED"},
			wantNotices: "squid.conf:2: acl: user names in an ACL of type REQUIRED are ignored: alice"},
		{name: "REQUIRED later", src: auth + "acl u proxy_auth alice\nacl u proxy_auth REQUIRED",
			get: aclValues("u"), want: []string{"REQUIRED"},
			wantNotices: "squid.conf:3: acl: REQUIRED makes Squid ignore the user names of ACL 'u': alice"},
		{name: "regex types compiled", src: "acl b browser -i ^Mozilla\nacl r referer_regex example\\.com\nacl m rep_mime_type ^image/\n" +
			"acl d dstdom_regex -i \\.example\\.(com|net)$\nacl l urllogin [^a-z]",
			get: func(c *Config) any { return len(c.ACLs) }, want: 10},

		{name: "bad time range", src: "acl t time 25:00-26:00",
			wantErr: "squid.conf:1: acl: bad time range '25:00-26:00' (expecting h1:m1-h2:m2, from 00:00 to 24:00)"},
		{name: "time without end", src: "acl t time 08:00",
			wantErr: "squid.conf:1: acl: bad time range '08:00' (expecting h1:m1-h2:m2, from 00:00 to 24:00)"},
		{name: "reversed time range", src: "acl t time 17:00-08:00",
			wantErr: "squid.conf:1: acl: reversed time range '17:00-08:00' (a range cannot span midnight; use two ACLs)"},
		{name: "note without name", src: "acl n note", wantErr: "squid.conf:1: acl: missing annotation name"},
		{name: "maxconn zero", src: "acl m maxconn 0",
			wantErr: "squid.conf:1: acl: invalid ACL: maxconn needs a limit above 0, got '0'"},
		{name: "maxconn not a number", src: "acl m maxconn many",
			wantErr: "squid.conf:1: acl: invalid ACL: maxconn needs a limit above 0, got 'many'"},
		{name: "max_user_ip without limit", src: "acl u max_user_ip -s",
			wantErr: "squid.conf:1: acl: invalid ACL: max_user_ip needs a limit above 0"},
		{name: "header regex", src: "acl h req_header Cookie (",
			wantNotices: "squid.conf:1: acl: invalid regular expression '(': missing closing ); the pattern is ignored"},
		{name: "dstdom_regex", src: "acl d dstdom_regex [a-",
			wantNotices: "squid.conf:1: acl: invalid regular expression '[a-': missing closing ]; the pattern is ignored"},
		{name: "browser", src: "acl b browser *bot",
			wantNotices: "squid.conf:1: acl: invalid regular expression '*bot': missing argument to repetition operator; the pattern is ignored"},
	}
	runParseCases(t, tests)
}
