package httpcache

// End-to-end tests of peer selection against several real origins:
// cache_peer_access virtual hosting, round-robin, weights, carp,
// sourcehash, userhash, max-conn=, dead peer detection and revival,
// always_direct / allow-direct / never_direct, forceddomain= and HTTPS
// origins. Helpers are prefixed pt.

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cuttle/accesslog"
	"cuttle/store"
)

// ptBuffer is a log destination safe for concurrent writes and reads.
type ptBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // protected by mu
}

func (b *ptBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *ptBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// ptOrigin is an origin that answers with its name and never lets the
// answer be stored, so that every request reaches a peer.
type ptOrigin struct {
	name string
	srv  *http.Server
	ln   net.Listener
	addr string
	port int

	mu    sync.Mutex
	hosts []string // Host of each request, protected by mu
}

func ptNewOrigin(t *testing.T, name string) *ptOrigin {
	t.Helper()
	o := &ptOrigin{name: name}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr = ln.Addr().String()
	o.port = ln.Addr().(*net.TCPAddr).Port
	o.start(ln)
	t.Cleanup(o.stop)
	return o
}

func (o *ptOrigin) start(ln net.Listener) {
	o.ln = ln
	o.srv = &http.Server{Handler: o}
	go o.srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed
}

// stop closes the listener and every connection: connecting is refused.
func (o *ptOrigin) stop() { o.srv.Close() }

func (o *ptOrigin) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	o.mu.Lock()
	o.hosts = append(o.hosts, req.Host)
	o.mu.Unlock()
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("Content-Type", "text/plain")
	io.WriteString(rw, o.name)
}

func (o *ptOrigin) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.hosts)
}

// peer returns the origin as a cache_peer named after it.
func (o *ptOrigin) peer() Peer { return Peer{Name: o.name, Host: "127.0.0.1", Port: o.port} }

type ptProxy struct {
	url      string
	logger   *accesslog.Logger
	logPath  string
	errorLog *ptBuffer
}

