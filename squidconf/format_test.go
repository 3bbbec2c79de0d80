package squidconf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// canonicalDump is dump(cfg) without what Format cannot keep: positions,
// notices and unapplied warnings, and the difference between nil and empty lists. It clears
// them in cfg.
func canonicalDump(cfg *Config) string {
	cfg.Notices, cfg.Unapplied = nil, nil
	canonicalize(reflect.ValueOf(cfg).Elem())
	return dump(cfg)
}

// canonicalize sets every Pos reachable from v to its zero value and
// every empty slice to nil.
func canonicalize(v reflect.Value) {
	if v.Type() == posType {
		if v.CanSet() {
			v.Set(reflect.Zero(posType))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			canonicalize(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			canonicalize(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 && v.CanSet() {
			v.Set(reflect.Zero(v.Type()))
		}
		for i := range v.Len() {
			canonicalize(v.Index(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			canonicalize(v.Index(i))
		}
	}
}

// checkFormatRoundTrip formats cfg, parses the text with opts (those cfg
// was parsed with: certificate files are read again) and compares the
// result with cfg. It returns the text.
func checkFormatRoundTrip(t *testing.T, name string, cfg *Config, opts Options) string {
	t.Helper()
	var b strings.Builder
	if err := cfg.Format(&b); err != nil {
		t.Fatalf("%s: Format() = %v, want no error", name, err)
	}
	text := b.String()
	again, err := Parse("formatted.conf", []byte(text), opts)
	if err != nil {
		t.Fatalf("%s: Parse(Format()) = %v, want no error; the text:\n%s", name, err, text)
	}
	if got, want := canonicalDump(again), canonicalDump(cfg); got != want {
		t.Fatalf("%s: Parse(Format()) differs from the config:\n%s\nthe text:\n%s", name, diffLines(want, got), text)
	}
	return text
}

// TestFormatFields checks that the printers of Format cover every field
// of Config once (Notices aside): a field added to Config must be added
// to configPrinters in format.go.
func TestFormatFields(t *testing.T) {
	t.Parallel()
	printed := make(map[string]int)
	for _, fp := range configPrinters {
		for _, name := range fp.fields {
			printed[name]++
		}
	}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		name := ct.Field(i).Name
		if name == "Notices" || name == "Unapplied" {
			continue
		}
		if n := printed[name]; n != 1 {
			t.Errorf("Config.%s is written by %d printers of configPrinters, want 1: "+
				"add it to format.go so that Format writes it", name, n)
		}
		delete(printed, name)
	}
	for name := range printed {
		if name != "Notices" && name != "Unapplied" {
			t.Errorf("configPrinters names Config.%s, which does not exist", name)
		}
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "defaults", src: "",
			want: "access_log stdio:/var/log/squid/access.log squid\n"},
		{name: "scalars", src: "cache_mem 64 MB\nmaximum_object_size none\nshutdown_lifetime 1.5 seconds\n" +
			"strip_query_terms off\npid_filename none\nvisible_hostname cdn.example.com\n",
			want: "cache_mem 67108864 bytes\nmaximum_object_size none\naccess_log stdio:/var/log/squid/access.log squid\n" +
				"visible_hostname cdn.example.com\npid_filename none\nshutdown_lifetime 1 seconds\nstrip_query_terms off\n"},
		{name: "accelerator", src: "http_port 80 accel defaultsite=www.example.com\n" +
			"cache_peer 10.0.0.1 parent 8080 0 no-query originserver name=web\n" +
			"acl site dstdomain www.example.com\ncache_peer_access web allow site\nhttp_access allow site\n" +
			"http_access deny all\nrefresh_pattern -i \\.css$ 60 50% 1440 override-lastmod\n",
			want: "acl site dstdomain www.example.com\nhttp_port 80 accel defaultsite=www.example.com\n" +
				"cache_peer 10.0.0.1 parent 8080 0 no-query originserver name=web\ncache_peer_access web allow site\n" +
				"http_access allow site\nhttp_access deny all\nrefresh_pattern -i \\.css$ 60 50% 1440 override-lastmod\n" +
				"access_log stdio:/var/log/squid/access.log squid\n"},
		{name: "acl lines merged", src: "acl a url_regex -i ^http://a/\nacl a url_regex ^http://b/\nacl all src 10.0.0.0/8\n",
			want: "acl all src 10.0.0.0/8\nacl a url_regex -i ^http://a/ +i ^http://b/\n" +
				"access_log stdio:/var/log/squid/access.log squid\n"},
		{name: "any-of naming a later acl", src: "acl a src 10.0.0.1\nacl g any-of a\nacl b src 10.0.0.2\nacl g any-of b\n",
			want: "acl a src 10.0.0.1\nacl g any-of a\nacl b src 10.0.0.2\nacl g any-of b\n" +
				"access_log stdio:/var/log/squid/access.log squid\n"},
		{name: "logformat and access_log", src: "logformat t %ts %ru # not a comment\n" +
			"access_log daemon:/var/log/a.log t\naccess_log stdio:/var/log/b.log logformat=squid rotate=3\n",
			want: "logformat t %ts %ru # not a comment\naccess_log daemon:/var/log/a.log t\n" +
				"access_log stdio:/var/log/b.log logformat=squid rotate=3\n"},
		{name: "quoted values", src: "configuration_includes_quoted_values on\nvisible_hostname \"a b\"\n" +
			"configuration_includes_quoted_values off\nacl r url_regex x\n",
			want: "acl r url_regex x\naccess_log stdio:/var/log/squid/access.log squid\n" +
				"configuration_includes_quoted_values on\nvisible_hostname \"a b\"\nconfiguration_includes_quoted_values off\n"},
		{name: "quoted values stay on", src: "configuration_includes_quoted_values on\ncache_log \"/a b/${service_name}\"\n",
			want: "access_log stdio:/var/log/squid/access.log squid\nconfiguration_includes_quoted_values on\n" +
				"cache_log \"/a b/squid\"\n"},
		{name: "trailing backslash", src: "visible_hostname a\\ \n",
			want: "access_log stdio:/var/log/squid/access.log squid\nvisible_hostname a\\ \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseSrc(tt.src, nil, Options{})
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.src, err)
			}
			if got := checkFormatRoundTrip(t, tt.name, cfg, Options{FS: mapFS()}); got != tt.want {
				t.Errorf("Format(Parse(%q)) =\n%s\nwant\n%s", tt.src, got, tt.want)
			}
		})
	}
}

