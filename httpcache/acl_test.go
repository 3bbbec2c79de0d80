package httpcache

import (
	"net/http"
	"net/netip"
	"testing"
)

func mustACL(t *testing.T, typ string, args ...string) ACL {
	t.Helper()
	a, err := NewACL(typ, args)
	if err != nil {
		t.Fatalf("NewACL(%s, %q): %v", typ, args, err)
	}
	return a
}

func newTx(t *testing.T, method, url, client string) *transaction {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx := &transaction{req: req, port: &Port{Name: "main", ListenPort: 3128}}
	tx.setURL(url)
	tx.clientIP = netip.MustParseAddr(client)
	return tx
}

func TestACLMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  string
		args []string
		url  string
		src  string
		want bool
	}{
		{"src cidr", "src", []string{"10.0.0.0/8"}, "http://a/", "10.1.2.3", true},
		{"src cidr miss", "src", []string{"10.0.0.0/8"}, "http://a/", "11.1.2.3", false},
		{"src dotted mask", "src", []string{"192.168.0.0/255.255.0.0"}, "http://a/", "192.168.9.9", true},
		{"src range", "src", []string{"1.2.3.4-1.2.3.9"}, "http://a/", "1.2.3.7", true},
		{"src range miss", "src", []string{"1.2.3.4-1.2.3.9"}, "http://a/", "1.2.3.10", false},
		{"src v6 localhost", "src", []string{"::1"}, "http://a/", "::1", true},
		{"src all", "src", []string{"all"}, "http://a/", "8.8.8.8", true},
		{"dstdomain exact", "dstdomain", []string{"www.example.com"}, "http://www.example.com:8080/", "1.1.1.1", true},
		{"dstdomain exact no sub", "dstdomain", []string{"example.com"}, "http://www.example.com/", "1.1.1.1", false},
		{"dstdomain dot", "dstdomain", []string{".example.com"}, "http://static.example.com/", "1.1.1.1", true},
		{"dstdomain dot self", "dstdomain", []string{".example.com"}, "http://example.com/", "1.1.1.1", true},
		{"dstdomain case", "dstdomain", []string{"WWW.Example.com"}, "http://www.example.com/", "1.1.1.1", true},
		{"dstdomain suffix trap", "dstdomain", []string{".example.com"}, "http://badexample.com/", "1.1.1.1", false},
		{"port default 80", "port", []string{"80"}, "http://a/", "1.1.1.1", true},
		{"port range", "port", []string{"1025-65535"}, "http://a:8080/", "1.1.1.1", true},
		{"localport", "localport", []string{"3128"}, "http://a/", "1.1.1.1", true},
		{"myportname", "myportname", []string{"main"}, "http://a/", "1.1.1.1", true},
		{"method", "method", []string{"GET", "HEAD"}, "http://a/", "1.1.1.1", true},
		{"url_regex", "url_regex", []string{"^http://a/sec"}, "http://a/secret", "1.1.1.1", true},
		{"url_regex case", "url_regex", []string{"^http://a/SEC"}, "http://a/secret", "1.1.1.1", false},
		{"url_regex -i", "url_regex", []string{"-i", "^http://a/SEC"}, "http://a/secret", "1.1.1.1", true},
		{"urlpath_regex", "urlpath_regex", []string{`^/secret/`}, "http://a/secret/x?y", "1.1.1.1", true},
		{"urlpath_regex query", "urlpath_regex", []string{`\?`}, "http://a/x?y", "1.1.1.1", true},
		{"manager", "url_regex", []string{"-i", "^cache_object://", "+i", "^[^:]+://[^/]+/squid-internal-mgr/"},
			"http://a/squid-internal-mgr/info", "1.1.1.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := mustACL(t, tt.typ, tt.args...)
			if got := a.match(newTx(t, "GET", tt.url, tt.src)); got != tt.want {
				t.Errorf("acl %s %q match(%s from %s) = %v, want %v", tt.typ, tt.args, tt.url, tt.src, got, tt.want)
			}
		})
	}
}

func TestNewACLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  string
		args []string
	}{
		{"src", []string{"not-an-ip"}},
		{"src", []string{"1.2.3.9-1.2.3.4"}},
		{"port", []string{"http"}},
		{"port", []string{"70000"}},
		{"url_regex", []string{"("}},
		{"url_regex", nil},
		{"nonsense", []string{"x"}},
	}
	for _, tt := range tests {
		if _, err := NewACL(tt.typ, tt.args); err == nil {
			t.Errorf("NewACL(%s, %q) = nil error, want an error", tt.typ, tt.args)
		}
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	local := mustACL(t, "src", "127.0.0.1")
	all := mustACL(t, "all")
	tests := []struct {
		name  string
		rules []Rule
		src   string
		want  bool
	}{
		{"no rules deny", nil, "127.0.0.1", false},
		{"first match allow", []Rule{{Allow: true, Terms: []Term{{ACL: local}}}, {Allow: false, Terms: []Term{{ACL: all}}}}, "127.0.0.1", true},
		{"first match deny", []Rule{{Allow: true, Terms: []Term{{ACL: local}}}, {Allow: false, Terms: []Term{{ACL: all}}}}, "10.0.0.1", false},
		{"no match: opposite of last allow", []Rule{{Allow: true, Terms: []Term{{ACL: local}}}}, "10.0.0.1", false},
		{"no match: opposite of last deny", []Rule{{Allow: false, Terms: []Term{{ACL: local}}}}, "10.0.0.1", true},
		{"negation", []Rule{{Allow: false, Terms: []Term{{ACL: local, Not: true}}}, {Allow: true, Terms: []Term{{ACL: all}}}}, "10.0.0.1", false},
		{"AND of terms", []Rule{{Allow: true, Terms: []Term{{ACL: all}, {ACL: local}}}, {Allow: false, Terms: []Term{{ACL: all}}}}, "10.0.0.1", false},
		{"never ACL", []Rule{{Allow: true, Terms: []Term{{ACL: NeverACL()}}}, {Allow: false, Terms: []Term{{ACL: all}}}}, "127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := allowed(tt.rules, newTx(t, "GET", "http://a/", tt.src)); got != tt.want {
				t.Errorf("allowed(from %s) = %v, want %v", tt.src, got, tt.want)
			}
		})
	}
}
