package accesslog

import (
	"bufio"
	"bytes"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// timingFormat is the custom logformat of the Squid reference run
// (testdata/squid-5.7/README.md).
const timingFormat = `%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt %<A %{Host}>h "%{User-Agent}>h"`

// refCase is one transaction of the Squid reference run, rebuilt field by
// field, and the line it produced in each log.
type refCase struct {
	name string
	file string // access.log or access.log.0
	line int    // 1-based; the same line number in the common, combined and custom logs
	e    Entry
}

// at returns the start and end of a transaction that ended at end
// ("sec.ms" as logged) and took elapsed milliseconds.
func at(end string, elapsed int64) (start, stop time.Time) {
	sec, ms, _ := strings.Cut(end, ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	m, _ := strconv.ParseInt(ms, 10, 64)
	stop = time.Unix(s, m*int64(time.Millisecond)+123456) // sub-millisecond noise is truncated
	return stop.Add(-time.Duration(elapsed) * time.Millisecond), stop
}

// hdr builds a request header from name/value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// curl is the request header of a curl/7.88.1 request for host.
func curl(host string) http.Header { return hdr("Host", host, "User-Agent", "curl/7.88.1") }

// refCases returns the transactions rebuilt from the reference run.
func refCases() []refCase {
	entry := func(end string, elapsed int64, e Entry) Entry {
		e.Start, e.End = at(end, elapsed)
		if e.ClientIP == "" {
			e.ClientIP = "127.0.0.1"
		}
		return e
	}
	return []refCase{
		{"miss", "access.log.0", 1, entry("1795627647.617", 2, Entry{
			ClientPort: 40100, ResultCode: "TCP_MISS", Status: 200, Bytes: 1534,
			Method: "GET", URL: "http://www.example.com/static/a.css", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "FIRSTUP_PARENT", PeerIP: "127.0.0.1", PeerName: "origin",
			ContentType: "text/css", RequestHeader: curl("www.example.com"),
		})},
		{"mem hit", "access.log.0", 2, entry("1795627647.829", 1, Entry{
			ResultCode: "TCP_MEM_HIT", Status: 200, Bytes: 1540,
			Method: "GET", URL: "http://www.example.com/static/a.css", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "HIER_NONE", ContentType: "text/css", RequestHeader: curl("www.example.com"),
		})},
		{"ims hit", "access.log.0", 4, entry("1795627648.053", 0, Entry{
			ResultCode: "TCP_IMS_HIT", Status: 304, Bytes: 292,
			Method: "GET", URL: "http://www.example.com/static/a.css", ProtoMajor: 1, ProtoMinor: 1,
			ContentType: "text/css", RequestHeader: curl("www.example.com"),
		})},
		{"miss with query and charset", "access.log.0", 5, entry("1795627648.104", 44, Entry{
			ResultCode: "TCP_MISS", Status: 200, Bytes: 341,
			Method: "GET", URL: "http://www.example.com/maxage?x=1", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "FIRSTUP_PARENT", PeerIP: "127.0.0.1", PeerName: "origin",
			ContentType: "text/html; charset=utf-8", RequestHeader: curl("www.example.com"),
		})},
		{"denied", "access.log.0", 14, entry("1795627648.369", 1, Entry{
			ResultCode: "TCP_DENIED", Status: 403, Bytes: 3487,
			Method: "GET", URL: "http://www.example.com/secret/x", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "HIER_NONE", ContentType: "text/html;charset=utf-8", RequestHeader: curl("www.example.com"),
		})},
		{"post", "access.log.0", 16, entry("1795627648.389", 1, Entry{
			ResultCode: "TCP_MISS", Status: 201, Bytes: 299,
			Method: "POST", URL: "http://www.example.com/form", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "FIRSTUP_PARENT", PeerIP: "127.0.0.1", PeerName: "origin",
			ContentType: "text/plain", RequestHeader: curl("www.example.com"),
		})},
		{"head", "access.log.0", 17, entry("1795627648.400", 1, Entry{
			ResultCode: "TCP_MEM_HIT", Status: 200, Bytes: 335,
			Method: "HEAD", URL: "http://www.example.com/maxage?x=1", ProtoMajor: 1, ProtoMinor: 1,
			ContentType: "text/html; charset=utf-8", RequestHeader: curl("www.example.com"),
		})},
		{"referer and browser agent", "access.log.0", 19, entry("1795627648.419", 0, Entry{
			ResultCode: "TCP_MEM_HIT", Status: 200, Bytes: 1540,
			Method: "GET", URL: "http://www.example.com/static/a.css", ProtoMajor: 1, ProtoMinor: 1,
			ContentType: "text/css", RequestHeader: hdr(
				"Host", "www.example.com",
				"Referer", "http://ref.example/page",
				"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) TestUA/1.0"),
		})},
		{"http/1.0 without host", "access.log.0", 20, entry("1795627648.428", 1, Entry{
			ResultCode: "TCP_MEM_HIT", Status: 200, Bytes: 1535,
			Method: "GET", URL: "http://www.example.com/static/a.css", ProtoMajor: 1, ProtoMinor: 0,
			ContentType: "text/css", RequestHeader: hdr("User-Agent", "curl/7.88.1"),
		})},
		{"client aborted", "access.log.0", 22, entry("1795627648.948", 500, Entry{
			ResultCode: "TCP_MISS_ABORTED", Status: 0, Bytes: 0,
			Method: "GET", URL: "http://www.example.com/slow", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "FIRSTUP_PARENT", PeerIP: "127.0.0.1", PeerName: "origin",
			RequestHeader: curl("www.example.com"),
		})},
		{"slow miss", "access.log.0", 23, entry("1795627652.464", 1503, Entry{
			ResultCode: "TCP_MISS", Status: 200, Bytes: 40332,
			Method: "GET", URL: "http://www.example.com/slow", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "FIRSTUP_PARENT", PeerIP: "127.0.0.1", PeerName: "origin",
			ContentType: "application/octet-stream", RequestHeader: curl("www.example.com"),
		})},
		{"invalid request", "access.log.0", 24, entry("1795627652.468", 0, Entry{
			ResultCode: "NONE_NONE", Status: 400, Bytes: 3432,
			Method: "GARBAGE", URL: "error:invalid-request", ProtoMajor: 1, ProtoMinor: 1,
			ContentType: "text/html;charset=utf-8",
		})},
		{"closed before headers", "access.log.0", 25, entry("1795627652.472", 0, Entry{
			URL: "error:transaction-end-before-headers",
		})},
		{"cache manager", "access.log.0", 26, entry("1795627652.478", 0, Entry{
			ResultCode: "TCP_MISS", Status: 200, Bytes: 2601,
			Method: "GET", URL: "cache_object://127.0.0.1/info", ProtoMajor: 1, ProtoMinor: 0,
			ContentType: "text/plain", RequestHeader: hdr("Host", "127.0.0.1", "User-Agent", "squidclient/5.7"),
		})},
		{"collapsed hit", "access.log.0", 35, entry("1795627691.128", 1501, Entry{
			ResultCode: "TCP_CF_HIT", Status: 200, Bytes: 40338,
			Method: "GET", URL: "http://www.example.com/slow?cf=1", ProtoMajor: 1, ProtoMinor: 1,
			ContentType: "application/octet-stream", RequestHeader: curl("www.example.com"),
		})},
		{"port in host", "access.log", 9, entry("1795627716.865", 1, Entry{
			ResultCode: "TCP_MISS", Status: 200, Bytes: 336,
			Method: "GET", URL: "http://www.example.com:8080/etag", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "FIRSTUP_PARENT", PeerIP: "127.0.0.1", PeerName: "origin",
			ContentType: "text/plain", RequestHeader: curl("www.example.com:8080"),
		})},
		{"no user agent", "access.log", 10, entry("1795627716.868", 0, Entry{
			ResultCode: "TCP_MEM_HIT", Status: 200, Bytes: 338,
			Method: "GET", URL: "http://www.example.com/etag", ProtoMajor: 1, ProtoMinor: 1,
			ContentType: "text/plain", RequestHeader: hdr("Host", "www.example.com"),
		})},
		{"purge denied", "access.log", 11, entry("1795627716.876", 0, Entry{
			ResultCode: "TCP_DENIED", Status: 403, Bytes: 3479,
			Method: "PURGE", URL: "http://www.example.com/etag", ProtoMajor: 1, ProtoMinor: 1,
			ContentType: "text/html;charset=utf-8", RequestHeader: curl("www.example.com"),
		})},
		{"encoded path", "access.log", 13, entry("1795627716.939", 47, Entry{
			ResultCode: "TCP_MISS", Status: 404, Bytes: 302,
			Method: "GET", URL: "http://www.example.com/path%20with%20space?q=a%20b", ProtoMajor: 1, ProtoMinor: 1,
			Hierarchy: "FIRSTUP_PARENT", PeerIP: "127.0.0.1", PeerName: "origin",
			ContentType: "text/html", RequestHeader: curl("www.example.com"),
		})},
		{"denied other site", "access.log", 16, entry("1795628230.579", 3, Entry{
			ResultCode: "TCP_DENIED", Status: 403, Bytes: 3475,
			Method: "GET", URL: "http://evil.example.org/x", ProtoMajor: 1, ProtoMinor: 1,
			ContentType: "text/html;charset=utf-8", RequestHeader: curl("evil.example.org"),
		})},
	}
}

// refFormat is one of the four logs of the reference run.
type refFormat struct {
	name   string // golden file stem
	prefix string // reference log name without "access" and the suffix
	format func(t *testing.T) Formatter
}

// refFormats returns the reference run's formats with its settings:
// strip_query_terms off and a +0000 local time.
func refFormats() []refFormat {
	opts := FormatOptions{StripQueryTerms: false, Location: time.FixedZone("UTC", 0)}
	return []refFormat{
		{"squid", "", func(*testing.T) Formatter { return Squid(opts) }},
		{"common", "-common", func(*testing.T) Formatter { return Common(opts) }},
		{"combined", "-combined", func(*testing.T) Formatter { return Combined(opts) }},
		{"timing", "-custom", func(t *testing.T) Formatter {
			f, err := Compile(timingFormat, opts)
			if err != nil {
				t.Fatalf("Compile(%q) error: %v", timingFormat, err)
			}
			return f
		}},
	}
}

// readLines returns the lines of a file under testdata/squid-5.7, each
// with its '\n'.
func readLines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "squid-5.7", name))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines = append(lines, sc.Text()+"\n")
	}
	return lines
}

