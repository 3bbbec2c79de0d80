package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cuttle/squidconf"
)

// testCert is a self-signed certificate made by a test, written as PEM.
type testCert struct {
	certFile, keyFile string
	cert              *x509.Certificate
}

// newTestCert makes a self-signed certificate for names with the given
// serial number and writes it to dir/base.pem and its key to
// dir/base.key; with oneFile the key goes into the .pem file too.
func newTestCert(t *testing.T, dir, base string, serial int64, oneFile bool, names ...string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed: it is its own root for the clients
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	tc := testCert{certFile: filepath.Join(dir, base+".pem"), keyFile: filepath.Join(dir, base+".key"), cert: cert}
	if oneFile {
		tc.keyFile = tc.certFile
		certPEM = append(certPEM, keyPEM...)
	} else if err := os.WriteFile(tc.keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tc.certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return tc
}

// pool returns a certificate pool trusting the given certificates.
func pool(certs ...testCert) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c.cert)
	}
	return p
}

func TestTLSConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := newTestCert(t, dir, "a", 1, false, "a.test")
	b := newTestCert(t, dir, "b", 2, true, "b.test")
	certs := []squidconf.TLSCert{{CertFile: a.certFile, KeyFile: a.keyFile}, {CertFile: b.certFile}}
	tests := []struct {
		name             string
		options          []string
		wantMin, wantMax uint16
		wantSuites       []uint16
		wantProtos       []string
		wantTicketsOff   bool
		wantNotes        []string // substrings, one note each
		wantErr          string
	}{
		{name: "defaults", wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantProtos: []string{"h2", "http/1.1"}},
		{name: "NO_TLSv1_2", options: []string{"options=NO_SSLv3,NO_TLSv1,NO_TLSv1_1,NO_TLSv1_2"}, wantMin: tls.VersionTLS13, wantMax: tls.VersionTLS13, wantProtos: []string{"h2", "http/1.1"}},
		{name: "NO_TLSv1_3 with colons", options: []string{"tls-options=NO_TLSv1_3:SINGLE_DH_USE:NO_TICKET"}, wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS12, wantProtos: []string{"h2", "http/1.1"}, wantTicketsOff: true},
		{name: "min version lowered", options: []string{"tls-min-version=1.0"}, wantMin: tls.VersionTLS10, wantMax: tls.VersionTLS13, wantProtos: []string{"h2", "http/1.1"}},
		{name: "min version raised", options: []string{"tls-min-version=1.3"}, wantMin: tls.VersionTLS13, wantMax: tls.VersionTLS13, wantProtos: []string{"h2", "http/1.1"}},
		{
			name: "gap keeps the lowest run as OpenSSL", options: []string{"tls-min-version=1.1", "options=NO_TLSv1_2"},
			wantMin: tls.VersionTLS11, wantMax: tls.VersionTLS11, wantProtos: []string{"h2", "http/1.1"},
			wantNotes: []string{"gap between TLS versions"},
		},
		{name: "GnuTLS priority words", options: []string{"tls-options=NORMAL:-VERS-TLS1.3:%NO_TICKETS"}, wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS12, wantProtos: []string{"h2", "http/1.1"}, wantTicketsOff: true},
		{
			name: "unknown options reported", options: []string{"options=ALL,CIPHER_SERVER_PREFERENCE"},
			wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantProtos: []string{"h2", "http/1.1"},
			wantNotes: []string{"options=ALL,CIPHER_SERVER_PREFERENCE: ALL, CIPHER_SERVER_PREFERENCE not applied"},
		},
		{name: "everything disabled", options: []string{"options=NO_TLSv1_2:NO_TLSv1_3"}, wantErr: "no TLS version"},
		{name: "bad min version", options: []string{"tls-min-version=2.0"}, wantErr: "unsupported TLS version"},
		{
			name: "cipher names", options: []string{"cipher=ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:!aNULL"},
			wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantProtos: []string{"h2", "http/1.1"},
			wantSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
			wantNotes:  []string{"DHE-RSA-AES128-GCM-SHA256: not implemented by Go"},
		},
		{
			name: "CBC only: no h2", options: []string{"tls-cipher=ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA", "options=NO_TLSv1_3"},
			wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS12, wantProtos: []string{"http/1.1"},
			wantSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
			wantNotes:  []string{"HTTP/2 is not offered"},
		},
		{
			name: "dh params", options: []string{"tls-dh=prime256v1:/etc/squid/dh.pem"},
			wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantProtos: []string{"h2", "http/1.1"},
			wantNotes: []string{"never uses finite-field DH"},
		},
		{name: "no-npn", options: []string{"tls-no-npn"}, wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantProtos: []string{"http/1.1"}},
		{name: "NO_SESSION_REUSE", options: []string{"sslflags=NO_SESSION_REUSE"}, wantMin: tls.VersionTLS12, wantMax: tls.VersionTLS13, wantProtos: []string{"h2", "http/1.1"}, wantTicketsOff: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var notes []string
			p := squidconf.HTTPPort{Certs: certs, Options: append([]string{"accel"}, tt.options...)}
			config, err := tlsConfig(p, func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("tlsConfig(%q) error = %v, want one with %q", tt.options, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("tlsConfig(%q): %v", tt.options, err)
			}
			if config.MinVersion != tt.wantMin || config.MaxVersion != tt.wantMax {
				t.Errorf("tlsConfig(%q) versions = %x..%x, want %x..%x", tt.options, config.MinVersion, config.MaxVersion, tt.wantMin, tt.wantMax)
			}
			if !slices.Equal(config.CipherSuites, tt.wantSuites) {
				t.Errorf("tlsConfig(%q) CipherSuites = %x, want %x", tt.options, config.CipherSuites, tt.wantSuites)
			}
			if !slices.Equal(config.NextProtos, tt.wantProtos) {
				t.Errorf("tlsConfig(%q) NextProtos = %q, want %q", tt.options, config.NextProtos, tt.wantProtos)
			}
			if config.SessionTicketsDisabled != tt.wantTicketsOff {
				t.Errorf("tlsConfig(%q) SessionTicketsDisabled = %v, want %v", tt.options, config.SessionTicketsDisabled, tt.wantTicketsOff)
			}
			if len(config.Certificates) != 2 {
				t.Errorf("tlsConfig(%q) has %d certificates, want 2", tt.options, len(config.Certificates))
			}
			if len(notes) != len(tt.wantNotes) {
				t.Fatalf("tlsConfig(%q) notes = %q, want %d like %q", tt.options, notes, len(tt.wantNotes), tt.wantNotes)
			}
			for i, want := range tt.wantNotes {
				if !strings.Contains(notes[i], want) {
					t.Errorf("tlsConfig(%q) note %d = %q, want one with %q", tt.options, i, notes[i], want)
				}
			}
		})
	}
}

func TestTLSConfigBadCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := newTestCert(t, dir, "a", 1, false, "a.test")
	b := newTestCert(t, dir, "b", 2, false, "b.test")
	broken := filepath.Join(dir, "broken.pem")
	if err := os.WriteFile(broken, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cert squidconf.TLSCert
		want string
	}{
		{"missing file", squidconf.TLSCert{CertFile: filepath.Join(dir, "none.pem")}, "none.pem"},
		{"not PEM", squidconf.TLSCert{CertFile: broken, KeyFile: a.keyFile}, "broken.pem"},
		{"key of another certificate", squidconf.TLSCert{CertFile: a.certFile, KeyFile: b.keyFile}, "does not match"},
		{"no key in the cert file", squidconf.TLSCert{CertFile: a.certFile}, "a.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tlsConfig(squidconf.HTTPPort{Certs: []squidconf.TLSCert{tt.cert}}, func(string, ...any) {})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("tlsConfig(%+v) error = %v, want one with %q", tt.cert, err, tt.want)
			}
		})
	}
}

func TestParseCipherList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value     string
		want      []uint16 // nil: Go's defaults
		wantNotes int
	}{
		{"HIGH:!aNULL:!MD5", ecdheSuites(), 1},
		{"ECDHE-RSA-AES256-GCM-SHA384", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}, 0},
		{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,AES128-SHA", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA}, 0},
		{"EECDH+AESGCM:!ECDHE-RSA-AES128-GCM-SHA256", without(ecdheSuites(), tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), 1},
		{"DHE-RSA-AES256-GCM-SHA384", nil, 2},
		{"TLS_AES_256_GCM_SHA384:@STRENGTH", nil, 1},
	}
	for _, tt := range tests {
		got, notes := parseCipherList(tt.value)
		if !slices.Equal(got, tt.want) || len(notes) != tt.wantNotes {
			t.Errorf("parseCipherList(%q) = %x, %q, want %x and %d notes", tt.value, got, notes, tt.want, tt.wantNotes)
		}
	}
}

