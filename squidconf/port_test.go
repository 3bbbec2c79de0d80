package squidconf

import (
	"testing"
)

func TestHTTPPort(t *testing.T) {
	t.Parallel()
	port := func(c *Config) any {
		p := c.HTTPPorts[0]
		p.Pos = Pos{}
		return p
	}
	tests := []parseCase{
		{name: "forward proxy port", src: "http_port 3128",
			get: port, want: HTTPPort{Addr: ":3128", Spec: "3128", Name: "3128", Protocol: "http"}},
		{name: "address", src: "http_port 1.2.3.4:80 accel",
			get: port, want: HTTPPort{Addr: "1.2.3.4:80", Spec: "1.2.3.4:80", Name: "1.2.3.4:80", Protocol: "http",
				Accel: true, Vhost: true, Options: []string{"accel"}}},
		{name: "ipv6", src: "http_port [::1]:8080",
			get: func(c *Config) any { return c.HTTPPorts[0].Addr }, want: "[::1]:8080"},
		{name: "host name", src: "http_port localhost:8080",
			get: func(c *Config) any { return c.HTTPPorts[0].Addr }, want: "localhost:8080"},
		{name: "accel options", src: "http_port 80 accel defaultsite=www.example.com vport=8080 name=web protocol=HTTPS ignore-cc allow-direct act-as-origin",
			get: port, want: HTTPPort{Addr: ":80", Spec: "80", Name: "web", Protocol: "https", Accel: true, Vhost: true,
				DefaultSite: "www.example.com", Vport: 8080, IgnoreCC: true, AllowDirect: true, ActAsOrigin: true,
				Options: []string{"accel", "defaultsite=www.example.com", "vport=8080", "name=web", "protocol=HTTPS",
					"ignore-cc", "allow-direct", "act-as-origin"}}},
		{name: "no-vhost", src: "http_port 80 accel defaultsite=a no-vhost",
			get: func(c *Config) any { return c.HTTPPorts[0].Vhost }, want: false},
		{name: "bare vport", src: "http_port 80 accel vport",
			get: func(c *Config) any { return c.HTTPPorts[0].Vport }, want: -1},
		{name: "vhost implies accel", src: "http_port 80 vhost vport=80",
			get: func(c *Config) any { p := c.HTTPPorts[0]; return [3]any{p.Accel, p.Vhost, p.Vport} }, want: [3]any{true, true, 80},
			wantNotices: "squid.conf:1: http_port: vhost option is deprecated. Use 'accel' mode flag instead."},
		{name: "vhost after accel is fine", src: "http_port 80 accel vhost",
			get: func(c *Config) any { return len(c.Notices) }, want: 0},
		{name: "ignore-cc needs no accel", src: "http_port 80 ignore-cc",
			get: func(c *Config) any { return c.HTTPPorts[0].IgnoreCC }, want: true},
		{name: "other options kept", src: "http_port 3128 intercept tcpkeepalive=60,30,3 connection-auth=off name=x",
			get:  func(c *Config) any { return c.HTTPPorts[0].Options },
			want: []string{"intercept", "tcpkeepalive=60,30,3", "connection-auth=off", "name=x"}},
		{name: "intercept and protocol", src: "http_port 3129 intercept protocol=HTTP",
			get: func(c *Config) any { return c.HTTPPorts[0].Protocol }, want: "http"},
		{name: "no-vhost without accel is a notice", src: "http_port 80 no-vhost",
			wantNotices: "squid.conf:1: http_port: no-vhost option requires Acceleration mode flag"},
		{name: "old name ascii_port", src: "ascii_port 80",
			get: func(c *Config) any { return len(c.HTTPPorts) }, want: 1},
		{name: "several", src: "http_port 80 accel\nhttp_port 8080 accel",
			get: func(c *Config) any { return []string{c.HTTPPorts[0].Addr, c.HTTPPorts[1].Addr} }, want: []string{":80", ":8080"}},
		{name: "https_port", src: "https_port 443 accel tls-cert=/a.pem tls-key=/a.key tls-cert=/b.pem defaultsite=x",
			files: tlsFiles("a.pem", "cert", "a.key", "key", "b.pem", "combined"),
			get: func(c *Config) any {
				p := c.HTTPSPorts[0]
				return []any{p.TLS, p.Protocol, p.Certs, p.DefaultSite, len(c.HTTPPorts)}
			},
			want: []any{true, "https", []TLSCert{{"/a.pem", "/a.key"}, {"/b.pem", "/b.pem"}}, "x", 0}},
		{name: "https_port openssl names", src: "https_port 127.0.0.1:443 accel cert=/c.pem key=/k.pem defaultsite=x",
			files: tlsFiles("c.pem", "cert", "k.pem", "key"),
			get:   func(c *Config) any { return c.HTTPSPorts[0].Certs }, want: []TLSCert{{"/c.pem", "/k.pem"}}},
		{name: "https_port tls options kept", src: "https_port 443 tls-cert=/c.pem tls-min-version=1.2 options=NO_TICKET cipher=HIGH",
			files: tlsFiles("c.pem", "combined"),
			get:   func(c *Config) any { return c.HTTPSPorts[0].Options },
			want:  []string{"tls-cert=/c.pem", "tls-min-version=1.2", "options=NO_TICKET", "cipher=HIGH"}},

		{name: "unknown option", src: "http_port 3128 frobnicate",
			wantErr: "squid.conf:1: http_port: unknown http_port option 'frobnicate'"},
		{name: "unknown https option", src: "https_port 443 tls-cert=/c frobnicate=1",
			wantErr: "squid.conf:1: https_port: unknown https_port option 'frobnicate=1'"},
		{name: "defaultsite before accel", src: "http_port 80 defaultsite=a accel",
			wantErr: "squid.conf:1: http_port: defaultsite option requires Acceleration mode flag"},
		{name: "vport without accel", src: "http_port 80 vport=80",
			wantErr: "squid.conf:1: http_port: vport option requires Acceleration mode flag"},
		{name: "allow-direct without accel", src: "http_port 80 allow-direct",
			wantErr: "squid.conf:1: http_port: allow-direct option requires Acceleration mode flag"},
		{name: "protocol without accel", src: "http_port 80 protocol=http",
			wantErr: "squid.conf:1: http_port: protocol= option requires Acceleration mode flag"},
		{name: "bad protocol", src: "http_port 80 accel protocol=gopher",
			wantErr: "squid.conf:1: http_port: http_port does not support protocol=gopher"},
		{name: "accel and intercept", src: "http_port 80 intercept accel",
			wantErr: "squid.conf:1: http_port: accel mode requires its own port; it cannot be combined with intercept or tproxy"},
		{name: "missing port", src: "http_port",
			wantErr: "squid.conf:1: http_port: missing port"},
		{name: "template variable", src: "http_port ${HTTP_PORT}",
			wantErr: "squid.conf:1: http_port: missing port: ${HTTP_PORT}"},
		{name: "bad port", src: "http_port 80a",
			wantErr: `squid.conf:1: http_port: invalid port "80a"`},
		{name: "port zero", src: "http_port 0",
			wantErr: `squid.conf:1: http_port: invalid port "0"`},
		{name: "port too large", src: "http_port 1.2.3.4:65536",
			wantErr: `squid.conf:1: http_port: invalid port "65536"`},
		{name: "ipv6 without port", src: "http_port [::1]",
			wantErr: `squid.conf:1: http_port: missing port in "[::1]"`},
		{name: "ipv6 without bracket", src: "http_port ::1:80",
			wantErr: `squid.conf:1: http_port: invalid address "::1:80"`},
		{name: "bad vport", src: "http_port 80 accel vport=x",
			wantErr: `squid.conf:1: http_port: invalid port "x" in vport=x`},
		{name: "https without certificate", src: "https_port 443 accel defaultsite=x",
			wantErr: "squid.conf:1: https_port: https_port requires a tls-cert= option"},
		{name: "key before cert", src: "https_port 443 tls-key=/k tls-cert=/c",
			wantErr: "squid.conf:1: https_port: tls-key= option must follow a tls-cert= option"},
	}
	runParseCases(t, tests)
}