// refFile maps a case's access.log name to the same run's log of format f.
func refFile(c refCase, f refFormat) string {
	return strings.Replace(c.file, "access", "access"+f.prefix, 1)
}

// TestReferenceLines checks, line by line, that the formatters reproduce
// what Squid 5.7 wrote for the same transactions.
func TestReferenceLines(t *testing.T) {
	t.Parallel()
	for _, f := range refFormats() {
		for _, c := range refCases() {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				file := refFile(c, f)
				lines := readLines(t, file)
				if c.line > len(lines) {
					t.Fatalf("%s has %d lines, want line %d", file, len(lines), c.line)
				}
				want := lines[c.line-1]
				if got := string(f.format(t).Append(nil, &c.e)); got != want {
					t.Errorf("Append(%s:%d) =\n%q, want\n%q", file, c.line, got, want)
				}
			})
		}
	}
}

// allCodesFormat is a custom logformat using every supported code and
// modifier, for testdata/allcodes.golden.
const allCodesFormat = allCodesQuoteSafe + ` %'{Host}>h %/{User-Agent}>h %/tl`

// allCodesQuoteSafe is allCodesFormat without the raw (') and shell-like
// (/) encodings, which may add double quotes to a line.
const allCodesQuoteSafe = `%sn %ts.%03tu %tu %.6tu %tS %6tr %.3tr %dt %<pt %.3<pt %<tt ` +
	`%>a %>A %>p %la %lp %>la %>lp %<a %<A %<p ` +
	`[%tl] %tg %{%Y-%m-%dT%H:%M:%S}tg ` +
	`%Ss/%03>Hs %<Hs %Sh %err_code %err_detail ` +
	`%<st %>st %st %<sh %>sh ` +
	`%rm %>rm %ru %>ru %rp %>rs %>rd %>rP %rv %>rv %mt ` +
	`%un %ul %ue %us %ui %[un %ea %et %note %{a}note ` +
	`"%{User-Agent}>h" %{Referer}>h %#{Referer}>h %{Cookie:;sid}>h %{Cache-Control:max-age}<h ` +
	`%-12.5>a| %012<st %% %>h %<h`

