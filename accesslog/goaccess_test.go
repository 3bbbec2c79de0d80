package accesslog

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// goaccessLogFormat is the GoAccess 1.7 format that reads a native
// access.log (shared/docs/squid-reference.md section 4). Its built-in
// --log-format=SQUID expects a syslog prefix and rejects plain access.log
// lines.
const goaccessLogFormat = `%x.%^ %~%L %h %^/%s %b %m %U %^ %^ %M`

// TestGoAccess checks that GoAccess parses every line of the native format
// that it can parse in Squid's own logs: all of them except status 000 and
// methods it does not know. It is skipped when goaccess is not installed,
// unless CI=true, where a missing goaccess fails the test.
func TestGoAccess(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("goaccess")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("goaccess not found (apt-get install goaccess): %v", err)
		}
		t.Skipf("goaccess not found: %v", err)
	}
	var log []byte
	f := Squid(FormatOptions{StripQueryTerms: true})
	want := 0
	for _, c := range refCases() {
		if c.e.Status == 0 || c.e.Method == "GARBAGE" || c.e.Method == "PURGE" {
			continue
		}
		log = f.Append(log, &c.e)
		want++
	}
	// A hostile URL and user (CR LF), escaped, must parse too. GoAccess
	// checks the method and client address, so those stay valid.
	hostile := hostileEntries()[1]
	hostile.Method, hostile.ClientIP = "GET", "192.0.2.1"
	log = f.Append(log, &hostile)
	want++

	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	report := filepath.Join(dir, "report.json")
	if err := os.WriteFile(logPath, log, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, logPath, "--no-global-config",
		"--log-format="+goaccessLogFormat, "--date-format=%s", "--time-format=%s",
		"-o", report)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, out)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		General struct {
			Total  int `json:"total_requests"`
			Valid  int `json:"valid_requests"`
			Failed int `json:"failed_requests"`
		} `json:"general"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("goaccess report: %v", err)
	}
	if r.General.Valid != want || r.General.Failed != 0 {
		t.Errorf("goaccess(%d lines) = %d valid, %d failed, want %d valid, 0 failed\n%s",
			want, r.General.Valid, r.General.Failed, want, log)
	}
}
