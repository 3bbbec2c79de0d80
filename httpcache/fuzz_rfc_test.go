package httpcache

import (
	"bytes"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVary checks Vary parsing and the secondary keys built from it
// (RFC 9111, Section 4.1): parseVary yields canonical, unique field names,
// at most maxVaryNames of them, and refuses "*" and non-tokens; varyValue
// is a normalisation (a normalised value normalises to itself; field lines,
// list whitespace and, for the caseless fields, ASCII case do not matter;
// Accept-Encoding member order does not matter); variantKey holds the URL
// and the varied fields only; a variant index survives marshal and
// unmarshal whatever its keys hold.
func FuzzVary(f *testing.F) {
	for _, s := range []struct {
		vary1, vary2, v1, v2 string
		perm                 uint64
	}{
		{"Accept-Encoding", "", "gzip, deflate, br", "", 1},
		{"accept-encoding, ACCEPT-LANGUAGE", "User-Agent", "GZIP ; q=0.5 ,br", "identity", 2},
		{"Accept-Language", "", "en-US,en;q=0.9", "fr-CH, fr;q=0.8", 3},
		{" \tAccept\t, ,,accept", "", "text/html;q=0.9 , */*", "application/xhtml+xml", 4},
		{"*", "", "gzip", "", 5},
		{"Accept-Encoding, *", "Cookie", "", "", 6},
		{"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", "q", "x", "y", 7},
		{"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", "A, b ,P", "x", "y", 8},
		{"X-Weird\"Name, user-agent", "", "a\x00b", "\"quoted\"\n", 9},
		{"Accept-Encoding", "Accept-Charset", "gzip\x00\nbr", "\xff\xfe, UTF-8", 10},
		{"Accept-Encoding", "", "br;q=1.0, gzip;q=0.8, *;q=0.1", "", 11},
		{"Accept-Encoding", "", "  ", ",", 12},
		{"Accept", "", "TEXT/HTML; Level = 1 ; Q=0.5", "", 13},
		{"Accept-Language", "", "\u0130, \u212a", "", 14},
	} {
		f.Add(s.vary1, s.vary2, s.v1, s.v2, s.perm)
	}
	f.Fuzz(func(t *testing.T, vary1, vary2, v1, v2 string, perm uint64) {
		res := http.Header{"Vary": {vary1, vary2}}
		names, ok := parseVary(res)

		// The names as RFC 9110, Section 12.5.5 lists them, for comparison:
		// Vary = #( "*" / field-name ). A member that is not a field name
		// (a token) can match nothing, like "*".
		var want []string
		star, nonToken, tooLong := false, false, false
		for _, line := range res["Vary"] {
			for m := range strings.SplitSeq(line, ",") {
				switch m = strings.Trim(m, " \t"); {
				case m == "":
				case m == "*":
					star = true
				case fzToken(m) != m:
					nonToken = true
				case len(m) > maxVaryNameLen:
					tooLong = true // cuttle's bound on a name (variants.go)
				default:
					if m = textproto.CanonicalMIMEHeaderKey(m); !slices.Contains(want, m) {
						want = append(want, m)
					}
				}
			}
		}
		switch {
		case star && ok:
			t.Fatalf("parseVary(%q) = %q, true; want false for \"*\"", res["Vary"], names)
		case nonToken && ok:
			t.Fatalf("parseVary(%q) = %q, true; want false for a member that is not a field name", res["Vary"], names)
		case tooLong && ok:
			t.Fatalf("parseVary(%q) = %q, true; want false for a name over %d bytes", res["Vary"], names, maxVaryNameLen)
		case len(want) > maxVaryNames && ok:
			t.Fatalf("parseVary(%q) = %d names, true; want false beyond %d", res["Vary"], len(names), maxVaryNames)
		case !star && !nonToken && !tooLong && len(want) <= maxVaryNames && !ok:
			t.Fatalf("parseVary(%q) = false; want %q", res["Vary"], want)
		case !ok && names != nil:
			t.Fatalf("parseVary(%q) = %q, false; want no names", res["Vary"], names)
		case ok && !slices.Equal(names, want):
			t.Fatalf("parseVary(%q) = %q, want %q", res["Vary"], names, want)
		}
		if len(names) > maxVaryNames {
			t.Fatalf("parseVary(%q): %d names, more than %d", res["Vary"], len(names), maxVaryNames)
		}
		for i, n := range names {
			if n == "" || fzToken(n) != n || textproto.CanonicalMIMEHeaderKey(n) != n || slices.Contains(names[:i], n) {
				t.Fatalf("parseVary(%q) = %q: name %q empty, not a token, not canonical or repeated", res["Vary"], names, n)
			}
		}

		fields := append([]string{"Accept-Encoding", "Accept-Language", "Accept", "Accept-Charset", "User-Agent", "Cookie"}, names...)
		for _, name := range fields {
			got := varyValue(http.Header{name: {v1, v2}}, name)
			if again := varyValue(http.Header{name: {got}}, name); again != got {
				t.Fatalf("%s: varyValue(%q, %q) = %q, but varyValue(%q) = %q: not idempotent", name, v1, v2, got, got, again)
			}
			if joined := varyValue(http.Header{name: {v1 + "," + v2}}, name); joined != got {
				t.Fatalf("%s: varyValue of lines %q, %q = %q, of the combined line = %q", name, v1, v2, got, joined)
			}
			spaced := []string{strings.ReplaceAll(v1, ",", " \t,  "), strings.ReplaceAll(v2, ",", "\t, ")}
			if s := varyValue(http.Header{name: spaced}, name); s != got {
				t.Fatalf("%s: whitespace around commas changed varyValue: %q -> %q, %q -> %q", name, []string{v1, v2}, got, spaced, s)
			}
			if varyCaseless[name] {
				flipped := []string{fzFlipASCIICase(v1), fzFlipASCIICase(v2)}
				if s := varyValue(http.Header{name: flipped}, name); s != got {
					t.Fatalf("%s: ASCII case changed varyValue: %q -> %q, %q -> %q", name, []string{v1, v2}, got, flipped, s)
				}
			}
			if varyUnordered[name] {
				members := strings.Split(v1+","+v2, ",")
				rand.New(rand.NewPCG(perm, perm>>7)).Shuffle(len(members), func(i, j int) {
					members[i], members[j] = members[j], members[i]
				})
				p := strings.Join(members, ",")
				if s := varyValue(http.Header{name: {p}}, name); s != got {
					t.Fatalf("%s: member order changed varyValue: %q -> %q, %q -> %q", name, []string{v1, v2}, got, p, s)
				}
			}
			if strings.Trim(v1+v2, " \t,") == "" && got != "" {
				t.Fatalf("%s: varyValue of empty lines %q, %q = %q, want \"\"", name, v1, v2, got)
			}
		}
		if varyValue(http.Header{}, "Accept-Encoding") != "" || varyValue(http.Header{"Accept-Encoding": {""}}, "Accept-Encoding") != "" {
			t.Fatal("missing or empty field does not give \"\"")
		}

		// variantKey: the URL, then the varied fields and nothing else.
		const url = "http://example.com/p?q=1"
		req := http.Header{}
		for i, name := range names {
			req[name] = []string{v1, v2}[i%2:]
		}
		key := variantKey(url, names, req)
		var b strings.Builder
		b.WriteString(url)
		for _, name := range names {
			b.WriteString("\x00" + name + "=" + varyValue(req, name))
		}
		if !strings.HasPrefix(key, url) || key != b.String() {
			t.Fatalf("variantKey(%q, %q, %q) = %q, want %q", url, names, req, key, b.String())
		}
		for _, other := range []string{"X-Not-Varied", "Cookie", "Accept-Encoding"} {
			if slices.Contains(names, other) {
				continue
			}
			req2 := req.Clone()
			req2[other] = []string{v2 + "secret", v1}
			if k := variantKey(url, names, req2); k != key {
				t.Fatalf("variantKey changed with %s, which Vary %q does not name: %q -> %q", other, names, key, k)
			}
		}

		// The variant index: any keys, and the names a response from the
		// wire can give, round-trip.
		idx := &variantIndex{keys: []string{v1, v2, vary1, key, "", "\x00\"\n\\`'\r"}}
		if fzFieldValueOK(vary1) && fzFieldValueOK(vary2) {
			idx.names = names
		}
		got, err := unmarshalVariantIndex(idx.marshal())
		if err != nil || !slices.Equal(got.names, idx.names) || !slices.Equal(got.keys, idx.keys) {
			t.Fatalf("unmarshalVariantIndex(marshal(%q, %q)) = %+v, %v", idx.names, idx.keys, got, err)
		}
		// Arbitrary stored bytes: no panic, and what decodes re-encodes.
		if idx, err := unmarshalVariantIndex([]byte(variantMagic + vary1 + "\n" + v1)); err == nil {
			again, err := unmarshalVariantIndex(idx.marshal())
			if err != nil || !slices.Equal(again.names, idx.names) || !slices.Equal(again.keys, idx.keys) {
				t.Fatalf("variant index %+v does not survive marshal: %+v, %v", idx, again, err)
			}
		}
	})
}

// fzFlipASCIICase swaps the case of ASCII letters only.
func fzFlipASCIICase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

// fzFieldValueOK reports whether s can be a field value as net/http
// delivers it: field-vchar, SP and HTAB only, no surrounding whitespace
// (RFC 9110, Section 5.5).
func fzFieldValueOK(s string) bool {
	return fzFieldValue(s) == s
}

// fzFieldValue drops the bytes a field value cannot hold and trims it.
func fzFieldValue(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\t' || c >= ' ' && c != 0x7f {
			b = append(b, c)
		}
	}
	return strings.Trim(string(b), " \t")
}

