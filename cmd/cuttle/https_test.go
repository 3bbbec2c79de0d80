package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// headerRecorder is an origin that remembers the request header of each
// path it served.
type headerRecorder struct {
	mu   sync.Mutex
	seen map[string]http.Header // protected by mu
}

func (o *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.seen[r.URL.Path] = r.Header.Clone()
	o.mu.Unlock()
	w.Header().Set("Cache-Control", "max-age=600")
	fmt.Fprintf(w, "body of %s\n", r.URL.Path)
}

func (o *headerRecorder) header(path string) (http.Header, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	h, ok := o.seen[path]
	return h, ok
}

// TestHTTPSPortEndToEnd runs cuttle with two https_port lines and an
// http_port: certificates chosen by SNI, options=NO_TLSv1_2, HTTP/2 by
// ALPN, a MISS then a HIT over TLS logged with https URLs, and h2c
// upgrades that are neither honoured nor forwarded.
func TestHTTPSPortEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := newTestCert(t, dir, "a", 1, false, "a.test")
	b := newTestCert(t, dir, "b", 2, true, "b.test") // key in the cert file
	origin := &headerRecorder{seen: make(map[string]http.Header)}
	srv := httptest.NewServer(origin)
	defer srv.Close()
	originHost, originPort, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")

	httpPort, tlsPort, tls13Port := freePort(t), freePort(t), freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	accessLog := filepath.Join(dir, "access.log")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=a.test