// goldenFormats are the formats of testdata/<name>.golden: the reference
// run's, the two built-ins it did not use, and allCodesFormat.
func goldenFormats() []refFormat {
	opts := FormatOptions{StripQueryTerms: false, Location: time.FixedZone("UTC", 0)}
	compiled := func(spec string) func(t *testing.T) Formatter {
		return func(t *testing.T) Formatter {
			f, err := Compile(spec, opts)
			if err != nil {
				t.Fatalf("Compile(%q) error: %v", spec, err)
			}
			return f
		}
	}
	return append(refFormats(),
		refFormat{"referrer", "", func(*testing.T) Formatter { return Referrer(opts) }},
		refFormat{"useragent", "", func(*testing.T) Formatter { return UserAgent(opts) }},
		refFormat{"allcodes", "", compiled(allCodesFormat)},
	)
}

// hostileEntry is a transaction whose client-supplied fields hold every
// byte that could break a line or a field.
func hostileEntry() Entry {
	e := fullEntry()
	e.Method = "G\"E\x00T"
	e.URL = "http://h/a b\"c\r\nd\x00e\x7f\xff%41\\?q=\"x\"\t"
	e.User = "bob smith\n[x]%\"\\"
	e.ExtLog = "l\r\n\"og"
	e.Notes = []Note{{"n", "v\r\n\"1\""}}
	e.RequestHeader = http.Header{
		"Host":       {"h\r\nX-Injected: 1"},
		"User-Agent": {"UA \"quoted\" \\ back\\\r\nsecond\x00line\t\x01"},
		"Referer":    {"http://r/\"\n"},
		"Cookie":     {"sid=\"a\nb\"; x=1"},
	}
	e.ResponseHeader = http.Header{"Cache-Control": {"max-age=\r\n1"}}
	return e
}

