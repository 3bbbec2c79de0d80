package squidconf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// parseSrc parses src as the file squid.conf, with the other files of
// files (nil: none) for include and acl "file" values.
func parseSrc(src string, files fstest.MapFS, opts Options) (*Config, error) {
	if files == nil {
		files = fstest.MapFS{}
	}
	opts.FS = files
	if opts.LookupHost == nil {
		opts.LookupHost = noDNS
	}
	return Parse("squid.conf", []byte(src), opts)
}

// errText returns every error of err, one a line ("" for nil).
func errText(err error) string {
	if err == nil {
		return ""
	}
	var list ErrorList
	if !errors.As(err, &list) {
		return "not an ErrorList: " + err.Error()
	}
	lines := make([]string, len(list))
	for i, e := range list {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// noticeText returns the notices of cfg, one a line.
func noticeText(cfg *Config) string {
	if cfg == nil {
		return ""
	}
	lines := make([]string, len(cfg.Notices))
	for i, n := range cfg.Notices {
		lines[i] = n.String()
	}
	return strings.Join(lines, "\n")
}

// mapFS builds a MapFS from name, content pairs.
func mapFS(pairs ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = &fstest.MapFile{Data: []byte(pairs[i+1])}
	}
	return m
}

// errorsAs is errors.As for tests that only need the target filled.
func errorsAs(err error, target any) bool { return errors.As(err, target) }

// parseCase is a table entry of the directive tests: src parses with the
// errors wantErr (one a line, "" for none), and then, if get is set,
// get(cfg) equals want, and, if wantNotices is set, so do the notices.
type parseCase struct {
	name        string
	src         string
	files       fstest.MapFS
	get         func(*Config) any
	want        any
	wantErr     string
	wantNotices string
}

func runParseCases(t *testing.T, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseSrc(tt.src, tt.files, Options{})
			if got := errText(err); got != tt.wantErr {
				t.Fatalf("Parse(%q) errors =\n%s\nwant\n%s", tt.src, got, tt.wantErr)
			}
			if tt.get != nil {
				if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Parse(%q) = %#v, want %#v", tt.src, got, tt.want)
				}
			}
			if tt.wantNotices != "" {
				if got := noticeText(cfg); got != tt.wantNotices {
					t.Errorf("Parse(%q) notices =\n%s\nwant\n%s", tt.src, got, tt.wantNotices)
				}
			}
		})
	}
}
