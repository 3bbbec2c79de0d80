package squidconf

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// corpusDir is the shared squid.conf corpus, a sibling of the repository
// (shared/squidconf-corpus next to the clone, /work/shared here).
const corpusDir = "../../shared/squidconf-corpus"

// overlayFS serves files from upper first, then from lower.
type overlayFS struct {
	upper fstest.MapFS
	lower fs.FS
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if f, err := o.upper.Open(name); err == nil {
		return f, nil
	}
	return o.lower.Open(name)
}

// corpusFS is the corpus directory, where Squid ran, plus the file that
// Debian's squid package installs in /etc/squid/conf.d: two corpus files
// include /etc/squid/conf.d/*.conf, which must match something.
func corpusFS() fs.FS {
	return overlayFS{
		upper: fstest.MapFS{
			"etc/squid/conf.d/debian.conf": {Data: []byte("# Debian-specific configuration\nlogfile_rotate 0\n")},
		},
		lower: os.DirFS(corpusDir),
	}
}

// TestCorpus parses every parse-ready file of the corpus, which Squid 5.7
// accepts, from the corpus directory as Squid did: none may fail. The
// dumps are kept in testdata/corpus.
func TestCorpus(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "parse-ready", "*.conf"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("no corpus files in %s", corpusDir)
		}
		t.Skipf("no corpus files in %s", corpusDir)
	}
	fsys := corpusFS()
	for _, f := range files {
		name := "parse-ready/" + filepath.Base(f)
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseFile(name, Options{FS: fsys})
			if err != nil {
				t.Fatalf("ParseFile(%s) = %v, want no error", name, err)
			}
			golden := filepath.Join("testdata", "corpus", strings.TrimSuffix(filepath.Base(f), ".conf")+".golden")
			checkGolden(t, golden, dump(cfg))
		})
	}
}

// TestCorpusAsPublished parses the corpus files as published. Those Squid
// 5.7 accepts must parse; of those it rejects, the ones cuttle can judge
// without DNS or the certificate files must fail at the line given here.
// Squid counts the last physical line of a continued line (11: line 7),
// cuttle the first; Squid stopped at a DNS failure on line 3 of 13, which
// cuttle does not look up, before its missing time unit on line 30.
func TestCorpusAsPublished(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(corpusDir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no corpus: %v", err)
		}
		t.Skipf("no corpus: %v", err)
	}
	tests := []struct {
		file string
		line int // of the first error; 0: no error
	}{
		{"01-wiki-basic-accelerator.conf", 0},
		{"02-wiki-virtual-hosting.conf", 0},
		{"03-wiki-multiple-webservers.conf", 8},
		{"09-wiki-surrogate.conf", 0},
		{"10-wiki-mirror-guidelines.conf", 0},
		{"11-trapexit-reverse-proxy-template.conf", 3},
		{"12-dify-ssrf-proxy-template.conf", 33},
		{"13-afdata-drupal.conf", 30},
		{"14-net-squid-reverseproxy.conf", 0},
		{"16-tor2web.conf", 0},
		{"17-h2-reverse-proxy.conf", 0},
		{"18-vegasjj-iis-reverse.conf", 0},
		{"19-chaos-jungle.conf", 0},
		{"20-ubuntu-archive-peers-generator.conf", 5},
	}
	fsys := corpusFS()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			_, err := ParseFile(tt.file, Options{FS: fsys})
			line := 0
			var list ErrorList
			if errorsAs(err, &list) {
				line = list[0].Pos.Line
			}
			if line != tt.line {
				t.Errorf("ParseFile(%s) first error at line %d (%v), want line %d", tt.file, line, err, tt.line)
			}
		})
	}
}
