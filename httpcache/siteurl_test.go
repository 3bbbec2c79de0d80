package httpcache

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

func readRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	return req
}

func TestSiteURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		port    Port
		raw     string
		want    string
		wantErr bool
	}{
		{"vhost uses Host", Port{Vhost: true}, "GET /a?b=1 HTTP/1.1\r\nHost: www.example.com\r\n\r\n", "http://www.example.com/a?b=1", false},
		{"Host port kept", Port{Vhost: true}, "GET /etag HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n", "http://www.example.com:8080/etag", false},
		{"Host lower-cased", Port{Vhost: true}, "GET / HTTP/1.1\r\nHost: WWW.Example.COM\r\n\r\n", "http://www.example.com/", false},
		{"defaultsite without Host", Port{Vhost: true, DefaultSite: "site.example"}, "GET /x HTTP/1.0\r\n\r\n", "http://site.example/x", false},
		{"no-vhost always defaultsite", Port{DefaultSite: "site.example"}, "GET /x HTTP/1.1\r\nHost: other\r\n\r\n", "http://site.example/x", false},
		{"no Host no defaultsite", Port{Vhost: true}, "GET /x HTTP/1.0\r\n\r\n", "", true},
		{"vport replaces Host port", Port{Vhost: true, Vport: 8081}, "GET / HTTP/1.1\r\nHost: a.example:99\r\n\r\n", "http://a.example:8081/", false},
		{"vport uses listening port", Port{Vhost: true, Vport: -1, ListenPort: 3128}, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", "http://a.example:3128/", false},
		{"https scheme", Port{Vhost: true, Scheme: "https"}, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", "https://a.example/", false},
		{"absolute-form used as is", Port{Vhost: true}, "GET http://abs.example/p?q HTTP/1.1\r\nHost: other\r\n\r\n", "http://abs.example/p?q", false},
		{"encoded path kept", Port{Vhost: true}, "GET /path%20with%20space?q=a%20b HTTP/1.1\r\nHost: a\r\n\r\n", "http://a/path%20with%20space?q=a%20b", false},
		{"absolute-form ftp refused", Port{Vhost: true}, "GET ftp://abs.example/p HTTP/1.1\r\nHost: other\r\n\r\n", "", true},
		{"absolute-form userinfo dropped", Port{Vhost: true}, "GET http://u:p@abs.example/p HTTP/1.1\r\nHost: other\r\n\r\n", "http://abs.example/p", false},
		{"bad Host", Port{Vhost: true}, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := readRequest(t, tt.raw)
			got, err := tt.port.siteURL(req)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("siteURL(%q) = %q, %v, want %q, error %v", tt.raw, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRemoveHopByHop(t *testing.T) {
	t.Parallel()
	h := http.Header{
		"Connection":        {"close, X-Private"},
		"X-Private":         {"1"},
		"Keep-Alive":        {"timeout=5"},
		"Transfer-Encoding": {"chunked"},
		"Upgrade":           {"h2c"},
		"Http2-Settings":    {"AAMAAABkAAQCAAAAAAIAAAAA"}, // not named in Connection
		"Te":                {"trailers"},
		"Content-Type":      {"text/plain"},
	}
	removeHopByHop(h)
	if len(h) != 1 || h.Get("Content-Type") != "text/plain" {
		t.Errorf("removeHopByHop left %v, want only Content-Type", h)
	}
}

// FuzzSiteURL feeds arbitrary request lines and Host fields through the URL
// rebuild and the transaction setup: never a panic, and a rebuilt URL always
// starts with the scheme and holds no byte that could split a log line.
func FuzzSiteURL(f *testing.F) {
	for _, s := range [][2]string{{"/a?b", "www.example.com"}, {"http://x/y", "h"}, {"*", "h:80"}, {"/", "[::1]:8080"}, {"//x", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, target, host string) {
		raw := "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		for _, p := range []Port{{Vhost: true}, {DefaultSite: "d.example", Vport: -1, ListenPort: 3128}} {
			u, err := p.siteURL(req)
			if err != nil {
				continue
			}
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") || strings.ContainsAny(u, " \r\n\t") {
				t.Fatalf("siteURL(%q, Host %q) = %q", target, host, u)
			}
			tx := &transaction{req: req, port: &p}
			tx.setURL(u)
			if a := tx.authority(); a == "" || strings.Contains(a, "/") {
				t.Fatalf("setURL(%q): authority %q", u, a)
			}
			if tx.hostLen > len(u) || !strings.HasPrefix(tx.pathQuery(), "/") && tx.pathQuery() != "" {
				t.Fatalf("setURL(%q): hostLen %d, pathQuery %q", u, tx.hostLen, tx.pathQuery())
			}
		}
	})
}