// ptNewProxy starts the handler with the given peers on a listener with
// the given port options, with the real clock.
func ptNewProxy(t *testing.T, peers []Peer, port Port, set func(*Options)) *ptProxy {
	t.Helper()
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	logPath := filepath.Join(t.TempDir(), "access.log")
	w, err := accesslog.OpenFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	format, _ := accesslog.Lookup("squid", accesslog.FormatOptions{})
	logger := accesslog.New(accesslog.Output{W: w, Format: format})
	t.Cleanup(func() { logger.Close() })
	errorLog := &ptBuffer{}
	opts := Options{
		Store:             mem,
		Access:            hfAllowAll,
		Peers:             peers,
		Log:               logger,
		ErrorLog:          log.New(errorLog, "", 0),
		PeerProbeInterval: 5 * time.Millisecond,
	}
	if set != nil {
		set(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	port.Vhost, port.Scheme = true, "http"
	srv := httptest.NewServer(h.Port(port))
	t.Cleanup(srv.Close)
	return &ptProxy{url: srv.URL, logger: logger, logPath: logPath, errorLog: errorLog}
}

// get asks the proxy for path on site (the Host), from the client address
// from ("" for any), with extra header fields; it returns the status and
// body.
func (p *ptProxy) get(t *testing.T, site, path, from string, hdr http.Header) (int, string) {
	t.Helper()
	dialer := &net.Dialer{}
	if from != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, p.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = site
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// hiers returns the hierarchy field (%Sh/%<a) of every access.log line.
func (p *ptProxy) hiers(t *testing.T) []string {
	t.Helper()
	if err := p.logger.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for l := range strings.Lines(string(b)) {
		f := strings.Fields(l)
		if len(f) < 10 {
			t.Fatalf("short access.log line %q", l)
		}
		out = append(out, f[3]+" "+f[8])
	}
	return out
}

func ptDomain(t *testing.T, names ...string) ACL {
	t.Helper()
	acl, err := NewACL("dstdomain", names)
	if err != nil {
		t.Fatal(err)
	}
	return acl
}

// TestPeerVirtualHosting is the most common accelerator setup: one
// origin per site, chosen by cache_peer_access with dstdomain ACLs; a
// site no peer serves gets 503 ERR_CANNOT_FORWARD.
func TestPeerVirtualHosting(t *testing.T) {
	t.Parallel()
	www, img := ptNewOrigin(t, "www"), ptNewOrigin(t, "img")
	pw, pi := www.peer(), img.peer()
	pw.Access = []Rule{{Allow: true, Terms: []Term{{ACL: ptDomain(t, "www.example.com")}}}, {Allow: false, Terms: []Term{{ACL: aclAll{}}}}}
	pi.Access = []Rule{{Allow: true, Terms: []Term{{ACL: ptDomain(t, ".img.example.com")}}}}
	p := ptNewProxy(t, []Peer{pw, pi}, Port{}, nil)

	for _, tt := range []struct{ site, want string }{
		{"www.example.com", "www"}, {"a.img.example.com", "img"}, {"www.example.com:8080", "www"}, {"img.example.com", "img"},
	} {
		if status, body := p.get(t, tt.site, "/", "", nil); status != 200 || body != tt.want {
			t.Errorf("GET http://%s/ = %d %q, want 200 %q", tt.site, status, body, tt.want)
		}
	}
	if status, _ := p.get(t, "other.example.org", "/", "", nil); status != http.StatusServiceUnavailable {
		t.Errorf("GET http://other.example.org/ = %d, want 503", status)
	}
	want := []string{"TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1", "TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1",
		"TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1", "TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1", "TCP_MISS/503 HIER_NONE/-"}
	if got := p.hiers(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("access.log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPeerRoundRobin checks the spread of round-robin, with and without
// weight=, and its ROUNDROBIN_PARENT log code.
func TestPeerRoundRobin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		weights []int
		want    []int
	}{
		{name: "equal", weights: []int{1, 1, 1}, want: []int{10, 10, 10}},
		{name: "weighted", weights: []int{1, 2}, want: []int{10, 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var origins []*ptOrigin
			var peers []Peer
			for i, w := range tt.weights {
				o := ptNewOrigin(t, "o"+strconv.Itoa(i))
				p := o.peer()
				p.RoundRobin, p.Weight = true, w
				origins, peers = append(origins, o), append(peers, p)
			}
			p := ptNewProxy(t, peers, Port{}, nil)
			for i := range 30 {
				if status, _ := p.get(t, "www.example.com", "/"+strconv.Itoa(i), "", nil); status != 200 {
					t.Fatalf("status %d", status)
				}
			}
			for i, o := range origins {
				if o.count() != tt.want[i] {
					t.Errorf("origin %d got %d requests, want %d", i, o.count(), tt.want[i])
				}
			}
			for _, h := range p.hiers(t) {
				if h != "TCP_MISS/200 ROUNDROBIN_PARENT/127.0.0.1" {
					t.Errorf("access.log hierarchy %q, want ROUNDROBIN_PARENT", h)
				}
			}
		})
	}
}

// TestPeerHashes checks that carp keeps a URL, sourcehash a client address
// and userhash a user on one origin, while the keys spread over all of
// them, and the log codes CARP, SOURCEHASH_PARENT and USERHASH_PARENT.
func TestPeerHashes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(*Peer)
		key  func(i int) (path, from string, hdr http.Header)
		hier string
		opts func(t *testing.T) func(*Options)
	}{
		{name: "carp", set: func(p *Peer) { p.CARP = true }, hier: "CARP",
			key: func(i int) (string, string, http.Header) { return "/object/" + strconv.Itoa(i), "", nil }},
		{name: "sourcehash", set: func(p *Peer) { p.SourceHash = true }, hier: "SOURCEHASH_PARENT",
			key: func(i int) (string, string, http.Header) { return "/", "127.0.0." + strconv.Itoa(i+1), nil }},
		{name: "userhash", set: func(p *Peer) { p.UserHash = true }, hier: "USERHASH_PARENT",
			key: func(i int) (string, string, http.Header) {
				r := &http.Request{Header: http.Header{}}
				r.SetBasicAuth("user"+strconv.Itoa(i), "secret")
				return "/", "", r.Header
			},
			// userhash uses the authenticated user: the users log in
			// through a proxy_auth acl (auth_param basic, {SHA} entries).
			opts: func(t *testing.T) func(*Options) {
				sum := sha1.Sum([]byte("secret"))
				var b strings.Builder
				for i := range 24 {
					fmt.Fprintf(&b, "user%d:{SHA}%s\n", i, base64.StdEncoding.EncodeToString(sum[:]))
				}
				file := filepath.Join(t.TempDir(), "passwd")
				authWriteFile(t, file, b.String(), 0o600)
				rules := authRules(t)
				return func(o *Options) {
					o.Access = rules
					o.Auth = &BasicAuth{Program: []string{"/usr/lib/squid/basic_ncsa_auth", file}}
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var peers []Peer
			for i := range 3 {
				p := ptNewOrigin(t, "o"+strconv.Itoa(i)).peer()
				tt.set(&p)
				peers = append(peers, p)
			}
			var set func(*Options)
			if tt.opts != nil {
				set = tt.opts(t)
			}
			p := ptNewProxy(t, peers, Port{}, set)
			used := map[string]bool{}
			for i := range 24 {
				path, from, hdr := tt.key(i)
				_, first := p.get(t, "www.example.com", path, from, hdr)
				for range 2 {
					if _, again := p.get(t, "www.example.com", path, from, hdr); again != first {
						t.Fatalf("key %d went to %s, then %s", i, first, again)
					}
				}
				used[first] = true
			}
			if len(used) != 3 {
				t.Errorf("24 keys went to %d origins, want 3", len(used))
			}
			for _, h := range p.hiers(t) {
				if h != "TCP_MISS/200 "+tt.hier+"/127.0.0.1" {
					t.Fatalf("access.log hierarchy %q, want %s", h, tt.hier)
				}
			}
		})
	}
}

// ptWait polls cond every few milliseconds for up to ten seconds.
func ptWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPeerDeadAndRevived stops the first origin: requests fall back to the
// second (ANY_OLD_PARENT) until connect-fail-limit= failures mark it dead
// and selection skips it; when it listens again on its port, a probe
// revives it and it is first up again.
func TestPeerDeadAndRevived(t *testing.T) {
	t.Parallel()
	a, b := ptNewOrigin(t, "a"), ptNewOrigin(t, "b")
	pa := a.peer()
	pa.ConnectFailLimit = 2
	p := ptNewProxy(t, []Peer{pa, b.peer()}, Port{}, nil)

	if _, body := p.get(t, "www.example.com", "/0", "", nil); body != "a" {
		t.Fatalf("first request answered by %q, want a", body)
	}
	a.stop()
	for i := 1; i <= 3; i++ {
		if status, body := p.get(t, "www.example.com", "/"+strconv.Itoa(i), "", nil); status != 200 || body != "b" {
			t.Fatalf("request %d: %d %q, want 200 from b", i, status, body)
		}
	}
	want := []string{
		"TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1",
		"TCP_MISS/200 ANY_OLD_PARENT/127.0.0.1", // a refused, b answered
		"TCP_MISS/200 ANY_OLD_PARENT/127.0.0.1", // a refused again: dead
		"TCP_MISS/200 FIRSTUP_PARENT/127.0.0.1", // a skipped
	}
	if got := p.hiers(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("access.log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	failed := fmt.Sprintf("TCP connection to 127.0.0.1/%d failed", a.port)
	if logs := p.errorLog.String(); strings.Count(logs, failed) != 2 || !strings.Contains(logs, "Detected DEAD Parent: a\n") {
		t.Errorf("cache_log = %q, want two %q and Detected DEAD Parent: a", logs, failed)
	}

	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		t.Fatalf("listening on %s again: %v", a.addr, err)
	}
	a.start(ln)
	n := 4
	ptWait(t, "a to answer again", func() bool {
		n++
		_, body := p.get(t, "www.example.com", "/"+strconv.Itoa(n), "", nil)
		return body == "a"
	})
	ptWait(t, "Detected REVIVED Parent: a", func() bool {
		return strings.Contains(p.errorLog.String(), "Detected REVIVED Parent: a\n")
	})
}

// TestPeerMaxConn holds one request on a peer with max-conn=1: the next
// request skips it for the second peer.
func TestPeerMaxConn(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		rw.Header().Set("Cache-Control", "no-store")
		io.WriteString(rw, "slow")
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	fast := ptNewOrigin(t, "fast")
	ps := Peer{Name: "slow", Host: "127.0.0.1", Port: slow.Listener.Addr().(*net.TCPAddr).Port, MaxConn: 1}
	p := ptNewProxy(t, []Peer{ps, fast.peer()}, Port{}, nil)

	done := make(chan string)
	go func() {
		_, body := p.get(t, "www.example.com", "/slow", "", nil)
		done <- body
	}()
	<-arrived
	if _, body := p.get(t, "www.example.com", "/other", "", nil); body != "fast" {
		t.Errorf("second request answered by %q, want fast (slow is at max-conn=1)", body)
	}
	close(release)
	if body := <-done; body != "slow" {
		t.Errorf("held request answered by %q", body)
	}
	if _, body := p.get(t, "www.example.com", "/third", "", nil); body != "slow" {
		t.Errorf("third request answered by %q, want slow again", body)
	}
}

// TestPeerDirect checks always_direct, allow-direct and never_direct: the
// origin named by the URL is used only when they allow it (HIER_DIRECT).
func TestPeerDirect(t *testing.T) {
	t.Parallel()
	origin := ptNewOrigin(t, "origin")
	peer := ptNewOrigin(t, "peer")
	all := []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}}
	nobody := []Rule{{Allow: false, Terms: []Term{{ACL: aclAll{}}}}}
	tests := []struct {
		name   string
		peers  []Peer
		port   Port
		set    func(*Options)
		status int
		body   string
		hier   string
	}{
		{name: "accel never goes direct", status: 503, hier: "HIER_NONE/-"},
		{name: "always_direct", set: func(o *Options) { o.AlwaysDirect = all }, peers: []Peer{peer.peer()},
			status: 200, body: "origin", hier: "HIER_DIRECT/127.0.0.1"},
		{name: "allow-direct without a usable peer", port: Port{AllowDirect: true},
			peers:  []Peer{func() Peer { p := peer.peer(); p.Access = nobody; return p }()},
			status: 200, body: "origin", hier: "HIER_DIRECT/127.0.0.1"},
		{name: "allow-direct prefers the peer", port: Port{AllowDirect: true}, peers: []Peer{peer.peer()},
			status: 200, body: "peer", hier: "FIRSTUP_PARENT/127.0.0.1"},
		{name: "never_direct wins over allow-direct", port: Port{AllowDirect: true},
			set: func(o *Options) { o.NeverDirect = all }, status: 503, hier: "HIER_NONE/-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := ptNewProxy(t, tt.peers, tt.port, tt.set)
			status, body := p.get(t, origin.addr, "/", "", nil)
			if status != tt.status || (tt.body != "" && body != tt.body) {
				t.Errorf("GET = %d %q, want %d %q", status, body, tt.status, tt.body)
			}
			if got := p.hiers(t); len(got) != 1 || !strings.HasSuffix(got[0], " "+tt.hier) {
				t.Errorf("access.log %q, want %s", got, tt.hier)
			}
		})
	}
}

// TestPeerForcedDomain checks that forceddomain= replaces the Host the
// peer sees.
func TestPeerForcedDomain(t *testing.T) {
	t.Parallel()
	o := ptNewOrigin(t, "o")
	peer := o.peer()
	peer.ForcedDomain = "backend.internal"
	p := ptNewProxy(t, []Peer{peer}, Port{}, nil)
	p.get(t, "www.example.com", "/", "", nil)
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.hosts) != 1 || o.hosts[0] != "backend.internal" {
		t.Errorf("origin saw Host %q, want backend.internal", o.hosts)
	}
}

