package accesslog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestWriterRotateUnderLoad rotates a log many times while several
// goroutines write to it: every line ends up in exactly one file, whole,
// never torn across a rotation or lost (squid -k rotate under load).
func TestWriterRotateUnderLoad(t *testing.T) {
	t.Parallel()
	w, path := openTemp(t)
	const writers, perWriter, rotations = 8, 2000, 25
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				line := fmt.Sprintf("writer %d line %d %s\n", g, i, strings.Repeat("x", i%200))
				if _, err := w.Write([]byte(line)); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range rotations {
			// Keep every generation, so that nothing is dropped by the
			// rotation itself.
			if err := w.Rotate(rotations + 1); err != nil {
				t.Errorf("Rotate: %v", err)
			}
		}
	}()
	wg.Wait()
	<-done
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	seen := make(map[string]int)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Errorf("%s ends in the middle of a line", filepath.Base(f))
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if l == "" {
				continue
			}
			var g, i int
			var xs string
			if n, _ := fmt.Sscanf(l, "writer %d line %d %s", &g, &i, &xs); n < 2 || len(xs) != i%200 && !(i%200 == 0 && n == 2) {
				t.Errorf("%s: torn line %q", filepath.Base(f), l)
				continue
			}
			seen[fmt.Sprintf("%d/%d", g, i)]++
		}
	}
	if len(files) < 2 {
		t.Errorf("%d files after %d rotations", len(files), rotations)
	}
	for g := range writers {
		for i := range perWriter {
			if n := seen[fmt.Sprintf("%d/%d", g, i)]; n != 1 {
				t.Errorf("writer %d line %d found %d times, want once", g, i, n)
			}
		}
	}
}