https_port 127.0.0.1:%d accel defaultsite=a.test tls-cert=%s tls-key=%s cert=%s
https_port 127.0.0.1:%d accel defaultsite=a.test tls-cert=%s tls-key=%s options=NO_SSLv3,NO_TLSv1,NO_TLSv1_1,NO_TLSv1_2 tls-dh=/nonexistent/dh.pem
cache_peer %s parent %s 0 no-query originserver name=origin
http_access allow localhost
http_access deny all
cache_mem 8 MB
visible_hostname tls.local
access_log stdio:%s squid
cache_log %s
shutdown_lifetime 2 seconds
`, httpPort, tlsPort, a.certFile, a.keyFile, b.certFile, tls13Port, a.certFile, a.keyFile,
		originHost, originPort, accessLog, filepath.Join(dir, "cache.log"))), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-N", "-f", conf}, io.Discard, stderr) }()

	roots := pool(a, b)
	dialTLS := func(port int, config *tls.Config) (*tls.Conn, error) {
		d := &net.Dialer{Timeout: 5 * time.Second}
		return tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), config)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tls13Port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuttle did not listen: %v\nstderr:\n%s", err, stderr.String())
		}
		select {
		case code := <-done:
			t.Fatalf("cuttle exited with %d:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// What cuttle does not apply is said at start.
	if !strings.Contains(stderr.String(), "tls-dh=/nonexistent/dh.pem: not used") {
		t.Errorf("stderr does not report tls-dh=:\n%s", stderr.String())
	}

	t.Run("SNI", func(t *testing.T) {
		for _, tt := range []struct {
			serverName string
			want       string
		}{
			{"a.test", "a.test"},
			{"b.test", "b.test"},
			{"", "a.test"},           // no SNI: the first certificate
			{"other.test", "a.test"}, // no match: the first certificate
		} {
			config := &tls.Config{ServerName: tt.serverName, RootCAs: roots}
			if tt.serverName == "" || tt.serverName == "other.test" {
				config.InsecureSkipVerify = true // nothing to verify the name against
			}
			c, err := dialTLS(tlsPort, config)
			if err != nil {
				t.Errorf("TLS dial with SNI %q: %v", tt.serverName, err)
				continue
			}
			got := c.ConnectionState().PeerCertificates[0].Subject.CommonName
			c.Close()
			if got != tt.want {
				t.Errorf("certificate for SNI %q = %s, want %s", tt.serverName, got, tt.want)
			}
		}
	})

	t.Run("versions", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			port     int
			min, max uint16
			wantOK   bool
		}{
			{"TLS 1.2 client, NO_TLSv1_2 port", tls13Port, tls.VersionTLS12, tls.VersionTLS12, false},
			{"TLS 1.3 client, NO_TLSv1_2 port", tls13Port, tls.VersionTLS13, tls.VersionTLS13, true},
			{"TLS 1.2 client, default port", tlsPort, tls.VersionTLS12, tls.VersionTLS12, true},
			{"TLS 1.1 client, default port", tlsPort, tls.VersionTLS10, tls.VersionTLS11, false},
		} {
			c, err := dialTLS(tt.port, &tls.Config{ServerName: "a.test", RootCAs: roots, MinVersion: tt.min, MaxVersion: tt.max})
			if (err == nil) != tt.wantOK {
				t.Errorf("%s: handshake error %v, want success %v", tt.name, err, tt.wantOK)
			}
			if err == nil {
				c.Close()
			}
		}
	})

	// Clients reach b.test and a.test at 127.0.0.1.
	transport := func(h2 bool) *http.Transport {
		tr := &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
			},
			ForceAttemptHTTP2: h2,
		}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		return tr
	}

	t.Run("h2 MISS then HIT", func(t *testing.T) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: transport(true)}
		url := fmt.Sprintf("https://b.test:%d/obj", tlsPort)
		get := func() (*http.Response, string) {
			t.Helper()
			res, err := client.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			return res, string(body)
		}
		res, body := get()
		if res.ProtoMajor != 2 || res.TLS == nil || res.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("GET %s over %s, want HTTP/2 negotiated by ALPN", url, res.Proto)
		}
		if res.StatusCode != 200 || body != "body of /obj\n" || res.Header.Get("X-Cache") != "MISS from tls.local" {
			t.Fatalf("first GET %s: %s %q X-Cache %q", url, res.Status, body, res.Header.Get("X-Cache"))
		}
		if got, want := res.Header.Get("X-Cache-Lookup"), fmt.Sprintf("MISS from tls.local:%d", tlsPort); got != want {
			t.Errorf("X-Cache-Lookup = %q, want %q", got, want)
		}
		// The memory tier applies writes asynchronously: poll for the hit.
		for range 100 {
			res, body = get()
			if res.Header.Get("X-Cache") == "HIT from tls.local" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if res.Header.Get("X-Cache") != "HIT from tls.local" || body != "body of /obj\n" || res.ProtoMajor != 2 {
			t.Errorf("second GET %s: %s X-Cache %q %q, want a HIT over HTTP/2", url, res.Proto, res.Header.Get("X-Cache"), body)
		}
	})

	t.Run("HTTP/1.1 over TLS", func(t *testing.T) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: transport(false)}
		res, err := client.Get(fmt.Sprintf("https://a.test:%d/one", tlsPort))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.ProtoMajor != 1 || res.StatusCode != 200 || res.TLS.PeerCertificates[0].Subject.CommonName != "a.test" {
			t.Errorf("GET over %s: %s, certificate %s", res.Proto, res.Status, res.TLS.PeerCertificates[0].Subject.CommonName)
		}
	})

	// An h2c upgrade (RFC 7540, Section 3.2) is answered in HTTP/1.1 and
	// its fields never reach the origin, with or without HTTP2-Settings
	// named in Connection.
	t.Run("h2c upgrade refused", func(t *testing.T) {
		for _, tt := range []struct {
			name       string
			path       string
			tls        bool
			connection string
		}{
			{"http_port", "/h2c-plain", false, "Upgrade, HTTP2-Settings"},
			{"http_port, HTTP2-Settings not in Connection", "/h2c-plain-2", false, "Upgrade"},
			{"https_port", "/h2c-tls", true, "Upgrade, HTTP2-Settings"},
		} {
			var c net.Conn
			var err error
			if tt.tls {
				c, err = dialTLS(tlsPort, &tls.Config{ServerName: "a.test", RootCAs: roots, NextProtos: []string{"http/1.1"}})
			} else {
				c, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort))
			}
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a.test\r\nConnection: %s\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n", tt.path, tt.connection)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				c.Close()
				t.Fatalf("%s: %v", tt.name, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			c.Close()
			if res.StatusCode != 200 || res.ProtoMajor != 1 || string(body) != "body of "+tt.path+"\n" || res.Header.Get("Upgrade") != "" {
				t.Errorf("%s: %s %s Upgrade %q %q, want a plain HTTP/1.1 200", tt.name, res.Proto, res.Status, res.Header.Get("Upgrade"), body)
			}
			h, ok := origin.header(tt.path)
			if !ok {
				t.Errorf("%s: the origin never saw %s", tt.name, tt.path)
				continue
			}
			for _, name := range []string{"Upgrade", "Http2-Settings", "Connection"} {
				if v := h.Values(name); len(v) > 0 {
					t.Errorf("%s: the origin received %s: %q", tt.name, name, v)
				}
			}
		}
		// The HTTP/2 connection preface without TLS (h2c with prior
		// knowledge) is not HTTP/2 to cuttle either.
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		if line != "HTTP/1.1 501 Not Implemented\r\n" {
			t.Errorf("h2c prior knowledge: status line %q, want HTTP/1.1 501", line)
		}
		if _, ok := origin.header("*"); ok {
			t.Error("h2c prior knowledge: the preface reached the origin")
		}
	})

	// The request pre-scan sees the decrypted HTTP/1.x stream (G1:
	// HTTP/1.0 with Transfer-Encoding smuggles nothing over TLS either).
	t.Run("prescan over TLS", func(t *testing.T) {
		c, err := dialTLS(tlsPort, &tls.Config{ServerName: "a.test", RootCAs: roots, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /tls-g1 HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /tls-smuggled HTTP/1.0\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		all, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(all), "HTTP/1.1 400 Bad Request\r\n") || !strings.Contains(string(all), "Connection: close") {
			t.Errorf("HTTP/1.0 + Transfer-Encoding over TLS: %.120q, want 400 and close", all)
		}
		for _, path := range []string{"/tls-g1", "/tls-smuggled"} {
			if _, ok := origin.header(path); ok {
				t.Errorf("the origin received %s", path)
			}
		}
	})

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("cuttle exited with %d:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("cuttle did not stop")
	}
	logText, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf(" TCP_MISS/200 %%d GET https://b.test:%d/obj - FIRSTUP_PARENT/", tlsPort),
		fmt.Sprintf(" TCP_MEM_HIT/200 %%d GET https://b.test:%d/obj - HIER_NONE/- ", tlsPort),
		" TCP_MISS/200 %d GET https://a.test/h2c-tls - FIRSTUP_PARENT/",
		" TCP_MISS/200 %d GET http://a.test/h2c-plain - FIRSTUP_PARENT/",
		" NONE_NONE/501 %d PRI error:unsupported-request - HIER_NONE/- ",
	} {
		found := false
		for line := range strings.Lines(string(logText)) {
			prefix, rest, ok := strings.Cut(want, "%d")
			if i := strings.Index(line, prefix); ok && i >= 0 {
				after := line[i+len(prefix):]
				if j := strings.IndexByte(after, ' '); j > 0 && strings.HasPrefix(after[j:], rest) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("access.log has no line like %q:\n%s", want, logText)
		}
	}
}

// TestHTTPSReloadSwapsCertificate replaces an https_port's certificate
// file and reconfigures: new connections get the new certificate, a
// connection opened before keeps working on the same socket. A broken
// certificate then refuses the reload, cache_log says why, and the
// previous certificate keeps serving.
func TestHTTPSReloadSwapsCertificate(t *testing.T) {
	t.Parallel()
	bin, _ := buildCuttleBinary(t)
	dir := t.TempDir()
	origin := &headerRecorder{seen: make(map[string]http.Header)}
	srv := httptest.NewServer(origin)
	defer srv.Close()
	originHost, originPort, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")

	// The certificates live elsewhere and are copied over the configured
	// files, as an admin (or certbot's deploy hook) would.
	certDir := t.TempDir()
	v1 := newTestCert(t, certDir, "v1", 1, false, "r.test")
	v2 := newTestCert(t, certDir, "v2", 2, false, "r.test")
	certFile, keyFile := filepath.Join(dir, "r.pem"), filepath.Join(dir, "r.key")
	install := func(c testCert) {
		t.Helper()
		for _, f := range [][2]string{{c.certFile, certFile}, {c.keyFile, keyFile}} {
			data, err := os.ReadFile(f[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f[1], data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(v1)

	port := freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	cacheLog := filepath.Join(dir, "cache.log")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`https_port 127.0.0.1:%d accel defaultsite=r.test tls-cert=%s tls-key=%s