// TestFormatRoundTrip formats the configs of testdata and of the corpus
// and parses them back.
func TestFormatRoundTrip(t *testing.T) {
	t.Parallel()
	var files []string
	golden, _ := filepath.Glob(filepath.Join("testdata", "*.conf"))
	files = append(files, golden...)
	corpus, _ := filepath.Glob(filepath.Join(corpusDir, "parse-ready", "*.conf"))
	files = append(files, corpus...)
	for _, path := range files {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			dir, name := filepath.Dir(path), filepath.Base(path)
			opts := Options{FS: os.DirFS(dir)}
			if strings.HasPrefix(dir, corpusDir) {
				opts.FS, name = corpusFS(), "parse-ready/"+name
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if g, err := goldenOptions(src); err == nil {
				opts.ProcessNumber, opts.ProcessName, opts.ServiceName = g.ProcessNumber, g.ProcessName, g.ServiceName
			}
			cfg, err := ParseFile(name, opts)
			if err != nil {
				t.Skipf("ParseFile(%s) = %v: nothing to format", name, err)
			}
			checkFormatRoundTrip(t, name, cfg, opts)
		})
	}
}

func TestFormatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *Config
		want string
	}{
		{name: "regex with a leading '#'",
			cfg:  &Config{RefreshPatterns: []RefreshPattern{{Regex: "#x", LMFactor: 0.2, Percent: 20, MaxStale: -1}}},
			want: `squidconf: format: refresh_pattern: cannot write ["#x" "0" "20%" "0"]`},
		{name: "refresh_pattern minutes",
			cfg:  &Config{RefreshPatterns: []RefreshPattern{{Regex: ".", Min: time.Second, LMFactor: 0.2, Percent: 20}}},
			want: "squidconf: format: refresh_pattern .: cannot write min 1s, percent 0.2, max 0s"},
		{name: "percent that does not read back",
			cfg:  &Config{RefreshPatterns: []RefreshPattern{{Regex: ".", LMFactor: 0.2, Percent: 7}}},
			want: "squidconf: format: refresh_pattern .: cannot write min 0s, percent 0.2, max 0s"},
		{name: "regex ending in an escaped space",
			cfg:  &Config{ACLs: []*ACL{{Name: "r", Type: "url_regex", Values: []string{`a\ `}}}},
			want: `squidconf: format: acl: cannot write ["r" "url_regex" "a\\ "]`},
		{name: "acl value naming a file in a regex acl",
			cfg:  &Config{ACLs: []*ACL{{Name: "r", Type: "url_regex", Values: []string{`"x`}}}},
			want: `squidconf: format: acl: cannot write ["r" "url_regex" "\"x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			err := tt.cfg.Format(&b)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Format() = %v, want %s", err, tt.want)
			}
			if b.Len() != 0 {
				t.Errorf("Format() wrote %q after an error, want nothing", b.String())
			}
		})
	}
}

func TestFormatWriteError(t *testing.T) {
	t.Parallel()
	want := errors.New("disk full")
	if err := (&Config{}).Format(failWriter{want}); !errors.Is(err, want) {
		t.Errorf("Format(failing writer) = %v, want %v", err, want)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{30 * time.Second, "30 seconds"},
		{1500 * time.Millisecond, "1.5 seconds"},
		{time.Nanosecond, "0.000000001 seconds"},
		{-2 * time.Minute, "-120 seconds"},
		{time.Duration(1<<62 + 1), ""},
	}
	for _, tt := range tests {
		got, ok := formatDuration(tt.in, true, nil)
		if !ok {
			got = ""
		}
		if got != tt.want {
			t.Errorf("formatDuration(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFormatRoundTripCases formats configs that exercise the corners of
// Format and parses them back.
func TestFormatRoundTripCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
	}{
		{"built-in acl extended", "acl manager url_regex -i ^http://x/admin\nacl all src -n 10.0.0.0/8\nacl localhost src 10.1.1.1\n"},
		{"regex acl without a first value", "acl a url_regex\nacl a url_regex -i x\nacl a url_regex y\n"},
		{"flags after --", "acl a dstdomain -- .a.example\nacl a dstdomain -n .b.example\n"},
		{"value that looks like a flag", "acl a dstdomain -- -i\n"},
		{"header acl", "acl h req_header X-Foo -i ^a\nacl h req_header X-Foo b\n"},
		{"groups", "acl a src 10.0.0.1\nacl g all-of a\nacl b src 10.0.0.2\nacl g all-of b a\nhttp_access allow g\n"},
		{"group naming a later acl only", "acl g any-of\nacl a src 10.0.0.1\nacl g any-of a\n"},
		{"acl file value", "acl d dstdomain \"list.txt\" .x.example\n"},
		{"quoted acl values", "configuration_includes_quoted_values on\nacl d dstdomain '\"q.example' parameters(\"list.txt\")\n"},
		{"literal parameters()", "acl d dstdomain parameters(x)\n"},
		{"quoted logformat", "configuration_includes_quoted_values on\nlogformat q \" %ts \\t%ru \"\nlogformat r 'x'\n"},
		{"logformat with a quote", "logformat q \"%ts\" %ru\naccess_log stdio:/x q !all\n"},
		{"access_log forms", "logformat a=b %ts\naccess_log /l1 logformat=a=b all\naccess_log none all\naccess_log syslog:daemon.info common\n"},
		{"header add and replace", "request_header_add X-A \"%>a v\" all\nrequest_header_add X-B plain\n" +
			"reply_header_replace Server my server # not a comment\nrequest_header_access Cookie deny all\n" +
			"request_header_access cookie allow all\nhttp_upgrade_request_protocols WebSocket allow all\n"},
		{"auth", "auth_param basic program /usr/lib/squid/basic_ncsa_auth \"/etc/squid/pass wd\"\nauth_param basic children 5 startup=1\n" +
			"auth_param basic realm Our Site\nauth_param basic credentialsttl 90 minutes\nauth_param digest nonce_max_duration 30 minutes\n" +
			"auth_param digest nonce_max_count 5\nauth_param digest post_workaround on\nacl u proxy_auth REQUIRED\nhttp_access allow u\n"},
		{"delay pools", "delay_pools 3\ndelay_class 1 2\ndelay_parameters 1 none 8000/-5\ndelay_access 1 allow all\ndelay_class 3 1\n" +
			"delay_initial_bucket_level 75\n"},
		{"replacement policies", "cache_dir ufs /a 100 16 256\ncache_replacement_policy heap LFUDA\ncache_dir rock /b 100\n" +
			"cache_dir aufs /c 100 16 256\ncache_replacement_policy lru\nmemory_replacement_policy heap GDSF\n"},
		{"times and sizes", "shutdown_lifetime 1.5 seconds\nread_timeout 90 seconds\nclient_lifetime 2 weeks\nnegative_ttl 0\n" +
			"quick_abort_min -1 KB\nquick_abort_max 1 MB\nquick_abort_pct 80\nrange_offset_limit none all\nrange_offset_limit 1 MB\n" +
			"reply_body_max_size 10 MB !all\nrequest_body_max_size 5 MB\nmaximum_object_size 1.5 GB\n"},
		{"scalars", "workers 4\ncoredump_dir none\ncache_effective_user squid\ncache_effective_group squid\nvia off\n" +
			"httpd_suppress_version_string on\nforwarded_for delete\nunique_hostname u.example\ndebug_options ALL,1 33,2\n" +
			"logfile_rotate 3\ncache_swap_low 80\ncache_swap_high 85\nmax_filedescriptors 4096\nclient_ip_max_connections 10\n"},
		{"deny_info", "acl a src 10.0.0.1\ndeny_info ERR_CUSTOM a\ndeny_info 303:http://example.com/ a\ndeny_info TCP_RESET A\n"},
		{"refresh_pattern corners", "refresh_pattern +i -i 0 33.3% 10\nrefresh_pattern -i +i 5 1e3% 6 max-stale=60 ignore-no-cache\n"},
		{"macros in values", "configuration_includes_quoted_values on\nvisible_hostname \"$\\{service_name}\"\nconfiguration_includes_quoted_values off\n"},
		{"backslashes", "visible_hostname a\\\\ \nacl r url_regex a\\ b\\\\ \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := mapFS("list.txt", ".example.com\nwww.example.net\n")
			cfg, err := parseSrc(tt.src, fsys, Options{})
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.src, err)
			}
			checkFormatRoundTrip(t, tt.name, cfg, Options{FS: fsys})
		})
	}
}
