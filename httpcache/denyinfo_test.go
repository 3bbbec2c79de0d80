package httpcache

import "testing"

func TestCheckLastACL(t *testing.T) {
	t.Parallel()
	defined := map[string]ACL{}
	mk := func(name, typ string, args ...string) ACL {
		a, err := CompileACL(name, typ, args, ACLEnv{Defined: defined})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	local, secret, all := mk("local", "src", "10.0.0.0/8"), mk("secret", "urlpath_regex", "^/secret"), mk("all", "all")
	rules := []Rule{
		{Allow: false, Terms: []Term{{ACL: local}, {ACL: secret}}},
		{Allow: true, Terms: []Term{{ACL: local}}},
	}
	tests := []struct {
		url, src string
		want     bool
		last     string
	}{
		{"http://a/secret", "10.0.0.1", false, "secret"}, // the denying rule's last ACL
		{"http://a/open", "10.0.0.1", true, "local"},
		{"http://a/open", "192.0.2.1", false, "local"}, // no match: the last ACL tried
	}
	for _, tt := range tests {
		ok, last := check(rules, newTx(t, "GET", tt.url, tt.src))
		if ok != tt.want || last != tt.last {
			t.Errorf("check(%s from %s) = %v, %q; want %v, %q", tt.url, tt.src, ok, last, tt.want, tt.last)
		}
	}
	if ok, last := check([]Rule{{Allow: false, Terms: []Term{{ACL: all}}}}, newTx(t, "GET", "http://a/", "1.1.1.1")); ok || last != "all" {
		t.Errorf("check(deny all) = %v, %q; want false, all", ok, last)
	}
}
