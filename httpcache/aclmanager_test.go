package httpcache

import (
	"regexp"
	"strings"
	"testing"
)

// managerRegex is Squid's manager acl as url_regex compiles it.
var managerRegex = regexp.MustCompile(`(?i:^cache_object://)|(?:^[^:]+://[^/]+/squid-internal-mgr/)`)

// TestManagerACLMatchesRegex holds the coded matcher of the built-in
// manager acl to the regular expressions Squid defines it with.
func TestManagerACLMatchesRegex(t *testing.T) {
	urls := []string{
		"cache_object://localhost/info", "CACHE_OBJECT://x/menu", "Cache_Object://", "cache_object:/x",
		"http://example.com/squid-internal-mgr/info", "https://h:3128/squid-internal-mgr/",
		"http://example.com/squid-internal-mgr", "http://example.com/Squid-Internal-Mgr/info",
		"http:///squid-internal-mgr/info", "http://a/b/squid-internal-mgr/info", ":///squid-internal-mgr/",
		"://h/squid-internal-mgr/", "a://h/squid-internal-mgr/x", "a:b://h/squid-internal-mgr/",
		"http://h?x/squid-internal-mgr/", "http://h\n/squid-internal-mgr/", "x\n://h/squid-internal-mgr/",
		"http://example.com/", "", "h", "http:", "http://", "http://h", "http://h/",
	}
	for _, u := range urls {
		if got, want := isManagerURL(u), managerRegex.MatchString(u); got != want {
			t.Errorf("isManagerURL(%q) = %v, the regular expressions say %v", u, got, want)
		}
	}
	a, err := NewACL("url_regex", managerACLArgs[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(aclManagerURL); !ok {
		t.Errorf("NewACL(url_regex, the manager acl's arguments) = %T, want the coded matcher", a)
	}
	// The same patterns for urlpath_regex are an ordinary regex acl.
	if a, err := NewACL("urlpath_regex", managerACLArgs[:]); err != nil {
		t.Fatal(err)
	} else if _, ok := a.(*aclRegex); !ok {
		t.Errorf("urlpath_regex with the manager's patterns = %T, want a regex acl", a)
	}
}

// FuzzManagerURL compares the coded manager acl with its regular
// expressions on any input.
func FuzzManagerURL(f *testing.F) {
	for _, s := range []string{"cache_object://x/info", "http://h/squid-internal-mgr/menu", "a:b://c/squid-internal-mgr/", "http://h//squid-internal-mgr/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if got, want := isManagerURL(u), managerRegex.MatchString(u); got != want {
			t.Errorf("isManagerURL(%q) = %v, the regular expressions say %v", u, got, want)
		}
	})
}

func TestRegexACLNamesBadPattern(t *testing.T) {
	_, err := NewACL("url_regex", []string{"-i", "^ok", "+i", "bad(", "fine"})
	if err == nil || !strings.Contains(err.Error(), `"bad("`) {
		t.Errorf("error = %v, want it to name the bad pattern", err)
	}
}
