package squidconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Markers of the generated section of README.md.
const (
	supportBegin = "<!-- support-table:begin -->\n"
	supportEnd   = "<!-- support-table:end -->"
)

// TestREADMESupportTable checks that the squid.conf support table of
// README.md is the one knownDirectives gives; go test -update rewrites
// it.
func TestREADMESupportTable(t *testing.T) {
	t.Parallel()
	readme := filepath.Join("..", "README.md")
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	begin := strings.Index(text, supportBegin)
	end := strings.Index(text, supportEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s has no %q ... %q section", readme, strings.TrimSpace(supportBegin), supportEnd)
	}
	begin += len(supportBegin)
	got, want := text[begin:end], supportTable()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(readme, []byte(text[:begin]+want+text[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the support table of %s differs from supportTable() (run go test ./squidconf -run TestREADMESupportTable -update):\n%s",
		readme, diffLines(want, got))
}

func TestSupportRows(t *testing.T) {
	t.Parallel()
	rows := supportRows()
	if len(rows) != len(knownDirectives) {
		t.Fatalf("supportRows() has %d rows, want %d", len(rows), len(knownDirectives))
	}
	byName := make(map[string]supportRow)
	for _, r := range rows {
		byName[r.name] = r
	}
	tests := []struct {
		name string
		want supportRow
	}{
		{"icp_port", supportRow{"icp_port", statusIgnored, noteICP}},
		{"udp_port", supportRow{"udp_port", statusIgnored, "old name of `icp_port`"}},
		{"cache_mem", supportRow{"cache_mem", statusApplied, "the size of the memory tier"}},
		{"dns_children", supportRow{"dns_children", statusRemoved, "Squid 3.2 and later resolve names internally; remove it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := byName[tt.name]; got != tt.want {
				t.Errorf("supportRows()[%s] = %+v, want %+v", tt.name, got, tt.want)
			}
		})
	}
}

func TestStatusString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    status
		want string
	}{
		{statusApplied, "applied"},
		{statusNotNeeded, "not needed"},
		{statusRemoved, "removed"},
		{status(200), "status(200)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("status(%d).String() = %q, want %q", tt.s, got, tt.want)
		}
	}
}
