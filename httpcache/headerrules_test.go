package httpcache

import (
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"cuttle/accesslog"
)

// srcRule is a rule whose only term is a src ACL of the given addresses.
func srcRule(t *testing.T, allow bool, addrs ...string) Rule {
	t.Helper()
	acl, err := NewACL("src", addrs)
	if err != nil {
		t.Fatal(err)
	}
	return Rule{Allow: allow, Terms: []Term{{ACL: acl}}}
}

var allRule = func(allow bool) Rule { return Rule{Allow: allow, Terms: []Term{{ACL: aclAll{}}}} }

func TestHeaderAccessApply(t *testing.T) {
	t.Parallel()
	in := func() http.Header {
		return http.Header{
			"User-Agent": {"ua"}, "Referer": {"http://r/"}, "X-Foo": {"1"},
			"Accept": {"*/*"}, "Server": {"a", "b"}, "Cdn-Loop": {"x"},
			"Content-Type": {"text/plain"}, "Date": {originDate},
		}
	}
	tests := []struct {
		name   string
		access []HeaderAccess
		client string
		want   http.Header
	}{
		{
			name:   "named deny all removes the field",
			access: []HeaderAccess{{Name: "user-agent", Rules: []Rule{allRule(false)}}},
			want: http.Header{"Referer": {"http://r/"}, "X-Foo": {"1"}, "Accept": {"*/*"},
				"Server": {"a", "b"}, "Cdn-Loop": {"x"}, "Content-Type": {"text/plain"}, "Date": {originDate}},
		},
		{
			// Squid's implicit answer: no rule matches, so the opposite of
			// the last one (allow) denies; the replacement takes its place.
			name:   "no match denies after an allow, with replacement",
			access: []HeaderAccess{{Name: "User-Agent", Rules: []Rule{srcRule(t, true, "10.0.0.0/8")}, Replace: "Replaced/1.0"}},
			client: "127.0.0.1",
			want: http.Header{"User-Agent": {"Replaced/1.0"}, "Referer": {"http://r/"}, "X-Foo": {"1"}, "Accept": {"*/*"},
				"Server": {"a", "b"}, "Cdn-Loop": {"x"}, "Content-Type": {"text/plain"}, "Date": {originDate}},
		},
		{
			name:   "no match allows after a deny",
			access: []HeaderAccess{{Name: "Referer", Rules: []Rule{srcRule(t, false, "10.0.0.0/8")}}},
			client: "127.0.0.1",
			want:   in(),
		},
		{
			name:   "src rule matches the client",
			access: []HeaderAccess{{Name: "Referer", Rules: []Rule{srcRule(t, false, "10.0.0.0/8")}}},
			client: "10.1.2.3",
			want: http.Header{"User-Agent": {"ua"}, "X-Foo": {"1"}, "Accept": {"*/*"},
				"Server": {"a", "b"}, "Cdn-Loop": {"x"}, "Content-Type": {"text/plain"}, "Date": {originDate}},
		},
		{
			// Other governs the names Squid does not know (X-Foo), not
			// Cdn-Loop or Server.
			name:   "Other",
			access: []HeaderAccess{{Name: "Other", Rules: []Rule{allRule(false)}}},
			want: http.Header{"User-Agent": {"ua"}, "Referer": {"http://r/"}, "Accept": {"*/*"},
				"Server": {"a", "b"}, "Cdn-Loop": {"x"}, "Content-Type": {"text/plain"}, "Date": {originDate}},
		},
		{
			// The paranoid list: named allows, All denies the rest. Date and
			// Content-Type stay as nil, so that net/http sends neither.
			name: "All with allowed names",
			access: []HeaderAccess{
				{Name: "Accept", Rules: []Rule{allRule(true)}},
				{Name: "X-Foo", Rules: []Rule{allRule(true)}},
				{Name: "All", Rules: []Rule{allRule(false)}},
			},
			want: http.Header{"Accept": {"*/*"}, "X-Foo": {"1"}, "Content-Type": nil, "Date": nil},
		},
		{
			// A named list takes precedence over Other and All, even when it
			// does not decide as they would.
			name: "named beats Other beats All",
			access: []HeaderAccess{
				{Name: "All", Rules: []Rule{allRule(false)}, Replace: "all"},
				{Name: "Other", Rules: []Rule{allRule(false)}, Replace: "other"},
				{Name: "Server", Rules: []Rule{allRule(false)}, Replace: "Hidden"},
				{Name: "Referer", Rules: []Rule{allRule(true)}},
			},
			want: http.Header{"User-Agent": {"all"}, "Referer": {"http://r/"}, "X-Foo": {"other"}, "Accept": {"all"},
				"Server": {"Hidden", "Hidden"}, "Cdn-Loop": {"all"}, "Content-Type": {"all"}, "Date": {"all"}},
		},
		{
			name:   "rules for an absent field change nothing",
			access: []HeaderAccess{{Name: "Cookie", Rules: []Rule{allRule(false)}}},
			want:   in(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tx := &transaction{req: &http.Request{Method: "GET"}}
			if tt.client != "" {
				tx.clientIP = netip.MustParseAddr(tt.client)
			}
			got := in()
			compileAccess(tt.access).apply(got, tx)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("apply = %v\nwant    %v", got, tt.want)
			}
		})
	}
}

