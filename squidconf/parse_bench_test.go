package squidconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkParseCorpus parses the largest corpus config, the 290 KB
// Squid 3.5 squid.conf of chaos-jungle (mostly Squid's own comments, with
// an https_port whose certificates are loaded), from memory, as cuttle
// -k parse does after reading it. The issue asks for well under 50 ms.
func BenchmarkParseCorpus(b *testing.B) {
	name := filepath.Join("parse-ready", "19-chaos-jungle.conf")
	src, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		if os.Getenv("CI") != "" {
			b.Fatal(err)
		}
		b.Skip(err)
	}
	opts := Options{FS: corpusFS()}
	if _, err := Parse(name, src, opts); err != nil {
		b.Fatalf("Parse(%s) = %v, want no error", name, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse(name, src, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFormat writes the config of the corpus file with the most
// directives.
func BenchmarkFormat(b *testing.B) {
	name := filepath.Join("parse-ready", "20-ubuntu-archive-peers-generator.conf")
	cfg, err := ParseFile(name, Options{FS: corpusFS()})
	if err != nil {
		if os.Getenv("CI") != "" || !os.IsNotExist(err) && !strings.Contains(err.Error(), "unable to open") {
			b.Fatal(err)
		}
		b.Skip(err)
	}
	b.ReportAllocs()
	var out strings.Builder
	for b.Loop() {
		out.Reset()
		if err := cfg.Format(&out); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(out.Len()))
}