func TestCachePeer(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "origin server", src: "cache_peer 10.0.0.1 parent 8080 0 no-query originserver name=origin login=PASSTHRU",
			get: func(c *Config) any { p := c.CachePeers[0]; p.Pos = Pos{}; return p },
			want: CachePeer{Host: "10.0.0.1", Type: "parent", HTTPPort: 8080, Name: "origin", OriginServer: true,
				NoQuery: true, Login: "PASSTHRU", Weight: 1, ConnectFailLimit: 10,
				Options: []string{"no-query", "originserver", "name=origin", "login=PASSTHRU"}}},
		{name: "name defaults to host", src: "cache_peer backend parent 80 3130",
			get: func(c *Config) any { return []any{c.CachePeers[0].Name, c.CachePeers[0].ICPPort} }, want: []any{"backend", 3130}},
		{name: "typed options", src: "cache_peer h parent 80 0 round-robin weighted-round-robin default proxy-only ssl " +
			"forceddomain=www.example.com weight=5 max-conn=10 connect-timeout=7 connect-fail-limit=3 sslflags=DONT_VERIFY_PEER",
			get: func(c *Config) any {
				p := c.CachePeers[0]
				return []any{p.RoundRobin, p.WeightedRoundRobin, p.Default, p.ProxyOnly, p.TLS, p.ForcedDomain,
					p.Weight, p.MaxConn, p.ConnectTimeout.String(), p.ConnectFailLimit}
			},
			want: []any{true, true, true, true, true, "www.example.com", 5, 10, "7s", 3}},
		{name: "tls options", src: "cache_peer h parent 443 0 tls tls-cafile=/ca.pem tls-min-version=1.2",
			get: func(c *Config) any { return c.CachePeers[0].TLS }, want: true},
		{name: "selection options", src: "cache_peer h parent 80 0 carp sourcehash userhash",
			get:  func(c *Config) any { p := c.CachePeers[0]; return []bool{p.CARP, p.SourceHash, p.UserHash} },
			want: []bool{true, true, true}},
		{name: "typed tls options", src: "cache_peer h parent 443 0 tls tls-cafile=/a.pem tls-cafile=/b.pem " +
			"tls-flags=DONT_VERIFY_PEER,DONT_VERIFY_DOMAIN tls-min-version=1.2 tls-domain=www.example.com tls-default-ca=off",
			get: func(c *Config) any { return c.CachePeers[0].TLSOptions },
			want: PeerTLS{CAFiles: []string{"/a.pem", "/b.pem"}, Flags: []string{"DONT_VERIFY_PEER", "DONT_VERIFY_DOMAIN"},
				MinVersion: "1.2", Domain: "www.example.com", NoDefaultCA: true}},
		{name: "openssl tls options", src: "cache_peer h parent 443 0 ssl sslcafile=/ca.pem sslflags=DONT_VERIFY_PEER sslversion=6 ssldomain=origin.example",
			get:  func(c *Config) any { return c.CachePeers[0].TLSOptions },
			want: PeerTLS{CAFiles: []string{"/ca.pem"}, Flags: []string{"DONT_VERIFY_PEER"}, Version: 6, Domain: "origin.example"}},
		{name: "unknown option is a notice", src: "cache_peer h parent 80 0 monitorurl=http://x/ originserver",
			get:         func(c *Config) any { return c.CachePeers[0].Options },
			want:        []string{"monitorurl=http://x/", "originserver"},
			wantNotices: "squid.conf:1: cache_peer: ignoring unknown cache_peer option 'monitorurl=http://x/'"},
		{name: "unknown type is a sibling", src: "cache_peer h parnet 80 0",
			get:         func(c *Config) any { return c.CachePeers[0].Type },
			want:        "sibling",
			wantNotices: "squid.conf:1: cache_peer: unknown neighbor type 'parnet'; using 'sibling'"},
		{name: "same host, other names", src: "cache_peer h parent 80 0 name=a\ncache_peer h parent 81 0 name=b",
			get: func(c *Config) any { return len(c.CachePeers) }, want: 2},

		{name: "duplicate name", src: "cache_peer a parent 80 0 name=server_1\ncache_peer b parent 80 0 name=server_1",
			wantErr: "squid.conf:2: cache_peer: cache_peer server_1 specified twice"},
		{name: "duplicate host", src: "cache_peer a parent 80 0\ncache_peer A parent 81 0",
			wantErr: "squid.conf:2: cache_peer: cache_peer A specified twice"},
		{name: "missing ports", src: "cache_peer a parent 80",
			wantErr: "squid.conf:1: cache_peer: missing icp-port"},
		{name: "bad port", src: "cache_peer a parent http 0",
			wantErr: "squid.conf:1: cache_peer: invalid http-port 'http'"},
		{name: "bad weight", src: "cache_peer a parent 80 0 weight=x",
			wantErr: "squid.conf:1: cache_peer: invalid value in cache_peer option 'weight=x'"},
		{name: "missing host", src: "cache_peer",
			wantErr: "squid.conf:1: cache_peer: missing hostname"},
	}
	runParseCases(t, tests)
}

