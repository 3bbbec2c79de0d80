package squidconf

import (
	"strings"
	"testing"
)

// lastACL returns the last ACL defined, without its position.
func lastACL(c *Config) any {
	a := *c.ACLs[len(c.ACLs)-1]
	a.Pos = Pos{}
	return a
}

// aclValues returns a getter of the values of the ACL name.
func aclValues(name string) func(*Config) any {
	return func(c *Config) any {
		for _, a := range c.ACLs {
			if a.Name == name {
				return a.Values
			}
		}
		return nil
	}
}

func TestACL(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "builtins", src: "",
			get: func(c *Config) any {
				var names []string
				for _, a := range c.ACLs {
					if a.BuiltIn {
						names = append(names, a.Name+" "+a.Type+" "+strings.Join(append(a.Flags, a.Values...), " "))
					}
				}
				return names
			},
			want: []string{
				"all src all",
				"manager url_regex -i ^cache_object:// +i ^[^:]+://[^/]+/squid-internal-mgr/",
				"localhost src 127.0.0.1/32 ::1",
				"to_localhost dst 127.0.0.0/8 0.0.0.0/32 ::1/128 ::/128",
				"CONNECT method CONNECT",
			}},
		{name: "src forms", src: "acl net src 10.0.0.0/8 192.168.1.1 1.2.3.4-1.2.3.9 10.0.0.0/255.0.0.0 0.0.0.1-0.255.255.255 fc00::/7 ::1 all",
			get: lastACL, want: ACL{Name: "net", Type: "src",
				Values: []string{"10.0.0.0/8", "192.168.1.1", "1.2.3.4-1.2.3.9", "10.0.0.0/255.0.0.0", "0.0.0.1-0.255.255.255", "fc00::/7", "::1", "all"}}},
		{name: "merged lines", src: "acl p port 80 # http\nacl p port 443 1025-65535\nacl other port 1",
			get: aclValues("p"), want: []string{"80", "443", "1025-65535"}},
		{name: "names are case-insensitive", src: "acl Safe port 80\nacl safe port 443",
			get:  func(c *Config) any { return []any{c.ACLs[len(c.ACLs)-1].Name, c.ACLs[len(c.ACLs)-1].Values} },
			want: []any{"Safe", []string{"80", "443"}}},
		{name: "method", src: "acl m method GET POST PURGE",
			get: aclValues("m"), want: []string{"GET", "POST", "PURGE"}},
		{name: "dstdomain", src: "acl d dstdomain .example.com www.example.net",
			get: aclValues("d"), want: []string{".example.com", "www.example.net"}},
		{name: "dstdomain -n", src: "acl d dstdomain -n example.com",
			get: lastACL, want: ACL{Name: "d", Type: "dstdomain", Flags: []string{"-n"}, Values: []string{"example.com"}}},
		{name: "url_regex -i", src: `acl r url_regex -i \.jpg$ ^http://a\ b/`,
			get: lastACL, want: ACL{Name: "r", Type: "url_regex", Flags: []string{"-i"}, Values: []string{`\.jpg$`, `^http://a\ b/`}}},
		{name: "regex switches", src: "acl r urlpath_regex a -i b +i c",
			get: aclValues("r"), want: []string{"a", "-i", "b", "+i", "c"}},
		{name: "regex lines start case-sensitive", src: "acl r url_regex -i a\nacl r url_regex b\nacl r url_regex -i c",
			get: lastACL, want: ACL{Name: "r", Type: "url_regex", Flags: []string{"-i"}, Values: []string{"a", "+i", "b", "-i", "c"}}},
		{name: "regex with hash", src: "acl r url_regex a#b # comment",
			get: aclValues("r"), want: []string{"a#b"}},
		{name: "header regex", src: "acl c req_header Cookie -i ^.*SESS.*",
			get: aclValues("c"), want: []string{"Cookie", "-i", "^.*SESS.*"}},
		{name: "other types kept", src: "acl n myportname 3128 web\nacl t time MTWHF 08:00-17:00\nacl x external helper arg",
			get: func(c *Config) any { return len(c.ACLs) }, want: 8},
		{name: "dst host names kept", src: "acl d dst 127.0.0.1 localhost",
			get: aclValues("d"), want: []string{"127.0.0.1", "localhost"}},
		{name: "src host name", src: "acl s src localhost",
			get: aclValues("s"), want: []string{"localhost"}},
		{name: "any-of", src: "acl a port 80\nacl b method GET\nacl g any-of a b",
			get: aclValues("g"), want: []string{"a", "b"}},
		{name: "file values", src: `acl d dstdomain "/etc/squid/sites.txt" extra.example`,
			files: mapFS("etc/squid/sites.txt", "# sites\n.example.com\n\n  www.example.net  # trailing\nexample.org other words # c\n"),
			get:   aclValues("d"), want: []string{".example.com", "www.example.net", "example.org other words", "extra.example"}},
		{name: "missing file", src: `acl d dstdomain "/nonexistent/file.txt"`,
			get: aclValues("d"), want: []string(nil),
			wantNotices: "squid.conf:1: acl: can not open file /nonexistent/file.txt for reading (file does not exist); " +
				"acl 'd' gets no values from it\nsquid.conf:1: acl: empty ACL 'd' never matches"},
		{name: "manager proto is ignored", src: "acl manager proto cache_object",
			get:         func(c *Config) any { return len(c.ACLs) },
			want:        5,
			wantNotices: "squid.conf:1: acl: ACL 'manager' is now a built-in ACL; remove this line"},
		{name: "builtin merged", src: "acl localhost src 127.0.0.0/8",
			get:         aclValues("localhost"),
			want:        []string{"127.0.0.1/32", "::1", "127.0.0.0/8"},
			wantNotices: "squid.conf:1: acl: ACL 'localhost' is built in; the values of this line are added to it"},
		{name: "myip renamed", src: "acl me myip 10.0.0.1",
			get:         func(c *Config) any { return c.ACLs[len(c.ACLs)-1].Type },
			want:        "localip",
			wantNotices: "squid.conf:1: acl: ACL type 'myip' is now 'localip' (it matches what the client connected to)"},

		{name: "unknown type", src: "acl x badtype 1",
			wantErr: "squid.conf:1: acl: Invalid ACL type 'badtype'"},
		{name: "other type", src: "acl x src 10.0.0.1\nacl x dst 10.0.0.1",
			wantErr: "squid.conf:2: acl: ACL 'x' already exists with different type"},
		{name: "builtin with other type", src: "acl localhost dst 127.0.0.1",
			wantErr: "squid.conf:1: acl: ACL 'localhost' already exists with different type"},
		{name: "missing name", src: "acl",
			wantErr: "squid.conf:1: acl: missing ACL name"},
		{name: "missing type", src: "acl x",
			wantErr: "squid.conf:1: acl: missing ACL type"},
		{name: "long name", src: "acl " + strings.Repeat("a", 64) + " src all",
			wantErr: "squid.conf:1: acl: ACL name '" + strings.Repeat("a", 64) + "' too long, max 63 characters supported"},
		{name: "src unresolvable host name", src: "acl x src ip_of_squid",
			wantErr: "squid.conf:1: acl: bad host/IP: 'ip_of_squid' (no such host)"},
		{name: "dst unresolvable host name", src: "acl x dst 127.0.0.1 origin.example.com",
			wantErr: "squid.conf:1: acl: bad host/IP: 'origin.example.com' (no such host)"},
		{name: "src host name with a mask", src: "acl x src localhost/24",
			wantErr: "squid.conf:1: acl: bad host/IP: 'localhost/24' (bad address \"localhost\")"},
		{name: "src bad mask", src: "acl x src 10.0.0.0/33",
			wantErr: "squid.conf:1: acl: bad host/IP: '10.0.0.0/33' (bad mask \"33\")"},
		{name: "src bad range", src: "acl x src 10.0.0.9-10.0.0.1",
			wantErr: "squid.conf:1: acl: bad host/IP: '10.0.0.9-10.0.0.1' (bad range \"10.0.0.9-10.0.0.1\")"},
		{name: "src non-contiguous mask", src: "acl x src 10.0.0.0/255.0.255.0",
			wantErr: "squid.conf:1: acl: bad host/IP: '10.0.0.0/255.0.255.0' (bad mask \"255.0.255.0\")"},
		{name: "bad port", src: "acl p port 80 http",
			wantErr: "squid.conf:1: acl: invalid port 'http'"},
		{name: "port out of range", src: "acl p port 70000",
			wantErr: "squid.conf:1: acl: invalid port '70000'"},
		{name: "reversed port range", src: "acl p port 90-80",
			wantErr: "squid.conf:1: acl: invalid port '90-80'"},
		{name: "bad method", src: "acl m method GET/POST",
			wantErr: "squid.conf:1: acl: invalid method 'GET/POST'"},
		{name: "bad regex", src: "acl r url_regex (a",
			wantNotices: "squid.conf:1: acl: invalid regular expression '(a': missing closing ); the pattern is ignored"},
		{name: "regex with backreference", src: `acl r urlpath_regex (a)\1`,
			wantNotices: `squid.conf:1: acl: invalid regular expression '(a)\1': invalid escape sequence; the pattern is ignored`},
		{name: "lone backslash in regex", src: "acl r url_regex a\\ \n",
			wantErr: "squid.conf:1: acl: unescaped '\\' character in regex pattern: a\\"},
		{name: "subdomain", src: "acl s dstdomain www.example.net download.example.com .example.net",
			wantErr: "squid.conf:1: acl: 'www.example.net' is a subdomain of '.example.net'; remove 'www.example.net' from the ACL named 's'"},
		{name: "subdomain after", src: "acl s dstdomain .example.net\nacl s dstdomain a.b.example.net",
			wantNotices: "squid.conf:2: acl: 'a.b.example.net' is a subdomain of '.example.net'; it is ignored " +
				"(you should remove 'a.b.example.net' from the ACL named 's')"},
		{name: "domain and dotted domain", src: "acl s dstdomain example.com .example.com",
			wantErr: "squid.conf:1: acl: 'example.com' is a subdomain of '.example.com'; remove 'example.com' from the ACL named 's'"},
		{name: "same domain twice", src: "acl s dstdomain a.example.com\nacl s dstdomain A.example.com",
			get: func(c *Config) any { return len(c.Notices) }, want: 0},
		{name: "refused line is forgotten", src: "acl s dstdomain a.com .a.com\nacl s dstdomain .a.com",
			wantErr: "squid.conf:1: acl: 'a.com' is a subdomain of '.a.com'; remove 'a.com' from the ACL named 's'"},
		{name: "group of unknown", src: "acl g all-of a",
			wantErr: "squid.conf:1: acl: ACL not found: a"},
		{name: "group of itself", src: "acl a port 80\nacl g any-of a\nacl g any-of G",
			wantErr: "squid.conf:3: acl: ACL 'g' cannot be a member of itself"},
		{name: "dst bad value", src: "acl d dst 10.0.0.0/40",
			wantErr: "squid.conf:1: acl: bad host/IP: '10.0.0.0/40' (bad mask \"40\")"},
	}
	runParseCases(t, tests)
}

