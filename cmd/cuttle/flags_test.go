package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want squidFlags
		cf   cuttleFlags
	}{
		{"defaults", nil, squidFlags{configFile: "/etc/squid/squid.conf", serviceNm: "squid"}, cuttleFlags{}},
		{"debian -z", []string{"--foreground", "-z"},
			squidFlags{configFile: "/etc/squid/squid.conf", serviceNm: "squid", foreground: true, createDirs: true}, cuttleFlags{}},
		{"debian -sYC", []string{"--foreground", "-sYC"},
			squidFlags{configFile: "/etc/squid/squid.conf", serviceNm: "squid", foreground: true}, cuttleFlags{}},
		{"combined -Nz", []string{"-Nz", "-f", "x.conf"},
			squidFlags{configFile: "x.conf", serviceNm: "squid", foreground: true, createDirs: true}, cuttleFlags{}},
		{"attached values", []string{"-kparse", "-d1", "-fy.conf"},
			squidFlags{configFile: "y.conf", serviceNm: "squid", command: "parse", debugLevel: 1}, cuttleFlags{}},
		{"value after letters", []string{"-Nf", "z.conf", "-k", "rotate"},
			squidFlags{configFile: "z.conf", serviceNm: "squid", foreground: true, command: "rotate"}, cuttleFlags{}},
		{"ignored flags", []string{"-s", "-Y", "-C", "-F", "-d", "3", "-X", "-S"},
			squidFlags{configFile: "/etc/squid/squid.conf", serviceNm: "squid", debugLevel: 3}, cuttleFlags{}},
		{"cuttle flags mixed in", []string{"-N", "--demo-origin", "127.0.0.1:9", "-idle-timeout=5s", "-f", "a.conf"},
			squidFlags{configFile: "a.conf", serviceNm: "squid", foreground: true},
			cuttleFlags{demoOrigin: "127.0.0.1:9", idleTimeout: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sf, cf, err := parseFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			if *sf != tt.want {
				t.Errorf("parseFlags(%q) squid = %+v, want %+v", tt.args, *sf, tt.want)
			}
			if tt.cf.demoOrigin != "" && cf.demoOrigin != tt.cf.demoOrigin {
				t.Errorf("parseFlags(%q) demo-origin = %q, want %q", tt.args, cf.demoOrigin, tt.cf.demoOrigin)
			}
			if tt.cf.idleTimeout != 0 && cf.idleTimeout != tt.cf.idleTimeout {
				t.Errorf("parseFlags(%q) idle-timeout = %v, want %v", tt.args, cf.idleTimeout, tt.cf.idleTimeout)
			}
		})
	}
}

func TestParseFlagsErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-Q"}, {"-sQ"}, {"stray"}, {"--nope"}, {"-k"}} {
		if _, _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error, want an error", args)
		}
	}
}

func TestEnvFlags(t *testing.T) {
	t.Setenv("CUTTLE_DEMO_ORIGIN", "127.0.0.1:7")
	_, cf, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cf.demoOrigin != "127.0.0.1:7" {
		t.Errorf("CUTTLE_DEMO_ORIGIN: demo-origin = %q, want 127.0.0.1:7", cf.demoOrigin)
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if code := run(t.Context(), []string{"-h"}, &out, io.Discard); code != 0 {
		t.Errorf("cuttle -h exit %d, want 0", code)
	}
	for _, want := range []string{"-f", "-k", "--foreground", "--demo-origin", "CUTTLE_DEMO_ORIGIN", "CUTTLE_IDLE_TIMEOUT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("cuttle -h does not mention %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(t.Context(), []string{"-v"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), version) {
		t.Errorf("cuttle -v = %d %q, want 0 and the version", code, out.String())
	}
	if code := run(t.Context(), []string{"-Q"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("cuttle -Q exit %d, want 2", code)
	}
}
