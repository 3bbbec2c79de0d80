package main

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"cuttle/httpcache"
	"cuttle/squidconf"
	"cuttle/store"
)

// TestHeaderDirectivesWiring gives squid.conf header directives to a
// Handler built as cuttle builds it, and checks what an origin receives
// and what the client gets.
func TestHeaderDirectivesWiring(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got http.Header
	origin := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		mu.Lock()
		got = req.Header.Clone()
		mu.Unlock()
		rw.Header().Set("Server", "origin/1")
		rw.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(rw, "ok\n")
	}))
	t.Cleanup(origin.Close)
	_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
	conf := `http_port 127.0.0.1:3128 accel defaultsite=www.example.com
cache_peer 127.0.0.1 parent ` + port + ` 0 no-query originserver name=origin
acl local src 127.0.0.1
acl trusted src 192.0.2.0/24
acl nobody src 10.0.0.0/8
http_access allow all
visible_hostname hdr.test
httpd_suppress_version_string on
forwarded_for truncate
follow_x_forwarded_for allow local
follow_x_forwarded_for allow trusted
request_header_access User-Agent deny all
request_header_replace User-Agent Replaced/1.0
request_header_access Other deny all
request_header_replace Cookie never-used
request_header_add X-Client "%>a %ru" all
request_header_add X-Never yes nobody
reply_header_access Server deny all
reply_header_add X-Served "%Ss" all
`
	cfg, err := squidconf.Parse("test.conf", []byte(conf), squidconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var notes bytes.Buffer
	s, err := buildOptions(cfg, &notes)
	if err != nil {
		t.Fatal(err)
	}
	if want := "test.conf:15: request_header_replace: Cookie has no request_header_access rules; the replacement is never used\n"; notes.String() != want {
		t.Errorf("notes:\n%s\nwant\n%s", notes.String(), want)
	}
	if s.handler.Version != "cuttle" {
		t.Errorf("Version = %q, want cuttle (httpd_suppress_version_string on)", s.handler.Version)
	}
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20, MaxObjectSize: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	opts := s.handler
	opts.Store = mem
	opts.ErrorLog = log.New(io.Discard, "", 0)
	h, err := httpcache.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h.Port(s.listeners[0].port))
	t.Cleanup(proxy.Close)

	req, _ := http.NewRequest("GET", proxy.URL+"/p?q=1", nil)
	req.Host = "www.example.com"
	req.Header.Set("User-Agent", "curl/8")
	req.Header.Set("X-Forwarded-For", "198.51.100.1, 192.0.2.5")
	req.Header.Set("X-Forwarded-Host", "evil")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	for k, want := range map[string]string{
		"User-Agent":       "Replaced/1.0",
		"X-Forwarded-Host": "",
		"X-Forwarded-For":  "127.0.0.1",
		"X-Client":         "198.51.100.1 http://www.example.com/p?",
		"X-Never":          "",
		"Via":              "1.1 hdr.test (cuttle)",
	} {
		if v := strings.Join(got[k], ","); v != want {
			t.Errorf("origin %s = %q, want %q", k, v, want)
		}
	}
	for k, want := range map[string]string{"Server": "", "X-Served": "TCP_MISS", "Via": "1.1 hdr.test (cuttle)"} {
		if v := res.Header.Get(k); v != want {
			t.Errorf("client %s = %q, want %q", k, v, want)
		}
	}
}
