package accesslog

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

// fuzzStrict is a custom format using every code and every encoding
// except raw (') and shell-like (/), whose values may bring in quotes: on
// it, a value never adds or removes an unescaped double quote.
const fuzzStrict = allCodesQuoteSafe + ` "%rm %ru %{X-Fuzz}>h %>h" [%un %{X-Fuzz}>h %>h] %"un %[un %#un ` +
	`%"{X-Fuzz}>h %[{X-Fuzz}>h %#{X-Fuzz}>h %{X-Fuzz:;a}>h %{X-Fuzz:b}>h "%.7{X-Fuzz}>h" %"3.5{User-Agent}>h %note`

// fuzzLoose adds the raw and shell-like encodings: lines stay whole,
// though raw values may hold quotes.
const fuzzLoose = allCodesFormat + ` ` + fuzzStrict + ` %'ru %'{X-Fuzz}>h %/{X-Fuzz}>h %/.4{X-Fuzz}>h %/ru %'un`

// unescapedQuotes counts the double quotes of line not preceded by an odd
// number of backslashes.
func unescapedQuotes(line []byte) int {
	n, bs := 0, 0
	for _, c := range line {
		switch {
		case c == '\\':
			bs++
			continue
		case c == '"' && bs%2 == 0:
			n++
		}
		bs = 0
	}
	return n
}

// checkLine fails unless line is exactly one line: no CR or NUL, and one
// LF, at the end.
func checkLine(t *testing.T, name string, line []byte) {
	t.Helper()
	if len(line) == 0 || line[len(line)-1] != '\n' {
		t.Fatalf("%s: line does not end with LF: %q", name, line)
	}
	body := line[:len(line)-1]
	if i := bytes.IndexAny(body, "\r\n\x00"); i >= 0 {
		t.Fatalf("%s: CR, LF or NUL at %d: %q", name, i, line)
	}
}

// FuzzEscape feeds any bytes to the client-controlled fields (URL,
// method, user agent, a header's name and value, user names, notes) and
// checks that every format writes exactly one well-formed line, whose
// quoted fields stay balanced.
func FuzzEscape(f *testing.F) {
	f.Add("http://h/p?q=1", "GET", "curl/7.88.1", "X-Fuzz", "a=1; b=2", "alice")
	f.Add("http://h/a b\"c\r\nd\x00e\x7f\xff%41\\?q=\"x\"\t", "G\"E\x00T", "UA \"q\" \\ b\\\r\nx\x00y\t\x01", "X-Fuzz", "v\r\n\"1\"\\", "bob smith\n[x]%\"\\")
	f.Add("", "", "", "", "", "")
	f.Add("\\", "\\", "\\", "\\", "\\", "\\")
	f.Add("\"", "\"", "\"", "\"", "\"", "\"")
	f.Add("http://[::1]:99999/\"", "\r", "\n", "X-Fuzz\r\nY", "a=\"b;c\\\", d=e", " ")
	f.Add("http://u@h:80?x", "\x00", "\"\\\"\\", "Set-Cookie", "\xff\xfe\x80", "\t\v\f")
	opts := FormatOptions{StripQueryTerms: true, Location: time.FixedZone("X", -5*3600)}
	var strict, loose []Formatter
	for _, name := range []string{"squid", "common", "combined", "referrer", "useragent"} {
		b, _ := Lookup(name, opts)
		strict = append(strict, b)
	}
	for _, spec := range []string{timingFormat, fuzzStrict} {
		c, err := Compile(spec, opts)
		if err != nil {
			f.Fatal(err)
		}
		strict = append(strict, c)
	}
	c, err := Compile(fuzzLoose, opts)
	if err != nil {
		f.Fatal(err)
	}
	loose = append(loose, c)

	benign := fullEntry()
	benign.RequestHeader = http.Header{"X-Fuzz": {"v"}, "User-Agent": {"ua"}, "Referer": {"r"}}
	f.Fuzz(func(t *testing.T, url, method, ua, hname, hvalue, user string) {
		e := fullEntry()
		e.URL, e.Method, e.User, e.ExtUser = url, method, user, user
		e.Notes = []Note{{user, hvalue}, {"a", ua}}
		e.RequestHeader = http.Header{
			"User-Agent": {ua},
			"Referer":    {url},
			"X-Fuzz":     {hvalue, ua},
		}
		if hname != "" {
			e.RequestHeader[hname] = append(e.RequestHeader[hname], hvalue)
		}
		for i, fm := range strict {
			line := fm.Append(nil, &e)
			checkLine(t, "strict", line)
			want := unescapedQuotes(fm.Append(nil, &benign))
			if got := unescapedQuotes(line); got != want {
				t.Fatalf("format %d: %d unescaped quotes, want %d: %q", i, got, want, line)
			}
		}
		for _, fm := range loose {
			checkLine(t, "loose", fm.Append(nil, &e))
		}
	})
}
