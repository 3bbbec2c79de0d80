package accesslog

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func(name string) *Writer {
		w, err := OpenFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	native, common, denied := open("access.log"), open("common.log"), open("denied.log")
	utc := FormatOptions{Location: time.UTC}
	l := New(
		Output{W: native},                     // nil Format: squid, strip_query_terms on
		Output{W: native, Format: Squid(utc)}, // a second output on the same Writer
		Output{W: common, Format: Common(utc)},
		Output{W: denied, Format: Squid(utc), Filter: func(e *Entry) bool { return e.ResultCode == "TCP_DENIED" }},
		Output{Format: Squid(utc)}, // no Writer: ignored
	)
	hit := sample()
	deny := sample()
	deny.ResultCode, deny.Status = "TCP_DENIED", 403
	l.Log(&hit)
	l.Log(&deny)
	l.Log(nil)
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush() error: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}

	hitStripped := "1795627647.617   1503 192.0.2.1 TCP_MISS/200 1534 GET http://h/p? - FIRSTUP_PARENT/10.0.0.1 text/html\n"
	hitFull := "1795627647.617   1503 192.0.2.1 TCP_MISS/200 1534 GET http://h/p?q=1 - FIRSTUP_PARENT/10.0.0.1 text/html\n"
	denyStripped := "1795627647.617   1503 192.0.2.1 TCP_DENIED/403 1534 GET http://h/p? - FIRSTUP_PARENT/10.0.0.1 text/html\n"
	denyFull := "1795627647.617   1503 192.0.2.1 TCP_DENIED/403 1534 GET http://h/p?q=1 - FIRSTUP_PARENT/10.0.0.1 text/html\n"
	tests := []struct {
		file string
		want string
	}{
		{"access.log", hitStripped + hitFull + denyStripped + denyFull},
		{"common.log", string(Common(utc).Append(nil, &hit)) + string(Common(utc).Append(nil, &deny))},
		{"denied.log", denyFull},
	}
	for _, tt := range tests {
		if got := readFile(t, filepath.Join(dir, tt.file)); got != tt.want {
			t.Errorf("Log(hit, deny): %s = %q, want %q", tt.file, got, tt.want)
		}
	}
}

func TestLoggerConcurrent(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	l := New(Output{W: w, Format: Squid(FormatOptions{})})
	const goroutines, lines = 8, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			e := sample()
			e.Bytes = int64(g)
			for range lines {
				l.Log(&e)
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(readFile(t, path), "\n"), "\n")
	if len(got) != goroutines*lines {
		t.Fatalf("Log from %d goroutines wrote %d lines, want %d", goroutines, len(got), goroutines*lines)
	}
	for _, line := range got {
		if f := strings.Fields(line); len(f) != 10 {
			t.Fatalf("line %q has %d fields, want 10", line, len(f))
		}
	}
}

func TestNilLogger(t *testing.T) {
	t.Parallel()
	var l *Logger
	e := sample()
	l.Log(&e) // must not panic
	if err := l.Flush(); err != nil {
		t.Errorf("(*Logger)(nil).Flush() = %v, want nil", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("(*Logger)(nil).Close() = %v, want nil", err)
	}
	New().Log(&e) // no outputs
}

// TestLoggerLogAllocs is not parallel: testing.AllocsPerRun refuses to run
// while parallel tests do.
func TestLoggerLogAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	w, _ := openTemp(t)
	opts := FormatOptions{StripQueryTerms: true}
	l := New(Output{W: w, Format: Squid(opts)}, Output{W: w, Format: Squid(opts), Filter: func(*Entry) bool { return false }})
	e := sample()
	if got := testing.AllocsPerRun(1000, func() { l.Log(&e) }); got != 0 {
		t.Errorf("AllocsPerRun(Logger.Log) = %v, want 0", got)
	}
}

func TestParseDestination(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, module, path string
	}{
		{"stdio:/var/log/squid/access.log", "stdio", "/var/log/squid/access.log"},
		{"/var/log/squid/access.log", "stdio", "/var/log/squid/access.log"},
		{"daemon:/var/log/squid/access.log", "daemon", "/var/log/squid/access.log"},
		{"syslog:local4.info", "syslog", "local4.info"},
		{"syslog", "stdio", "syslog"},
		{"udp://192.0.2.1:514", "udp", "//192.0.2.1:514"},
		{"tcp://192.0.2.1:514", "tcp", "//192.0.2.1:514"},
		{"none", "none", ""},
		{"stdio:", "stdio", ""},
		{"relative/access.log", "stdio", "relative/access.log"},
		{"-", "stdio", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			module, path := ParseDestination(tt.in)
			if module != tt.module || path != tt.path {
				t.Errorf("ParseDestination(%q) = %q, %q, want %q, %q", tt.in, module, path, tt.module, tt.path)
			}
		})
	}
}
