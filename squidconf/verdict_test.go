package squidconf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// tlsFiles builds a MapFS from name, kind pairs, kind being "cert" (a
// certificate alone), "key" (its private key) or "combined" (both), from
// the test certificate in testdata/etc/squid/tls.
func tlsFiles(pairs ...string) fstest.MapFS {
	src := map[string]string{
		"combined": "example.com.pem",
		"cert":     "example.net.pem",
		"key":      "example.net.key",
		"leaf":     "leaf.pem",
	}
	m := fstest.MapFS{}
	for i := 0; i+1 < len(pairs); i += 2 {
		b, err := os.ReadFile(filepath.Join("testdata", "etc", "squid", "tls", src[pairs[i+1]]))
		if err != nil {
			b = []byte("unreadable test file: " + err.Error())
		}
		m[pairs[i]] = &fstest.MapFile{Data: b}
	}
	return m
}

func TestSeverityString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Severity
		want string
	}{
		{SeverityNotice, "notice"},
		{SeverityWarning, "warning"},
		{SeverityError, "error"},
		{Severity(7), "Severity(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := tt.in.String(); got != tt.want {
				t.Errorf("Severity(%d).String() = %q, want %q", uint8(tt.in), got, tt.want)
			}
		})
	}
}

func TestDiagnosticString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Diagnostic
		want string
	}{
		{"directive", Diagnostic{Severity: SeverityWarning, Pos: Pos{"squid.conf", 3}, Directive: "cache_mem", Msg: "m"},
			"squid.conf:3: cache_mem: m"},
		{"no directive", Diagnostic{Pos: Pos{"squid.conf", 3}, Msg: "m"}, "squid.conf:3: m"},
		{"included", Diagnostic{Pos: Pos{"a.conf", 1}, Msg: "m", IncludedFrom: []Pos{{"b.conf", 2}, {"squid.conf", 40}}},
			"a.conf:1: m (included from b.conf:2, squid.conf:40)"},
		{"whole file", Diagnostic{Severity: SeverityError, Pos: Pos{File: "x.conf"}, Msg: "m"}, "x.conf: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.in.String(); got != tt.want {
				t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// findingText formats ds as "file:line severity directive|message", one a
// line.
func findingText(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Pos.String() + " " + d.Severity.String() + " " + d.Directive + "|" + d.Msg)
		for _, p := range d.IncludedFrom {
			b.WriteString(" <" + p.String())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestDiagnostics checks the severity given to each kind of finding and
// the order in which Diagnostics returns them.
func TestDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   string
		files fstest.MapFS
		want  string
	}{
		{name: "notice", src: "icp_port 0\n",
			want: "squid.conf:1 notice |'icp_port' has no effect in an accelerator: " + noteICP + "\n"},
		{name: "missing size unit", src: "cache_mem 64\n",
			want: "squid.conf:1 warning |No units on 'cache_mem 64', assuming 64 bytes\n"},
		{name: "obsolete directive", src: "broken_vary_encoding allow all\n",
			want: "squid.conf:1 warning |'broken_vary_encoding' is obsolete: " + noteSquid3 + "\n"},
		{name: "obsolete option", src: "refresh_pattern . 0 20% 4320 ignore-no-cache\n",
			want: "squid.conf:1 warning refresh_pattern|option 'ignore-no-cache' is obsolete. Remove it.\n"},
		{name: "unknown cache_peer option", src: "cache_peer h parent 80 0 bogus\n",
			want: "squid.conf:1 warning cache_peer|ignoring unknown cache_peer option 'bogus'\n"},
		{name: "deprecated spelling", src: "strip_query_terms enable\n",
			want: "squid.conf:1 warning strip_query_terms|'enable' is deprecated; use 'on'\n"},
		{name: "missing acl file", src: "acl a dstdomain \"/no/such\"\nhttp_access allow a\n",
			want: "squid.conf:1 warning acl|can not open file /no/such for reading (file does not exist); acl 'a' gets no values from it\n" +
				"squid.conf:1 warning |acl: empty ACL 'a' never matches\n"},
		{name: "errors and warnings in file order", src: "cache_mem 1\ncache_mem 1 furlongs\ncache_mem 2\nhttp_port 80a\n",
			want: "squid.conf:1 warning |No units on 'cache_mem 1', assuming 1 bytes\n" +
				"squid.conf:2 error cache_mem|unknown bytes unit 'furlongs'\n" +
				"squid.conf:3 warning |No units on 'cache_mem 2', assuming 2 bytes\n" +
				"squid.conf:4 error http_port|invalid port \"80a\"\n"},
		{name: "included files in order", src: "cache_mem 1\ninclude a.conf b.conf\ncache_mem 3\n",
			files: mapFS("a.conf", "\n\nhttp_port 80a\n", "b.conf", "cache_mem 2\n"),
			want: "squid.conf:1 warning |No units on 'cache_mem 1', assuming 1 bytes\n" +
				"a.conf:3 error http_port|invalid port \"80a\" <squid.conf:2\n" +
				"b.conf:1 warning |No units on 'cache_mem 2', assuming 2 bytes <squid.conf:2\n" +
				"squid.conf:3 warning |No units on 'cache_mem 3', assuming 3 bytes\n"},
		{name: "empty acl of an included file", src: "include a.conf\n",
			files: mapFS("a.conf", "acl a dstdomain \"/no/such\"\n"),
			want: "a.conf:1 warning acl|can not open file /no/such for reading (file does not exist); acl 'a' gets no values from it <squid.conf:1\n" +
				"a.conf:1 warning |acl: empty ACL 'a' never matches <squid.conf:1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseSrc(tt.src, tt.files, Options{})
			if got := findingText(Diagnostics(cfg, err)); got != tt.want {
				t.Errorf("Diagnostics(Parse(%q)) =\n%s\nwant\n%s", tt.src, got, tt.want)
			}
		})
	}
}

