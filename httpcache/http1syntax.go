package httpcache

// Byte classes and runs of the HTTP/1 grammar, shared by the two strict
// scanners: the request pre-scan (prescan.go) and the origin response
// scanner (originscan.go). Tables, so that a class costs one load.

var (
	// isTchar: tchar (RFC 9110, Section 5.6.2), the bytes of a token
	// such as a method, a field name or a chunk-ext-name.
	isTchar [256]bool
	// isFieldVchar: the bytes allowed in a field value besides SP and
	// HTAB: VCHAR and obs-text (RFC 9110, Section 5.5).
	isFieldVchar [256]bool
	// isValueByte: field value bytes: VCHAR, obs-text, SP and HTAB. The
	// same bytes make a reason-phrase (RFC 9112, Section 4) and, but for
	// DQUOTE and "\", the qdtext of a quoted-string (RFC 9110, Section
	// 5.6.4).
	isValueByte [256]bool
	// hexVal: hexadecimal digits (HEXDIG, RFC 5234) and their values
	// plus one; 0 for any other byte.
	hexVal [256]uint8
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		isTchar[c] = b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' ||
			b != 0 && stringsContainsByte("!#$%&'*+-.^_`|~", b)
		isFieldVchar[c] = b > 0x20 && b != 0x7f
		isValueByte[c] = isFieldVchar[c] || b == ' ' || b == '\t'
		switch {
		case b >= '0' && b <= '9':
			hexVal[c] = b - '0' + 1
		case b >= 'a' && b <= 'f':
			hexVal[c] = b - 'a' + 11
		case b >= 'A' && b <= 'F':
			hexVal[c] = b - 'A' + 11
		}
	}
}

// tcharRun returns how many bytes at the start of b are tchar: the rest
// of a field name, in one tight loop.
func tcharRun(b []byte) int {
	for i, c := range b {
		if !isTchar[c] {
			return i
		}
	}
	return len(b)
}

// valueRun returns how many bytes at the start of b are field value
// bytes: the rest of a field value (or a reason-phrase) up to its CR, or
// up to a byte the scanner must look at.
func valueRun(b []byte) int {
	for i, c := range b {
		if !isValueByte[c] {
			return i
		}
	}
	return len(b)
}

func stringsContainsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
