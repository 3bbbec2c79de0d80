package accesslog

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// quoting is the encoding applied to one %code's value, chosen by the
// character after "%" or by the literal quotes and brackets around it.
type quoting uint8

const (
	quoteNone     quoting = iota // no encoding character
	quoteQuotes                  // %"code, or inside literal double quotes
	quoteMimeBlob                // %[code, or inside literal brackets
	quoteURL                     // %#code
	quoteRaw                     // %'code
	quoteShell                   // %/code
)

// code identifies a supported logformat %code.
type code uint8

const (
	codeLiteral           code = iota // text between codes
	codePercent                       // %%
	codeTimeSec                       // %ts
	codeTimeSub                       // %tu
	codeTimeLocal                     // %tl
	codeTimeGMT                       // %tg
	codeTimeStart                     // %tS
	codeElapsed                       // %tr
	codeDNSTime                       // %dt
	codePeerTime                      // %<pt
	codeServerTime                    // %<tt
	codeClientIP                      // %>a
	codeClientFQDN                    // %>A
	codeClientPort                    // %>p
	codeLocalIP                       // %>la, %la
	codeLocalPort                     // %>lp, %lp
	codePeerIP                        // %<a
	codePeerName                      // %<A
	codePeerPort                      // %<p
	codeResult                        // %Ss
	codeHierarchy                     // %Sh
	codeStatus                        // %>Hs (and the deprecated %Hs)
	codePeerStatus                    // %<Hs
	codeReplySize                     // %<st
	codeRequestSize                   // %>st
	codeTotalSize                     // %st
	codeReplyHeaderSize               // %<sh
	codeRequestHeaderSize             // %>sh
	codeMethod                        // %rm, %>rm
	codeURL                           // %ru
	codeClientURL                     // %>ru
	codeURLScheme                     // %>rs
	codeURLDomain                     // %>rd
	codeURLPort                       // %>rP
	codeURLPath                       // %rp, %>rp
	codeVersion                       // %rv (and the deprecated %>v)
	codeClientVersion                 // %>rv
	codeUser                          // %un
	codeUserLogin                     // %ul
	codeUserIdent                     // %ui
	codeUserExternal                  // %ue
	codeUserTLS                       // %us
	codeMimeType                      // %mt
	codeReqHeader                     // %{Name}>h
	codeRepHeader                     // %{Name}<h
	codeReqHeaders                    // %>h
	codeRepHeaders                    // %<h
	codeErrCode                       // %err_code
	codeErrDetail                     // %err_detail
	codeNote                          // %note, %{name}note
	codeSequence                      // %sn
	codeExtLog                        // %ea
	codeExtTag                        // %et
)

// supportedCode maps the logformat code names Compile understands to their
// meaning.
func supportedCode(name string) (code, bool) {
	switch name {
	case "%":
		return codePercent, true
	case "ts":
		return codeTimeSec, true
	case "tu":
		return codeTimeSub, true
	case "tl":
		return codeTimeLocal, true
	case "tg":
		return codeTimeGMT, true
	case "tS":
		return codeTimeStart, true
	case "tr":
		return codeElapsed, true
	case "dt":
		return codeDNSTime, true
	case "<pt":
		return codePeerTime, true
	case "<tt":
		return codeServerTime, true
	case ">a":
		return codeClientIP, true
	case ">A":
		return codeClientFQDN, true
	case ">p":
		return codeClientPort, true
	case ">la", "la":
		return codeLocalIP, true
	case ">lp", "lp":
		return codeLocalPort, true
	case "<a":
		return codePeerIP, true
	case "<A":
		return codePeerName, true
	case "<p":
		return codePeerPort, true
	case "Ss":
		return codeResult, true
	case "Sh":
		return codeHierarchy, true
	case ">Hs", "Hs":
		return codeStatus, true
	case "<Hs":
		return codePeerStatus, true
	case "<st":
		return codeReplySize, true
	case ">st":
		return codeRequestSize, true
	case "st":
		return codeTotalSize, true
	case "<sh":
		return codeReplyHeaderSize, true
	case ">sh":
		return codeRequestHeaderSize, true
	case "rm", ">rm":
		return codeMethod, true
	case "ru":
		return codeURL, true
	case ">ru":
		return codeClientURL, true
	case ">rs":
		return codeURLScheme, true
	case ">rd":
		return codeURLDomain, true
	case ">rP":
		return codeURLPort, true
	case "rp", ">rp":
		return codeURLPath, true
	case "rv", ">v":
		return codeVersion, true
	case ">rv":
		return codeClientVersion, true
	case "un":
		return codeUser, true
	case "ul":
		return codeUserLogin, true
	case "ui":
		return codeUserIdent, true
	case "ue":
		return codeUserExternal, true
	case "us":
		return codeUserTLS, true
	case "mt":
		return codeMimeType, true
	case ">h":
		return codeReqHeader, true
	case "<h":
		return codeRepHeader, true
	case "err_code":
		return codeErrCode, true
	case "err_detail":
		return codeErrDetail, true
	case "note":
		return codeNote, true
	case "sn":
		return codeSequence, true
	case "ea":
		return codeExtLog, true
	case "et":
		return codeExtTag, true
	}
	return 0, false
}