// fzToken drops the bytes a field name cannot hold (RFC 9110,
// Section 5.1: a token).
func fzToken(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			b = append(b, c)
		}
	}
	return string(b)
}

// FuzzRange serves a Range request from a stored body through serveRange
// (RFC 9110, Section 14) and checks the answer: 200 with the whole body,
// 206 whose parts are the slices their valid Content-Range names, or 416
// with "Content-Range: bytes */length" (Section 15.5.17); never more than
// maxRanges parts nor more bytes than the body (no amplification); a Range
// field asking for more than maxRanges ranges is ignored, and so is a range
// unit other than bytes (Section 14.2); a valid, satisfiable byte range is
// never refused and an unsatisfiable one never answered with 206.
func FuzzRange(f *testing.F) {
	for _, s := range []struct {
		r string
		n uint16
	}{
		{"bytes=0-0", 10},
		{"bytes=0-", 100},
		{"bytes=-5", 100},
		{"bytes=-500", 100},
		{"bytes=5-9", 8},
		{"bytes=0-1,4-5", 10},
		{"bytes=0-1, 3-4 ,,, -2", 10},
		{"bytes=0-0,0-0,0-0", 10},
		{"bytes=0-4,2-8", 10},
		{"bytes=100-", 10},
		{"bytes=100-200,300-", 10},
		{"bytes=0-", 0},
		{"bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15", 64},
		{"bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15,16-16", 64},
		{",,,,,,,,,,,,,,,,bytes=0-0", 64},
		{"bytes=9223372036854775807-", 10},
		{"bytes=0-9223372036854775808", 10}, // satisfiable; was 416 without Content-Range
		{"items=0-1", 10},                   // unknown unit; was 416
		{"bytes=5-3", 10},                   // invalid; was 416 without Content-Range
		{"bytes=0-1,x", 10},
		{"bytes=1-2, 5", 10},
		{"", 10},
	} {
		f.Add(s.r, s.n)
	}
	f.Fuzz(func(t *testing.T, rng string, n uint16) {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(uint32(i) * 2654435761 >> 13)
		}
		size := int64(n)
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header["Range"] = []string{rng}
		rec := httptest.NewRecorder()
		serveRange(rec, req, bytes.NewReader(body))
		res := rec.Result()
		got := rec.Body.Bytes()
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("Range %q, %d-byte body: status %d, Content-Range %q: "+format,
				append([]any{rng, n, res.StatusCode, res.Header.Get("Content-Range")}, args...)...)
		}

		unit, valid, satisfiable := fzParseRange(rng, size)
		// More than maxRanges ranges are not honoured (amplification).
		tooMany := false
		if _, set, ok := strings.Cut(rng, "="); ok {
			specs := 0
			for spec := range strings.SplitSeq(set, ",") {
				if strings.Trim(spec, " \t") != "" {
					specs++
				}
			}
			tooMany = specs > maxRanges
		}
		switch res.StatusCode {
		case http.StatusOK:
			if !bytes.Equal(got, body) {
				fail("200 body of %d bytes is not the stored body", len(got))
			}
			if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				fail("200 Content-Length %q", cl)
			}
			if ct := res.Header.Get("Content-Type"); ct != "" {
				fail("200 sniffed Content-Type %q", ct)
			}
		case http.StatusPartialContent:
			if tooMany {
				fail("206 for more than %d ranges, want the whole body", maxRanges)
			}
			if ct := res.Header.Get("Content-Type"); strings.HasPrefix(ct, "multipart/byteranges") {
				_, params, err := mime.ParseMediaType(ct)
				if err != nil || params["boundary"] == "" {
					fail("Content-Type %q: %v", ct, err)
				}
				mr := multipart.NewReader(bytes.NewReader(got), params["boundary"])
				parts, total := 0, 0
				for {
					p, err := mr.NextRawPart()
					if err == io.EOF {
						break
					}
					if err != nil {
						fail("multipart: %v", err)
					}
					data, err := io.ReadAll(p)
					if err != nil {
						fail("multipart part %d: %v", parts, err)
					}
					cr := p.Header.Get("Content-Range")
					first, last, ok := fzContentRange(cr, size)
					if !ok {
						fail("part %d: invalid Content-Range %q", parts, cr)
					}
					if !bytes.Equal(data, body[first:last+1]) {
						fail("part %d (%s): %d bytes that are not body[%d:%d]", parts, cr, len(data), first, last+1)
					}
					if valid && !slices.Contains(satisfiable, [2]int64{first, last}) {
						fail("part %d (%s) answers none of the ranges asked for %v", parts, cr, satisfiable)
					}
					parts++
					total += len(data)
				}
				if parts < 2 || parts > maxRanges {
					fail("%d parts, want 2 to %d", parts, maxRanges)
				}
				if total > len(body) || len(got) > len(body)+256*(parts+1) {
					fail("%d parts of %d bytes (%d bytes sent) for a %d-byte body: amplification", parts, total, len(got), len(body))
				}
			} else {
				cr := res.Header.Get("Content-Range")
				first, last, ok := fzContentRange(cr, size)
				if !ok {
					fail("invalid Content-Range")
				}
				if !bytes.Equal(got, body[first:last+1]) {
					fail("%d bytes that are not body[%d:%d]", len(got), first, last+1)
				}
				if valid && !slices.Contains(satisfiable, [2]int64{first, last}) {
					fail("answers none of the ranges asked for %v", satisfiable)
				}
				if ct != "" {
					fail("206 sniffed Content-Type %q", ct)
				}
			}
			if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(got)) {
				fail("206 Content-Length %q for %d bytes", cl, len(got))
			}
		case http.StatusRequestedRangeNotSatisfiable:
			if tooMany {
				fail("416 for more than %d ranges, want the whole body", maxRanges)
			}
			if cr, want := res.Header.Get("Content-Range"), "bytes */"+strconv.Itoa(len(body)); cr != want {
				fail("416 without Content-Range %q", want)
			}
		default:
			fail("unexpected status")
		}
		if unit != "" && !strings.EqualFold(unit, "bytes") && res.StatusCode != http.StatusOK {
			fail("range unit %q is not understood and must be ignored (RFC 9110, Section 14.2)", unit)
		}
		if valid && !tooMany && len(satisfiable) > 0 && res.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			fail("416 for satisfiable ranges %v", satisfiable)
		}
		if valid && len(satisfiable) == 0 && res.StatusCode == http.StatusPartialContent {
			fail("206 for ranges none of which is satisfiable (RFC 9110, Section 14.1.2)")
		}
	})
}

