package httpcache

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"testing"
	"time"

	"cuttle/accesslog"
)

// fakeDNS is a Resolver over fixed answers that counts its lookups.
func fakeDNS(ptr map[string]string, hosts map[string][]string, calls *int) *Resolver {
	return NewResolver(ResolverOptions{
		LookupAddr: func(_ context.Context, addr string) ([]string, error) {
			if calls != nil {
				*calls++
			}
			if n, ok := ptr[addr]; ok {
				return []string{n + "."}, nil
			}
			return nil, errors.New("no PTR")
		},
		LookupNetIP: func(_ context.Context, host string) ([]netip.Addr, error) {
			if calls != nil {
				*calls++
			}
			var out []netip.Addr
			for _, a := range hosts[host] {
				out = append(out, netip.MustParseAddr(a))
			}
			if len(out) == 0 {
				return nil, errors.New("no such host")
			}
			return out, nil
		},
	})
}

func TestCompileACLMatch(t *testing.T) {
	t.Parallel()
	dns := fakeDNS(map[string]string{"10.0.0.5": "Client.Example.NET", "192.0.2.7": "www.example.com"},
		map[string][]string{"origin.example": {"198.51.100.9"}, "db.example": {"192.0.2.200"}}, nil)
	// Wednesday 26 November 2025, 14:30 local time.
	wed := time.Date(2025, 11, 26, 14, 30, 0, 0, time.Local)
	type setup func(tx *transaction)
	header := func(k, v string) setup { return func(tx *transaction) { tx.req.Header.Add(k, v) } }
	reply := func(status int, kv ...string) setup {
		return func(tx *transaction) {
			h := http.Header{}
			for i := 0; i+1 < len(kv); i += 2 {
				h.Add(kv[i], kv[i+1])
			}
			tx.acl.reply, tx.acl.replyStatus = h, status
		}
	}
	tests := []struct {
		name  string
		typ   string
		args  []string
		url   string
		src   string
		setup []setup
		want  bool
	}{
		{"dst address", "dst", []string{"192.0.2.0/24"}, "http://192.0.2.7/", "1.1.1.1", nil, true},
		{"dst name resolves", "dst", []string{"198.51.100.0/24"}, "http://origin.example/", "1.1.1.1", nil, true},
		{"dst name elsewhere", "dst", []string{"192.0.2.0/24"}, "http://origin.example/", "1.1.1.1", nil, false},
		{"dst -n no lookup", "dst", []string{"-n", "198.51.100.0/24"}, "http://origin.example/", "1.1.1.1", nil, false},
		{"dst value is a host name", "dst", []string{"db.example"}, "http://192.0.2.200/", "1.1.1.1", nil, true},
		{"dstdomain reverse of address URL", "dstdomain", []string{".example.com"}, "http://192.0.2.7/", "1.1.1.1", nil, true},
		{"dstdomain reverse -n", "dstdomain", []string{"-n", ".example.com"}, "http://192.0.2.7/", "1.1.1.1", nil, false},
		{"dstdomain none without PTR", "dstdomain", []string{"none"}, "http://192.0.2.99/", "1.1.1.1", nil, true},
		{"dstdom_regex", "dstdom_regex", []string{`^static\.`}, "http://static.example.com/", "1.1.1.1", nil, true},
		{"dstdom_regex -i", "dstdom_regex", []string{"-i", `^STATIC\.`}, "http://static.example.com/", "1.1.1.1", nil, true},
		{"dstdom_regex case", "dstdom_regex", []string{`^STATIC\.`}, "http://static.example.com/", "1.1.1.1", nil, false},
		{"srcdomain", "srcdomain", []string{".example.net"}, "http://a/", "10.0.0.5", nil, true},
		{"srcdomain other", "srcdomain", []string{".example.org"}, "http://a/", "10.0.0.5", nil, false},
		{"srcdomain none", "srcdomain", []string{"none"}, "http://a/", "10.0.0.6", nil, true},
		{"srcdom_regex", "srcdom_regex", []string{`^client\.`}, "http://a/", "10.0.0.5", nil, true},
		{"proto", "proto", []string{"HTTP"}, "http://a/", "1.1.1.1", nil, true},
		{"proto lower", "proto", []string{"https"}, "https://a/", "1.1.1.1", nil, true},
		{"proto miss", "proto", []string{"HTTPS"}, "http://a/", "1.1.1.1", nil, false},
		{"localip", "localip", []string{"127.0.0.0/8"}, "http://a/", "1.1.1.1", nil, false},
		{"time weekday range", "time", []string{"MTWHF", "09:00-17:00"}, "http://a/", "1.1.1.1", nil, true},
		{"time D", "time", []string{"D"}, "http://a/", "1.1.1.1", nil, true},
		{"time weekend", "time", []string{"SA"}, "http://a/", "1.1.1.1", nil, false},
		{"time range only", "time", []string{"14:30-14:30"}, "http://a/", "1.1.1.1", nil, true},
		{"time range before", "time", []string{"00:00-14:29"}, "http://a/", "1.1.1.1", nil, false},
		{"time second range", "time", []string{"W", "08:00-09:00", "14:00-15:00"}, "http://a/", "1.1.1.1", nil, true},
		{"browser", "browser", []string{"-i", "curl"}, "http://a/", "1.1.1.1", []setup{header("User-Agent", "Curl/8.0")}, true},
		{"browser absent", "browser", []string{"."}, "http://a/", "1.1.1.1", nil, false},
		{"referer_regex", "referer_regex", []string{`^https://evil\.`}, "http://a/", "1.1.1.1", []setup{header("Referer", "https://evil.example/")}, true},
		{"req_header", "req_header", []string{"X-Token", "-i", "^ABC"}, "http://a/", "1.1.1.1", []setup{header("X-Token", "abc1")}, true},
		{"req_header list joined", "req_header", []string{"Accept", `text/html, image/png`}, "http://a/", "1.1.1.1",
			[]setup{header("Accept", "text/html"), header("Accept", "image/png")}, true},
		{"req_header absent", "req_header", []string{"X-Token", "."}, "http://a/", "1.1.1.1", nil, false},
		{"req_mime_type", "req_mime_type", []string{"-i", "^multipart/form-data"}, "http://a/", "1.1.1.1",
			[]setup{header("Content-Type", "multipart/form-data; boundary=x")}, true},
		{"req_mime_type absent is empty", "req_mime_type", []string{"^$"}, "http://a/", "1.1.1.1", nil, true},
		{"rep_mime_type", "rep_mime_type", []string{"^image/"}, "http://a/", "1.1.1.1", []setup{reply(200, "Content-Type", "image/png")}, true},
		{"rep_mime_type before reply", "rep_mime_type", []string{"."}, "http://a/", "1.1.1.1", nil, false},
		{"rep_header", "rep_header", []string{"X-Secret", "yes"}, "http://a/", "1.1.1.1", []setup{reply(200, "X-Secret", "yes")}, true},
		{"rep_header other field", "rep_header", []string{"X-Secret", "yes"}, "http://a/", "1.1.1.1", []setup{reply(200, "X-Other", "yes")}, false},
		{"http_status", "http_status", []string{"200", "301"}, "http://a/", "1.1.1.1", []setup{reply(301)}, true},
		{"http_status range", "http_status", []string{"400-403"}, "http://a/", "1.1.1.1", []setup{reply(403)}, true},
		{"http_status open", "http_status", []string{"500-"}, "http://a/", "1.1.1.1", []setup{reply(503)}, true},
		{"http_status miss", "http_status", []string{"500-"}, "http://a/", "1.1.1.1", []setup{reply(404)}, false},
		{"http_status before reply", "http_status", []string{"100-999"}, "http://a/", "1.1.1.1", nil, false},
		{"note", "note", []string{"tier", "gold"}, "http://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.acl.notes = []accesslog.Note{{Name: "tier", Value: "gold"}} }}, true},
		{"note any value", "note", []string{"tier"}, "http://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.acl.notes = []accesslog.Note{{Name: "tier", Value: "x"}} }}, true},
		{"note -m", "note", []string{"-m", "tags", "b"}, "http://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.acl.notes = []accesslog.Note{{Name: "tags", Value: "a,b,c"}} }}, true},
		{"note without -m", "note", []string{"tags", "b"}, "http://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.acl.notes = []accesslog.Note{{Name: "tags", Value: "a,b,c"}} }}, false},
		{"annotate_transaction matches", "annotate_transaction", []string{"k=v"}, "http://a/", "1.1.1.1", nil, true},
		{"hier_code", "hier_code", []string{"FIRSTUP_PARENT"}, "http://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.hier = "FIRSTUP_PARENT" }}, true},
		{"hier_code none", "hier_code", []string{"HIER_NONE"}, "http://a/", "1.1.1.1", nil, true},
		{"hier_code NONE alias", "hier_code", []string{"NONE"}, "http://a/", "1.1.1.1", nil, true},
		{"random 1", "random", []string{"1/1"}, "http://a/", "1.1.1.1", nil, true},
		{"random 0", "random", []string{"0:5"}, "http://a/", "1.1.1.1", nil, false},
		{"urllogin", "urllogin", []string{"^bob:"}, "http://bob:pw@a/", "1.1.1.1", nil, true},
		{"urllogin none", "urllogin", []string{"."}, "http://a/", "1.1.1.1", nil, false},
		{"peername", "peername", []string{"origin"}, "http://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.peer = &Peer{Name: "origin"} }}, true},
		{"peername none yet", "peername", []string{"origin"}, "http://a/", "1.1.1.1", nil, false},
		{"peername_regex", "peername_regex", []string{"-i", "^ORI"}, "http://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.peer = &Peer{Name: "origin"} }}, true},
		{"has request", "has", []string{"request"}, "http://a/", "1.1.1.1", nil, true},
		{"has response before", "has", []string{"response"}, "http://a/", "1.1.1.1", nil, false},
		{"transaction_initiator client", "transaction_initiator", []string{"client"}, "http://a/", "1.1.1.1", nil, true},
		{"transaction_initiator internal", "transaction_initiator", []string{"internal"}, "http://a/", "1.1.1.1", nil, false},
		{"connections_encrypted plain", "connections_encrypted", nil, "http://a/", "1.1.1.1", nil, false},
		{"connections_encrypted tls", "connections_encrypted", nil, "https://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.req.TLS = &tls.ConnectionState{} }}, true},
		{"squid_error", "squid_error", []string{"ERR_CONNECT_FAIL"}, "http://a/", "1.1.1.1",
			[]setup{func(tx *transaction) { tx.errCode = "ERR_CONNECT_FAIL" }}, true},
		{"maxconn", "maxconn", []string{"1"}, "http://a/", "1.1.1.1", []setup{func(tx *transaction) {
			tx.acl.conns = new(ConnTable)
			tx.acl.conns.countIP(netip.MustParseAddr("1.1.1.1"), 2)
		}}, true},
		{"maxconn at limit", "maxconn", []string{"2"}, "http://a/", "1.1.1.1", []setup{func(tx *transaction) {
			tx.acl.conns = new(ConnTable)
			tx.acl.conns.countIP(netip.MustParseAddr("1.1.1.1"), 2)
		}}, false},
		// Types NewACL already had go through CompileACL too.
		{"src through CompileACL", "src", []string{"10.0.0.0/8"}, "http://a/", "10.1.1.1", nil, true},
		{"url_regex through CompileACL", "url_regex", []string{"-i", "SECRET"}, "http://a/secret", "10.1.1.1", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := CompileACL("t", tt.typ, tt.args, ACLEnv{Resolver: dns})
			if err != nil {
				t.Fatalf("CompileACL(%s, %q): %v", tt.typ, tt.args, err)
			}
			tx := newTx(t, "GET", tt.url, tt.src)
			tx.start = wed
			for _, s := range tt.setup {
				s(tx)
			}
			if got := a.match(tx); got != tt.want {
				t.Errorf("acl %s %q match(%s from %s) = %v, want %v", tt.typ, tt.args, tt.url, tt.src, got, tt.want)
			}
			if tx.acl.last != "t" {
				t.Errorf("acl %s: last ACL = %q, want t", tt.typ, tx.acl.last)
			}
		})
	}
}

func TestCompileACLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ         string
		args        []string
		unsupported bool
	}{
		{"arp", []string{"00:11:22:33:44:55"}, true},
		{"eui64", []string{"00:11:22:33:44:55:66:77"}, true},
		{"ssl::server_name", []string{".example.com"}, true},
		{"at_step", []string{"GeneratingCONNECT"}, true},
		{"external", []string{"helper"}, true},
		{"time", []string{"10:00-09:00"}, false},
		{"http_status", []string{"abc"}, false},
		{"random", []string{"2"}, false},
		{"random", []string{"1/0"}, false},
		{"maxconn", []string{"0"}, false},
		{"note", nil, false},
		{"annotate_transaction", []string{"novalue"}, false},
		{"any-of", []string{"undefined"}, false},
		{"req_header", nil, false},
		{"browser", []string{"("}, false},
		{"dst", []string{"unresolvable.example"}, false},
	}
	dns := fakeDNS(nil, nil, nil)
	for _, tt := range tests {
		_, err := CompileACL("t", tt.typ, tt.args, ACLEnv{Resolver: dns})
		var ue *UnsupportedACLError
		if err == nil || errors.As(err, &ue) != tt.unsupported {
			t.Errorf("CompileACL(%s, %q) = %v, want an error (unsupported %v)", tt.typ, tt.args, err, tt.unsupported)
		}
	}
}

func TestGroupACLs(t *testing.T) {
	t.Parallel()
	defined := map[string]ACL{}
	env := ACLEnv{Defined: defined}
	add := func(name, typ string, args ...string) ACL {
		a, err := CompileACL(name, typ, args, env)
		if err != nil {
			t.Fatal(err)
		}
		defined[name] = a
		return a
	}
	add("local", "src", "10.0.0.0/8")
	add("get", "method", "GET")
	add("img", "urlpath_regex", `\.png$`)
	anyOf := add("either", "any-of", "local", "img")
	allOf := add("both", "all-of", "local", "get", "img")
	tests := []struct {
		name, method, url, src string
		acl                    ACL
		want                   bool
		last                   string
	}{
		{"any-of first", "GET", "http://a/x", "10.0.0.1", anyOf, true, "local"},
		{"any-of second", "GET", "http://a/x.png", "192.0.2.1", anyOf, true, "img"},
		{"any-of none", "GET", "http://a/x", "192.0.2.1", anyOf, false, "img"},
		{"all-of all", "GET", "http://a/x.png", "10.0.0.1", allOf, true, "img"},
		{"all-of stops at first mismatch", "POST", "http://a/x.png", "10.0.0.1", allOf, false, "get"},
	}
	for _, tt := range tests {
		tx := newTx(t, tt.method, tt.url, tt.src)
		if got := tt.acl.match(tx); got != tt.want || tx.acl.last != tt.last {
			t.Errorf("%s: match = %v (last %q), want %v (last %q)", tt.name, got, tx.acl.last, tt.want, tt.last)
		}
	}
}

func TestAnnotateACLs(t *testing.T) {
	t.Parallel()
	set, _ := CompileACL("set", "annotate_transaction", []string{"tier=gold", "tags+=a"}, ACLEnv{})
	replace, _ := CompileACL("replace", "annotate_transaction", []string{"tier=silver"}, ACLEnv{})
	list, _ := CompileACL("list", "annotate_transaction", []string{"-m", "tags+=b,c"}, ACLEnv{})
	client, _ := CompileACL("client", "annotate_client", []string{"seen=yes"}, ACLEnv{})
	tx := newTx(t, "GET", "http://a/", "1.1.1.1")
	tx.acl.conn = &connInfo{}
	for _, a := range []ACL{set, replace, list, client} {
		if !a.match(tx) {
			t.Fatalf("annotate ACL did not match")
		}
	}
	want := []accesslog.Note{{Name: "tags", Value: "a"}, {Name: "tier", Value: "silver"},
		{Name: "tags", Value: "b"}, {Name: "tags", Value: "c"}, {Name: "seen", Value: "yes"}}
	if !slices.Equal(tx.acl.notes, want) {
		t.Errorf("notes = %v, want %v", tx.acl.notes, want)
	}
	if !slices.Equal(tx.acl.conn.notes, []accesslog.Note{{Name: "seen", Value: "yes"}}) {
		t.Errorf("connection notes = %v, want seen=yes", tx.acl.conn.notes)
	}
}

func TestResolverCaches(t *testing.T) {
	t.Parallel()
	calls := 0
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := fakeDNS(map[string]string{"10.0.0.5": "a.example"}, nil, &calls)
	r.opts.Now = func() time.Time { return now }
	ctx := context.Background()
	ip, other := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.6")
	for range 3 {
		if got := r.Name(ctx, ip); got != "a.example" {
			t.Fatalf("Name(%s) = %q, want a.example", ip, got)
		}
		if got := r.Name(ctx, other); got != "" {
			t.Fatalf("Name(%s) = %q, want none", other, got)
		}
	}
	if calls != 2 {
		t.Errorf("lookups = %d, want 2 (answers and failures cached)", calls)
	}
	now = now.Add(2 * time.Minute) // past the negative TTL, within the TTL
	r.Name(ctx, ip)
	r.Name(ctx, other)
	if calls != 3 {
		t.Errorf("lookups after 2m = %d, want 3 (only the failure asked again)", calls)
	}
}

func TestResolverTimeout(t *testing.T) {
	t.Parallel()
	r := NewResolver(ResolverOptions{
		Timeout: 20 * time.Millisecond,
		LookupAddr: func(ctx context.Context, _ string) ([]string, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	start := time.Now()
	if got := r.Name(context.Background(), netip.MustParseAddr("10.0.0.1")); got != "" {
		t.Errorf("Name = %q, want none after a timeout", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Name took %v, want about the 20ms timeout", d)
	}
}

func TestURLLoginNotInURL(t *testing.T) {
	t.Parallel()
	// The URL ACLs see (and the log shows) never holds the login.
	req := &http.Request{Method: "GET", URL: &url.URL{Scheme: "http", User: url.UserPassword("bob", "pw"), Host: "a", Path: "/"}, Host: "a", Header: http.Header{}}
	p := &Port{Vhost: true}
	u, err := p.siteURL(req)
	if err != nil || u != "http://a/" {
		t.Errorf("siteURL = %q, %v; want http://a/", u, err)
	}
}