// knownCodes lists every Squid 5 logformat code name, supported or not,
// longest first, so that an unsupported code such as %>ha is reported
// instead of being read as %>h followed by the text "a".
func knownCodes() []string {
	return []string{
		"request_attempts", "master_xaction", "credentials", ">handshake",
		"err_detail", "err_code", ">nfmark", "<nfmark", "note",
		">eui", ">qos", "<qos",
		">la", ">lp", "<la", "<lp", "<pt", "<tt", ">ha", ">Hs", "<Hs", "<bs",
		">rm", ">ru", ">rs", ">rd", ">rP", ">rp", ">rv",
		"<rm", "<ru", "<rs", "<rd", "<rP", "<rp", "<rv",
		">st", ">sh", "<st", "<sH", "<sS", "<sh",
		"la", "lp", "oa", "ts", "tu", "tl", "tg", "tS", "tr", "dt",
		"un", "ul", "ui", "ue", "us", "Hs", "Ss", "Sh", "mt",
		"rm", "ru", "rp", "rv", "rG", "st", "et", "ea", "sn",
		">a", ">p", ">A", "<a", "<p", "<A", ">h", "<h", ">v", "%",
	}
}

// token is one compiled piece of a logformat: literal text or a %code with
// its modifiers.
type token struct {
	code  code
	text  string  // literal text, canonical header or note name, or strftime spec
	elem  string  // list member of %{Name:elem}>h
	sep   byte    // list separator of %{Name:elem}>h
	nsep  string  // separator of %note
	all   bool    // %note without a name
	quote quoting // encoding of the value
	left  bool    // "-": pad on the right
	zero  bool    // "0": pad numbers with zeros
	width int     // minimum width; 0 when absent
	prec  int     // ".N": maximum width, or digits after the point; -1 when absent
}

// customFormat is a compiled logformat.
type customFormat struct {
	opts   FormatOptions
	tokens []token
	seq    atomic.Uint64 // %sn: lines formatted so far
}

