package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportDirection enforces the package boundaries of design.md: the
// leaves (squidconf, store, accesslog) import nothing internal, httpcache
// imports only store and accesslog, and only cmd wires everything.
func TestImportDirection(t *testing.T) {
	t.Parallel()
	allowed := map[string][]string{
		"cuttle/squidconf": nil,
		"cuttle/store":     nil,
		"cuttle/accesslog": nil,
		"cuttle/httpcache": {"cuttle/store", "cuttle/accesslog"},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for dep := range strings.FieldsSeq(string(out)) {
			if dep == pkg || !strings.HasPrefix(dep, "cuttle/") {
				continue
			}
			if !slices.Contains(ok, dep) {
				t.Errorf("%s imports %s; allowed internal imports: %v", pkg, dep, ok)
			}
		}
	}
}
