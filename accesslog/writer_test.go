package accesslog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// openTemp opens a Writer on a new file in a temporary directory.
func openTemp(t testing.TB) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "access.log")
	w, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile(%q) error: %v", path, err)
	}
	t.Cleanup(func() { w.Close() })
	return w, path
}

// readFile returns the content of path, or "" if it does not exist.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// mustWrite writes lines, each with a final newline, to w.
func mustWrite(t *testing.T, w *Writer, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if _, err := w.Write([]byte(l + "\n")); err != nil {
			t.Fatalf("Write(%q) error: %v", l, err)
		}
	}
}

func TestOpenFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		want   string
		target error
	}{
		{
			"missing directory", filepath.Join(dir, "missing", "access.log"),
			fmt.Sprintf("accesslog: open %s/missing/access.log: directory %s/missing does not exist: file does not exist", dir, dir),
			fs.ErrNotExist,
		},
		{
			"parent is a file", filepath.Join(file, "access.log"),
			fmt.Sprintf("accesslog: open %s/access.log: %s is not a directory", file, file),
			nil,
		},
		{"path is a directory", dir, fmt.Sprintf("accesslog: open %s: is a directory", dir), nil},
		{"empty path", "", "accesslog: open: empty path", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := OpenFile(tt.path)
			if err == nil {
				w.Close()
				t.Fatalf("OpenFile(%q) error = nil, want %q", tt.path, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("OpenFile(%q) error = %q, want %q", tt.path, err, tt.want)
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("OpenFile(%q) error = %v, want errors.Is %v", tt.path, err, tt.target)
			}
		})
	}
}

func TestOpenFileMode(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	mustWrite(t, w, "x")
	if err := w.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The umask may remove bits, never add them.
	if perm := fi.Mode().Perm(); perm&^0o640 != 0 || perm&0o600 != 0o600 {
		t.Errorf("OpenFile(%q) mode = %v, want 0640 (less the umask)", path, perm)
	}
}

func TestOpenFileAppends(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	w, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "new")
	if err := w.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	if got, want := readFile(t, path), "old\nnew\n"; got != want {
		t.Errorf("file after OpenFile+Write = %q, want %q", got, want)
	}
}

func TestOpenFileStdio(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"-", "/dev/stdout", "/dev/stderr"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			w, err := OpenFile(path)
			if err != nil {
				t.Fatalf("OpenFile(%q) error: %v", path, err)
			}
			if _, err := w.Write(nil); err != nil {
				t.Errorf("Write(nil) error: %v", err)
			}
			if err := w.Reopen(); err != nil {
				t.Errorf("Reopen() error: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Errorf("Close() error: %v", err)
			}
			for _, f := range []*os.File{os.Stdout, os.Stderr} {
				if _, err := f.Stat(); err != nil {
					t.Errorf("%s after Close: Stat() error: %v, want the stream left open", f.Name(), err)
				}
			}
		})
	}
}

// concurrentLine returns line n of goroutine g: its length varies so that
// writes straddle buffer boundaries.
func concurrentLine(g, n int) string {
	return fmt.Sprintf("g=%02d n=%05d %s", g, n, strings.Repeat("x", (g*31+n*7)%300))
}

func TestWriterConcurrent(t *testing.T) {
	t.Parallel()
	const goroutines, lines = 32, 500
	w, path := openTemp(t)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for n := range lines {
				if _, err := w.Write([]byte(concurrentLine(g, n) + "\n")); err != nil {
					t.Errorf("Write error: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}

	re := regexp.MustCompile(`^g=(\d\d) n=(\d{5}) x*$`)
	seen := make(map[string]bool)
	sc := bufio.NewScanner(strings.NewReader(readFile(t, path)))
	for sc.Scan() {
		line := sc.Text()
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %q is not a complete line", line)
		}
		g, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		if line != concurrentLine(g, n) {
			t.Fatalf("line %q, want %q", line, concurrentLine(g, n))
		}
		if seen[line] {
			t.Fatalf("line %q written twice", line)
		}
		seen[line] = true
	}
	if len(seen) != goroutines*lines {
		t.Errorf("file has %d distinct lines, want %d", len(seen), goroutines*lines)
	}
}

func TestWriterCloseFlushes(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	mustWrite(t, w, "one", "two", "three")
	if err := w.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	if got, want := readFile(t, path), "one\ntwo\nthree\n"; got != want {
		t.Errorf("file after Close = %q, want %q", got, want)
	}
	if _, err := w.Write([]byte("late\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close error = %v, want %v", err, ErrClosed)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close error = %v, want %v", err, ErrClosed)
	}
	if err := w.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close error = %v, want %v", err, ErrClosed)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close() error = %v, want nil", err)
	}
}

func TestWriterFlush(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	mustWrite(t, w, "a", "b")
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush() error: %v", err)
	}
	if got, want := readFile(t, path), "a\nb\n"; got != want {
		t.Errorf("file after Flush = %q, want %q", got, want)
	}
}