// Compile compiles the specification of a squid.conf logformat directive
// (everything after the format's name) into a Formatter.
//
// The syntax is Squid's: %[encoding][-][[0]width][.precision][{arg}]code
// (the {arg} may also follow the code). Encodings are " (quoted string), [
// (mime-blob), # (URL), / (shell-like: quoted-string escapes, and the
// value in double quotes when it holds a space) and ' (raw, with control
// characters still %-encoded); literal double quotes and brackets in the
// text switch quoted-string and mime-blob encoding on and off for the
// codes between them, as in Squid. "-" pads on the right, a leading 0 pads
// numbers with zeros, and precision truncates text or, for %tr, %dt, %<pt,
// %<tt, %tS and %tu, sets the number of fractional digits. A missing value
// logs "-", unpadded, as in Squid.
//
// Supported codes: %% %sn %err_code %err_detail %note (with an optional
// {name[:separator]}); %>a %>A %>p %>la %>lp %la %lp %<a %<A %<p; %ts %tu
// %tl %tg (each of the last two with an optional {strftime} argument) %tS
// %tr %dt %<pt %<tt; %et %ea %un %ul %ue %us %ui; %rm %>rm %ru %>ru %rp
// %>rp %>rs %>rd %>rP %rv %>rv; %>h and %<h (all headers, or one with
// {Name}, or one member of a list header with {Name:[separator]member});
// %>Hs %<Hs %mt; %st %>st %<st %>sh %<sh; %Ss %Sh. The prefix "http::" is
// accepted. Other Squid codes are reported as unsupported.
//
// Every code is escaped so that a line never holds a CR, LF or NUL and,
// except for the raw (') encoding, never an unescaped double quote that a
// value brought in: see the package documentation.
func Compile(format string, opts FormatOptions) (Formatter, error) {
	f := &customFormat{opts: opts}
	state := quoteNone
	for i := 0; i < len(format); {
		if format[i] != '%' {
			j := strings.IndexByte(format[i:], '%')
			if j < 0 {
				j = len(format) - i
			}
			lit := format[i : i+j]
			if k := strings.IndexAny(lit, "\r\n"); k >= 0 {
				return nil, fmt.Errorf("accesslog: logformat: line break in text at offset %d", i+k)
			}
			if k := strings.IndexByte(lit, 0); k >= 0 {
				return nil, fmt.Errorf("accesslog: logformat: NUL in text at offset %d", i+k)
			}
			for k := 0; k < len(lit); k++ {
				switch {
				case lit[k] == '"' && state == quoteNone:
					state = quoteQuotes
				case lit[k] == '"' && state == quoteQuotes:
					state = quoteNone
				case lit[k] == '[' && state == quoteNone:
					state = quoteMimeBlob
				case lit[k] == ']' && state == quoteMimeBlob:
					state = quoteNone
				}
			}
			f.tokens = append(f.tokens, token{code: codeLiteral, text: lit})
			i += j
			continue
		}
		t, n, err := parseCode(format, i, state)
		if err != nil {
			return nil, err
		}
		f.tokens = append(f.tokens, t)
		i += n
	}
	return f, nil
}

