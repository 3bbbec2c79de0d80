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
// notices, and the difference between nil and empty lists. It clears
// them in cfg.
func canonicalDump(cfg *Config) string {
	cfg.Notices = nil
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
		if name == "Notices" {
			continue
		}
		if n := printed[name]; n != 1 {
			t.Errorf("Config.%s is written by %d printers of configPrinters, want 1: "+
				"add it to format.go so that Format writes it", name, n)
		}
		delete(printed, name)
	}
	for name := range printed {
		if name != "Notices" {
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
		{name: "scalars", src: "cache_mem 64 MB\nmaximum_object_size none\nshutdown_lifetime 1500 milliseconds\n" +
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
