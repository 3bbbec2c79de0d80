package squidconf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that what it
// returns holds together: a Config, at most maxErrors located errors,
// rules that name defined ACLs, listen addresses net.Listen accepts; and
// that a config without errors, written by Format, parses back without
// errors into the same Config.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.conf"))
	for _, file := range files {
		if src, err := os.ReadFile(file); err == nil {
			f.Add(src)
		}
	}
	for _, s := range []string{
		"http_port 3128\n",
		"if true\ninclude inc.conf\nelse\nendif\n",
		"acl a dstdomain \"list.txt\" .x\nhttp_access allow a !all\n",
		"visible_hostname a\\\n# c\n\nb\\",
		"configuration_includes_quoted_values on\nvisible_hostname \"a\\",
		"cache_mem 1e308 GB\nshutdown_lifetime 1e300 decades\n",
		"#line 0 \"\"\nbogus\n",
		"acl a url_regex\nacl a url_regex -i x\nacl g any-of a\nacl b src 1.2.3.4\nacl g any-of b\n",
		"configuration_includes_quoted_values on\nlogformat q \" %ts \"\nrequest_header_add X \"%>a\" all\n",
		"auth_param basic program /bin/auth \"a b\"\nauth_param basic realm my realm\nacl u proxy_auth REQUIRED\n",
		"delay_pools 2\ndelay_class 1 2\ndelay_parameters 1 none 8000/8000\ndelay_access 1 allow all\n",
		"refresh_pattern +i -i 0 33.3% 10 bogus-option\nshutdown_lifetime 1.5 seconds\nread_timeout 90 seconds\n",
	} {
		f.Add([]byte(s))
	}
	fsys := mapFS(
		"inc.conf", "acl inc src 10.0.0.0/8\nhttp_access allow inc\n",
		"list.txt", "# list\n.example.com\nwww.example.net\n",
		"conf.d/a.conf", "cache_mem 1 MB\n",
	)
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse("fuzz.conf", src, Options{FS: fsys, LookupHost: noDNS})
		if cfg == nil {
			t.Fatalf("Parse(%q) = nil Config", src)
		}
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 || len(list) > maxErrors {
				t.Fatalf("Parse(%q) error = %#v, want an ErrorList of 1 to %d errors", src, err, maxErrors)
			}
			for _, e := range list {
				if e.Err == nil || e.Pos.File == "" || e.Error() == "" {
					t.Fatalf("Parse(%q) error %#v has no position or message", src, e)
				}
			}
		}
		names := make(map[string]bool)
		for _, a := range cfg.ACLs {
			names[a.Name] = true
		}
		for _, rules := range [][]AccessRule{cfg.HTTPAccess, cfg.CacheAccess, cfg.NeverDirect, cfg.MissAccess} {
			for _, r := range rules {
				if len(r.ACLs) == 0 {
					t.Fatalf("Parse(%q): rule %v at %v names no ACL", src, r, r.Pos)
				}
				for _, ref := range r.ACLs {
					if !names[ref.Name] {
						t.Fatalf("Parse(%q): rule at %v names undefined ACL %q", src, r.Pos, ref.Name)
					}
				}
			}
		}
		for _, p := range append(cfg.HTTPPorts, cfg.HTTPSPorts...) {
			if _, _, err := net.SplitHostPort(p.Addr); err != nil || strings.TrimSpace(p.Addr) != p.Addr {
				t.Fatalf("Parse(%q): http_port address %q: %v", src, p.Addr, err)
			}
		}
		if err == nil {
			// Print then re-parse is stable.
			checkFormatRoundTrip(t, fmt.Sprintf("Parse(%q)", src), cfg, Options{FS: fsys, LookupHost: noDNS})
		}
	})
}
