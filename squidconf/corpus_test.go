package squidconf

import (
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
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
			cfg, err := ParseFile(name, Options{FS: fsys, LookupHost: noDNS})
			if err != nil {
				t.Fatalf("ParseFile(%s) = %v, want no error", name, err)
			}
			golden := filepath.Join("testdata", "corpus", strings.TrimSuffix(filepath.Base(f), ".conf")+".golden")
			checkGolden(t, golden, dump(cfg))
		})
	}
}

// corpusVerdict is one line of parse-logs/summary.tsv: what squid -k parse
// (Debian's Squid 5.7) answered for a corpus file.
type corpusVerdict struct {
	name string // file name as Squid was given it, from the corpus directory
	exit int
	line int // Squid's "Bungled FILE line N" or "FILE(N): unrecognized", 0 if none
}

// readCorpusVerdicts reads parse-logs/summary.tsv: file, variant (raw or
// ready), exit status, Squid's ERROR/FATAL lines.
func readCorpusVerdicts(t *testing.T) []corpusVerdict {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "parse-logs", "summary.tsv"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no corpus: %v", err)
		}
		t.Skipf("no corpus: %v", err)
	}
	var vs []corpusVerdict
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) < 3 {
			continue
		}
		v := corpusVerdict{name: f[0]}
		if f[1] == "ready" {
			v.name = "parse-ready/" + f[0]
		}
		v.exit, err = strconv.Atoi(f[2])
		if err != nil {
			t.Fatalf("summary.tsv: %q: %v", line, err)
		}
		if len(f) > 3 {
			v.line = squidLine(f[0], f[3])
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		t.Fatal("summary.tsv lists no files")
	}
	return vs
}

// squidLine finds the line Squid blamed in its messages about file.
func squidLine(file, msgs string) int {
	for _, prefix := range []string{"Bungled " + file + " line ", file + "("} {
		if _, rest, ok := strings.Cut(msgs, prefix); ok {
			end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
			if n, err := strconv.Atoi(rest[:max(end, 0)]); err == nil {
				return n
			}
		}
	}
	return 0
}

// noDNS resolves localhost only, as a machine without DNS servers does.
func noDNS(_ context.Context, host string) ([]string, error) {
	if strings.EqualFold(host, "localhost") {
		return []string{"127.0.0.1", "::1"}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestCorpusVerdicts parses every corpus file, as published and
// parse-ready, from the corpus directory as Squid was run, and checks
// the verdict against Squid 5.7's (parse-logs/summary.tsv): an error
// exactly when Squid exits 1, and then one at the line Squid blamed. Host
// names resolve as on a machine without DNS, where Squid ran.
func TestCorpusVerdicts(t *testing.T) {
	t.Parallel()
	fsys := corpusFS()
	for _, v := range readCorpusVerdicts(t) {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseFile(v.name, Options{FS: fsys, LookupHost: noDNS})
			if got := errExit(err); got != v.exit {
				t.Fatalf("ParseFile(%s) = %v, exit %d; want exit %d as Squid", v.name, err, got, v.exit)
			}
			if v.line == 0 {
				return
			}
			want := v.line // cuttle names lines as Squid does
			var list ErrorList
			errorsAs(err, &list)
			for _, e := range list {
				if e.Pos.Line == want && len(e.IncludedFrom) == 0 {
					return
				}
			}
			t.Errorf("ParseFile(%s) = %v; want an error at line %d, where Squid failed", v.name, err, want)
		})
	}
}

// errExit is the exit status of -k parse for a parse error.
func errExit(err error) int {
	if err != nil {
		return 1
	}
	return 0
}
