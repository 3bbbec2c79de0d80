package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"cuttle/squidconf"
)

func TestFormatFinding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   squidconf.Diagnostic
		want string
	}{
		{"error", squidconf.Diagnostic{Severity: squidconf.SeverityError, Pos: squidconf.Pos{File: "squid.conf", Line: 12},
			Directive: "http_port", Msg: `invalid port "80a"`},
			`squid.conf:12: error: http_port: invalid port "80a"`},
		{"warning without directive", squidconf.Diagnostic{Severity: squidconf.SeverityWarning,
			Pos: squidconf.Pos{File: "squid.conf", Line: 3}, Msg: "No units on 'cache_mem 1', assuming 1 bytes"},
			"squid.conf:3: warning: No units on 'cache_mem 1', assuming 1 bytes"},
		{"included notice", squidconf.Diagnostic{Pos: squidconf.Pos{File: "conf.d/a.conf", Line: 2}, Msg: "m",
			IncludedFrom: []squidconf.Pos{{File: "main.conf", Line: 40}}},
			"conf.d/a.conf:2: notice: m (included from main.conf:40)"},
		{"whole file", squidconf.Diagnostic{Severity: squidconf.SeverityError, Pos: squidconf.Pos{File: "x.conf"},
			Msg: "unable to open configuration file: file does not exist"},
			"x.conf: error: unable to open configuration file: file does not exist"},
		{"no file", squidconf.Diagnostic{Severity: squidconf.SeverityError, Msg: "boom"}, "error: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := formatFinding(tt.in); got != tt.want {
				t.Errorf("formatFinding(%+v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitWiringLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want squidconf.Diagnostic
	}{
		{"squid.conf:3: http_port without accel: serving it as 'accel vhost'",
			squidconf.Diagnostic{Severity: squidconf.SeverityWarning, Pos: squidconf.Pos{File: "squid.conf", Line: 3},
				Msg: "http_port without accel: serving it as 'accel vhost'"}},
		{"c:/x:y.conf:10: a: b", squidconf.Diagnostic{Severity: squidconf.SeverityWarning,
			Pos: squidconf.Pos{File: "c:/x:y.conf", Line: 10}, Msg: "a: b"}},
		{"no position here", squidconf.Diagnostic{Severity: squidconf.SeverityWarning, Msg: "no position here"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := splitWiringLine(tt.in, squidconf.SeverityWarning); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitWiringLine(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// writeConf writes files (name, text pairs) into a new directory and
// returns the path of the first.
func writeConf(t *testing.T, pairs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(pairs); i += 2 {
		path := filepath.Join(dir, pairs[i])
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(pairs[i+1], "$DIR", dir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, pairs[0])
}

func TestParseOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		files    []string // name, text pairs; the first is the config
		wantExit int
		want     string // stderr, with $CONF for the config's path, $DIR for its directory
	}{
		{name: "clean",
			files: []string{"squid.conf", "http_port 3128 accel defaultsite=www.example.com\n" +
				"cache_peer 127.0.0.1 parent 8080 0 no-query originserver\n"},
			wantExit: 0, want: ""},
		{name: "warnings",
			files: []string{"squid.conf", "http_port 3128 accel\ncache_mem 64\n" +
				"cache_peer 127.0.0.1 parent 8080 0 no-query originserver\n"},
			wantExit: 0,
			want:     "$CONF:2: warning: No units on 'cache_mem 64', assuming 64 bytes\n"},
		{name: "errors go on",
			files: []string{"squid.conf", "http_port 3128 accel\ncache_mem 1 furlongs\ncache_mem 64\nhttp_port 80a\n" +
				"include $DIR/inc.conf\n", "inc.conf", "\nshutdown_lifetime 5\n"},
			wantExit: 1,
			want: "$CONF:2: error: cache_mem: unknown bytes unit 'furlongs'\n" +
				"$CONF:3: warning: No units on 'cache_mem 64', assuming 64 bytes\n" +
				"$CONF:4: error: http_port: invalid port \"80a\"\n" +
				"$DIR/inc.conf:2: error: shutdown_lifetime: missing time unit (included from $CONF:5)\n"},
		{name: "what cuttle does not serve",
			files:    []string{"squid.conf", "http_port 3128\n"},
			wantExit: 0,
			want:     "$CONF:1: warning: http_port without accel: cuttle is an accelerator only; serving it as 'accel vhost'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf := writeConf(t, tt.files...)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"-k", "parse", "-f", conf}, &stdout, &stderr)
			want := strings.NewReplacer("$CONF", conf, "$DIR", filepath.Dir(conf)).Replace(tt.want)
			if code != tt.wantExit || stderr.String() != want || stdout.Len() != 0 {
				t.Errorf("cuttle -k parse -f %s = exit %d, stderr\n%s\nstdout %q; want exit %d, stderr\n%s",
					tt.name, code, stderr.String(), stdout.String(), tt.wantExit, want)
			}
		})
	}
}

func TestParseMissingFile(t *testing.T) {
	t.Parallel()
	name := filepath.Join(t.TempDir(), "missing.conf")
	var stderr bytes.Buffer
	code := run(t.Context(), []string{"-k", "parse", "-f", name}, io.Discard, &stderr)
	want := name + ": error: unable to open configuration file: no such file or directory\n"
	if code != 1 || stderr.String() != want {
		t.Errorf("cuttle -k parse -f missing.conf = %d %q, want 1 %q", code, stderr.String(), want)
	}
}

func TestParseJSON(t *testing.T) {
	t.Parallel()
	conf := writeConf(t, "squid.conf", "http_port 3128 accel\ncache_mem 64\ninclude $DIR/inc.conf\nhttp_port 80a\n",
		"inc.conf", "icp_port 3130\n")
	inc := filepath.Join(filepath.Dir(conf), "inc.conf")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-k", "parse", "-f", conf, "--parse-format=json"}, &stdout, &stderr)
	if code != 1 || stderr.Len() != 0 {
		t.Fatalf("cuttle -k parse --parse-format=json = exit %d, stderr %q; want 1 and nothing", code, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("cuttle -k parse --parse-format=json: %v\n%s", err, stdout.String())
	}
	want := map[string]any{
		"file": conf, "errors": 1.0, "warnings": 1.0, "notices": 1.0,
		"findings": []any{
			map[string]any{"file": conf, "line": 2.0, "severity": "warning", "directive": "",
				"message": "No units on 'cache_mem 64', assuming 64 bytes", "included_from": []any{}},
			map[string]any{"file": inc, "line": 1.0, "severity": "notice", "directive": "",
				"message": "(any)", "included_from": []any{map[string]any{"file": conf, "line": 3.0}}},
			map[string]any{"file": conf, "line": 4.0, "severity": "error", "directive": "http_port",
				"message": `invalid port "80a"`, "included_from": []any{}},
		},
	}
	// The notice's wording belongs to the directive table.
	if fs, ok := got["findings"].([]any); ok {
		for _, f := range fs {
			if m, ok := f.(map[string]any); ok && m["severity"] == "notice" {
				m["message"] = "(any)"
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cuttle -k parse --parse-format=json =\n%s\nwant\n%#v", stdout.String(), want)
	}
	if !strings.HasSuffix(stdout.String(), "}\n") || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("cuttle -k parse --parse-format=json = %q, want one line", stdout.String())
	}
}

func TestParseFormatFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{nil, "text", false},
		{[]string{"--parse-format=json"}, "json", false},
		{[]string{"-parse-format", "text"}, "text", false},
		{[]string{"--parse-format=xml"}, "", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			_, cf, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr {
				if err == nil {
					t.Errorf("parseFlags(%q) = nil error, want an error", tt.args)
				}
				return
			}
			if err != nil || cf.parseFormat != tt.want {
				t.Errorf("parseFlags(%q) parse-format = %q, %v; want %q", tt.args, cf.parseFormat, err, tt.want)
			}
		})
	}
}

// TestParseFormatEnv cannot run in parallel: it sets the environment.
func TestParseFormatEnv(t *testing.T) {
	t.Setenv("CUTTLE_PARSE_FORMAT", "json")
	_, cf, err := parseFlags(nil, io.Discard)
	if err != nil || cf.parseFormat != "json" {
		t.Errorf("CUTTLE_PARSE_FORMAT=json: parse-format = %q, %v; want json", cf.parseFormat, err)
	}
}

// TestParseCorpusVerdicts runs cuttle -k parse on every file of the shared
// corpus, as published and parse-ready, from the corpus directory as Squid
// was run, and wants Squid 5.7's exit status (parse-logs/summary.tsv).
// It cannot run in parallel: it changes the current directory.
func TestParseCorpusVerdicts(t *testing.T) {
	dir, err := filepath.Abs("../../../shared/squidconf-corpus")
	if err != nil {
		t.Fatal(err)
	}
	summary, err := os.ReadFile(filepath.Join(dir, "parse-logs", "summary.tsv"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no corpus at %s: %v", dir, err)
		}
		t.Skipf("no corpus at %s: %v", dir, err)
	}
	if _, err := os.Stat("/etc/squid/conf.d"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("two corpus files include /etc/squid/conf.d/*.conf: install Debian's squid package (%v)", err)
		}
		t.Skipf("two corpus files include /etc/squid/conf.d/*.conf, which is missing: %v", err)
	}
	t.Chdir(dir)
	for line := range strings.Lines(string(summary)) {
		f := strings.Split(strings.TrimSpace(line), "\t")
		if len(f) < 3 {
			continue
		}
		name := f[0]
		if f[1] == "ready" {
			name = filepath.Join("parse-ready", f[0])
		}
		want, err := strconv.Atoi(f[2])
		if err != nil {
			t.Fatalf("summary.tsv: %q: %v", line, err)
		}
		var stderr bytes.Buffer
		if code := run(t.Context(), []string{"-k", "parse", "-f", name}, io.Discard, &stderr); code != want {
			t.Errorf("cuttle -k parse -f %s = exit %d, want %d as Squid:\n%s", name, code, want, stderr.String())
		}
	}
}