func TestAccessLists(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "http_access", src: "acl a src 10.0.0.0/8\nhttp_access allow a !CONNECT\nhttp_access deny all",
			get: func(c *Config) any { return accessText(c.HTTPAccess) }, want: "allow a !CONNECT|deny all"},
		{name: "positions", src: "\nhttp_access allow all",
			get: func(c *Config) any { return c.HTTPAccess[0].Pos }, want: Pos{File: "squid.conf", Line: 2}},
		{name: "names as defined", src: "acl MyNet src 10.0.0.0/8\nhttp_access allow mynet",
			get: func(c *Config) any { return c.HTTPAccess[0].ACLs }, want: []ACLRef{{Name: "MyNet"}}},
		{name: "other lists", src: "http_reply_access allow all\ncache deny all\nno_cache allow localhost\n" +
			"never_direct allow all\nalways_direct deny all\nmiss_access allow localhost\nsend_hit deny all\nstore_miss deny all",
			get: func(c *Config) any {
				return []string{accessText(c.HTTPReplyAccess), accessText(c.CacheAccess), accessText(c.NeverDirect),
					accessText(c.AlwaysDirect), accessText(c.MissAccess), accessText(c.SendHit), accessText(c.StoreMiss)}
			},
			want: []string{"allow all", "deny all|allow localhost", "allow all", "deny all", "allow localhost", "deny all", "deny all"}},
		{name: "trailing comment", src: "http_access allow all # everyone",
			get: func(c *Config) any { return accessText(c.HTTPAccess) }, want: "allow all"},
		{name: "misspelt action", src: "http_access alow all",
			get:         func(c *Config) any { return len(c.HTTPAccess) },
			want:        0,
			wantNotices: "squid.conf:1: http_access: expecting 'allow' or 'deny', got 'alow'; line ignored"},
		{name: "no action", src: "http_access",
			wantNotices: "squid.conf:1: http_access: missing 'allow' or 'deny'; line ignored"},
		{name: "no acl", src: "http_access allow",
			wantNotices: "squid.conf:1: http_access: the rule names no ACL; line ignored"},
		{name: "unknown acl", src: "http_access allow undefined_acl",
			wantErr: "squid.conf:1: http_access: ACL not found: undefined_acl"},
		{name: "negated unknown acl", src: "http_access deny !nope",
			wantErr: "squid.conf:1: http_access: ACL not found: nope"},
		{name: "acl defined later", src: "http_access allow a\nacl a src all",
			wantErr: "squid.conf:1: http_access: ACL not found: a"},
		{name: "checked untyped list", src: "icp_access deny nope",
			wantErr: "squid.conf:1: icp_access: ACL not found: nope"},
		{name: "checked keyed list", src: "reply_header_access X-Cache deny nope",
			wantErr: "squid.conf:1: reply_header_access: ACL not found: nope"},
	}
	runParseCases(t, tests)
}
