package squidconf

import (
	"go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// squidDirectiveLists are the directive names of Squid 3.1, 3.5, 5.7 and
// 6, one a line (copied from shared/reference/squid-5.7/directives-*.txt).
var squidDirectiveLists = []string{"3.1", "3.5", "5.7", "6"}

// readDirectiveList reads testdata/squid-directives/<version>.txt.
func readDirectiveList(t *testing.T, version string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "squid-directives", version+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// TestEveryDirectiveClassified checks that knownDirectives holds exactly
// the names of Squid's lists, each with a status and a note, or an alias
// of such a name.
func TestEveryDirectiveClassified(t *testing.T) {
	t.Parallel()
	listed := make(map[string]bool)
	for _, v := range squidDirectiveLists {
		for _, name := range readDirectiveList(t, v) {
			listed[name] = true
			if _, ok := lookupInfo(name); !ok {
				t.Errorf("knownDirectives[%q] (Squid %s) is missing", name, v)
			}
		}
	}
	for i, e := range knownDirectives {
		name, info := e.name, e.info
		if i > 0 && knownDirectives[i-1].name >= name {
			t.Errorf("knownDirectives: %q after %q: the table must be sorted, without duplicates, for lookupInfo", name, knownDirectives[i-1].name)
		}
		if !listed[name] {
			t.Errorf("knownDirectives[%q] is in no Squid directive list", name)
		}
		if info.alias != "" {
			target, ok := lookupInfo(info.alias)
			switch {
			case !ok || target.alias != "":
				t.Errorf("knownDirectives[%q].alias = %q, want a current name", name, info.alias)
			case info != directiveInfo{alias: info.alias}:
				t.Errorf("knownDirectives[%q] = %+v, want only an alias", name, info)
			}
			continue
		}
		if info.status == statusUnknown || info.status > statusRemoved {
			t.Errorf("knownDirectives[%q].status = %d, want a status", name, info.status)
		}
		if info.note == "" || strings.HasSuffix(info.note, ".") || strings.TrimSpace(info.note) != info.note {
			t.Errorf("knownDirectives[%q].note = %q, want a sentence without a final period", name, info.note)
		}
		if info.status.typed() && info.check != checkNone {
			t.Errorf("knownDirectives[%q].check = %d, want checkNone for a typed directive", name, info.check)
		}
	}
}

// dispatchedNames returns the directive names parser.typed has a case
// for, read from the package source.
func dispatchedNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	var names []string
	found := false
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "typed" || fn.Recv == nil {
				continue
			}
			found = true
			for _, stmt := range fn.Body.List {
				sw, ok := stmt.(*ast.SwitchStmt)
				if !ok {
					continue
				}
				for _, c := range sw.Body.List {
					for _, e := range c.(*ast.CaseClause).List {
						lit, ok := e.(*ast.BasicLit)
						if !ok || lit.Kind != gotoken.STRING {
							t.Fatalf("%s: parser.typed has a case that is not a string literal", fset.Position(e.Pos()))
						}
						name, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						names = append(names, name)
					}
				}
			}
		}
	}
	if !found || len(names) == 0 {
		t.Fatal("found no parser.typed switch")
	}
	return names
}

// TestDispatchClassified checks that the directives parser.typed handles
// are exactly those knownDirectives marks applied, parsed or partial.
func TestDispatchClassified(t *testing.T) {
	t.Parallel()
	dispatched := dispatchedNames(t)
	for _, name := range dispatched {
		info, ok := lookupInfo(name)
		switch {
		case !ok:
			t.Errorf("parser.typed handles %q, which knownDirectives does not know", name)
		case info.alias != "":
			t.Errorf("parser.typed handles %q, an old name of %q: handle the current name", name, info.alias)
		case !info.status.typed():
			t.Errorf("parser.typed handles %q, but knownDirectives gives it status %s: "+
				"make it parsed (or applied, partial) in directives_table.go", name, info.status)
		}
	}
	for i, e := range knownDirectives {
		name, info := e.name, e.info
		if i > 0 && knownDirectives[i-1].name >= name {
			t.Errorf("knownDirectives: %q after %q: the table must be sorted, without duplicates, for lookupInfo", name, knownDirectives[i-1].name)
		}
		if info.status.typed() && !slices.Contains(dispatched, name) {
			t.Errorf("knownDirectives[%q].status = %s, but parser.typed has no case for it", name, info.status)
		}
	}
}

func TestUntypedMessages(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "ignored", src: "icp_port 3130",
			wantNotices: "squid.conf:1: 'icp_port' has no effect in an accelerator: " + noteICP},
		{name: "old name", src: "udp_port 3130",
			wantNotices: "squid.conf:1: 'udp_port' (old name of 'icp_port') has no effect in an accelerator: " + noteICP},
		{name: "not needed", src: "dns_timeout 30 seconds",
			wantNotices: "squid.conf:1: 'dns_timeout' is not needed by cuttle: " + noteResolver},
		{name: "unsupported", src: "url_rewrite_program /bin/cat",
			wantNotices: "squid.conf:1: 'url_rewrite_program' is not supported by cuttle: " + noteRewrite},
		{name: "obsolete", src: "cache_peer_domain server_1 www.example.com",
			wantNotices: "squid.conf:1: 'cache_peer_domain' is obsolete: use dstdomain ACLs with cache_peer_access; " +
				"without them the peer gets requests for every domain"},
		{name: "obsolete old name", src: "cache_host_domain server_1 www.example.com",
			wantNotices: "squid.conf:1: 'cache_host_domain' (old name of 'cache_peer_domain') is obsolete: use dstdomain ACLs " +
				"with cache_peer_access; without them the peer gets requests for every domain"},
		{name: "obsolete value not checked", src: "dns_v4_first yes please",
			get: func(c *Config) any { return len(c.Notices) }, want: 1},
		{name: "removed", src: "dns_children 5",
			wantErr: "squid.conf:1: unrecognized directive 'dns_children': Squid 3.2 and later resolve names internally; remove it"},
		{name: "value checked before the message", src: "icp_hit_stale yes",
			wantErr: "squid.conf:1: icp_hit_stale: invalid value 'yes': boolean options can only be 'on' or 'off'"},
		{name: "no message after a bad value", src: "icp_hit_stale yes",
			wantErr: "squid.conf:1: icp_hit_stale: invalid value 'yes': boolean options can only be 'on' or 'off'",
			get:     func(c *Config) any { return len(c.Notices) }, want: 0},
	}
	runParseCases(t, tests)
}

func TestUntypedSeverity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want Severity
	}{
		{"icp_port 3130", SeverityNotice},
		{"cpu_affinity_map process_numbers=1 cores=1", SeverityNotice},
		{"dns_timeout 30 seconds", SeverityNotice},
		{"url_rewrite_program /bin/cat", SeverityWarning},
		{"hierarchy_stoplist cgi-bin ?", SeverityWarning},
	}
	for _, tt := range tests {
		cfg, err := parseSrc(tt.src, nil, Options{})
		if err != nil || len(cfg.Notices) != 1 {
			t.Errorf("Parse(%q) = %v, %v, want one diagnostic", tt.src, noticeText(cfg), err)
			continue
		}
		if got := cfg.Notices[0].Severity; got != tt.want {
			t.Errorf("Parse(%q) severity = %s, want %s", tt.src, got, tt.want)
		}
	}
}