// TestHeaderAccessSharedValues checks that replacing or adding a field
// never writes into the value slices of the header it came from: on a hit
// they belong to the stored response.
func TestHeaderAccessSharedValues(t *testing.T) {
	t.Parallel()
	backing := make([]string, 1, 4) // room to append in place
	backing[0] = "stored"
	stored := http.Header{"Server": backing[:1], "X-Tag": backing[:1]}
	out := http.Header{}
	for k, v := range stored {
		out[k] = v
	}
	tx := &transaction{req: &http.Request{Method: "GET"}}
	compileAccess([]HeaderAccess{{Name: "Server", Rules: []Rule{allRule(false)}, Replace: "Hidden"}}).apply(out, tx)
	addFields(out, []HeaderAdd{{Name: "x-tag", Value: "added"}}, tx, nil)
	if got := out["X-Tag"]; !reflect.DeepEqual(got, []string{"stored", "added"}) {
		t.Errorf("X-Tag = %q, want [stored added]", got)
	}
	if got := backing[:2]; got[0] != "stored" || got[1] != "" {
		t.Errorf("stored values became %q, want them untouched", got)
	}
}

func TestSquidKnownHeader(t *testing.T) {
	t.Parallel()
	for name := range squidKnownHeaders {
		if c := http.CanonicalHeaderKey(name); c != name {
			t.Errorf("squidKnownHeaders key %q is not canonical (%q)", name, c)
		}
	}
	tests := []struct {
		name string
		want bool
	}{
		{"ETag", true}, {"www-authenticate", true}, {"X-Cache", true}, {"CDN-Loop", true},
		{"Forwarded", true}, {"Surrogate-Capability", true},
		// Squid 5.7 does not know these; Squid 6 added the first two.
		{"Cache-Status", false}, {"Priority", false},
		{"X-Forwarded-Host", false}, {"X-Original-URL", false}, {"X-Forwarded-Proto", false},
	}
	for _, tt := range tests {
		if got := SquidKnownHeader(tt.name); got != tt.want {
			t.Errorf("SquidKnownHeader(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAddFields(t *testing.T) {
	t.Parallel()
	format := func(spec string) accesslog.Formatter {
		f, err := accesslog.Compile(spec, accesslog.FormatOptions{StripQueryTerms: true})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	other, _ := NewACL("src", []string{"10.0.0.0/8"})
	list := []HeaderAdd{
		{Name: "X-Plain", Value: "plain"},
		{Name: "X-Client", Format: format("%>a|%rm|%ru|%{User-Agent}>h|%un")},
		{Name: "X-Empty", Format: format("%un")},
		{Name: "X-Not", Value: "never", Terms: []Term{{ACL: other}}},
		{Name: "X-Negated", Value: "yes", Terms: []Term{{ACL: other, Not: true}}},
		{Name: "X-Bad", Format: format("a\"%{X-Evil}>h\"b")},
	}
	tx := &transaction{
		req:      &http.Request{Method: "GET", Header: http.Header{"User-Agent": {"ua/1"}, "X-Evil": {"x\r\ny"}}},
		clientIP: netip.MustParseAddr("192.0.2.9"),
	}
	tx.setURL("http://www.example.com/p?q=1")
	calls := 0
	out := http.Header{}
	addFields(out, list, tx, func() *accesslog.Entry {
		calls++
		return &accesslog.Entry{ClientIP: "192.0.2.9", Method: "GET", URL: tx.url, RequestHeader: tx.req.Header}
	})
	want := http.Header{
		"X-Plain":   {"plain"},
		"X-Client":  {"192.0.2.9|GET|http://www.example.com/p?|ua/1|-"},
		"X-Empty":   {"-"},
		"X-Negated": {"yes"},
	}
	bad := out["X-Bad"]
	delete(out, "X-Bad")
	if !reflect.DeepEqual(out, want) {
		t.Errorf("addFields = %v\nwant        %v", out, want)
	}
	if len(bad) != 1 || strings.ContainsAny(bad[0], "\r\n") {
		t.Errorf("X-Bad = %q, want one value without CR or LF", bad)
	}
	if calls != 1 {
		t.Errorf("entry built %d times, want once", calls)
	}
}

func TestParseForwardedFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want ForwardedFor
		ok   bool
	}{
		{"on", ForwardedForOn, true}, {"off", ForwardedForOff, true},
		{"transparent", ForwardedForTransparent, true}, {"truncate", ForwardedForTruncate, true},
		{"delete", ForwardedForDelete, true}, {"maybe", ForwardedForTransparent, false},
	}
	for _, tt := range tests {
		if got, ok := ParseForwardedFor(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("ParseForwardedFor(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