// parseCode parses the %code starting at format[at] and returns it with
// its length.
func parseCode(format string, at int, state quoting) (token, int, error) {
	t := token{quote: state, prec: -1}
	s := format[at+1:]
	fail := func(msg string) (token, int, error) {
		end := at + 1
		for end < len(format) && !strings.ContainsRune(" \t%\"", rune(format[end])) {
			end++
		}
		return token{}, 0, fmt.Errorf("accesslog: logformat: %s %q at offset %d", msg, format[at:end], at)
	}
	if s == "" {
		return fail("incomplete code")
	}
	switch s[0] {
	case '"':
		t.quote, s = quoteQuotes, s[1:]
	case '[':
		t.quote, s = quoteMimeBlob, s[1:]
	case '#':
		t.quote, s = quoteURL, s[1:]
	case '\'':
		t.quote, s = quoteRaw, s[1:]
	case '/':
		t.quote, s = quoteShell, s[1:]
	}
	if strings.HasPrefix(s, "-") {
		t.left, s = true, s[1:]
	}
	if strings.HasPrefix(s, "0") {
		t.zero, s = true, s[1:]
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n > 0 {
		w, err := strconv.Atoi(s[:n])
		if err != nil || w > 1<<16 {
			return fail("bad width in")
		}
		t.width, s = w, s[n:]
	}
	if strings.HasPrefix(s, ".") {
		s = s[1:]
		n = 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n > 0 {
			p, err := strconv.Atoi(s[:n])
			if err != nil || p > 1<<16 {
				return fail("bad precision in")
			}
			t.prec, s = p, s[n:]
		}
	}
	arg, hasArg := "", false
	if strings.HasPrefix(s, "{") {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return fail("unterminated {argument} in")
		}
		arg, hasArg, s = s[1:end], true, s[end+1:]
	}
	if strings.HasPrefix(s, "http::") && !strings.HasPrefix(s, "http::%") {
		s = s[len("http::"):]
	}
	for _, ns := range []string{"adapt::", "icap::", "ssl::", "tls::", "proxy_protocol::", "transport::"} {
		if strings.HasPrefix(s, ns) {
			return fail("unsupported code")
		}
	}
	name := ""
	for _, k := range knownCodes() {
		if strings.HasPrefix(s, k) {
			name = k
			break
		}
	}
	if name == "" {
		return fail("unknown code")
	}
	s = s[len(name):]
	c, ok := supportedCode(name)
	if !ok {
		return fail("unsupported code")
	}
	if !hasArg && strings.HasPrefix(s, "{") { // old syntax: argument after the code
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return fail("unterminated {argument} in")
		}
		arg, hasArg, s = s[1:end], true, s[end+1:]
	}
	if strings.ContainsAny(arg, "\r\n\x00") {
		return fail("line break or NUL in argument of")
	}
	t.code = c
	switch c {
	case codeReqHeader, codeRepHeader:
		if !hasArg {
			t.code = codeReqHeaders
			if c == codeRepHeader {
				t.code = codeRepHeaders
			}
			break
		}
		// Squid's {Name:[separator]member}: the separator is one of ",;:"
		// and defaults to ",".
		hname, member, isList := strings.Cut(arg, ":")
		if hname == "" {
			return fail("missing header name in")
		}
		t.text = textproto.CanonicalMIMEHeaderKey(hname)
		if isList {
			t.sep = ','
			if member != "" && strings.IndexByte(",;:", member[0]) >= 0 {
				t.sep, member = member[0], member[1:]
			}
			if member == "" {
				return fail("missing list member name in")
			}
			t.elem = member
		}
	case codeNote:
		// {name[:separator]}: without a name, every note is logged as
		// "name: value" followed by the separator ("\r\n" by default).
		nname, sep, hasSep := strings.Cut(arg, ":")
		t.text, t.all = nname, nname == ""
		t.nsep = ","
		if hasSep && sep != "" {
			t.nsep = sep[:1]
		}
		if t.all && !hasArg {
			t.nsep = "\r\n"
		}
	case codeTimeLocal, codeTimeGMT:
		t.text = arg
	case codePercent:
		t.text = "%"
	}
	return t, len(format) - len(s) - at, nil
}

// Append implements [Formatter].
func (f *customFormat) Append(dst []byte, e *Entry) []byte {
	for i := range f.tokens {
		t := &f.tokens[i]
		if t.code == codeLiteral {
			dst = append(dst, t.text...)
			continue
		}
		dst = f.appendToken(dst, t, e)
	}
	return append(dst, '\n')
}

