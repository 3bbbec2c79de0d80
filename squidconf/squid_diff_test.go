package squidconf

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// squidTimeout bounds one squid -k parse run.
const squidTimeout = 10 * time.Second

// squidVariant is a small config of the differential test: files holds
// squid.conf and the files it names, all written to one directory, which
// is the current directory of both parsers. "$DIR" in a file stands for
// that directory and "$TLS" for the directory of the test certificate:
// cert.pem, key.pem, combined.pem (both) and leaf.pem (a certificate
// that is not a CA).
type squidVariant struct {
	name  string
	files map[string]string

	// differs, if set, says why cuttle's verdict is not Debian's Squid's
	// on purpose; the test then checks that they do differ.
	differs string
}

// squidVariants are configs that exercise Squid's fatal errors and its
// warnings (which must stay warnings).
func squidVariants() []squidVariant {
	return []squidVariant{
		{name: "accelerator", files: map[string]string{"squid.conf": "http_port 3128 accel defaultsite=www.example.com\n" +
			"cache_peer 127.0.0.1 parent 8080 0 no-query originserver name=web\nhttp_access allow all\n"}},
		{name: "size unit unknown", files: map[string]string{"squid.conf": "cache_mem 64 furlongs\n"}},
		{name: "size unit missing", files: map[string]string{"squid.conf": "cache_mem 64\nmaximum_object_size 4096\n"}},
		{name: "size not a number", files: map[string]string{"squid.conf": "maximum_object_size abc KB\n"}},
		{name: "time unit missing", files: map[string]string{"squid.conf": "shutdown_lifetime 5\n"}},
		{name: "time unit unknown", files: map[string]string{"squid.conf": "shutdown_lifetime 5 fortnights\n"}},
		{name: "time unit too small", files: map[string]string{"squid.conf": "shutdown_lifetime 1500 milliseconds\n"}},
		{name: "time continued over lines", files: map[string]string{"squid.conf": "cache_mem 64 \\\n  furlongs\n"}},
		{name: "time unit given", files: map[string]string{"squid.conf": "shutdown_lifetime 5 seconds\nconnect_timeout 1 minute\n"}},
		{name: "unknown directive", files: map[string]string{"squid.conf": "frobnicate on\n"}},
		{name: "misspelt directive", files: map[string]string{"squid.conf": "cache_memory 64 MB\n"}},
		{name: "obsolete directive", files: map[string]string{"squid.conf": "hierarchy_stoplist cgi-bin ?\nbroken_vary_encoding allow all\n"}},
		{name: "bad boolean", files: map[string]string{"squid.conf": "collapsed_forwarding maybe\n"}},
		{name: "deprecated boolean", files: map[string]string{"squid.conf": "strip_query_terms enable\n"}},
		{name: "unknown acl type", files: map[string]string{"squid.conf": "acl x frobtype y\n"}},
		{name: "acl type missing", files: map[string]string{"squid.conf": "acl x\n"}},
		{name: "bad src address", files: map[string]string{"squid.conf": "acl x src 1.2.3.400\n"}},
		{name: "undefined acl in http_access", files: map[string]string{"squid.conf": "http_access allow nosuch\n"}},
		{name: "http_access without action", files: map[string]string{"squid.conf": "acl a src all\nhttp_access a\n"}},
		{name: "acl of a missing file", files: map[string]string{"squid.conf": "acl x dstdomain \"/nonexistent/sites.txt\"\nhttp_access deny x\n"}},
		{name: "acl of a file", files: map[string]string{"squid.conf": "acl x dstdomain \"sites.txt\"\nhttp_access deny x\n",
			"sites.txt": ".example.com\n# comment\nexample.org\n"}},
		{name: "duplicate cache_peer name", files: map[string]string{"squid.conf": "cache_peer a parent 80 0 name=p\ncache_peer b parent 80 0 name=p\n"}},
		{name: "cache_peer unknown option", files: map[string]string{"squid.conf": "cache_peer a parent 80 0 bogus-option\n"}},
		{name: "cache_peer unknown type", files: map[string]string{"squid.conf": "cache_peer a parnet 80 0\n"}},
		{name: "cache_peer_access unknown peer", files: map[string]string{"squid.conf": "cache_peer_access nosuch allow all\n"}},
		{name: "dstdomain overlap", files: map[string]string{"squid.conf": "acl s dstdomain .example.com www.example.com\n"}},
		{name: "dstdomain overlap across lines", files: map[string]string{"squid.conf": "acl s dstdomain www.example.com\nacl s dstdomain .example.com\n"}},
		{name: "dstdomain wildcard after its subdomain", files: map[string]string{"squid.conf": "acl s dstdomain www.example.com .example.com\n"}},
		{name: "dstdomain domain and wildcard", files: map[string]string{"squid.conf": "acl s dstdomain example.com .example.com\n"}},
		{name: "dstdomain twice in other case", files: map[string]string{"squid.conf": "acl s dstdomain www.example.com\nacl s dstdomain WWW.example.com\n"}},
		{name: "bad url_regex", files: map[string]string{"squid.conf": "acl r url_regex (a\nacl p urlpath_regex (a)\\1\nhttp_access deny r p\n"}},
		{name: "bad req_header regex", files: map[string]string{"squid.conf": "acl h req_header X-Foo [\n"}},
		{name: "regex ending in a backslash", files: map[string]string{"squid.conf": "acl r url_regex a\\ \n"}},
		{name: "dst of an unresolvable host", files: map[string]string{"squid.conf": "acl d dst nosuchhost.invalid\nhttp_access deny d\n"}},
		{name: "empty acl in http_access", files: map[string]string{"squid.conf": "acl e dstdomain \"empty.txt\"\nhttp_access deny e\n", "empty.txt": ""}},
		{name: "http_port missing certificate", files: map[string]string{"squid.conf": "http_port 3128 accel tls-cert=/nonexistent/cert.pem\n"}},
		{name: "https_port key twice", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/cert.pem tls-key=$TLS/cert.pem tls-key=$TLS/key.pem\n"}},
		{name: "https_port key before certificate", files: map[string]string{"squid.conf": "https_port 8443 accel tls-key=$TLS/key.pem tls-cert=$TLS/cert.pem\n"}},
		{name: "http_port ssl-bump", files: map[string]string{"squid.conf": "http_port 3128 ssl-bump tls-cert=$TLS/combined.pem\n"}},
		{name: "http_port unknown option value", files: map[string]string{"squid.conf": "http_port 3128 accel vhost=1\n"}},
		{name: "dstdomain no overlap", files: map[string]string{"squid.conf": "acl s dstdomain .example.com .example.org\n"}},
		{name: "include of a missing file", files: map[string]string{"squid.conf": "include /nonexistent/extra.conf\n"}},
		{name: "include of an empty glob", files: map[string]string{"squid.conf": "include conf.d/*.conf\n", "conf.d/README": "x\n"}},
		{name: "include of a bad file", files: map[string]string{"squid.conf": "include conf.d/*.conf\n", "conf.d/a.conf": "cache_mem 1 furlongs\n"}},
		{name: "include of a good file", files: map[string]string{"squid.conf": "include conf.d/*.conf\n", "conf.d/a.conf": "cache_mem 1 MB\n"}},
		{name: "include loop", files: map[string]string{"squid.conf": "include squid.conf\n"}},
		{name: "if without endif", files: map[string]string{"squid.conf": "if ${process_number} = 1\ncache_mem 1 MB\n"}},
		{name: "else without if", files: map[string]string{"squid.conf": "else\n"}},
		{name: "endif without if", files: map[string]string{"squid.conf": "endif\n"}},
		{name: "if with a bad condition", files: map[string]string{"squid.conf": "if maybe\nendif\n"}},
		{name: "if and else", files: map[string]string{"squid.conf": "if ${process_number} = 0\ncache_mem 1 MB\nelse\ncache_mem 1 furlongs\nendif\n"}},
		{name: "unknown http_port option", files: map[string]string{"squid.conf": "http_port 3128 accel frobnicate\n"}},
		{name: "defaultsite before accel", files: map[string]string{"squid.conf": "http_port 3128 defaultsite=www.example.com accel\n"}},
		{name: "vhost without accel", files: map[string]string{"squid.conf": "http_port 3128 vhost\n"}},
		{name: "http_port unresolvable host", files: map[string]string{"squid.conf": "http_port nosuchhost.invalid:3128 accel\n"}},
		{name: "http_port localhost", files: map[string]string{"squid.conf": "http_port localhost:3128 accel\n"}},
		{name: "http_port template", files: map[string]string{"squid.conf": "http_port ${HTTP_PORT}\n"}},
		{name: "http_port zero", files: map[string]string{"squid.conf": "http_port 0\n"}},
		{name: "http_port without host", files: map[string]string{"squid.conf": "http_port :3128\n"}},
		{name: "https_port without certificate", files: map[string]string{"squid.conf": "https_port 8443 accel\n"}},
		{name: "https_port", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem\n"}},
		{name: "https_port key file", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/cert.pem tls-key=$TLS/key.pem\n"}},
		{name: "https_port missing certificate", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=/nonexistent/cert.pem\n"}},
		{name: "https_port certificate without key", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/cert.pem\n"}},
		{name: "https_port key as certificate", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/key.pem\n"}},
		{name: "https_port missing key", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/cert.pem tls-key=/nonexistent/key.pem\n"}},
		{name: "https_port ssl-bump options", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem generate-host-certificates=on\n"}},
		{name: "https_port dynamic_cert_mem_cache_size", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem dynamic_cert_mem_cache_size=4MB\n"}},
		{name: "https_port require-proxy-header", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem require-proxy-header\n"}},
		{name: "https_port openssl cert=", files: map[string]string{"squid.conf": "https_port 8443 accel cert=$TLS/combined.pem\n"},
			differs: "cert= is the OpenSSL builds' name for tls-cert=, which cuttle reads as they do; Debian's GnuTLS build rejects it"},
		{name: "https_port tls-min-version", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem tls-min-version=1.2\n"},
			differs: "Squid 5.7's GnuTLS build turns tls-min-version=1.2 into a priority string GnuTLS refuses; the OpenSSL builds accept it"},
		{name: "https_port OpenSSL tls-options", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem tls-options=NO_SSLv3\n"},
			differs: "tls-options= takes OpenSSL names in the OpenSSL builds and GnuTLS priority strings in the GnuTLS build; cuttle checks neither"},
		{name: "refresh_pattern bad regex", files: map[string]string{"squid.conf": "refresh_pattern ( 0 20% 10\n"}},
		{name: "refresh_pattern missing field", files: map[string]string{"squid.conf": "refresh_pattern . 0 20%\n"}},
		{name: "refresh_pattern obsolete option", files: map[string]string{"squid.conf": "refresh_pattern . 0 20% 4320 ignore-no-cache\n"}},
		{name: "cache_dir unknown type", files: map[string]string{"squid.conf": "cache_dir coss $DIR/spool 100\n"}},
		{name: "cache_dir missing fan-out", files: map[string]string{"squid.conf": "cache_dir ufs $DIR/spool 100\n"}},
		{name: "cache_dir", files: map[string]string{"squid.conf": "cache_dir ufs $DIR/spool 100 16 256\n"}},
		{name: "logformat twice", files: map[string]string{"squid.conf": "logformat x %ts\nlogformat x %tr\n"}},
		{name: "access_log unknown format", files: map[string]string{"squid.conf": "access_log stdio:$DIR/access.log nosuchformat\n"}},
		{name: "visible_hostname without value", files: map[string]string{"squid.conf": "visible_hostname\n"}},
		{name: "continuation at the end", files: map[string]string{"squid.conf": "visible_hostname a\nvisible_hostname b\\"}},
		{name: "quoted values", files: map[string]string{"squid.conf": "configuration_includes_quoted_values on\nacl s dstdomain \"example.com\"\n"}},
		{name: "logformat unknown code", files: map[string]string{"squid.conf": "logformat x %ts %zz\n"}},
		{name: "logformat unknown code in a redefinition", files: map[string]string{"squid.conf": "logformat x %ts\nlogformat x %zz\nlogformat squid %zz\n"}},
		{name: "logformat percent at the end", files: map[string]string{"squid.conf": "logformat x %ts %\n"}},
		{name: "logformat code after its argument", files: map[string]string{"squid.conf": "logformat x %>{Host}h\n"}},
		{name: "logformat empty header name", files: map[string]string{"squid.conf": "logformat x %>h{}\n"}},
		{name: "logformat header element without name", files: map[string]string{"squid.conf": "logformat x %{:foo}>h\n"}},
		{name: "logformat note without name", files: map[string]string{"squid.conf": "logformat x %{:x}note\n"}},
		{name: "logformat zero after minus only", files: map[string]string{"squid.conf": "logformat x %0-ts\n"}},
		{name: "logformat unknown namespace code", files: map[string]string{"squid.conf": "logformat x %adapt::bogus\n"}},
		{name: "logformat http:: percent", files: map[string]string{"squid.conf": "logformat x %http::%\n"}},
		{name: "logformat PROXY protocol TLV out of range", files: map[string]string{"squid.conf": "logformat x %proxy_protocol::>h{256}\n"}},
		{name: "logformat PROXY protocol unknown pseudo header", files: map[string]string{"squid.conf": "logformat x %proxy_protocol::>h{:bogus}\n"}},
		{name: "logformat of the predefined formats", files: map[string]string{"squid.conf": "" +
			"logformat s %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt\n" +
			"logformat c %>a %[ui %[un [%tl] \"%rm %ru HTTP/%rv\" %>Hs %<st %Ss:%Sh\n" +
			"logformat cb %>a %[ui %[un [%tl] \"%rm %ru HTTP/%rv\" %>Hs %<st \"%{Referer}>h\" \"%{User-Agent}>h\" %Ss:%Sh\n" +
			"logformat r %ts.%03tu %>a %{Referer}>h %ru\n" +
			"logformat u %>a [%tl] \"%{User-Agent}>h\"\n" +
			"logformat timing %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt %<A %{Host}>h \"%{User-Agent}>h\"\n"}},
		{name: "logformat modifiers and arguments", files: map[string]string{"squid.conf": "" +
			"logformat m %\"ru %[un %#ru %/ru %'ru %-10.3tr %.3ts %.ts %03>Hs %>h{Host} %{Host:;x}>h %{%H}tl %% %%zz %{a}note %{a:}note\n" +
			"logformat n %adapt::sum_trs %{svc}adapt::all_trs %icap::tt %icap::<service_name %proxy_protocol::>h{224} %proxy_protocol::>h{:src_addr}\n" +
			"logformat o %tsX %http::>a %>ha %SRC %DATA %err_code/%err_detail %master_xaction %transport::>connection_id %>eui %credentials\n" +
			"logformat p %rp %Hs %>v %oa %rG %{X}ts{Y} %>h{X}{Y}\n"}},
		{name: "logformat OpenSSL code", files: map[string]string{"squid.conf": "logformat x %ssl::>sni\n"},
			differs: "ssl:: codes are known to Squid's OpenSSL builds, which cuttle follows with a notice; Debian's GnuTLS build refuses them"},
		{name: "request_header_add unknown code", files: map[string]string{"squid.conf": "request_header_add X-A \"%>a %zz\" all\n"}},
		{name: "reply_header_add unknown code", files: map[string]string{"squid.conf": "reply_header_add X-A \"%zz\" all\n"}},
		{name: "request_header_add percent at the end", files: map[string]string{"squid.conf": "request_header_add X-A \"100%\" all\n"}},
		{name: "request_header_add codes", files: map[string]string{"squid.conf": "request_header_add X-A \"%>a %% %{Host}>h\" all\n" +
			"request_header_add X-B 100% all\nrequest_header_add X-C %zz all\n"}},
		{name: "note with percent values", files: map[string]string{"squid.conf": "note a \"%zz\"\nnote b bar%\n"}},
		{name: "tcp_outgoing_address unresolvable", files: map[string]string{"squid.conf": "tcp_outgoing_address nosuchhost.invalid\n"}},
		{name: "tcp_outgoing_address undefined acl", files: map[string]string{"squid.conf": "tcp_outgoing_address 10.0.0.1 nosuchacl\n"}},
		{name: "tcp_outgoing_address", files: map[string]string{"squid.conf": "tcp_outgoing_address 10.0.0.1 all\n" +
			"tcp_outgoing_address localhost !all\ntcp_outgoing_address any_addr\ntcp_outgoing_address ::1\n"}},
		{name: "tcp_outgoing_address without value", files: map[string]string{"squid.conf": "tcp_outgoing_address\n"}},
		{name: "udp_incoming_address unresolvable", files: map[string]string{"squid.conf": "udp_incoming_address nosuchhost.invalid\n"}},
		{name: "udp_outgoing_address unresolvable", files: map[string]string{"squid.conf": "udp_outgoing_address nosuchhost.invalid\n"}},
		{name: "snmp_incoming_address unresolvable", files: map[string]string{"squid.conf": "snmp_incoming_address nosuchhost.invalid\n"}},
		{name: "snmp_outgoing_address unresolvable", files: map[string]string{"squid.conf": "snmp_outgoing_address nosuchhost.invalid\n"}},
		{name: "wccp2_router unresolvable", files: map[string]string{"squid.conf": "wccp2_router 10.0.0.1 nosuchhost.invalid\n"}},
		{name: "udp_incoming_address in brackets", files: map[string]string{"squid.conf": "udp_incoming_address [::1]\n"}},
		{name: "address directives", files: map[string]string{"squid.conf": "udp_incoming_address no_addr\nudp_outgoing_address full_mask\n" +
			"snmp_incoming_address localhost\nwccp2_address 10.0.0.1\nwccp2_router\n"}},
		{name: "https_port tls-clientca not a CA", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem tls-clientca=$TLS/leaf.pem\n"}},
		{name: "https_port tls-clientca a key", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem tls-clientca=$TLS/key.pem\n"}},
		{name: "https_port tls-clientca missing", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem tls-clientca=/nonexistent/ca.pem\n"}},
		{name: "http_port tls-clientca without TLS", files: map[string]string{"squid.conf": "http_port 3128 accel tls-clientca=$TLS/leaf.pem\n"}},
		{name: "https_port tls-clientca", files: map[string]string{"squid.conf": "https_port 8443 accel tls-cert=$TLS/combined.pem tls-clientca=$TLS/cert.pem\n"},
			differs: "Squid 5.7's GnuTLS build cannot load client CAs and refuses any tls-clientca=; the OpenSSL builds load a CA file"},
	}
}

// TestSquidDifferential runs Debian's squid -k parse and cuttle's parser
// on every corpus file, as published and parse-ready, and on
// squidVariants, and wants the same verdict: Squid's exit status is 1
// exactly when cuttle reports an error.
func TestSquidDifferential(t *testing.T) {
	t.Parallel()
	squid, err := exec.LookPath("squid")
	if err != nil {
		squid, err = exec.LookPath("/usr/sbin/squid")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("squid is not installed: %v", err)
		}
		t.Skipf("squid is not installed: %v", err)
	}
	tls := tlsFiles("cert.pem", "cert", "key.pem", "key", "combined.pem", "combined", "leaf.pem", "leaf")

	t.Run("corpus", func(t *testing.T) {
		t.Parallel()
		dir, err := filepath.Abs(corpusDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range readCorpusVerdicts(t) {
			t.Run(v.name, func(t *testing.T) {
				t.Parallel()
				compareWithSquid(t, squid, dir, v.name, "")
			})
		}
	})
	t.Run("variants", func(t *testing.T) {
		t.Parallel()
		for _, v := range squidVariants() {
			t.Run(v.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				if err := os.Mkdir(filepath.Join(dir, "spool"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.CopyFS(filepath.Join(dir, "tls"), tls); err != nil {
					t.Fatal(err)
				}
				for name, text := range v.files {
					text = strings.NewReplacer("$DIR", dir, "$TLS", filepath.Join(dir, "tls")).Replace(text)
					path := filepath.Join(dir, filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				compareWithSquid(t, squid, dir, "squid.conf", v.differs)
			})
		}
	})
}

// compareWithSquid parses name in dir with squid and with cuttle.
func compareWithSquid(t *testing.T, squid, dir, name, differs string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), squidTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, squid, "-k", "parse", "-f", name)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	squidExit := 0
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("squid -k parse -f %s: no answer within %v", name, squidTimeout)
	case errors.As(err, &exitErr):
		squidExit = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("squid -k parse -f %s: %v", name, err)
	}

	_, perr := ParseFile(name, Options{FS: cwdFS(dir)})
	cuttleExit := errExit(perr)
	switch {
	case differs != "" && cuttleExit == squidExit:
		t.Errorf("ParseFile(%s) exit %d, the same as squid's; the known difference (%s) is gone", name, cuttleExit, differs)
	case differs != "":
		t.Logf("known difference: %s", differs)
	case cuttleExit != squidExit:
		t.Errorf("ParseFile(%s) = %v, exit %d; want exit %d as squid -k parse:\n%s",
			name, perr, cuttleExit, squidExit, squidFindings(out))
	}
}

// squidFindings keeps the lines of Squid's output that explain a verdict.
func squidFindings(out []byte) string {
	var b strings.Builder
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "FATAL") || strings.Contains(line, "ERROR") ||
			strings.Contains(line, "WARNING") || strings.Contains(line, "UPGRADE") ||
			strings.Contains(line, "unrecognized") {
			b.WriteString("    " + line)
		}
	}
	return b.String()
}

// cwdFS reads the files a config names as the operating system does from
// the current directory dir: relative names from dir, absolute names from
// the root. (Options.FS sees both without their leading slash, so a name
// is looked up in dir first, then in the root.)
func cwdFS(dir string) fs.FS {
	return overlayFS{upper: fstest.MapFS{}, lower: fallbackFS{os.DirFS(dir), os.DirFS("/")}}
}

// fallbackFS opens a name in first, or else in second.
type fallbackFS struct{ first, second fs.FS }

func (f fallbackFS) Open(name string) (fs.File, error) {
	file, err := f.first.Open(name)
	if err == nil {
		return file, nil
	}
	return f.second.Open(name)
}
