package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cuttle/httpcache"
	"cuttle/squidconf"
	"cuttle/store"
)

// TestBuildPeers checks that cache_peer, cache_peer_access, always_direct,
// never_direct, forward_max_tries and the connect timeouts reach
// httpcache.Options with Squid's meaning.
func TestBuildPeers(t *testing.T) {
	t.Parallel()
	const conf = `http_port 3128 accel allow-direct
acl www dstdomain www.example.com
acl img dstdomain img.example.com
acl local src 127.0.0.1
http_access allow all
peer_connect_timeout 7 seconds
connect_timeout 20 seconds
forward_max_tries 4
cache_peer 10.0.0.1 parent 80 0 no-query originserver name=www round-robin weight=3 max-conn=5 connect-fail-limit=2 forceddomain=backend
cache_peer 10.0.0.2 parent 80 0 no-query originserver name=img carp connect-timeout=3 standby=2
cache_peer 10.0.0.3 parent 80 0 no-query originserver name=rest sourcehash userhash default weighted-round-robin
cache_peer 10.0.0.4 parent 3128 0 name=proxy
cache_peer_access www allow www
cache_peer_access www deny all
cache_peer_access img allow img
always_direct allow local
never_direct deny all
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
	o := s.handler
	if len(o.Peers) != 3 {
		t.Fatalf("%d peers, want 3 (the one without originserver is ignored)", len(o.Peers))
	}
	www, img, rest := o.Peers[0], o.Peers[1], o.Peers[2]
	got := fmt.Sprintln(www.Name, www.RoundRobin, www.Weight, www.MaxConn, www.ConnectFailLimit, www.ForcedDomain, www.ConnectTimeout, len(www.Access))
	if want := "www true 3 5 2 backend 7s 2\n"; got != want {
		t.Errorf("www = %s, want %s", got, want)
	}
	got = fmt.Sprintln(img.Name, img.CARP, img.ConnectTimeout, len(img.Access))
	if want := "img true 3s 1\n"; got != want {
		t.Errorf("img = %s, want %s", got, want)
	}
	got = fmt.Sprintln(rest.SourceHash, rest.UserHash, rest.Default, rest.WeightedRoundRobin, len(rest.Access))
	if want := "true true true true 0\n"; got != want {
		t.Errorf("rest = %s, want %s", got, want)
	}
	if len(o.AlwaysDirect) != 1 || len(o.NeverDirect) != 1 || o.ForwardMaxTries != 4 || o.ConnectTimeout != 20*time.Second {
		t.Errorf("AlwaysDirect %d, NeverDirect %d, ForwardMaxTries %d, ConnectTimeout %v",
			len(o.AlwaysDirect), len(o.NeverDirect), o.ForwardMaxTries, o.ConnectTimeout)
	}
	if !s.listeners[0].port.AllowDirect {
		t.Error("http_port allow-direct did not reach the Port")
	}
	for _, want := range []string{"cache_peer proxy: only 'parent ... originserver' peers are used", "cache_peer img: option standby=2 is not applied"} {
		if !strings.Contains(notes.String(), want) {
			t.Errorf("notes %q lack %q", notes.String(), want)
		}
	}
}

// TestPeerTLSFromConfig reaches an HTTPS origin through cache_peer lines
// with tls-cafile= (its certificate written to a CA file), sslflags=
// DONT_VERIFY_PEER, and DONT_VERIFY_DOMAIN with a name the certificate
// lacks; without them the origin is not trusted (502).
func TestPeerTLSFromConfig(t *testing.T) {
	t.Parallel()
	origin := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "no-store")
		io.WriteString(rw, "over "+req.Proto+" tls="+fmt.Sprint(req.TLS != nil))
	}))
	origin.Config.ErrorLog = log.New(io.Discard, "", 0)
	origin.StartTLS()
	t.Cleanup(origin.Close)
	port := origin.Listener.Addr().(*net.TCPAddr).Port
	caFile := filepath.Join(t.TempDir(), "origin-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: origin.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		options string
		status  int
	}{
		{name: "tls-cafile", options: "tls tls-cafile=" + caFile, status: 200},
		{name: "sslcafile", options: "ssl sslcafile=" + caFile + " tls-min-version=1.2", status: 200},
		{name: "DONT_VERIFY_PEER", options: "ssl sslflags=DONT_VERIFY_PEER", status: 200},
		{name: "tls-flags=DONT_VERIFY_PEER", options: "tls tls-flags=DONT_VERIFY_PEER", status: 200},
		{name: "wrong name", options: "tls tls-cafile=" + caFile + " tls-domain=other.example", status: 502},
		{name: "DONT_VERIFY_DOMAIN", options: "tls tls-cafile=" + caFile + " tls-domain=other.example sslflags=DONT_VERIFY_DOMAIN", status: 200},
		{name: "untrusted", options: "tls tls-default-ca=off tls-cafile=" + caFile + " tls-domain=x", status: 502},
		{name: "system CAs only", options: "tls", status: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf := fmt.Sprintf("http_port 3128 accel\nhttp_access allow all\ncache_peer 127.0.0.1 parent %d 0 no-query originserver name=secure %s\n", port, tt.options)
			cfg, err := squidconf.Parse("test.conf", []byte(conf), squidconf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s, err := buildOptions(cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(mem.Close)
			opts := s.handler
			opts.Store, opts.ErrorLog = mem, log.New(io.Discard, "", 0)
			h, err := httpcache.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			proxy := httptest.NewServer(h.Port(s.listeners[0].port))
			t.Cleanup(proxy.Close)
			res, err := http.Get(proxy.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Errorf("GET through %q = %d %q, want %d", tt.options, res.StatusCode, body, tt.status)
			}
			if tt.status == 200 && string(body) != "over HTTP/1.1 tls=true" {
				t.Errorf("origin answered %q", body)
			}
		})
	}
}

// TestPeerTLSBadCAFile makes an unreadable tls-cafile= a start error.
func TestPeerTLSBadCAFile(t *testing.T) {
	t.Parallel()
	conf := "http_port 3128 accel\ncache_peer 127.0.0.1 parent 443 0 originserver tls tls-cafile=/nonexistent/ca.pem\n"
	cfg, err := squidconf.Parse("test.conf", []byte(conf), squidconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildOptions(cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "test.conf:2: cache_peer 127.0.0.1: tls-cafile") {
		t.Errorf("buildOptions error = %v, want a tls-cafile error at test.conf:2", err)
	}
}