// appendToken appends the value of one %code, encoded and padded.
func (f *customFormat) appendToken(dst []byte, t *token, e *Entry) []byte {
	start := len(dst)
	switch t.code {
	case codePercent:
		return append(dst, '%')
	case codeTimeSec:
		dst = appendInt(dst, e.logTime().Unix(), t.zeroWidth(), t.zero)
	case codeTimeSub:
		digits := 3
		if t.prec > 0 {
			digits = min(t.prec, 6) // Squid's clock has microseconds
		}
		v := int64(e.logTime().Nanosecond()) / pow10(9-digits)
		dst = appendInt(dst, v, t.zeroWidth(), t.zero)
	case codeElapsed:
		dst = t.appendMsec(dst, e.elapsed())
	case codeDNSTime, codePeerTime, codeServerTime:
		d := e.DNSTime
		switch t.code {
		case codePeerTime:
			d = e.PeerTime
		case codeServerTime:
			d = e.ServerTime
		}
		if d <= 0 {
			return append(dst, '-')
		}
		dst = t.appendMsec(dst, d)
	case codeTimeStart:
		if e.Start.IsZero() {
			return append(dst, '-')
		}
		digits := 3
		if t.prec >= 0 {
			digits = min(t.prec, 6)
		}
		dst = appendFixed(dst, e.Start.Unix(), int64(e.Start.Nanosecond())/pow10(9-digits), digits, t)
	case codeStatus:
		dst = appendInt(dst, int64(e.Status), t.zeroWidth(), t.zero)
	case codeReplySize:
		dst = appendInt(dst, e.Bytes, t.zeroWidth(), t.zero)
	case codeRequestSize:
		dst = appendInt(dst, e.RequestBytes, t.zeroWidth(), t.zero)
	case codeTotalSize:
		dst = appendInt(dst, e.RequestBytes+e.Bytes, t.zeroWidth(), t.zero)
	case codeReplyHeaderSize:
		dst = appendInt(dst, e.ReplyHeaderBytes, t.zeroWidth(), t.zero)
	case codeRequestHeaderSize:
		dst = appendInt(dst, e.RequestHeaderBytes, t.zeroWidth(), t.zero)
	case codeSequence:
		dst = appendInt(dst, int64(f.seq.Add(1)-1), t.zeroWidth(), t.zero)
	case codeClientPort, codeLocalPort, codePeerPort, codePeerStatus, codeURLPort:
		v := 0
		switch t.code {
		case codeClientPort:
			v = e.ClientPort
		case codeLocalPort:
			v = e.LocalPort
		case codePeerPort:
			v = e.PeerPort
		case codePeerStatus:
			v = e.PeerStatus
		case codeURLPort:
			v = urlPort(e.URL)
		}
		if v == 0 {
			return append(dst, '-')
		}
		dst = appendInt(dst, int64(v), t.zeroWidth(), t.zero)
	case codeVersion, codeClientVersion:
		if t.code == codeClientVersion && e.ProtoMajor == 0 && e.ProtoMinor == 0 {
			return append(dst, '-') // no request was parsed
		}
		var buf [24]byte
		b := strconv.AppendInt(buf[:0], int64(e.ProtoMajor), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(e.ProtoMinor), 10)
		dst = appendEncoded(dst, b, t.quote, encTrusted)
		return t.truncatePad(dst, start)
	case codeTimeLocal, codeTimeGMT:
		tm := e.logTime()
		if t.code == codeTimeLocal {
			tm = tm.In(f.opts.location())
		} else {
			tm = tm.UTC()
		}
		var buf [64]byte
		b := buf[:0]
		switch {
		case t.text != "":
			b = appendStrftime(b, tm, t.text)
		case t.code == codeTimeLocal:
			b = tm.AppendFormat(b, httpdTime)
		default:
			b = tm.AppendFormat(b, "02/Jan/2006:15:04:05")
		}
		if len(b) == 0 {
			return append(dst, '-')
		}
		dst = appendEncoded(dst, b, t.quote, encTrusted)
		return t.truncatePad(dst, start)
	case codeReqHeader, codeRepHeader:
		h := e.RequestHeader
		if t.code == codeRepHeader {
			h = e.ResponseHeader
		}
		vals := h[t.text]
		if len(vals) > 1 && singleValued(t.text) {
			vals = vals[:1] // Squid logs the first of a non-list header
		}
		if t.elem != "" {
			v := ""
			for _, hv := range vals {
				if m, ok := listMember(hv, t.elem, t.sep); ok {
					v = m
					break
				}
			}
			if v == "" {
				return append(dst, '-')
			}
			dst = appendEncoded(dst, v, t.quote, encSquidQuoted)
			return t.truncatePad(dst, start)
		}
		total := 0
		for _, v := range vals {
			total += len(v)
		}
		if total == 0 {
			return append(dst, '-')
		}
		for i, v := range vals {
			if i > 0 {
				dst = appendEncoded(dst, ", ", t.quote, encSquidQuoted)
			}
			dst = appendEncoded(dst, v, t.quote, encSquidQuoted)
		}
		return t.truncatePad(dst, start)
	case codeReqHeaders, codeRepHeaders:
		h := e.RequestHeader
		if t.code == codeRepHeaders {
			h = e.ResponseHeader
		}
		if len(h) == 0 {
			return append(dst, '-')
		}
		dst = appendAllHeaders(dst, h, t.quote)
		if len(dst) == start {
			return append(dst, '-')
		}
		return t.truncatePad(dst, start)
	case codeNote:
		dst = appendNotes(dst, e.Notes, t)
		if len(dst) == start {
			return append(dst, '-')
		}
		return t.truncatePad(dst, start)
	case codeURLScheme, codeURLDomain, codeURLPath:
		scheme, host, _, path, ok := urlParts(e.URL)
		s := scheme
		switch t.code {
		case codeURLDomain:
			if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
				host = host[1 : len(host)-1] // Squid keeps an IPv6 host bare
			}
			s = host
		case codeURLPath:
			s = path
		}
		if !ok || (s == "" && t.code != codeURLPath) {
			return append(dst, '-')
		}
		if t.code == codeURLPath && (s == "" || s[0] != '/') {
			dst = appendEncoded(dst, "/", t.quote, encSquidQuoted)
		}
		dst = appendEncoded(dst, s, t.quote, encSquidQuoted)
		return t.truncatePad(dst, start)
	default:
		s, enc := f.stringValue(t.code, e)
		if s == "" {
			return append(dst, '-')
		}
		dst = appendEncoded(dst, s, t.quote, enc)
		return t.truncatePad(dst, start)
	}
	return t.pad(dst, start)
}

