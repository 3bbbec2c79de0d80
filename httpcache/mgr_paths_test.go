package httpcache

import (
	"strings"
	"testing"
)

// TestManagerPathVariants checks that the built-in manager acl sees every
// URL the router serves a manager page for (reliability J1, after
// CVE-2019-12524): with "http_access deny manager" no spelling of a manager
// URL gets a page; the variants the router does not take for the manager
// (encoded slashes, doubled slashes, other cases) go to the origin as
// ordinary paths, never to the manager.
func TestManagerPathVariants(t *testing.T) {
	t.Parallel()
	manager, err := NewACL("url_regex", []string{"-i", "^cache_object://", "+i", "^[^:]+://[^/]+/squid-internal-mgr/"})
	if err != nil {
		t.Fatal(err)
	}
	denyManager := []Rule{{Allow: false, Terms: []Term{{ACL: manager}}}, {Allow: true, Terms: []Term{{ACL: aclAll{}}}}}
	o := newOrigin(t)
	open := hfNewProxy(t, o, hfNewClock(), nil, nil)
	guarded := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.Access = denyManager })
	const menuText = "This list of pages"

	res, body, _ := open.do(t, get("/squid-internal-mgr/menu"))
	if res.StatusCode != 200 || !strings.Contains(body, menuText) {
		t.Fatalf("manager menu with http_access allowing it: %d %q, want the page", res.StatusCode, body)
	}
	tests := []struct {
		target    string
		wantDeny  bool // 403; otherwise the origin answers
		wantOther bool // neither: net/http refuses the request line (400)
	}{
		{"/squid-internal-mgr/menu", true, false},
		{"/squid-internal-mgr/info?x=1", true, false},
		{"/squid-internal-mgr/%6denu", true, false},
		{"/squid-internal-mgr/../menu", true, false},
		{"http://accel-test.local/squid-internal-mgr/menu", true, false},
		{"http://ACCEL-TEST.LOCAL/squid-internal-mgr/menu", true, false},
		{"HTTP://accel-test.local/squid-internal-mgr/menu", true, false},
		{"http://elsewhere.example/squid-internal-mgr/menu", true, false},
		{"/squid-internal-mgr%2fmenu", false, false},
		{"/squid-internal-mgr%2Fmenu", false, false},
		{"/squid-internal-mgr%252fmenu", false, false},
		{"//squid-internal-mgr/menu", false, false},
		{"/./squid-internal-mgr/menu", false, false},
		{"/SQUID-INTERNAL-MGR/menu", false, false},
		{"/Squid-Internal-Mgr/menu", false, false},
		{"/%73quid-internal-mgr/menu", false, false},
		{"cache_object://localhost/menu", false, true},
	}
	for _, tt := range tests {
		before := o.count()
		res, body, _ := guarded.do(t, "GET "+tt.target+" HTTP/1.1\r\nHost: accel-test.local\r\n\r\n")
		if strings.Contains(body, menuText) || strings.Contains(body, "Squid Object Cache") {
			t.Errorf("%s: a manager page was served past http_access deny manager", tt.target)
		}
		switch {
		case tt.wantOther:
			if res.StatusCode != 400 && res.StatusCode != 403 {
				t.Errorf("%s: %d, want 400 or 403", tt.target, res.StatusCode)
			}
		case tt.wantDeny:
			if res.StatusCode != 403 || o.count() != before {
				t.Errorf("%s: %d, %d origin requests; want 403 and none", tt.target, res.StatusCode, o.count()-before)
			}
		default:
			if res.StatusCode != 200 || o.count() != before+1 || !strings.HasPrefix(body, "path ") {
				t.Errorf("%s: %d %q; want the origin's answer", tt.target, res.StatusCode, body)
			}
		}
	}
}