// goldenCases are the reference cases plus a full and a hostile entry.
func goldenCases() []Entry {
	var es []Entry
	for _, c := range refCases() {
		es = append(es, c.e)
	}
	return append(es, fullEntry(), hostileEntry(), Entry{})
}

// TestGolden formats every golden case in every golden format and
// compares the result with testdata/<format>.golden (rewritten with
// -update). The golden files are the reviewed record of cuttle's output;
// TestReferenceLines ties them to Squid's. The clock is fixed: every
// time comes from the entries, and local time is UTC.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, f := range goldenFormats() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			var got []byte
			formatter := f.format(t)
			for _, e := range goldenCases() {
				got = formatter.Append(got, &e)
			}
			path := filepath.Join("testdata", f.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Append(reference cases) =\n%s\nwant (%s)\n%s", got, path, want)
			}
		})
	}
}

// TestCompiledBuiltins checks that Compile, given the logformat
// definitions of the built-in formats, agrees with the hard-coded
// formatters where Squid's own two implementations agree.
func TestCompiledBuiltins(t *testing.T) {
	t.Parallel()
	opts := FormatOptions{Location: time.FixedZone("UTC", 0)}
	tests := []struct {
		name    string
		spec    string
		builtin Formatter
		skip    func(e *Entry) bool // cases where Squid's hard-coded format differs
	}{
		{"squid", "%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt", Squid(opts), nil},
		{
			"common", `%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh`, Common(opts),
			func(e *Entry) bool { return e.ProtoMajor == 0 }, // NONE/0.0
		},
		{"referrer", "%ts.%03tu %>a %{Referer}>h %ru", Referrer(opts), nil},
		{"useragent", `%>a [%tl] "%{User-Agent}>h"`, UserAgent(opts), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			compiled, err := Compile(tt.spec, opts)
			if err != nil {
				t.Fatalf("Compile(%q) error: %v", tt.spec, err)
			}
			for _, c := range refCases() {
				if tt.skip != nil && tt.skip(&c.e) {
					continue
				}
				got := string(compiled.Append(nil, &c.e))
				want := string(tt.builtin.Append(nil, &c.e))
				if got != want {
					t.Errorf("Compile(%q).Append(%s) = %q, want %q", tt.spec, c.name, got, want)
				}
			}
		})
	}
}
