package httpcache

import (
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestXFFEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vals []string
		want []string
	}{
		{"none", nil, nil},
		{"one", []string{"192.0.2.1"}, []string{"192.0.2.1"}},
		{"list", []string{"a, b,c"}, []string{"c", "b", "a"}},
		{"empty items and spaces", []string{" a ,, b, "}, []string{"b", "a"}},
		{"white space separates", []string{"a b\tc"}, []string{"c", "b", "a"}},
		{"lines, last first", []string{"a, b", "", "c"}, []string{"c", "b", "a"}},
	}
	for _, tt := range tests {
		it := xffEntries{vals: tt.vals}
		var got []string
		for {
			s, ok := it.prev()
			if !ok {
				break
			}
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: entries of %q = %q, want %q", tt.name, tt.vals, got, tt.want)
		}
	}
}

func TestFollowXFF(t *testing.T) {
	t.Parallel()
	local := srcRule(t, true, "127.0.0.1")
	trusted := srcRule(t, true, "192.0.2.0/24")
	tests := []struct {
		name       string
		rules      []Rule
		directACLs bool
		xff        []string
		want       string // the indirect client; "" for none
		wantSrc    string // what src ACLs match afterwards
	}{
		// The cases Squid 5.7 was run with (client 127.0.0.1, rules
		// "allow localhost" and "allow 192.0.2.0/24").
		{name: "stops at an untrusted hop", rules: []Rule{local, trusted},
			xff: []string{"198.51.100.1, 198.51.100.9, 192.0.2.5"}, want: "198.51.100.9", wantSrc: "198.51.100.9"},
		{name: "two hops", rules: []Rule{local, trusted},
			xff: []string{"198.51.100.1, 192.0.2.5"}, want: "198.51.100.1", wantSrc: "198.51.100.1"},
		{name: "unknown stops the walk", rules: []Rule{local, trusted},
			xff: []string{"198.51.100.1, unknown", "192.0.2.5"}, want: "192.0.2.5", wantSrc: "192.0.2.5"},
		{name: "empty entries skipped, list ends", rules: []Rule{local, trusted},
			xff: []string{"192.0.2.6 ,, 192.0.2.5,"}, want: "192.0.2.6", wantSrc: "192.0.2.6"},
		{name: "bracketed IPv6 is not an address", rules: []Rule{local, trusted},
			xff: []string{"[2001:db8::1], 192.0.2.5"}, want: "192.0.2.5", wantSrc: "192.0.2.5"},
		{name: "IPv6", rules: []Rule{local, trusted},
			xff: []string{"2001:db8::2"}, want: "2001:db8::2", wantSrc: "2001:db8::2"},
		{name: "peer not trusted", rules: []Rule{trusted},
			xff: []string{"198.51.100.1"}, want: "127.0.0.1", wantSrc: "127.0.0.1"},
		{name: "acl_uses_indirect_client off", rules: []Rule{local, trusted}, directACLs: true,
			xff: []string{"198.51.100.1, 192.0.2.5"}, want: "198.51.100.1", wantSrc: "127.0.0.1"},
		{name: "no rules ignore the field", xff: []string{"198.51.100.1"}, wantSrc: "127.0.0.1"},
		{name: "no field", rules: []Rule{local}, wantSrc: "127.0.0.1"},
		{name: "capped", rules: []Rule{allRule(true)},
			xff:  []string{strings.Repeat("10.0.0.1, ", 5000) + strings.Repeat("10.0.0.2, ", maxXFFHops)},
			want: "10.0.0.2", wantSrc: "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &Handler{hdr: compileHeaderRules(HeaderOptions{FollowXForwardedFor: tt.rules, DirectClientACLs: tt.directACLs})}
			tx := &transaction{
				req:      &http.Request{Method: "GET", Header: http.Header{"X-Forwarded-For": tt.xff}},
				clientIP: netip.MustParseAddr("127.0.0.1"),
			}
			tx.setURL("http://www.example.com/")
			h.followXFF(tx)
			got := ""
			if tx.indirectIP.IsValid() {
				got = tx.indirectIP.String()
			}
			if got != tt.want || tx.srcAddr().String() != tt.wantSrc {
				t.Errorf("followXFF(%q) = indirect %q, src %s; want %q, %s", tt.xff, got, tx.srcAddr(), tt.want, tt.wantSrc)
			}
		})
	}
}

func TestSetForwardedFor(t *testing.T) {
	t.Parallel()
	// What Squid 5.7 sent its origin for client 127.0.0.1 in each mode.
	two := []string{"192.0.2.1", "192.0.2.2"}
	tests := []struct {
		mode ForwardedFor
		in   []string
		want []string
	}{
		{ForwardedForOn, two, []string{"192.0.2.1, 192.0.2.2, 127.0.0.1"}},
		{ForwardedForOn, nil, []string{"127.0.0.1"}},
		{ForwardedForOn, []string{""}, []string{"127.0.0.1"}},
		{ForwardedForOn, []string{"a ,, b,"}, []string{"a ,, b,, 127.0.0.1"}},
		{ForwardedForOn, []string{"a", "", "b"}, []string{"a, , b, 127.0.0.1"}},
		{ForwardedForOff, two, []string{"192.0.2.1, 192.0.2.2, unknown"}},
		{ForwardedForOff, nil, []string{"unknown"}},
		{ForwardedForTransparent, two, []string{"192.0.2.1, 192.0.2.2"}},
		{ForwardedForTransparent, nil, nil},
		{ForwardedForTransparent, []string{""}, nil},
		{ForwardedForTruncate, two, []string{"127.0.0.1"}},
		{ForwardedForTruncate, nil, []string{"127.0.0.1"}},
		{ForwardedForDelete, two, nil},
		{ForwardedForDelete, nil, nil},
	}
	for _, tt := range tests {
		h := &Handler{hdr: compileHeaderRules(HeaderOptions{ForwardedFor: tt.mode})}
		tx := &transaction{clientIP: netip.MustParseAddr("::ffff:127.0.0.1")}
		out := http.Header{}
		if tt.in != nil {
			out["X-Forwarded-For"] = tt.in
		}
		h.setForwardedFor(out, tx)
		if got := out["X-Forwarded-For"]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("forwarded_for %d with %q: X-Forwarded-For = %q, want %q", tt.mode, tt.in, got, tt.want)
		}
	}
}
