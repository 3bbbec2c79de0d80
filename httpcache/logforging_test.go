package httpcache

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"cuttle/accesslog"
)

// TestLogLinesWellFormed sends, over raw TCP, requests whose URL and
// User-Agent carry the bytes a log forger uses (CR, LF, quotes, tabs,
// backslashes, non-ASCII, 8 KB strings) and checks that each transaction
// is exactly one access.log line that parses, in the squid and the
// combined format (reliability J3).
func TestLogLinesWellFormed(t *testing.T) {
	t.Parallel()
	combinedPath := filepath.Join(t.TempDir(), "combined.log")
	w, err := accesslog.OpenFile(combinedPath)
	if err != nil {
		t.Fatal(err)
	}
	squidFmt, _ := accesslog.Lookup("squid", accesslog.FormatOptions{})
	combinedFmt, _ := accesslog.Lookup("combined", accesslog.FormatOptions{})
	o := newOrigin(t)
	var squidPath string
	var logger *accesslog.Logger
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		squidPath = filepath.Join(t.TempDir(), "squid.log")
		sw, err := accesslog.OpenFile(squidPath)
		if err != nil {
			t.Fatal(err)
		}
		logger = accesslog.New(accesslog.Output{W: sw, Format: squidFmt}, accesslog.Output{W: w, Format: combinedFmt})
		t.Cleanup(func() { logger.Close() })
		opts.Log = logger
	})
	long := strings.Repeat("A", 8<<10)
	requests := []string{
		"GET /a%0d%0aforged%20200 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: x\"y\r\n\r\n",
		"GET /q?\"quoted\"&t=%09tab HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: tab\there \\ back\r\nReferer: \"><script>\r\n\r\n",
		"GET /" + long + " HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: " + long + "\r\n\r\n",
		"GET /utf8/\xc3\xa9 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: \xff\xfe\x80 bytes\r\n\r\n",
		"GET /ua-newline HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: a\r\n b folded\r\n\r\n",
		"GET /x\"y HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: \"\r\n\r\n",
	}
	served := 0
	for _, raw := range requests {
		res, _, _ := p.do(t, raw)
		if res.StatusCode != 400 { // net/http refuses some before any handler: no transaction
			served++
		}
	}
	if err := logger.Flush(); err != nil {
		t.Fatal(err)
	}
	// %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
	squidLine := regexp.MustCompile(`^\d+\.\d{3} +\d+ \S+ [A-Z_]+/\d{3} \d+ [A-Z]+ \S+ \S+ [A-Z_]+/\S+ \S+$`)
	// %>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh
	q := `"(?:[^"\\\x00-\x1f\x7f]|\\.)*"`
	combinedLine := regexp.MustCompile(`^\S+ \S+ \S+ \[[^\]]+\] ` + q + ` \d{3} \d+ ` + q + ` ` + q + ` [A-Z_]+:[A-Z_]+$`)
	for _, f := range []struct {
		path string
		re   *regexp.Regexp
	}{{squidPath, squidLine}, {combinedPath, combinedLine}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != served {
			t.Errorf("%s: %d lines for %d transactions:\n%s", filepath.Base(f.path), len(lines), served, b)
		}
		for _, l := range lines {
			if !f.re.MatchString(l) {
				t.Errorf("%s: malformed line %q", filepath.Base(f.path), l[:min(len(l), 300)])
			}
		}
	}
	if served < 4 {
		t.Errorf("only %d of %d requests reached the handler", served, len(requests))
	}
}