// TestPeerTLS reaches an HTTPS origin that the configured CAs trust, and
// refuses one they do not (502).
func TestPeerTLS(t *testing.T) {
	t.Parallel()
	origin := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "no-store")
		io.WriteString(rw, "secure "+strconv.FormatBool(req.TLS != nil))
	}))
	origin.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	origin.StartTLS()
	t.Cleanup(origin.Close)
	trusted := x509.NewCertPool()
	trusted.AddCert(origin.Certificate())
	port := origin.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name   string
		tls    *tls.Config
		status int
		body   string
	}{
		{name: "trusted CA", tls: &tls.Config{RootCAs: trusted}, status: 200, body: "secure true"},
		{name: "unknown CA", tls: &tls.Config{RootCAs: x509.NewCertPool()}, status: 502},
		{name: "no verification", tls: &tls.Config{InsecureSkipVerify: true}, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := ptNewProxy(t, []Peer{{Name: "tls", Host: "127.0.0.1", Port: port, TLS: tt.tls}}, Port{}, nil)
			status, body := p.get(t, "www.example.com", "/", "", nil)
			if status != tt.status || (tt.body != "" && body != tt.body) {
				t.Errorf("GET = %d %q, want %d %q", status, body, tt.status, tt.body)
			}
		})
	}
}

// TestPeerRetryKeepsBody checks that a POST whose first peer refuses the
// connection reaches the next peer with its whole body.
func TestPeerRetryKeepsBody(t *testing.T) {
	t.Parallel()
	dead := ptNewOrigin(t, "dead")
	dead.stop()
	got := make(chan string, 1)
	live := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		got <- string(b)
		io.WriteString(rw, "ok")
	}))
	t.Cleanup(live.Close)
	p := ptNewProxy(t, []Peer{dead.peer(), {Name: "live", Host: "127.0.0.1", Port: live.Listener.Addr().(*net.TCPAddr).Port}}, Port{}, nil)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, p.url+"/form", strings.NewReader("a=1&b=2"))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "www.example.com"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if body := <-got; res.StatusCode != 200 || body != "a=1&b=2" {
		t.Errorf("POST = %d, live peer got body %q, want 200 and a=1&b=2", res.StatusCode, body)
	}
	if h := p.hiers(t); len(h) != 1 || h[0] != "TCP_MISS/200 ANY_OLD_PARENT/127.0.0.1" {
		t.Errorf("access.log %q, want ANY_OLD_PARENT", h)
	}
}