cache_peer %s parent %s 0 no-query originserver name=origin
http_access allow localhost
http_access deny all
cache_mem 8 MB
visible_hostname reload.local
access_log none
cache_log %s
pid_filename %s
shutdown_lifetime 2 seconds
%s
`, port, certFile, keyFile, originHost, originPort, cacheLog, filepath.Join(dir, "cuttle.pid"), sameUser(t))), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ns := newNotifySocket(t, dir)
	proc := startBinary(t, bin, []string{"NOTIFY_SOCKET=" + ns.path}, "-N", "-f", conf)
	ns.expect(t, "READY=1")
	reload := func() {
		t.Helper()
		proc.cmd.Process.Signal(syscall.SIGHUP)
		ns.expect(t, "RELOADING=1")
		ns.expect(t, "READY=1")
	}

	roots := pool(v1, v2)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// serial dials a new connection and returns the serial number of the
	// certificate it gets.
	serial := func() int64 {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "r.test", RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	// kept is a kept-alive connection from before the reloads.
	kept, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "r.test", RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	keptReader := bufio.NewReader(kept)
	getOnKept := func(path string) {
		t.Helper()
		fmt.Fprintf(kept, "GET %s HTTP/1.1\r\nHost: r.test\r\n\r\n", path)
		res, err := http.ReadResponse(keptReader, nil)
		if err != nil {
			t.Fatalf("GET %s on the kept connection: %v", path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != "body of "+path+"\n" {
			t.Fatalf("GET %s on the kept connection: %s %q", path, res.Status, body)
		}
	}
	getOnKept("/before")
	if got := serial(); got != 1 {
		t.Fatalf("certificate serial before the reload = %d, want 1", got)
	}

	install(v2)
	reload()
	if got := serial(); got != 2 {
		t.Errorf("certificate serial after the reload = %d, want 2", got)
	}
	getOnKept("/after")

	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reload()
	if got := serial(); got != 2 {
		t.Errorf("certificate serial after the refused reload = %d, want 2 (the previous one)", got)
	}
	getOnKept("/after-broken")

	proc.cmd.Process.Signal(syscall.SIGTERM)
	if err := proc.wait(t, 15*time.Second); err != nil {
		t.Errorf("cuttle exited with %v; output:\n%s", err, proc.out.String())
	}
	logText, err := os.ReadFile(cacheLog)
	if err != nil {
		t.Fatal(err)
	}
	log := string(logText)
	if n := strings.Count(log, "Accepting reverse-proxy HTTPS Socket connections at "+addr); n != 1 {
		t.Errorf("cache_log shows %d HTTPS sockets opened at %s, want 1 (kept across reloads):\n%s", n, addr, log)
	}
	if !strings.Contains(log, "Reconfiguration refused") || !strings.Contains(log, certFile) || strings.Count(log, "Reconfigured in") != 1 {
		t.Errorf("cache_log does not show one reload done and one refused, naming %s:\n%s", certFile, log)
	}
}