// fzParseRange reads a Range field value strictly by RFC 9110,
// Section 14.1: unit is its range unit when it has the form token "=" ...;
// valid reports whether it is a well-formed bytes range request, and
// satisfiable lists its satisfiable ranges (Section 14.1.2) resolved against
// a representation of size bytes, as first and last positions.
func fzParseRange(v string, size int64) (unit string, valid bool, satisfiable [][2]int64) {
	unit, set, ok := strings.Cut(v, "=")
	if !ok || unit == "" || fzToken(unit) != unit {
		return "", false, nil
	}
	if !strings.EqualFold(unit, "bytes") {
		return unit, false, nil
	}
	specs := 0
	for spec := range strings.SplitSeq(set, ",") {
		if spec = strings.Trim(spec, " \t"); spec == "" {
			continue // empty list elements are allowed (Section 5.6.1)
		}
		specs++
		first, last, ok := strings.Cut(spec, "-")
		if !ok || !fzDigits(last) && last != "" || !fzDigits(first) && first != "" || first == "" && last == "" {
			return unit, false, nil
		}
		if first == "" { // suffix-range
			n, _ := strconv.ParseUint(last, 10, 64)
			if n > 0 && size > 0 {
				satisfiable = append(satisfiable, [2]int64{size - int64(min(n, uint64(size))), size - 1})
			}
			continue
		}
		f, err := strconv.ParseUint(first, 10, 64)
		if err != nil {
			f = math.MaxUint64
		}
		l := uint64(math.MaxUint64)
		if last != "" {
			if l, err = strconv.ParseUint(last, 10, 64); err != nil {
				l = math.MaxUint64
			}
			if l < f {
				return unit, false, nil // Section 14.1.1: invalid
			}
		}
		if f < uint64(size) {
			satisfiable = append(satisfiable, [2]int64{int64(f), int64(min(l, uint64(size-1)))})
		}
	}
	return unit, specs > 0, satisfiable
}

func fzDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// fzContentRange parses "bytes first-last/size" and reports whether it is
// a valid range of a representation of size bytes (RFC 9110,
// Section 14.4).
func fzContentRange(v string, size int64) (first, last int64, ok bool) {
	r, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, false
	}
	r, total, ok := strings.Cut(r, "/")
	a, b, ok2 := strings.Cut(r, "-")
	if !ok || !ok2 || total != strconv.FormatInt(size, 10) || !fzDigits(a) || !fzDigits(b) {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first > last || last >= size {
		return 0, 0, false
	}
	return first, last, true
}

// fzRefreshPatterns are the refresh rules FuzzFreshnessDates tries: Squid's
// default, a long LM-factor rule and one with both overrides.
var fzRefreshPatterns = []*RefreshPattern{
	nil,
	{Percent: 100, Max: 365 * 24 * time.Hour},
	{Min: time.Hour, Max: 30 * 24 * time.Hour, Percent: 50, OverrideExpire: true, OverrideLastmod: true},
	{Min: 10 * time.Minute, Max: 72 * time.Hour, Percent: 20},
}

// FuzzFreshnessDates feeds arbitrary Date, Expires, Last-Modified, Age and
// Cache-Control values to the freshness and age calculations (RFC 9111,
// Sections 4.2.1 to 4.2.3) and checks them against the RFC's formulas:
// lifetimes are never negative; s-maxage beats max-age beats Expires minus
// Date; delta-seconds lifetimes and age_value stay within 2^31 seconds; an
// Expires that is not one valid date means already expired; the
// Last-Modified heuristic is the refresh_pattern fraction of Date minus
// Last-Modified, capped at max, computed without overflow; and
// corrected_initial_age is max(apparent_age, age_value + response delay).
func FuzzFreshnessDates(f *testing.F) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	d := func(t time.Time) string { return t.Format(http.TimeFormat) }
	for _, s := range []struct {
		date, expires, lm, age, cc string
		present                    uint8
		status                     uint16
		rp                         uint8
		delay                      uint32
	}{
		{d(now), d(now.Add(time.Hour)), d(now.Add(-24 * time.Hour)), "60", "max-age=300", 0x1f, 200, 0, 2},
		{d(now), d(now.Add(time.Hour)), "", "", "", 0x03, 200, 0, 0},
		{d(now), "0", "", "", "", 0x03, 200, 0, 0},
		{d(now), "-1", "", "", "public", 0x13, 404, 3, 1},
		{d(now), "", "", "", "", 0x03, 200, 0, 0},
		{d(now), d(now.Add(time.Hour)), "", "", "", 0x23, 200, 2, 0},
		{"", "Thu, 01 Jan 1970 00:00:00 GMT", "", "", "", 0x02, 200, 0, 0},
		{"Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 GMT", "", "", 0x07, 200, 1, 0},
		{d(now), "", d(now.Add(-100 * 24 * time.Hour)), "", "", 0x05, 200, 1, 0},
		{d(now), "", d(now.Add(-10 * 24 * time.Hour)), "", "", 0x05, 302, 0, 0},
		{d(now), "", d(now.Add(-10 * 24 * time.Hour)), "", "public", 0x15, 302, 2, 0},
		{d(now), "", d(now.Add(time.Hour)), "", "", 0x05, 200, 2, 0},
		{d(now), d(now.Add(time.Hour)), "", "", "s-maxage=10, max-age=5", 0x13, 200, 0, 0},
		{d(now), "", "", "", "max-age=abc", 0x11, 200, 0, 0},
		{d(now), "", "", "", "max-age=99999999999999999999", 0x11, 200, 0, 0},
		{d(now.Add(-time.Hour)), "", "", "1, 2", "", 0x09, 200, 0, 5},
		{d(now), "", "", "  5", "", 0x09, 200, 0, 0},
		{d(now), "", "", "5 ", "", 0x49, 200, 0, 0},
		{d(now), "", "", "-1", "", 0x09, 200, 0, 0},
		{d(now), "", "", "99999999999", "", 0x09, 200, 0, 0},
		{d(now), "", "", "2147483648", "", 0x09, 200, 0, 0},
		{"Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "", "", "", 0x03, 200, 0, 0},
		{d(now), "Fri, 31 Dec 9999 23:59:59 GMT", "", "", "", 0x03, 200, 0, 0},
		{"Mon, 01 Jan 0001 00:00:00 GMT", "", "", "", "", 0x01, 200, 0, 4000},
		// Date minus Last-Modified times the LM-factor overflows int64
		// nanoseconds: the lifetime came out negative or wrapped.
		{d(now), "", "Mon, 01 Jan 2001 00:00:00 GMT", "", "", 0x05, 200, 0, 0},
		{d(now), "", "Mon, 01 Jan 1990 00:00:00 GMT", "", "", 0x05, 200, 1, 0},
		{"Fri, 31 Dec 9999 23:59:59 GMT", "", "Mon, 01 Jan 0001 00:00:00 GMT", "", "", 0x05, 200, 2, 0},
	} {
		f.Add(s.date, s.expires, s.lm, s.age, s.cc, s.present, s.status, s.rp, s.delay)
	}
	f.Fuzz(func(t *testing.T, date, expires, lm, age, ccv string, present uint8, status uint16, rpi uint8, delay uint32) {
		h := http.Header{}
		for i, kv := range [...][2]string{{"Date", date}, {"Expires", expires}, {"Last-Modified", lm}, {"Age", age}, {"Cache-Control", ccv}} {
			if present&(1<<i) != 0 {
				h[kv[0]] = []string{kv[1]}
			}
		}
		if present&0x20 != 0 && h["Expires"] != nil {
			h["Expires"] = append(h["Expires"], expires)
		}
		if present&0x40 != 0 && h["Age"] != nil {
			h["Age"] = append(h["Age"], age)
		}
		responseTime := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		requestTime := responseTime.Add(-time.Duration(delay%7200) * time.Second)
		rp := fzRefreshPatterns[int(rpi)%len(fzRefreshPatterns)]
		eff := rp
		if eff == nil {
			eff = &defaultRefresh
		}
		cc := ParseCacheControl(h)
		life, explicit := FreshnessLifetime(int(status), h, cc, rp, responseTime)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("FreshnessLifetime(%d, %q, rule %+v) = %v, %v: "+format, append([]any{status, h, *eff, life, explicit}, args...)...)
		}
		if life < 0 {
			fail("negative lifetime")
		}
		dateVal := responseTime // RFC 9111, Section 4.2.3 date_value
		if dt, err := http.ParseTime(h.Get("Date")); err == nil {
			dateVal = dt
		}
		override := func(d time.Duration) time.Duration {
			if eff.OverrideExpire {
				return max(d, eff.Min)
			}
			return d
		}
		switch {
		case cc.SMaxAge >= 0 || cc.MaxAge >= 0:
			want := cc.MaxAge
			if cc.SMaxAge >= 0 {
				want = cc.SMaxAge
			}
			if want > maxDelta*time.Second {
				fail("delta-seconds lifetime beyond 2^31 s")
			}
			if !explicit || life != override(want) {
				fail("want %v from s-maxage or max-age (RFC 9111, Section 4.2.1)", override(want))
			}
		case h["Expires"] != nil:
			exp, err := http.ParseTime(h.Get("Expires"))
			want := time.Duration(0)
			if err == nil && len(h["Expires"]) == 1 {
				want = max(exp.Sub(dateVal), 0)
			}
			if !explicit || life != override(want) {
				fail("want %v from Expires minus Date (RFC 9111, Sections 4.2.1 and 5.3)", override(want))
			}
		default:
			if explicit {
				fail("explicit without s-maxage, max-age or Expires")
			}
			want := time.Duration(0)
			if heuristicStatus(int(status)) || cc.Public {
				want = min(eff.Min, eff.Max)
				if lmt, err := http.ParseTime(h.Get("Last-Modified")); err == nil && lmt.Before(dateVal) {
					want = fzFraction(dateVal.Sub(lmt), eff.Percent, eff.Max)
					if eff.OverrideLastmod {
						want = max(want, eff.Min)
					}
				}
			}
			if life != want {
				fail("want heuristic lifetime %v (RFC 9111, Section 4.2.2: %d%% of Date minus Last-Modified, at most %v)", want, eff.Percent, eff.Max)
			}
		}

		av := ageHeaderValue(h)
		if av < 0 || av > maxDelta*time.Second || av%time.Second != 0 {
			t.Fatalf("ageHeaderValue(%q) = %v, want whole seconds in [0, 2^31 s]", h["Age"], av)
		}
		switch vs := h["Age"]; {
		case len(vs) == 0 && av != 0:
			t.Fatalf("ageHeaderValue without Age = %v, want 0", av)
		case len(vs) == 1 && fzDigits(vs[0]):
			n, err := strconv.ParseUint(vs[0], 10, 64)
			if err != nil || n > maxDelta {
				n = maxDelta
			}
			if av != time.Duration(n)*time.Second {
				t.Fatalf("ageHeaderValue(%q) = %v, want %ds", vs, av, n)
			}
		}
		ia := InitialAge(h, requestTime, responseTime)
		apparent := max(responseTime.Sub(dateVal), 0)
		if want := max(apparent, av+responseTime.Sub(requestTime)); ia != want || ia < 0 {
			t.Fatalf("InitialAge(%q, delay %v) = %v, want %v (RFC 9111, Section 4.2.3)", h, responseTime.Sub(requestTime), ia, want)
		}
	})
}