// ecdheSuites are Go's ECDHE suites for TLS 1.2.
func ecdheSuites() []uint16 {
	var ids []uint16
	for _, cs := range tls.CipherSuites() {
		if strings.HasPrefix(cs.Name, "TLS_ECDHE_") && slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			ids = append(ids, cs.ID)
		}
	}
	return ids
}

func without(ids []uint16, id uint16) []uint16 {
	return slices.DeleteFunc(ids, func(x uint16) bool { return x == id })
}

func TestVersionRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		allowed         tlsVersions
		lo, hi          int
		wantGap, wantOK bool
	}{
		{tlsVersions{false, false, true, true}, 2, 3, false, true},
		{tlsVersions{true, true, false, true}, 0, 1, true, true},
		{tlsVersions{false, false, false, true}, 3, 3, false, true},
		{tlsVersions{}, 0, 0, false, false},
	}
	for _, tt := range tests {
		lo, hi, gap, ok := versionRange(tt.allowed)
		if lo != tt.lo || hi != tt.hi || gap != tt.wantGap || ok != tt.wantOK {
			t.Errorf("versionRange(%v) = %d, %d, %v, %v, want %d, %d, %v, %v", tt.allowed, lo, hi, gap, ok, tt.lo, tt.hi, tt.wantGap, tt.wantOK)
		}
	}
}

// TestTLSConfigClientCA checks that clientca= makes the port require a
// client certificate signed by those CAs, as Squid does, in real
// handshakes over a pipe.
func TestTLSConfigClientCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	server := newTestCert(t, dir, "server", 1, false, "s.test")
	client := newTestCert(t, dir, "client", 2, false, "client.test")
	stranger := newTestCert(t, dir, "stranger", 3, false, "stranger.test")
	p := squidconf.HTTPPort{
		Certs:   []squidconf.TLSCert{{CertFile: server.certFile, KeyFile: server.keyFile}},
		Options: []string{"tls-clientca=" + client.certFile},
	}
	config, err := tlsConfig(p, func(format string, args ...any) { t.Errorf("note: "+format, args...) })
	if err != nil {
		t.Fatal(err)
	}
	if config.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("ClientAuth = %v, want RequireAndVerifyClientCert", config.ClientAuth)
	}
	handshake := func(certs ...testCert) error {
		var chain []tls.Certificate
		for _, c := range certs {
			kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
			if err != nil {
				t.Fatal(err)
			}
			chain = append(chain, kp)
		}
		cc, sc := net.Pipe()
		defer cc.Close()
		defer sc.Close()
		srv := tls.Server(sc, config)
		done := make(chan error, 1)
		go func() { done <- srv.Handshake(); sc.Close() }()
		cl := tls.Client(cc, &tls.Config{ServerName: "s.test", RootCAs: pool(server), Certificates: chain})
		cl.Handshake() // TLS 1.3: the client learns of a refusal on its first read
		cc.Close()
		return <-done
	}
	if err := handshake(client); err != nil {
		t.Errorf("handshake with a client certificate of the CA: %v", err)
	}
	if err := handshake(); err == nil {
		t.Error("handshake without a client certificate succeeded")
	}
	if err := handshake(stranger); err == nil {
		t.Error("handshake with a client certificate of another CA succeeded")
	}
}
