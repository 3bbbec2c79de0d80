package accesslog

import (
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
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
)

// code identifies a supported logformat %code.
type code uint8

const (
	codeLiteral    code = iota // text between codes
	codePercent                // %%
	codeTimeSec                // %ts
	codeTimeSub                // %tu
	codeTimeLocal              // %tl
	codeTimeGMT                // %tg
	codeTimeStart              // %tS
	codeElapsed                // %tr
	codeClientIP               // %>a
	codeClientPort             // %>p
	codePeerIP                 // %<a
	codePeerName               // %<A
	codeResult                 // %Ss
	codeHierarchy              // %Sh
	codeStatus                 // %>Hs (and the deprecated %Hs)
	codeReplySize              // %<st
	codeMethod                 // %rm
	codeURL                    // %ru
	codeVersion                // %rv (and the deprecated %>v)
	codeUser                   // %un
	codeUserLogin              // %ul
	codeUserIdent              // %ui
	codeMimeType               // %mt
	codeReqHeader              // %{Name}>h
	codeRepHeader              // %{Name}<h
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
	case ">a":
		return codeClientIP, true
	case ">p":
		return codeClientPort, true
	case "<a":
		return codePeerIP, true
	case "<A":
		return codePeerName, true
	case "Ss":
		return codeResult, true
	case "Sh":
		return codeHierarchy, true
	case ">Hs", "Hs":
		return codeStatus, true
	case "<st":
		return codeReplySize, true
	case "rm":
		return codeMethod, true
	case "ru":
		return codeURL, true
	case "rv", ">v":
		return codeVersion, true
	case "un":
		return codeUser, true
	case "ul":
		return codeUserLogin, true
	case "ui":
		return codeUserIdent, true
	case "mt":
		return codeMimeType, true
	case ">h":
		return codeReqHeader, true
	case "<h":
		return codeRepHeader, true
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
		"un", "ul", "ui", "ue", "Hs", "Ss", "Sh", "mt",
		"rm", "ru", "rp", "rv", "rG", "st", "et", "ea", "sn",
		">a", ">p", ">A", "<a", "<p", "<A", ">h", "<h", ">v", "%",
	}
}

// token is one compiled piece of a logformat: literal text or a %code with
// its modifiers.
type token struct {
	code  code
	text  string  // literal text, canonical header name, or strftime spec
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
}

// Compile compiles the specification of a squid.conf logformat directive
// (everything after the format's name) into a Formatter.
//
// The syntax is Squid's: %[encoding][-][[0]width][.precision][{arg}]code.
// Encodings are " (quoted string), [ (mime-blob), # (URL) and ' (raw, with
// control characters still %-encoded); literal double quotes and brackets
// in the text switch quoted-string and mime-blob encoding on and off for
// the codes between them, as in Squid. "-" pads on the right, a leading 0
// pads numbers with zeros, and precision truncates text or, for %tr, %tS
// and %tu, sets the number of fractional digits. A missing value logs "-".
//
// Supported codes: %ts %tu %tl %tg (each of the last two with an optional
// {strftime} argument) %tS %tr; %>a %>p %<a %<A; %Ss %Sh %>Hs %<st; %rm
// %ru %rv; %un %ul %ui; %mt; %{Name}>h and %{Name}<h; %%. The prefix
// "http::" is accepted. Other Squid codes are reported as unsupported.
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
		return fail("unsupported shell quoting in")
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
	t.code = c
	switch c {
	case codeReqHeader, codeRepHeader:
		if !hasArg {
			return fail("unsupported all-headers code (give a header name)")
		}
		if strings.Contains(arg, ":") {
			return fail("unsupported header list member selection in")
		}
		if arg == "" {
			return fail("missing header name in")
		}
		t.text = textproto.CanonicalMIMEHeaderKey(arg)
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
			digits = min(t.prec, 9)
		}
		v := int64(e.logTime().Nanosecond()) / pow10(9-digits)
		dst = appendInt(dst, v, t.zeroWidth(), t.zero)
	case codeElapsed:
		d := e.elapsed()
		if t.prec < 0 {
			dst = appendInt(dst, d.Milliseconds(), t.zeroWidth(), t.zero)
		} else {
			digits := min(t.prec, 6)
			dst = appendFixed(dst, d.Milliseconds(), int64(d%time.Millisecond)/pow10(6-digits), digits, t)
		}
	case codeTimeStart:
		if e.Start.IsZero() {
			return append(dst, '-')
		}
		digits := 3
		if t.prec >= 0 {
			digits = min(t.prec, 9)
		}
		dst = appendFixed(dst, e.Start.Unix(), int64(e.Start.Nanosecond())/pow10(9-digits), digits, t)
	case codeStatus:
		dst = appendInt(dst, int64(e.Status), t.zeroWidth(), t.zero)
	case codeReplySize:
		dst = appendInt(dst, e.Bytes, t.zeroWidth(), t.zero)
	case codeClientPort:
		if e.ClientPort == 0 {
			return append(dst, '-')
		}
		dst = appendInt(dst, int64(e.ClientPort), t.zeroWidth(), t.zero)
	case codeVersion:
		dst = strconv.AppendInt(dst, int64(e.ProtoMajor), 10)
		dst = append(dst, '.')
		dst = strconv.AppendInt(dst, int64(e.ProtoMinor), 10)
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

// stringValue returns the text of a string-valued code and how Squid
// encodes it when no quoting is asked for.
func (f *customFormat) stringValue(c code, e *Entry) (string, encoding) {
	switch c {
	case codeClientIP:
		return e.ClientIP, encUntrusted
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
	case codeUser, codeUserLogin:
		return e.User, encUser
	case codeMimeType:
		return mimeType(e.ContentType), encUntrusted
	}
	return "", encUntrusted // codeUserIdent: ident lookups are not done
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
// the text value written at dst[start:].
func (t *token) truncatePad(dst []byte, start int) []byte {
	if t.prec >= 0 && len(dst)-start > t.prec {
		dst = dst[:start+t.prec]
	}
	return t.pad(dst, start)
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
