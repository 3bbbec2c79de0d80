package squidconf

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// dump writes cfg in the canonical form of the golden files: one field a
// line, every field of Config, and the non-zero fields of the values in
// its lists.
func dump(cfg *Config) string {
	var b strings.Builder
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		dumpValue(&b, 0, t.Field(i).Name, v.Field(i))
	}
	return b.String()
}

var (
	posType      = reflect.TypeFor[Pos]()
	durationType = reflect.TypeFor[time.Duration]()
)

func dumpValue(b *strings.Builder, indent int, name string, v reflect.Value) {
	pad := strings.Repeat("  ", indent)
	switch {
	case v.Type() == posType:
		fmt.Fprintf(b, "%s%s: %s\n", pad, name, v.Interface().(Pos))
		return
	case v.Type() == durationType:
		fmt.Fprintf(b, "%s%s: %s\n", pad, name, v.Interface().(time.Duration))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		dumpValue(b, indent, name, v.Elem())
	case reflect.Struct:
		fmt.Fprintf(b, "%s%s:\n", pad, name)
		for i := range v.NumField() {
			if f := v.Field(i); !f.IsZero() {
				dumpValue(b, indent+1, v.Type().Field(i).Name, f)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			q := make([]string, v.Len())
			for i := range q {
				q[i] = strconv.Quote(v.Index(i).String())
			}
			fmt.Fprintf(b, "%s%s: [%s]\n", pad, name, strings.Join(q, " "))
			return
		}
		if v.Type().Elem() == reflect.TypeFor[Diagnostic]() {
			fmt.Fprintf(b, "%s%s:\n", pad, name)
			for i := range v.Len() {
				d := v.Index(i).Interface().(Diagnostic)
				fmt.Fprintf(b, "%s  %s: %s\n", pad, d.Severity, d)
			}
			return
		}
		fmt.Fprintf(b, "%s%s: %d\n", pad, name, v.Len())
		for i := range v.Len() {
			dumpValue(b, indent+1, "-", v.Index(i))
		}
	case reflect.String:
		fmt.Fprintf(b, "%s%s: %q\n", pad, name, v.String())
	default:
		fmt.Fprintf(b, "%s%s: %v\n", pad, name, v.Interface())
	}
}

// checkGolden compares got with the file name, or rewrites it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n%s", name, diffLines(string(want), got))
	}
}

// diffLines lists the lines of want and got that differ, in order.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  got:  %s\n  want: %s\n", i+1, gl, wl)
		}
	}
	return b.String()
}