// appendMsec appends a duration as Squid logs %tr, %dt, %<pt and %<tt:
// whole milliseconds, or with a precision that many fractional digits of
// a millisecond (at most 6; Squid's clock has microseconds).
func (t *token) appendMsec(dst []byte, d time.Duration) []byte {
	if t.prec < 0 {
		return appendInt(dst, d.Milliseconds(), t.zeroWidth(), t.zero)
	}
	digits := min(t.prec, 6)
	d = d.Truncate(time.Microsecond)
	return appendFixed(dst, d.Milliseconds(), int64(d%time.Millisecond)/pow10(6-digits), digits, t)
}

// stringValue returns the text of a string-valued code and how Squid
// encodes it when no quoting is asked for.
func (f *customFormat) stringValue(c code, e *Entry) (string, encoding) {
	switch c {
	case codeClientIP, codeClientFQDN: // no reverse DNS: %>A logs the address
		return e.ClientIP, encUntrusted
	case codeLocalIP:
		return e.LocalIP, encUntrusted
	case codePeerIP:
		return e.PeerIP, encUntrusted
	case codePeerName:
		return e.PeerName, encUntrusted
	case codeResult:
		if e.ResultCode == "" {
			return "NONE_NONE", encUntrusted
		}
		return e.ResultCode, encUntrusted
	case codeHierarchy:
		if e.Hierarchy == "" {
			return "HIER_NONE", encUntrusted
		}
		return e.Hierarchy, encUntrusted
	case codeMethod:
		return e.Method, encSquidQuoted
	case codeURL:
		if e.URL == "" {
			return "", encUntrusted
		}
		return f.opts.url(e), encUntrusted
	case codeClientURL: // not affected by strip_query_terms
		return e.URL, encSquidQuoted
	case codeUser:
		return e.logUser(), encUser
	case codeUserLogin:
		return e.User, encUser
	case codeUserExternal:
		return e.ExtUser, encUser
	case codeUserTLS:
		return e.TLSUser, encUser
	case codeMimeType:
		return mimeType(e.ContentType), encUntrusted
	case codeErrCode:
		return e.ErrorCode, encUntrusted
	case codeErrDetail:
		return e.ErrorDetail, encUntrusted
	case codeExtLog:
		return e.ExtLog, encSquidQuoted
	case codeExtTag:
		return e.ExtTag, encSquidQuoted
	}
	return "", encUntrusted // codeUserIdent: ident lookups are not done
}

