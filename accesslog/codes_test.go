package accesslog

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// fullEntry is a transaction with every Entry field set, for the code
// table: a MISS through a cache_peer, with a user, notes and an error.
func fullEntry() Entry {
	end := time.Unix(1795627647, 617_345_678)
	return Entry{
		Start:      end.Add(-1503250 * time.Microsecond),
		End:        end,
		ClientIP:   "192.0.2.1",
		ClientPort: 51234,
		ResultCode: "TCP_MISS",
		Status:     200,
		Bytes:      1534,
		Method:     "GET",
		URL:        "http://www.example.com:8080/a/b.css?q=1",
		ProtoMajor: 1, ProtoMinor: 1,
		User:      "alice",
		ExtUser:   "ext",
		TLSUser:   "cn=tls",
		Hierarchy: "FIRSTUP_PARENT",
		PeerIP:    "10.0.0.1", PeerName: "origin",
		PeerPort: 8081, PeerStatus: 304,
		LocalIP: "198.51.100.7", LocalPort: 3128,
		RequestBytes: 321, RequestHeaderBytes: 300, ReplyHeaderBytes: 250,
		PeerTime:    12345 * time.Microsecond,
		ServerTime:  15 * time.Millisecond,
		DNSTime:     2 * time.Millisecond,
		ErrorCode:   "ERR_READ_TIMEOUT",
		ErrorDetail: "WITH_SERVER",
		ExtTag:      "tagged",
		ExtLog:      "log me",
		Notes:       []Note{{"a", "1"}, {"b", "2"}, {"a", "3"}},
		ContentType: "text/css; charset=utf-8",
		RequestHeader: http.Header{
			"Host":       {"www.example.com:8080"},
			"User-Agent": {"curl/7.88.1", "second"},
			"Accept":     {"a", "b"},
			"Cookie":     {"sid=42; theme=dark"},
			"X-List":     {`a=1, b="x,y", c=3`},
		},
		ResponseHeader: http.Header{
			"Cache-Control": {"max-age=60, s-maxage=30"},
			"Age":           {"7"},
		},
	}
}