// fzFraction returns min(d*percent/100, limit), computed in 128 bits.
func fzFraction(d time.Duration, percent int, limit time.Duration) time.Duration {
	hi, lo := bits.Mul64(uint64(d), uint64(percent))
	if hi >= 100 {
		return limit
	}
	q, _ := bits.Div64(hi, lo, 100)
	if q > uint64(limit) {
		return limit
	}
	return time.Duration(q)
}

// FuzzCachedMeta builds a stored response's metadata from fuzzed values, as
// storeResponse would from an origin response (field names and values as
// net/http delivers them, Vary names from parseVary), and checks that it
// survives marshal and unmarshal: status, times, ages, Vary names and
// values and the header. Arbitrary bytes given to unmarshalCached either
// fail or give metadata that re-encodes to itself.
func FuzzCachedMeta(f *testing.F) {
	for _, s := range []struct {
		status                      int
		reqNs, resNs, initAge, life int64
		name, value, vary, reqValue string
		raw                         []byte
	}{
		{200, 1795627647000001000, 1795627647000005000, 3e9, 3600e9, "Content-Type", "text/css", "Accept-Encoding", "gzip, br", nil},
		{404, 0, 0, 0, 0, "x-custom", "a, \"b\"", "", "", []byte("cuttle-cached 1\n200 1 2 3 4\n\nA: b\r\n\r\n")},
		{-1, math.MinInt64, math.MaxInt64, -1, math.MaxInt64, "Set-Cookie", "id=1; Path=/", "accept-encoding, accept-language , user-agent", "fr\n\x00\"", []byte("200 1 2 3 4\nvary X `y`\n\n")},
		{206, 1, 2, 3, 4, "Content-Range", "bytes 0-1/2", "Cookie,Accept", "", []byte("cuttle-cached 1\n200 1 2 3 4\nvary A \"\\x00\"\nvary B \"\"\n\n")},
		{200, 5, 5, 0, 0, "Etag", `W/"x"`, "*", "gzip", []byte("cuttle-cached 1\n1 2 3 4 5\nvary  \"\"\n\nKey:  value  \r\n\r\n")},
		{200, 5, 5, 0, 0, "", "\x01\x7f é", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "x", []byte("cuttle-cached 1\n")},
	} {
		f.Add(s.status, s.reqNs, s.resNs, s.initAge, s.life, s.name, s.value, s.vary, s.reqValue, s.raw)
	}
	f.Fuzz(func(t *testing.T, status int, reqNs, resNs, initAge, life int64, name, value, vary, reqValue string, raw []byte) {
		hdr := http.Header{"Content-Type": {"text/html"}}
		key := textproto.CanonicalMIMEHeaderKey(fzToken(name))
		if key == "" {
			key = "X-Fuzz"
		}
		hdr[key] = append(hdr[key], fzFieldValue(value))
		if v := fzFieldValue(vary); v != "" {
			hdr["Vary"] = []string{v}
		}
		c := &cached{
			status:       status,
			header:       hdr,
			requestTime:  time.Unix(0, reqNs),
			responseTime: time.Unix(0, resNs),
			initialAge:   time.Duration(initAge),
			lifetime:     time.Duration(life),
		}
		if names, ok := parseVary(hdr); ok {
			c.varyNames = names
		}
		req := http.Header{}
		for _, n := range c.varyNames {
			req[n] = []string{reqValue}
			c.varyValues = append(c.varyValues, varyValue(req, n))
		}
		c.headerBytes = hitFieldsSize(hdr)
		p := c.marshal()
		got, err := unmarshalCached(p)
		if err != nil {
			t.Fatalf("unmarshalCached(marshal(%+v)) error %v; stored metadata:\n%q", c, err, p)
		}
		if got.status != c.status || !got.requestTime.Equal(c.requestTime) || !got.responseTime.Equal(c.responseTime) ||
			got.initialAge != c.initialAge || got.lifetime != c.lifetime {
			t.Fatalf("round trip changed status or times: got %d %v %v %v %v, want %d %v %v %v %v", got.status,
				got.requestTime.UnixNano(), got.responseTime.UnixNano(), got.initialAge, got.lifetime,
				c.status, reqNs, resNs, c.initialAge, c.lifetime)
		}
		if !slices.Equal(got.varyNames, c.varyNames) || !slices.Equal(got.varyValues, c.varyValues) {
			t.Fatalf("round trip changed Vary: got %q %q, want %q %q", got.varyNames, got.varyValues, c.varyNames, c.varyValues)
		}
		if !reflect.DeepEqual(got.header, c.header) || got.headerBytes != c.headerBytes {
			t.Fatalf("round trip changed the header: got %q (%d bytes), want %q (%d bytes)", got.header, got.headerBytes, c.header, c.headerBytes)
		}
		if !got.varyMatches(&http.Request{Header: req}) {
			t.Fatalf("stored variant %q=%q does not match the request that stored it (%q)", got.varyNames, got.varyValues, req)
		}

		// Arbitrary stored bytes, with and without the magic line.
		for _, p := range [][]byte{raw, append([]byte(cachedMagic), raw...)} {
			c, err := unmarshalCached(p)
			if err != nil {
				continue
			}
			if c == nil || c.header == nil || len(c.varyNames) != len(c.varyValues) || c.headerBytes != hitFieldsSize(c.header) {
				t.Fatalf("unmarshalCached(%q) = %+v: not usable", p, c)
			}
			c.varyMatches(&http.Request{Header: http.Header{}})
			b1 := c.marshal()
			c2, err := unmarshalCached(b1)
			if err != nil {
				t.Fatalf("unmarshalCached(%q) decoded, but its re-encoding %q does not: %v", p, b1, err)
			}
			if b2 := c2.marshal(); !bytes.Equal(b1, b2) {
				t.Fatalf("unmarshalCached(%q): re-encoding not stable:\n%q\n%q", p, b1, b2)
			}
		}
	})
}
