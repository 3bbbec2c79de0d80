package accesslog

import "strings"

// The escapers below append s to dst in one of the encodings Squid uses for
// log fields. They are written for the hot path: no allocation beyond the
// growth of dst, and a fast scan that copies clean runs in one append.

// text is the type of the values the escapers read: Entry fields are
// strings, formatted numbers and times are byte slices.
type text interface{ ~string | ~[]byte }

const (
	upperHex = "0123456789ABCDEF"
	lowerHex = "0123456789abcdef"
)

// lineUnsafe reports whether c would split a field or a line, or is not
// ASCII: whitespace, control characters, DEL and bytes >= 0x80.
func lineUnsafe(c byte) bool { return c <= ' ' || c >= 0x7f }

// fieldUnsafe reports whether c is lineUnsafe or could unbalance the
// quotes of a line: a double quote or a backslash.
func fieldUnsafe(c byte) bool { return lineUnsafe(c) || c == '"' || c == '\\' }

// appendSafe appends s, %-encoding (upper-case hex) the bytes for which
// fieldUnsafe is true. This is the encoding of every unquoted field of the
// native format: it keeps well-formed values unchanged and keeps hostile
// ones on one line, in one field, without a stray quote.
func appendSafe[T text](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !fieldUnsafe(c) {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendSafeOr appends s as appendSafe does, or def when s is empty.
func appendSafeOr(dst []byte, s, def string) []byte {
	if s == "" {
		return append(dst, def...)
	}
	return appendSafe(dst, s)
}

// appendMimeBlob appends s in Squid's "[" (mime-blob) encoding, used for
// user names and for %[code: CR and LF become the two-character sequences
// \r and \n, a backslash is doubled, and "%", "[", "]", control characters,
// DEL and non-ASCII bytes become %xx in lower-case hex. A double quote
// also becomes %22 (Squid keeps it) so that quotes stay balanced. With
// encodeSpace a space also becomes %20, which Squid does not do; the
// native format needs it to keep ten fields.
func appendMimeBlob[T text](dst []byte, s T, encodeSpace bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '\r':
			esc = `\r`
		case c == '\n':
			esc = `\n`
		case c == '\\':
			esc = `\\`
		case c < ' ' || c >= 0x7f || c == '%' || c == '[' || c == ']' || c == '"' || (c == ' ' && encodeSpace):
		default:
			continue
		}
		dst = append(dst, s[start:i]...)
		if esc != "" {
			dst = append(dst, esc...)
		} else {
			dst = append(dst, '%', lowerHex[c>>4], lowerHex[c&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendQuoted appends s in Squid's quoted-string encoding (the %"code
// quoting and text between literal double quotes in a logformat): a double
// quote and a backslash get a backslash in front, CR, LF and TAB become \r,
// \n and \t. Squid leaves the other control characters alone; this
// function %-encodes them (and DEL) so that no value can end a line early.
// Spaces and non-ASCII bytes are kept.
func appendQuoted[T text](dst []byte, s T) []byte {
	return appendBackslashed(dst, s, true)
}

// appendBackslashed appends s with a backslash before a double quote and
// a backslash, CR and LF as \r and \n, TAB as \t when tab is set, and the
// other control characters and DEL %-encoded: the escaping shared by the
// quoted-string and shell-like encodings.
func appendBackslashed[T text](dst []byte, s T, tab bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\r':
			esc = `\r`
		case c == '\n':
			esc = `\n`
		case c == '\t' && tab:
			esc = `\t`
		case c >= ' ' && c != 0x7f:
			continue
		}
		dst = append(dst, s[start:i]...)
		if esc != "" {
			dst = append(dst, esc...)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// rfc1738Unsafe reports the printable characters RFC 1738 section 2.2 calls
// unsafe (space and "%" are handled by the callers).
func rfc1738Unsafe(c byte) bool {
	switch c {
	case '<', '>', '"', '#', '{', '}', '|', '\\', '^', '~', '[', ']', '`', '\'':
		return true
	}
	return false
}

// appendRFC1738 appends s with the RFC 1738 unsafe characters, whitespace,
// control characters and non-ASCII bytes %-encoded in upper-case hex. With
// escapePercent a "%" is encoded too (Squid's %#code quoting); without it
// existing escapes are kept (how Squid encodes header values and methods
// that appear outside quotes in a custom logformat).
func appendRFC1738[T text](dst []byte, s T, escapePercent bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !lineUnsafe(c) && !rfc1738Unsafe(c) && (c != '%' || !escapePercent) {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendControlSafe appends s with only control characters and DEL
// %-encoded: the minimum that keeps a line whole, used for Squid's raw (%')
// quoting.
func appendControlSafe[T text](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= ' ' && c != 0x7f {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// stripQuery returns url cut just after its first "?", as Squid logs URLs
// when strip_query_terms is on ("http://h/p?a=b" becomes "http://h/p?").
func stripQuery(url string) string {
	for i := 0; i < len(url); i++ {
		if url[i] == '?' {
			return url[:i+1]
		}
	}
	return url
}

// mimeType returns a Content-Type value cut at the first ";", tab or space,
// which is what Squid keeps as the reply's type for %mt.
func mimeType(ct string) string {
	for i := 0; i < len(ct); i++ {
		switch ct[i] {
		case ';', '\t', ' ':
			return ct[:i]
		}
	}
	return ct
}

// appendShell appends s in Squid's shell-like encoding (the %/code
// quoting): a double quote and a backslash get a backslash in front, CR
// and LF become \r and \n, and the whole value is put between double
// quotes when it holds a space. Squid leaves the other control characters
// alone; this function %-encodes them (and DEL) so that no value can end a
// line early.
//
// With wrap false the quotes are left out: the caller adds them once the
// whole value, which may be made of several pieces, is written (see
// wrapShell).
func appendShell[T text](dst []byte, s T, wrap bool) []byte {
	quoted := false
	for i := 0; wrap && i < len(s); i++ {
		if s[i] == ' ' {
			quoted = true
			break
		}
	}
	if quoted {
		dst = append(dst, '"')
	}
	dst = appendBackslashed(dst, s, false)
	if quoted {
		dst = append(dst, '"')
	}
	return dst
}

// urlParts splits an absolute URL "scheme://authority/path" into its
// scheme, host (brackets of an IPv6 literal kept), port (text, possibly
// empty) and path (with the query; it lacks the leading "/" when the URL
// has no path, and callers log it with one). ok is false when the
// URL has no "://", e.g. Squid's "error:invalid-request".
func urlParts(u string) (scheme, host, port, path string, ok bool) {
	i := 0
	for i < len(u) && u[i] != ':' {
		i++
	}
	if i == 0 || i+3 > len(u) || u[i:i+3] != "://" {
		return "", "", "", "", false
	}
	scheme, rest := u[:i], u[i+3:]
	j := 0
	for j < len(rest) && rest[j] != '/' && rest[j] != '?' && rest[j] != '#' {
		j++
	}
	auth := rest[:j]
	path = rest[j:]
	if k := strings.LastIndexByte(auth, '@'); k >= 0 { // drop userinfo
		auth = auth[k+1:]
	}
	host = auth
	if k := lastColon(auth); k >= 0 {
		host, port = auth[:k], auth[k+1:]
	}
	return scheme, host, port, path, true
}

// lastColon returns the index of the ":" before a port in an authority,
// or -1 (an IPv6 literal's colons are inside brackets).
func lastColon(auth string) int {
	for k := len(auth) - 1; k >= 0; k-- {
		switch auth[k] {
		case ':':
			return k
		case ']':
			return -1
		}
	}
	return -1
}

// defaultPort is the port of a scheme when the URL names none, as Squid's
// AnyP::UriScheme::defaultPort gives it; 0 when unknown.
func defaultPort(scheme string) int {
	switch strings.ToLower(scheme) {
	case "http":
		return 80
	case "https":
		return 443
	case "ftp":
		return 21
	case "gopher":
		return 70
	case "wais":
		return 210
	case "cache_object":
		return 3128
	case "whois":
		return 43
	}
	return 0
}