// TestCodes compiles every supported code, alone, and checks its output
// on a full Entry and on the zero Entry (Squid's value for a missing one).
func TestCodes(t *testing.T) {
	t.Parallel()
	opts := FormatOptions{StripQueryTerms: true, Location: time.FixedZone("CET", 3600)}
	tests := []struct {
		format, full, zero string
	}{
		// connection
		{"%>a", "192.0.2.1", "-"},
		{"%>A", "192.0.2.1", "-"}, // no reverse DNS: the address
		{"%>p", "51234", "-"},
		{"%<a", "10.0.0.1", "-"},
		{"%<A", "origin", "-"},
		{"%<p", "8081", "-"},
		{"%la", "198.51.100.7", "-"},
		{"%lp", "3128", "-"},
		{"%>la", "198.51.100.7", "-"},
		{"%>lp", "3128", "-"},
		// time
		{"%ts", "1795627647", "0"},
		{"%tu", "617", "0"},
		{"%03tu", "617", "000"},
		{"%.6tu", "617345", "0"},
		{"%ts.%03tu", "1795627647.617", "0.000"},
		{"%tl", "25/Nov/2026:18:27:27 +0100", "01/Jan/1970:01:00:00 +0100"},
		{"%tg", "25/Nov/2026:17:27:27", "01/Jan/1970:00:00:00"},
		{"%{%Y-%m-%dT%H:%M:%S}tg", "2026-11-25T17:27:27", "1970-01-01T00:00:00"},
		{"%tS", "1795627646.114", "-"},
		{"%tr", "1503", "0"},
		{"%6tr", "  1503", "     0"},
		{"%-6tr|", "1503  |", "0     |"},
		{"%06tr", "001503", "000000"},
		{"%.3tr", "1503.250", "0.000"},
		{"%dt", "2", "-"},
		{"%<pt", "12", "-"},
		{"%.3<pt", "12.345", "-"},
		{"%<tt", "15", "-"},
		// request
		{"%rm", "GET", "-"},
		{"%>rm", "GET", "-"},
		{"%ru", "http://www.example.com:8080/a/b.css?", "-"},
		{"%>ru", "http://www.example.com:8080/a/b.css?q=1", "-"},
		{"%rp", "/a/b.css?q=1", "-"},
		{"%>rp", "/a/b.css?q=1", "-"},
		{"%>rs", "http", "-"},
		{"%>rd", "www.example.com", "-"},
		{"%>rP", "8080", "-"},
		{"%rv", "1.1", "0.0"},
		{"%>rv", "1.1", "-"},
		{"%>h", "Accept:%20a%0D%0AAccept:%20b%0D%0ACookie:%20sid=42;%20theme=dark%0D%0AHost:%20www.example.com:8080%0D%0AUser-Agent:%20curl/7.88.1%0D%0AUser-Agent:%20second%0D%0AX-List:%20a=1,%20b=%22x,y%22,%20c=3%0D%0A", "-"},
		{"%<h", "Age:%207%0D%0ACache-Control:%20max-age=60,%20s-maxage=30%0D%0A", "-"},
		{"%{Host}>h", "www.example.com:8080", "-"},
		{"%{User-Agent}>h", "curl/7.88.1", "-"}, // not a list: the first
		{"%{Accept}>h", "a,%20b", "-"},
		{`"%{Accept}>h"`, `"a, b"`, `"-"`},
		{"%{Cookie:;theme}>h", "dark", "-"},
		{"%{Cookie:;sid}>h", "42", "-"},
		{"%{Cookie:;none}>h", "-", "-"},
		{"%{X-List:b}>h", "%22x,y%22", "-"},
		{"%{X-List:,c}>h", "3", "-"},
		{"%{Cache-Control:s-maxage}<h", "30", "-"},
		{"%{Age}<h", "7", "-"},
		{"%{Missing}<h", "-", "-"},
		// reply
		{"%>Hs", "200", "0"},
		{"%03>Hs", "200", "000"},
		{"%Hs", "200", "0"},
		{"%<Hs", "304", "-"},
		{"%mt", "text/css", "-"},
		// sizes
		{"%<st", "1534", "0"},
		{"%>st", "321", "0"},
		{"%st", "1855", "0"},
		{"%<sh", "250", "0"},
		{"%>sh", "300", "0"},
		// squid
		{"%Ss", "TCP_MISS", "NONE_NONE"},
		{"%Sh", "FIRSTUP_PARENT", "HIER_NONE"},
		{"%err_code", "ERR_READ_TIMEOUT", "-"},
		{"%err_detail", "WITH_SERVER", "-"},
		{"%sn", "0", "0"},
		{"%note", "a:%201%0D%0Ab:%202%0D%0Aa:%203%0D%0A", "-"},
		{"%{a}note", "1,3", "-"},
		{"%{a:;}note", "1;3", "-"},
		{"%{b}note", "2", "-"},
		{"%{:|}note", "a:%201%7Cb:%202%7Ca:%203%7C", "-"},
		// users and external ACLs
		{"%un", "alice", "-"},
		{"%ul", "alice", "-"},
		{"%ue", "ext", "-"},
		{"%us", "cn=tls", "-"},
		{"%ui", "-", "-"},
		{"%ea", "log%20me", "-"},
		{"%et", "tagged", "-"},
		{"%%", "%", "%"},
		// modifiers
		{"%15>a|", "      192.0.2.1|", "-|"},
		{"%-15>a|", "192.0.2.1      |", "-|"},
		{"%.3>a", "192", "-"},
		{"%10.3>a|", "       192|", "-|"},
		{"%08<st", "00001534", "00000000"},
		{"%-8<st|", "1534    |", "0       |"},
		{`%"ea`, "log me", "-"},
		{`%/ea`, `"log me"`, "-"},
		{`%/et`, `tagged`, "-"},
		{`%/tl`, `"25/Nov/2026:18:27:27 +0100"`, `"01/Jan/1970:01:00:00 +0100"`},
		{`%#ru`, "http://www.example.com:8080/a/b.css?", "-"},
		{`%#{X-List}>h`, "a=1,%20b=%22x,y%22,%20c=3", "-"},
		{`%'{X-List}>h`, `a=1, b="x,y", c=3`, "-"},
		{`%[{X-List}>h`, `a=1, b=%22x,y%22, c=3`, "-"},
		{`%"{X-List}>h`, `a=1, b=\"x,y\", c=3`, "-"},
		{`[%{X-List}>h]`, `[a=1, b=%22x,y%22, c=3]`, "[-]"},
		{`%http::>a`, "192.0.2.1", "-"},
		{`%{Host}http::>h`, "www.example.com:8080", "-"},
		{`%>h{Host}`, "www.example.com:8080", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			full, zero := fullEntry(), Entry{}
			for _, c := range []struct {
				e    *Entry
				want string
			}{{&full, tt.full}, {&zero, tt.zero}} {
				f, err := Compile(tt.format, opts)
				if err != nil {
					t.Fatalf("Compile(%q) error: %v", tt.format, err)
				}
				if got := string(f.Append(nil, c.e)); got != c.want+"\n" {
					t.Errorf("Compile(%q).Append(%s) = %q, want %q", tt.format, entryName(c.e), got, c.want+"\n")
				}
			}
		})
	}
}

