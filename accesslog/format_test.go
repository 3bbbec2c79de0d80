package accesslog

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestAppendInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		v     int64
		width int
		zero  bool
		want  string
	}{
		{"no width", 42, 0, false, "42"},
		{"space pad", 2, 6, false, "     2"},
		{"wider than width", 1503, 3, false, "1503"},
		{"zero pad", 7, 3, true, "007"},
		{"zero", 0, 3, true, "000"},
		{"negative zero pad", -5, 4, true, "-005"},
		{"negative space pad", -5, 4, false, "  -5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(appendInt(nil, tt.v, tt.width, tt.zero)); got != tt.want {
				t.Errorf("appendInt(%d, %d, %t) = %q, want %q", tt.v, tt.width, tt.zero, got, tt.want)
			}
		})
	}
}

func TestEscapers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func([]byte, string) []byte
		in   string
		want string
	}{
		{"safe clean", appendSafe[string], "http://h/a%20b?x=1&y=[2]", "http://h/a%20b?x=1&y=[2]"},
		{"safe hostile", appendSafe[string], "a b\r\n\tc\x00\x7f\x80\xff", "a%20b%0D%0A%09c%00%7F%80%FF"},
		{"safe utf-8", appendSafe[string], "/é", "/%C3%A9"},
		{"mime-blob user", func(d []byte, s string) []byte { return appendMimeBlob(d, s, true) },
			"a b[c]%\\\r\n\t\xe9", `a%20b%5bc%5d%25\\\r\n%09%e9`},
		{"mime-blob keeps spaces", func(d []byte, s string) []byte { return appendMimeBlob(d, s, false) },
			"25/Nov/2026:17:27:27 +0000", "25/Nov/2026:17:27:27 +0000"},
		{"quoted", appendQuoted[string], "say \"hi\"\\ \r\n\t\x01\x7f é", `say \"hi\"\\ \r\n\t%01%7F é`},
		{"rfc1738 keeps percent", func(d []byte, s string) []byte { return appendRFC1738(d, s, false) },
			`Mozilla/5.0 (X; "a") <b>%41~`, "Mozilla/5.0%20(X;%20%22a%22)%20%3Cb%3E%41%7E"},
		{"rfc1738 encodes percent", func(d []byte, s string) []byte { return appendRFC1738(d, s, true) },
			"/p%20q", "/p%2520q"},
		{"control-safe", appendControlSafe[string], "a b\r\n\x7fé", "a b%0D%0A%7Fé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(tt.fn(nil, tt.in)); got != tt.want {
				t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStripQuery(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://h/p?a=b", "http://h/p?"},
		{"http://h/p?", "http://h/p?"},
		{"http://h/p", "http://h/p"},
		{"http://h/p?a?b", "http://h/p?"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := stripQuery(tt.in); got != tt.want {
			t.Errorf("stripQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMimeType(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"text/html; charset=utf-8", "text/html"},
		{"text/html;charset=utf-8", "text/html"},
		{"text/plain\tx", "text/plain"},
		{"application/json", "application/json"},
		{" text/html", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := mimeType(tt.in); got != tt.want {
			t.Errorf("mimeType(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// sample is a transaction with every field set.
func sample() Entry {
	end := time.Unix(1795627647, 617_345_678)
	return Entry{
		Start:       end.Add(-1503250 * time.Microsecond),
		End:         end,
		ClientIP:    "192.0.2.1",
		ClientPort:  51234,
		ResultCode:  "TCP_MISS",
		Status:      200,
		Bytes:       1534,
		Method:      "GET",
		URL:         "http://h/p?q=1",
		ProtoMajor:  1,
		ProtoMinor:  1,
		Hierarchy:   "FIRSTUP_PARENT",
		PeerIP:      "10.0.0.1",
		PeerName:    "origin",
		ContentType: "text/html; charset=utf-8",
		RequestHeader: http.Header{
			"Host":       {"h"},
			"User-Agent": {"Mozilla/5.0 (X)"},
			"Referer":    {"http://r/"},
			"Accept":     {"a", "b"},
			"X-Quote":    {`say "hi"\`},
		},
		ResponseHeader: http.Header{"Cache-Control": {"max-age=60"}},
	}
}

func TestBuiltinFormats(t *testing.T) {
	t.Parallel()
	utc := FormatOptions{Location: time.UTC}
	full := sample()
	timeout := sample()
	timeout.Hierarchy = "TIMEOUT_FIRSTUP_PARENT"
	tests := []struct {
		name string
		f    Formatter
		e    Entry
		want string
	}{
		{"squid", Squid(utc), full,
			"1795627647.617   1503 192.0.2.1 TCP_MISS/200 1534 GET http://h/p?q=1 - FIRSTUP_PARENT/10.0.0.1 text/html\n"},
		{"squid strip_query_terms", Squid(FormatOptions{StripQueryTerms: true}), full,
			"1795627647.617   1503 192.0.2.1 TCP_MISS/200 1534 GET http://h/p? - FIRSTUP_PARENT/10.0.0.1 text/html\n"},
		{"squid zero entry", Squid(utc), Entry{},
			"        0.000      0 - NONE_NONE/000 0 - - - HIER_NONE/- -\n"},
		{"squid timeout hierarchy", Squid(utc), timeout,
			"1795627647.617   1503 192.0.2.1 TCP_MISS/200 1534 GET http://h/p?q=1 - TIMEOUT_FIRSTUP_PARENT/10.0.0.1 text/html\n"},
		{"squid user", Squid(utc), Entry{End: time.Unix(1, 0), User: "alice"},
			"        1.000      0 - NONE_NONE/000 0 - - alice HIER_NONE/- -\n"},
		{"common", Common(utc), full,
			`192.0.2.1 - - [25/Nov/2026:17:27:27 +0000] "GET http://h/p?q=1 HTTP/1.1" 200 1534 TCP_MISS:FIRSTUP_PARENT` + "\n"},
		{"common strip and zone", Common(FormatOptions{StripQueryTerms: true, Location: time.FixedZone("X", -(3*3600 + 30*60))}), full,
			`192.0.2.1 - - [25/Nov/2026:13:57:27 -0330] "GET http://h/p? HTTP/1.1" 200 1534 TCP_MISS:FIRSTUP_PARENT` + "\n"},
		{"common timeout hierarchy", Common(utc), timeout,
			`192.0.2.1 - - [25/Nov/2026:17:27:27 +0000] "GET http://h/p?q=1 HTTP/1.1" 200 1534 TCP_MISS:FIRSTUP_PARENT` + "\n"},
		{"combined", Combined(utc), full,
			`192.0.2.1 - - [25/Nov/2026:17:27:27 +0000] "GET http://h/p?q=1 HTTP/1.1" 200 1534 "http://r/" "Mozilla/5.0 (X)" TCP_MISS:FIRSTUP_PARENT` + "\n"},
		{"combined zero entry", Combined(utc), Entry{},
			`- - - [01/Jan/1970:00:00:00 +0000] "- - NONE/0.0" 0 0 "-" "-" NONE_NONE:HIER_NONE` + "\n"},
		{"referrer", Referrer(utc), full, "1795627647.617 192.0.2.1 http://r/ http://h/p?q=1\n"},
		{"useragent", UserAgent(utc), full, `192.0.2.1 [25/Nov/2026:17:27:27 +0000] "Mozilla/5.0 (X)"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(tt.f.Append(nil, &tt.e)); got != tt.want {
				t.Errorf("Append(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	t.Parallel()
	e := sample()
	got := string(Squid(FormatOptions{}).Append([]byte("prefix:"), &e))
	if !strings.HasPrefix(got, "prefix:1795627647.617 ") {
		t.Errorf("Append(prefix) = %q, want it to start with %q", got, "prefix:1795627647.617 ")
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	e := sample()
	opts := FormatOptions{Location: time.UTC}
	tests := []struct {
		name string
		want Formatter // nil: not found
	}{
		{"squid", Squid(opts)},
		{"common", Common(opts)},
		{"combined", Combined(opts)},
		{"referrer", Referrer(opts)},
		{"useragent", UserAgent(opts)},
		{"timing", nil},
		{"Squid", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, ok := Lookup(tt.name, opts)
			if ok != (tt.want != nil) {
				t.Fatalf("Lookup(%q) ok = %t, want %t", tt.name, ok, tt.want != nil)
			}
			if !ok {
				return
			}
			if got, want := string(f.Append(nil, &e)), string(tt.want.Append(nil, &e)); got != want {
				t.Errorf("Lookup(%q).Append = %q, want %q", tt.name, got, want)
			}
		})
	}
}

// hostileEntries returns entries whose client-controlled fields try to
// break the line.
func hostileEntries() []Entry {
	base := sample()
	var es []Entry
	for _, s := range []string{
		"a b", "a\r\nb", "a\tb", "\x80\xff", "é", "x\x00y", "\v\f", " ", "\n",
		"\"quoted\"", "back\\slash", "[b]", "%zz", "\x85\xa0",
	} {
		e := base
		e.URL = "http://h/p " + s + "?q=" + s
		e.Method = "GE" + s + "T"
		e.User = "bob" + s
		e.ClientIP = "192.0.2.1" + s
		e.ResultCode = "TCP_MISS" + s
		e.Hierarchy = "FIRSTUP_PARENT" + s
		e.PeerIP = "10.0.0.1" + s
		e.ContentType = "text/html" + s
		e.RequestHeader = http.Header{"Referer": {"r" + s}, "User-Agent": {"ua" + s}, "Host": {"h" + s}}
		es = append(es, e)
	}
	return es
}

// checkOneLine reports whether line is exactly one line, without control
// characters before its final '\n'.
func checkOneLine(t *testing.T, name, line string) {
	t.Helper()
	if !strings.HasSuffix(line, "\n") {
		t.Fatalf("%s: Append = %q, want a final newline", name, line)
	}
	for i := 0; i < len(line)-1; i++ {
		if c := line[i]; c < ' ' && c != '\t' || c == 0x7f {
			t.Fatalf("%s: Append = %q, has control byte %#x at %d", name, line, c, i)
		}
	}
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	// Apache-style lines: quoted strings may hold spaces but never an
	// unescaped quote.
	httpd := regexp.MustCompile(`^\S+ - \S+ \[[^\]]+\] "\S+ \S+ \S+" \d+ \d+( "(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*")? \S+:\S+\n$`)
	timing, err := Compile(timingFormat, FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range hostileEntries() {
		for _, strip := range []bool{false, true} {
			opts := FormatOptions{StripQueryTerms: strip, Location: time.UTC}
			line := string(Squid(opts).Append(nil, &e))
			checkOneLine(t, "squid", line)
			if fields := strings.Fields(line); len(fields) != 10 {
				t.Errorf("Squid.Append(hostile %d) = %q, %d fields, want 10", i, line, len(fields))
			}
			for j := 0; j < len(line); j++ {
				if line[j] >= 0x7f {
					t.Errorf("Squid.Append(hostile %d) = %q, non-ASCII byte at %d", i, line, j)
					break
				}
			}
			if strings.Count(line, " ") != 9+2 { // nine separators, two pad spaces before "1503"
				t.Errorf("Squid.Append(hostile %d) = %q, has %d spaces, want 11", i, line, strings.Count(line, " "))
			}
			for _, f := range []Formatter{Common(opts), Combined(opts)} {
				line := string(f.Append(nil, &e))
				checkOneLine(t, "httpd", line)
				if !httpd.MatchString(line) {
					t.Errorf("Append(hostile %d) = %q, does not match %v", i, line, httpd)
				}
			}
			for _, f := range []Formatter{Referrer(opts), UserAgent(opts), timing} {
				checkOneLine(t, "other", string(f.Append(nil, &e)))
			}
		}
	}
}

func FuzzSquidFormat(f *testing.F) {
	f.Add("http://h/p?q=1", "GET", "", "127.0.0.1", "text/html; charset=utf-8", "TCP_MISS", "FIRSTUP_PARENT")
	f.Add("http://h/a b\r\nc", "G T", "a b", "", "\x00", "", "")
	f.Add("\x80\xff\n", "\t", "\\[]%", " ", " ", "\v", "\f")
	f.Fuzz(func(t *testing.T, url, method, user, ip, ct, code, hier string) {
		e := Entry{
			End: time.Unix(1795627647, 0), URL: url, Method: method, User: user,
			ClientIP: ip, ContentType: ct, ResultCode: code, Hierarchy: hier,
		}
		for _, strip := range []bool{false, true} {
			line := string(Squid(FormatOptions{StripQueryTerms: strip}).Append(nil, &e))
			checkOneLine(t, "squid", line)
			if fields := strings.Fields(line); len(fields) != 10 {
				t.Fatalf("Squid.Append(%+v) = %q, %d fields, want 10", e, line, len(fields))
			}
		}
	})
}

func TestCompile(t *testing.T) {
	t.Parallel()
	plus1 := time.FixedZone("CET", 3600)
	opts := FormatOptions{Location: plus1}
	e := sample()
	odd := sample()
	odd.User = "a b[c]%\r\n"
	odd.URL = "http://h/p%20q r"
	tests := []struct {
		name   string
		format string
		opts   FormatOptions
		e      Entry
		want   string
	}{
		{"seconds", "%ts", opts, e, "1795627647"},
		{"milliseconds", "%03tu", opts, e, "617"},
		{"sub-second default", "%tu", opts, e, "617"},
		{"microseconds", "%.6tu", opts, e, "617345"},
		{"elapsed padded", "%6tr", opts, e, "  1503"},
		{"elapsed left", "%-6tr|", opts, e, "1503  |"},
		{"elapsed zero padded", "%06tr", opts, e, "001503"},
		{"elapsed fraction", "%.3tr", opts, e, "1503.250"},
		{"elapsed fraction zero padded", "%010.3tr", opts, e, "001503.250"},
		{"start", "%tS", opts, e, "1795627646.114"},
		{"client", "%>a:%>p", opts, e, "192.0.2.1:51234"},
		{"missing port", "%>p", opts, Entry{}, "-"},
		{"peer", "%<a %<A", opts, e, "10.0.0.1 origin"},
		{"peer missing", "%<a %<A", opts, Entry{}, "- -"},
		{"codes", "%Ss/%03>Hs %Hs %Sh", opts, e, "TCP_MISS/200 200 FIRSTUP_PARENT"},
		{"codes missing", "%Ss/%03>Hs %Sh", opts, Entry{}, "NONE_NONE/000 HIER_NONE"},
		{"size", "%<st", opts, e, "1534"},
		{"size width", "%10<st|", opts, e, "      1534|"},
		{"request", "%rm %ru %rv", opts, e, "GET http://h/p?q=1 1.1"},
		{"request missing", "%rm %ru %rv", opts, Entry{}, "- - 0.0"},
		{"strip_query_terms", "%ru", FormatOptions{StripQueryTerms: true}, e, "http://h/p?"},
		{"users", "%un %ui %ul", opts, e, "- - -"},
		{"user mime-blob", "%[un", opts, odd, `a%20b%5bc%5d%25\r\n`},
		{"user in brackets", "[%un]", opts, odd, `[a%20b%5bc%5d%25\r\n]`},
		{"user plain", "%un", opts, odd, "a%20b[c]%%0D%0A"},
		{"url encoded", "%#ru", opts, odd, "http://h/p%2520q%20r"},
		{"url raw", "%'ru", opts, odd, "http://h/p%20q r"},
		{"url quoted", `%"ru`, opts, odd, "http://h/p%20q r"},
		{"mime type", "%mt", opts, e, "text/html"},
		{"mime type left", "%-12mt|", opts, e, "text/html   |"},
		{"mime type right", "%12mt|", opts, e, "   text/html|"},
		{"header", "%{Host}>h", opts, e, "h"},
		{"header not canonical", "%{user-agent}>h", opts, e, "Mozilla/5.0%20(X)"},
		{"header in quotes", `"%{User-Agent}>h"`, opts, e, `"Mozilla/5.0 (X)"`},
		{"header quoted", `%"{X-Quote}>h`, opts, e, `say \"hi\"\\`},
		{"header list", "%{Accept}>h", opts, e, "a,%20b"},
		{"header truncated", "%.9{User-Agent}>h", opts, e, "Mozilla/5"},
		{"header old syntax", "%>h{Host}", opts, e, "h"},
		{"reply header", "%{Cache-Control}<h", opts, e, "max-age=60"},
		{"missing header", "%{Missing}>h %{X}<h", opts, Entry{}, "- -"},
		{"missing header width", "%5{Missing}>h|", opts, Entry{}, "-|"},
		{"percent", "100%% %ts", opts, e, "100% 1795627647"},
		{"gmt", "%tg", opts, e, "25/Nov/2026:17:27:27"},
		{"local", "[%tl]", opts, e, "[25/Nov/2026:18:27:27 +0100]"},
		{"local strftime", "%{%Y-%m-%dT%H:%M:%S%z}tl", opts, e, "2026-11-25T18:27:27+0100"},
		{"gmt strftime", "%{%a %b %e %s %j %I%p %Z}tg", opts, e, "Wed Nov 25 1795627647 329 05PM UTC"},
		{"strftime composites", "%{%c|%D|%F|%r|%R|%T|%%|%Q}tg", opts, e, "Wed Nov 25 17:27:27 2026|11/25/26|2026-11-25|05:27:27 PM|17:27|17:27:27|%|%Q"},
		{"strftime names", "%{%A %B %C %y %m %u %w %H %M %S %h}tg", opts, e, "Wednesday November 20 26 11 3 3 17 27 27 Nov"},
		{"strftime newline", "%{%H%n%M}tg", opts, e, "17%0A27"},
		{"http:: prefix", "%http::>a", opts, e, "192.0.2.1"},
		{"literal tab", "%ts\t%>a", opts, e, "1795627647\t192.0.2.1"},
		{"text only", "hello", opts, e, "hello"},
		{"empty", "", opts, e, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Compile(tt.format, tt.opts)
			if err != nil {
				t.Fatalf("Compile(%q) error: %v", tt.format, err)
			}
			if got, want := string(f.Append(nil, &tt.e)), tt.want+"\n"; got != want {
				t.Errorf("Compile(%q).Append = %q, want %q", tt.format, got, want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ format, want string }{
		{"%", `accesslog: logformat: incomplete code "%" at offset 0`},
		{"%ts %zz", `accesslog: logformat: unknown code "%zz" at offset 4`},
		{"%>ha", `accesslog: logformat: unsupported code "%>ha" at offset 0`},
		{"%ssl::>sni", `accesslog: logformat: unsupported code "%ssl::>sni" at offset 0`},
		{"%{Host", `accesslog: logformat: unterminated {argument} in "%{Host" at offset 0`},
		{"%{}>h", `accesslog: logformat: missing header name in "%{}>h" at offset 0`},
		{"a\nb", `accesslog: logformat: line break in text at offset 1`},
		{"a\x00b", `accesslog: logformat: NUL in text at offset 1`},
		{"x %<la", `accesslog: logformat: unsupported code "%<la" at offset 2`},
		{"%>rh", `accesslog: logformat: unknown code "%>rh" at offset 0`},
		{"%{A:}>h", `accesslog: logformat: missing list member name in "%{A:}>h" at offset 0`},
		{"%{A:;}>h", `accesslog: logformat: missing list member name in "%{A:;}>h" at offset 0`},
		{"%master_xaction", `accesslog: logformat: unsupported code "%master_xaction" at offset 0`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.format, FormatOptions{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("Compile(%q) error = %v, want %s", tt.format, err, tt.want)
			}
		})
	}
}

// TestFormatAllocs is not parallel: testing.AllocsPerRun refuses to run
// while parallel tests do.
func TestFormatAllocs(t *testing.T) {
	opts := FormatOptions{StripQueryTerms: true, Location: time.FixedZone("CET", 3600)}
	timing, err := Compile(timingFormat, opts)
	if err != nil {
		t.Fatal(err)
	}
	strftime, err := Compile("%{%d/%b/%Y %H:%M:%S}tl %.3tr %tS %{Accept}>h", opts)
	if err != nil {
		t.Fatal(err)
	}
	headers, err := Compile(benchHeaderFormat, opts)
	if err != nil {
		t.Fatal(err)
	}
	allCodes, err := Compile(allCodesFormat, opts)
	if err != nil {
		t.Fatal(err)
	}
	shell, err := Compile(`%/{X-List}>h %/.5{User-Agent}>h %{a:;}note`, opts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Formatter
	}{
		{"squid", Squid(opts)},
		{"common", Common(opts)},
		{"combined", Combined(opts)},
		{"referrer", Referrer(opts)},
		{"useragent", UserAgent(opts)},
		{"timing", timing},
		{"strftime", strftime},
		{"headers", headers},
		{"allcodes", allCodes},
		{"shell", shell},
	}
	e := fullEntry()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, 0, 4096)
			if got := testing.AllocsPerRun(100, func() { dst = tt.f.Append(dst[:0], &e) }); got != 0 {
				t.Errorf("AllocsPerRun(%s.Append) = %v, want 0", tt.name, got)
			}
		})
	}
}