func TestWriterFlushesAt64KiB(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	line := strings.Repeat("y", 1023)
	for written := 0; written < flushThreshold; written += len(line) + 1 {
		mustWrite(t, w, line)
	}
	// No Flush, no Close: the last Write wrote the buffer out itself.
	if got := len(readFile(t, path)); got < flushThreshold {
		t.Errorf("file size after writing 64 KiB = %d, want >= %d", got, flushThreshold)
	}
}

func TestWriterBackgroundFlush(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "access.log")
	synctest.Test(t, func(t *testing.T) {
		w, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() }) // ends the flush goroutine inside the bubble
		mustWrite(t, w, "line")
		time.Sleep(flushInterval / 2)
		synctest.Wait()
		if got := readFile(t, path); got != "" {
			t.Errorf("file after %v = %q, want nothing yet", flushInterval/2, got)
		}
		time.Sleep(flushInterval / 2)
		synctest.Wait()
		if got, want := readFile(t, path), "line\n"; got != want {
			t.Errorf("file after %v = %q, want %q", flushInterval, got, want)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close() error: %v", err)
		}
	})
}

func TestWriterReopenAfterRename(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	mustWrite(t, w, "before")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	old := path + ".old"
	if err := os.Rename(path, old); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "pending") // buffered: still belongs to the old file
	if err := w.Reopen(); err != nil {
		t.Fatalf("Reopen() error: %v", err)
	}
	mustWrite(t, w, "after")
	if err := w.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	if got, want := readFile(t, old), "before\npending\n"; got != want {
		t.Errorf("renamed file = %q, want %q", got, want)
	}
	if got, want := readFile(t, path), "after\n"; got != want {
		t.Errorf("new file = %q, want %q", got, want)
	}
}

func TestWriterReopenFailureKeepsOldFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "access.log")
	w, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	moved := dir + ".moved"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "one")
	if err := w.Reopen(); err == nil {
		t.Errorf("Reopen() with the directory gone error = nil, want an error")
	}
	mustWrite(t, w, "two")
	if err := w.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	if got, want := readFile(t, filepath.Join(moved, "access.log")), "one\ntwo\n"; got != want {
		t.Errorf("old file = %q, want %q", got, want)
	}
}

func TestWriterRotate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keep int
		want map[string]string // suffix → content; "" is the live file
	}{
		{"logfile_rotate 2", 2, map[string]string{"": "4\n", ".0": "3\n", ".1": "2\n", ".2": ""}},
		{"logfile_rotate 1", 1, map[string]string{"": "4\n", ".0": "3\n", ".1": ""}},
		{"logfile_rotate 0", 0, map[string]string{"": "1\n2\n3\n4\n", ".0": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, path := openTemp(t)
			for i := 1; i <= 4; i++ {
				if i > 1 {
					if err := w.Rotate(tt.keep); err != nil {
						t.Fatalf("Rotate(%d) error: %v", tt.keep, err)
					}
				}
				mustWrite(t, w, strconv.Itoa(i))
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close() error: %v", err)
			}
			for suffix, want := range tt.want {
				if got := readFile(t, path+suffix); got != want {
					t.Errorf("Rotate(%d): access.log%s = %q, want %q", tt.keep, suffix, got, want)
				}
			}
		})
	}
}

// breakFile makes w's file fail every write and returns a func that gives
// it a working file again.
func breakFile(t *testing.T, w *Writer) (repair func()) {
	t.Helper()
	w.ioMu.Lock()
	good := w.f
	bad, err := os.Open(os.DevNull) // read-only: writes fail
	if err != nil {
		t.Fatal(err)
	}
	w.f = bad
	w.ioMu.Unlock()
	return func() {
		w.ioMu.Lock()
		w.f = good
		w.ioMu.Unlock()
		bad.Close()
	}
}

func TestWriterKeepsLinesOnWriteError(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	repair := breakFile(t, w)
	mustWrite(t, w, "one", "two")
	if err := w.Flush(); err == nil {
		t.Fatalf("Flush() on a failing file error = nil, want an error")
	}
	mustWrite(t, w, "three")
	repair()
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush() after repair error: %v", err)
	}
	if got, want := readFile(t, path), "one\ntwo\nthree\n"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
}

func TestWriterDropsBeyondMaxPending(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	const maxPending = 1 << 20
	w.maxPending = maxPending // before any Write: no lock needed
	repair := breakFile(t, w)
	line := bytes.Repeat([]byte("z"), 4095)
	line = append(line, '\n')
	kept := 0
	for range maxPending/len(line) + 10 {
		// A Write whose synchronous flush fails still keeps its line.
		if n, _ := w.Write(line); n == len(line) {
			kept++
		}
	}
	if kept != maxPending/len(line) {
		t.Errorf("Write accepted %d lines, want %d", kept, maxPending/len(line))
	}
	repair()
	err := w.Flush()
	if want := "accesslog: write " + path + ": 10 lines dropped while the file could not be written"; err == nil || err.Error() != want {
		t.Errorf("Flush() error = %v, want %s", err, want)
	}
	if got := len(readFile(t, path)); got != kept*len(line) {
		t.Errorf("file size = %d, want %d", got, kept*len(line))
	}
}