func TestDiagnosticsOtherError(t *testing.T) {
	t.Parallel()
	got := Diagnostics(nil, errors.New("boom"))
	want := []Diagnostic{{Severity: SeverityError, Msg: "boom"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diagnostics(nil, boom) = %#v, want %#v", got, want)
	}
}

// fakeDNS resolves the names of its map; the others do not exist.
type fakeDNS map[string][]string

func (f fakeDNS) lookup(ctx context.Context, host string) ([]string, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("lookup without a deadline")
	}
	if addrs, ok := f[host]; ok {
		return addrs, nil
	}
	return nil, errors.New("no such host")
}

// TestPortVerdicts checks the http_port and https_port lines Squid
// refuses although they look well formed: names that do not resolve,
// certificates that cannot be loaded, options of other builds.
func TestPortVerdicts(t *testing.T) {
	t.Parallel()
	dns := fakeDNS{"localhost": {"127.0.0.1"}, "www.example.com": {"192.0.2.1"}}
	tls := tlsFiles("cert.pem", "cert", "key.pem", "key", "combined.pem", "combined",
		"other.key", "cert", "empty.pem", "cert")
	tls["empty.pem"] = &fstest.MapFile{}
	tls["garbage.pem"] = &fstest.MapFile{Data: []byte("garbage\n")}
	tests := []struct {
		name        string
		src         string
		wantErr     string
		wantNotices string
	}{
		{name: "ip address", src: "http_port 192.0.2.9:80 accel"},
		{name: "localhost", src: "http_port localhost:80 accel"},
		{name: "resolvable name", src: "http_port www.example.com:80 accel"},
		{name: "ipv6", src: "http_port [::1]:80 accel"},
		{name: "unresolvable name", src: "http_port ip_of_squid:80 accel",
			wantErr: "squid.conf:1: http_port: failed to resolve Host/IP: ip_of_squid (no such host)"},
		{name: "unresolvable https name", src: "https_port external-ip:443 accel tls-cert=/combined.pem",
			wantErr: "squid.conf:1: https_port: failed to resolve Host/IP: external-ip (no such host)"},
		{name: "unexpanded variable", src: "https_port ${HTTPS_PORT} accel tls-cert=/combined.pem",
			wantErr: "squid.conf:1: https_port: missing port: ${HTTPS_PORT}"},

		{name: "combined certificate", src: "https_port 443 accel tls-cert=/combined.pem"},
		{name: "certificate and key", src: "https_port 443 accel tls-cert=/cert.pem tls-key=/key.pem"},
		{name: "openssl names", src: "https_port 443 accel cert=/cert.pem key=/key.pem"},
		{name: "second key replaces the first", src: "https_port 443 accel tls-cert=/cert.pem tls-key=/cert.pem tls-key=/key.pem"},
		{name: "http_port certificate", src: "http_port 80 accel tls-cert=/combined.pem"},
		{name: "missing certificate", src: "https_port 443 accel tls-cert=/etc/squid/tls/example.net.pem",
			wantErr: "squid.conf:1: https_port: unable to load certificate file '/etc/squid/tls/example.net.pem': file does not exist"},
		{name: "missing openssl certificate", src: "https_port 443 accel cert=/path/to/cert.pem key=/key.pem",
			wantErr: "squid.conf:1: https_port: unable to load certificate file '/path/to/cert.pem': file does not exist"},
		{name: "missing key", src: "https_port 443 accel tls-cert=/cert.pem tls-key=/nokey.pem",
			wantErr: "squid.conf:1: https_port: unable to load private key file '/nokey.pem': file does not exist"},
		{name: "missing http_port certificate", src: "http_port 80 accel tls-cert=/none.pem",
			wantErr: "squid.conf:1: http_port: unable to load certificate file '/none.pem': file does not exist"},
		{name: "certificate without key", src: "https_port 443 accel tls-cert=/cert.pem",
			wantErr: "squid.conf:1: https_port: certificate '/cert.pem' (holding its key too, as no tls-key= follows): found a certificate rather than a key in the PEM for the private key"},
		{name: "key as certificate", src: "https_port 443 accel tls-cert=/key.pem",
			wantErr: "squid.conf:1: https_port: certificate '/key.pem' (holding its key too, as no tls-key= follows): " +
				"failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched"},
		{name: "not PEM", src: "https_port 443 accel tls-cert=/garbage.pem",
			wantErr: "squid.conf:1: https_port: certificate '/garbage.pem' (holding its key too, as no tls-key= follows): failed to find any PEM data in certificate input"},
		{name: "empty key", src: "https_port 443 accel tls-cert=/cert.pem tls-key=/empty.pem",
			wantErr: "squid.conf:1: https_port: certificate '/cert.pem' with key '/empty.pem': failed to find any PEM data in key input"},
		{name: "second certificate missing", src: "https_port 443 accel tls-cert=/combined.pem tls-cert=/none.pem",
			wantErr: "squid.conf:1: https_port: unable to load certificate file '/none.pem': file does not exist"},

		{name: "ssl-bump", src: "http_port 3128 ssl-bump",
			wantErr: "squid.conf:1: http_port: unknown http_port option 'ssl-bump': it needs Squid's OpenSSL build with SSL-Bump, which an accelerator does not use"},
		{name: "generate-host-certificates", src: "https_port 443 accel generate-host-certificates=on tls-cert=/combined.pem",
			wantErr: "squid.conf:1: https_port: unknown https_port option 'generate-host-certificates=on': it needs Squid's OpenSSL build with SSL-Bump, which an accelerator does not use"},
		{name: "dynamic_cert_mem_cache_size", src: "https_port 443 accel dynamic_cert_mem_cache_size=4MB tls-cert=/combined.pem",
			wantNotices: "squid.conf:1: https_port: option 'dynamic_cert_mem_cache_size=4MB' has no effect without generate-host-certificates (SSL-Bump); ignored"},
		{name: "require-proxy-header on https_port", src: "https_port 443 accel require-proxy-header tls-cert=/combined.pem",
			wantErr: "squid.conf:1: https_port: require-proxy-header option is not supported on HTTPS ports"},
		{name: "require-proxy-header on http_port", src: "http_port 80 accel require-proxy-header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseSrc(tt.src, tls, Options{LookupHost: dns.lookup})
			if got := errText(err); got != tt.wantErr {
				t.Errorf("Parse(%q) errors =\n%s\nwant\n%s", tt.src, got, tt.wantErr)
			}
			if got := noticeText(cfg); tt.wantNotices != "" && got != tt.wantNotices {
				t.Errorf("Parse(%q) notices =\n%s\nwant\n%s", tt.src, got, tt.wantNotices)
			}
		})
	}
}

// TestLookupTimeout checks that the default resolver gives up: a name
// that does not answer must not stall the parse.
func TestLookupTimeout(t *testing.T) {
	t.Parallel()
	slow := func(ctx context.Context, host string) ([]string, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	start := time.Now()
	_, err := parseSrc("http_port slow.example:80 accel\n", nil, Options{LookupHost: slow})
	want := "squid.conf:1: http_port: failed to resolve Host/IP: slow.example (context deadline exceeded)"
	if got := errText(err); got != want {
		t.Errorf("Parse(slow name) errors = %q, want %q", got, want)
	}
	if d := time.Since(start); d > LookupTimeout+time.Second {
		t.Errorf("Parse(slow name) took %v, want about %v", d, LookupTimeout)
	}
}