func entryName(e *Entry) string {
	if e.URL == "" {
		return "zero Entry"
	}
	return "full Entry"
}

// TestSequenceNumber checks %sn: Squid's per-log line counter, from 0.
func TestSequenceNumber(t *testing.T) {
	t.Parallel()
	f, err := Compile("%sn %rm", FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := fullEntry()
	var got strings.Builder
	for range 3 {
		got.Write(f.Append(nil, &e))
	}
	if want := "0 GET\n1 GET\n2 GET\n"; got.String() != want {
		t.Errorf("three lines = %q, want %q", got.String(), want)
	}
}

// TestURLParts covers the URL splitting behind %rp, %>rs, %>rd and %>rP.
func TestURLParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, rp, rs, rd, rP string
	}{
		{"http://h/p?q", "/p?q", "http", "h", "80"},
		{"https://u:pw@h:8443/p", "/p", "https", "h", "8443"},
		{"http://[2001:db8::1]:81/x", "/x", "http", "2001:db8::1", "81"},
		{"http://[2001:db8::1]/x", "/x", "http", "2001:db8::1", "80"},
		{"http://h", "/", "http", "h", "80"},
		{"http://h?x", "/?x", "http", "h", "80"},
		{"cache_object://127.0.0.1/info", "/info", "cache_object", "127.0.0.1", "3128"},
		{"error:invalid-request", "-", "-", "-", "-"},
		{"foo://h:99999/", "/", "foo", "h", "-"},
	}
	f, err := Compile("%rp %>rs %>rd %>rP", FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		e := Entry{URL: tt.url}
		want := tt.rp + " " + tt.rs + " " + tt.rd + " " + tt.rP + "\n"
		if got := string(f.Append(nil, &e)); got != want {
			t.Errorf("URL %q: got %q, want %q", tt.url, got, want)
		}
	}
}

// TestTruncateKeepsQuotes checks that a precision never leaves a lone
// backslash before a closing quote, and that %/ keeps its closing quote.
func TestTruncateKeepsQuotes(t *testing.T) {
	t.Parallel()
	e := Entry{RequestHeader: http.Header{"User-Agent": {`ab"cd ef`}}}
	for format, want := range map[string]string{
		`"%.3{User-Agent}>h"`: `"ab"`,
		`"%.4{User-Agent}>h"`: `"ab\""`,
		`%/.7{User-Agent}>h`:  `"ab\"cd "`,
		`%/.6{User-Agent}>h`:  `ab\"cd`,
		`%/.3{User-Agent}>h`:  `ab`,

		`%/-10.5{User-Agent}>h|`: `ab\"c     |`,
	} {
		f, err := Compile(format, FormatOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(f.Append(nil, &e)); got != want+"\n" {
			t.Errorf("Compile(%q).Append = %q, want %q", format, got, want+"\n")
		}
	}
}