// urlPort is %>rP: the port of an absolute URL, or its scheme's default
// port; 0 when unknown.
func urlPort(u string) int {
	scheme, _, port, _, ok := urlParts(u)
	if !ok {
		return 0
	}
	if port == "" {
		return defaultPort(scheme)
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' || n > 65535 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0
	}
	return n
}

// singleValued reports whether Squid knows the canonical header name as a
// header that is not a comma-separated list, of which it logs only the
// first occurrence (HttpHeader::getStrOrList).
func singleValued(name string) bool {
	switch name {
	case "Age", "Authorization", "Content-Base", "Content-Disposition",
		"Content-Length", "Content-Location", "Content-Md5", "Content-Range",
		"Content-Type", "Cookie", "Date", "Etag", "Expires", "From", "Host",
		"If-Modified-Since", "If-Range", "If-Unmodified-Since", "Last-Modified",
		"Location", "Max-Forwards", "Mime-Version", "Proxy-Authorization",
		"Range", "Referer", "Request-Range", "Retry-After", "Server",
		"Set-Cookie", "Title", "User-Agent":
		return true
	}
	return false
}

// listMember returns the value of the member "name=value" of the list v
// whose items are separated by sep, as Squid's
// HttpHeader::getListMember finds it: items are trimmed of white space, a
// separator inside double quotes does not split, the name is compared
// case-sensitively and the value is not unquoted.
func listMember(v, name string, sep byte) (string, bool) {
	for len(v) > 0 {
		// skip leading white space
		i := 0
		for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n') {
			i++
		}
		v = v[i:]
		// find the end of the item
		j, inQuote := 0, false
		for ; j < len(v); j++ {
			c := v[j]
			if c == '"' {
				inQuote = !inQuote
			} else if c == '\\' && inQuote && j+1 < len(v) {
				j++
			} else if c == sep && !inQuote {
				break
			}
		}
		item := v[:j]
		for len(item) > 0 && (item[len(item)-1] == ' ' || item[len(item)-1] == '\t' || item[len(item)-1] == '\r' || item[len(item)-1] == '\n') {
			item = item[:len(item)-1]
		}
		if len(item) > len(name) && item[:len(name)] == name && item[len(name)] == '=' {
			return item[len(name)+1:], true
		}
		if j >= len(v) {
			break
		}
		v = v[j+1:]
	}
	return "", false
}

