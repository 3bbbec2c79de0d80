package squidconf

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestGolden parses each testdata/*.conf, with testdata as the current
// directory, and compares the result with testdata/*.golden (the dump of
// the Config) or, when the file has errors, testdata/*.err (the errors,
// one a line). A first line "#test: process_number=N process_name=X
// service_name=Y" sets the macro values. go test -update rewrites them.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.conf files: %v", err)
	}
	fsys := os.DirFS("testdata")
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			opts, err := goldenOptions(src)
			if err != nil {
				t.Fatal(err)
			}
			opts.FS = fsys
			cfg, err := ParseFile(name, opts)
			base := strings.TrimSuffix(file, ".conf")
			golden, errFile := base+".golden", base+".err"
			if err != nil {
				checkGolden(t, errFile, errText(err)+"\n")
				checkAbsent(t, golden)
				return
			}
			checkGolden(t, golden, dump(cfg))
			checkAbsent(t, errFile)
		})
	}
}

// checkAbsent fails if name exists (or removes it with -update): a config
// has either a .golden or an .err file.
func checkAbsent(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Stat(name); err != nil {
		return
	}
	if *update {
		if err := os.Remove(name); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s exists but the config parses the other way (run go test -update)", name)
}

// goldenOptions reads the "#test:" header of a golden config.
func goldenOptions(src []byte) (Options, error) {
	var opts Options
	line, _, _ := bytes.Cut(src, []byte("\n"))
	rest, ok := strings.CutPrefix(string(line), "#test:")
	if !ok {
		return opts, nil
	}
	sc := bufio.NewScanner(strings.NewReader(rest))
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "process_number":
			n, err := strconv.Atoi(v)
			if err != nil {
				return opts, err
			}
			opts.ProcessNumber = n
		case "process_name":
			opts.ProcessName = v
		case "service_name":
			opts.ServiceName = v
		}
	}
	return opts, nil
}