func TestCachePeerAccess(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "rules per peer", src: "cache_peer h parent 80 0 name=p1\ncache_peer g parent 80 0 name=p2\n" +
			"acl a dstdomain .example.com\ncache_peer_access p1 allow a\ncache_peer_access P1 deny all\ncache_peer_access p2 deny !a",
			get: func(c *Config) any {
				return []string{accessText(c.CachePeers[0].Access), accessText(c.CachePeers[1].Access)}
			},
			want: []string{"allow a|deny all", "deny !a"}},
		{name: "peer by host name", src: "cache_peer master.example.org parent 80 0\ncache_peer_access master.example.org allow all",
			get: func(c *Config) any { return accessText(c.CachePeers[0].Access) }, want: "allow all"},
		{name: "unknown peer is a notice", src: "cache_peer_access nosuchpeer allow all",
			wantNotices: "squid.conf:1: cache_peer_access: No cache_peer 'nosuchpeer'; line ignored"},
		{name: "peer defined later is unknown", src: "cache_peer_access p deny all\ncache_peer h parent 80 0 name=p",
			get: func(c *Config) any { return len(c.CachePeers[0].Access) }, want: 0},
		{name: "unknown acl", src: "cache_peer h parent 80 0 name=p\ncache_peer_access p allow nope",
			wantErr: "squid.conf:2: cache_peer_access: ACL not found: nope"},
	}
	runParseCases(t, tests)
}