// appendAllHeaders appends every field of h as "Name: value\r\n", names
// in sorted order (Go's http.Header does not keep the received order),
// encoded for q or, unquoted, with Squid's pass-through URL encoding (so
// the CRLFs become %0D%0A).
func appendAllHeaders(dst []byte, h http.Header, q quoting) []byte {
	var stack [32]string
	keys := stack[:0]
	for k := range h {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ { // insertion sort: no allocation
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	for _, k := range keys {
		for _, v := range h[k] {
			dst = appendEncoded(dst, k, q, encSquidQuoted)
			dst = appendEncoded(dst, ": ", q, encSquidQuoted)
			dst = appendEncoded(dst, v, q, encSquidQuoted)
			dst = appendEncoded(dst, "\r\n", q, encSquidQuoted)
		}
	}
	return dst
}

// appendNotes appends %note: the values of the notes named t.text joined
// by t.nsep, or, for %note without a name, every note as "name: value"
// followed by the separator ("\r\n" by default), as Squid's
// NotePairs::find and NotePairs::toString write them.
func appendNotes(dst []byte, notes []Note, t *token) []byte {
	sep := t.nsep
	first := true
	for i := range notes {
		n := &notes[i]
		if t.all {
			dst = appendEncoded(dst, n.Name, t.quote, encSquidQuoted)
			dst = appendEncoded(dst, ": ", t.quote, encSquidQuoted)
			dst = appendEncoded(dst, n.Value, t.quote, encSquidQuoted)
			dst = appendEncoded(dst, sep, t.quote, encSquidQuoted)
			continue
		}
		if n.Name != t.text || n.Value == "" {
			continue
		}
		if !first {
			dst = appendEncoded(dst, sep, t.quote, encSquidQuoted)
		}
		first = false
		dst = appendEncoded(dst, n.Value, t.quote, encSquidQuoted)
	}
	return dst
}

// encoding is how a value is written when its token has no quoting: the
// distinction Squid makes between values it escapes (headers, methods) and
// values it copies, refined so that nothing can break the line.
type encoding uint8

const (
	encUntrusted   encoding = iota // Squid copies it; %-encode whitespace, controls, non-ASCII
	encSquidQuoted                 // Squid applies its RFC 1738 encoder
	encUser                        // like encUntrusted; mime-blob quoting also encodes spaces
	encTrusted                     // formatted by us (times): only controls are encoded
)

// appendEncoded appends v encoded for quoting q, or for enc when q is
// quoteNone.
func appendEncoded[T text](dst []byte, v T, q quoting, enc encoding) []byte {
	switch q {
	case quoteQuotes:
		return appendQuoted(dst, v)
	case quoteMimeBlob:
		return appendMimeBlob(dst, v, enc == encUser)
	case quoteURL:
		return appendRFC1738(dst, v, true)
	case quoteRaw:
		return appendControlSafe(dst, v)
	case quoteShell:
		return appendShell(dst, v, false)
	}
	switch enc {
	case encSquidQuoted:
		return appendRFC1738(dst, v, false)
	case encTrusted:
		return appendControlSafe(dst, v)
	}
	return appendSafe(dst, v)
}

// zeroWidth is the width numbers are zero-padded to.
func (t *token) zeroWidth() int {
	if t.zero {
		return t.width
	}
	return 0
}

// appendFixed appends whole "." frac with digits fractional digits, the
// whole part zero-padded so that the number fills the token's width when
// the 0 flag is set.
func appendFixed(dst []byte, whole, frac int64, digits int, t *token) []byte {
	w := 0
	if t.zero && t.width-digits-1 > 0 {
		w = t.width - digits - 1
	}
	dst = appendInt(dst, whole, w, t.zero)
	if digits == 0 {
		return dst
	}
	dst = append(dst, '.')
	return appendInt(dst, frac, digits, true)
}

// truncatePad applies the precision (maximum width) and then the width to
// the text value written at dst[start:]. Unlike Squid, it never cuts an
// escape sequence in two (a lone trailing backslash would escape the
// closing quote of a quoted field), and for the shell-like encoding it
// cuts the value before putting it between quotes, so that the closing
// quote is kept.
func (t *token) truncatePad(dst []byte, start int) []byte {
	if t.prec >= 0 && len(dst)-start > t.prec {
		dst = dst[:start+t.prec]
		n := 0
		for i := len(dst) - 1; i >= start && dst[i] == '\\'; i-- {
			n++
		}
		if n%2 == 1 {
			dst = dst[:len(dst)-1]
		}
	}
	if t.quote == quoteShell {
		dst = wrapShell(dst, start)
	}
	return t.pad(dst, start)
}

// wrapShell puts the shell-encoded value at dst[start:] between double
// quotes when it holds a space.
func wrapShell(dst []byte, start int) []byte {
	hasSpace := false
	for _, c := range dst[start:] {
		if c == ' ' {
			hasSpace = true
			break
		}
	}
	if !hasSpace {
		return dst
	}
	dst = append(dst, 0, '"')
	copy(dst[start+1:], dst[start:len(dst)-2])
	dst[start] = '"'
	return dst
}

// pad pads the value at dst[start:] with spaces to the token's width, on
// the left unless the "-" flag was given.
func (t *token) pad(dst []byte, start int) []byte {
	n := len(dst) - start
	if n >= t.width {
		return dst
	}
	for i := n; i < t.width; i++ {
		dst = append(dst, ' ')
	}
	if !t.left {
		shift := t.width - n
		copy(dst[start+shift:], dst[start:start+n])
		for i := start; i < start+shift; i++ {
			dst[i] = ' '
		}
	}
	return dst
}

// pow10 returns 10**n for 0 <= n <= 18.
func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
