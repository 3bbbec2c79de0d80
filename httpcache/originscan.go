package httpcache

// The strict reading of origin responses (RFC 9112): a state machine that
// sees every byte an origin sends, in the order it arrives, and checks the
// framing before net/http's Transport parses it. net/http is lenient where
// a shared cache must not be: it takes Transfer-Encoding over
// Content-Length and reuses the connection, folds obs-fold lines (even
// into Content-Length), reads "Content-Length : 3" as a field named
// "Content-Length ", ignores Transfer-Encoding in HTTP/1.0, passes status
// 099, 600 and "+20" on, and accepts control bytes in the reason phrase
// and chunk extensions. The scanner refuses all of these, and it knows
// where each response ends, so that bytes beyond it are never read as the
// next response (response-queue poisoning).

import "errors"

// originError is a malformed origin response: the request fails with
// Squid's error page code (502, ERR_INVALID_RESP or ERR_TOO_BIG) and the
// connection is closed, never reused.
type originError struct {
	code string // Squid's error page
	msg  string
}

func (e *originError) Error() string { return "httpcache: malformed origin response: " + e.msg }

// The ways an origin response can be malformed. They are values, so that
// scanning allocates nothing.
var (
	errRespVersion   = &originError{"ERR_INVALID_RESP", "bad HTTP version"}
	errRespStatus    = &originError{"ERR_INVALID_RESP", "bad status code"}
	errRespReason    = &originError{"ERR_INVALID_RESP", "control byte in the reason phrase"}
	errRespName      = &originError{"ERR_INVALID_RESP", "bad field name"}
	errRespValue     = &originError{"ERR_INVALID_RESP", "control byte in a field value"}
	errRespFold      = &originError{"ERR_INVALID_RESP", "obs-fold or whitespace at the start of a field line"}
	errRespEOL       = &originError{"ERR_INVALID_RESP", "bare CR or LF"}
	errRespCLTE      = &originError{"ERR_INVALID_RESP", "both Content-Length and Transfer-Encoding"}
	errRespCL        = &originError{"ERR_INVALID_RESP", "bad Content-Length"}
	errRespCLs       = &originError{"ERR_INVALID_RESP", "differing Content-Length values"}
	errRespTE        = &originError{"ERR_INVALID_RESP", "Transfer-Encoding other than chunked"}
	errRespTE10      = &originError{"ERR_INVALID_RESP", "Transfer-Encoding in an HTTP/1.0 response"}
	errRespChunk     = &originError{"ERR_INVALID_RESP", "bad chunk size line"}
	errRespChunkData = &originError{"ERR_INVALID_RESP", "chunk data not followed by CRLF"}
	errRespChunkExt  = &originError{"ERR_INVALID_RESP", "bad chunk extension"}
	errRespTooBig    = &originError{"ERR_TOO_BIG", "header section larger than reply_header_max_size"}
)

// isOriginError reports whether err is a malformed origin response, and
// its Squid error code.
func isOriginError(err error) (string, bool) {
	var oe *originError
	if errors.As(err, &oe) {
		return oe.code, true
	}
	return "", false
}

// Scanner states.
const (
	sVersion       uint8 = iota // "HTTP/1." then a digit
	sSP                         // the SP after the version
	sCode                       // three digits
	sAfterCode                  // SP, or CR of an empty reason without SP
	sReason                     // reason-phrase
	sStatusLF                   // LF of the status line
	sLineStart                  // a field line, or the CRLF that ends the section
	rSName                      // field-name
	rSValue                     // field-value
	sValueLF                    // LF of a field line
	sEndLF                      // LF of the empty line ending the section
	sBody                       // Content-Length body
	rSChunkSize                 // chunk-size
	sChunkSizeWS                // whitespace after chunk-size
	sExtPre                     // after ";" of a chunk extension
	sExtName                    // ext-name
	sExtNameWS                  // whitespace after ext-name
	sExtValPre                  // after "="
	sExtToken                   // token ext-val
	sExtQuoted                  // quoted-string ext-val
	sExtQuotedPair              // after "\" in a quoted-string
	sExtAfterVal                // whitespace after ext-val
	sChunkSizeLF                // LF of the chunk-size line
	rSChunkData                 // chunk-data
	rSChunkDataCR               // CR after chunk-data
	rSChunkDataLF               // LF after chunk-data
	sDone                       // the response ended; the next byte starts another
	sUntilClose                 // a body delimited by the end of the connection, or a protocol switch
)

// Which framing field a field line is.
const (
	respFieldOther uint8 = iota
	fieldCL
	fieldTE
)

// maxChunkExt caps the bytes after the size on a chunk-size line, and
// maxChunkDigits its digits: net/http refuses lines of 4 KiB and sizes of
// more than 16 digits.
const (
	maxChunkExt    = 4000
	maxChunkDigits = 16
)

// respScanner checks the byte stream of the responses on one connection.
// Its zero value, after reset, expects a status line. It allocates
// nothing.
type respScanner struct {
	state   uint8
	idx     uint8 // position in the version; digits of the status code
	http10  bool
	head    bool // the response answers HEAD: it has no body
	trailer bool // the field lines are a chunked trailer section
	status  int

	maxHead int64 // reply_header_max_size; < 0 for none
	headLen int64 // bytes of the current header section

	// The field being read: its name's length, whether the name may
	// still be Content-Length or Transfer-Encoding, what it is and how
	// far its value got (0: leading OWS, 1: in the value, 2: trailing
	// OWS).
	nameLen      int
	mayCL, mayTE bool
	field        uint8
	vphase       uint8
	v            int64 // the Content-Length value being read
	teIdx        int   // bytes of "chunked" matched

	clSeen, teSeen bool
	cl             int64

	remain int64 // body or chunk-data bytes left; the chunk size being read
	digits int   // hex digits of the chunk size
	extLen int
}

// reset prepares the scanner for a new response; head says whether it
// answers a HEAD request.
func (s *respScanner) reset(head bool) {
	maxHead := s.maxHead
	*s = respScanner{maxHead: maxHead, head: head}
}

// startHead prepares for another header section on the same response
// (after a 1xx).
func (s *respScanner) startHead() {
	s.state, s.idx, s.status, s.headLen = sVersion, 0, 0, 0
	s.clSeen, s.teSeen, s.cl, s.http10 = false, false, 0, false
}

const (
	nameCL = "content-length"
	nameTE = "transfer-encoding"
)

// scan checks p, the next bytes from the origin, and returns how many of
// them belong to the response being read: fewer than len(p) when it ended
// within p (the scanner is then in sDone). err is an *originError.
func (s *respScanner) scan(p []byte) (n int, err error) {
	i := 0
	for i < len(p) {
		switch s.state {
		case sBody:
			k := int64(len(p) - i)
			if k >= s.remain {
				i += int(s.remain)
				s.remain = 0
				s.state = sDone
				return i, nil
			}
			s.remain -= k
			return len(p), nil
		case rSChunkData:
			k := int64(len(p) - i)
			if k > s.remain {
				i += int(s.remain)
				s.remain = 0
				s.state = rSChunkDataCR
				continue
			}
			s.remain -= k
			if s.remain == 0 {
				s.state = rSChunkDataCR
			}
			return len(p), nil
		case sDone:
			return i, nil
		case sUntilClose:
			return len(p), nil
		case rSValue, sReason:
			// The common case, in a tight loop: the bytes of a value
			// that is not Content-Length or Transfer-Encoding, or of a
			// reason phrase, up to the CR.
			if s.field == respFieldOther {
				if k := valueRun(p[i:]); k > 0 {
					if err := s.count(k); err != nil {
						return 0, err
					}
					i += k
					continue
				}
			}
		case rSName:
			// A name that is no longer Content-Length or
			// Transfer-Encoding, in a tight loop.
			if !s.mayCL && !s.mayTE {
				if k := tcharRun(p[i:]); k > 0 {
					if err := s.count(k); err != nil {
						return 0, err
					}
					s.nameLen += k
					i += k
					continue
				}
			}
		}
		c := p[i]
		i++
		if s.state < sBody && !s.trailer || s.trailer && s.state >= sLineStart && s.state <= sEndLF {
			if err := s.count(1); err != nil {
				return 0, err
			}
		}
		if err := s.step(c); err != nil {
			return 0, err
		}
		if s.state == sDone {
			return i, nil
		}
	}
	return i, nil
}

// count adds k bytes to the header (or trailer) section being read and
// refuses it beyond reply_header_max_size.
func (s *respScanner) count(k int) error {
	s.headLen += int64(k)
	if s.maxHead >= 0 && s.headLen > s.maxHead {
		return errRespTooBig
	}
	return nil
}

// step moves the scanner over one byte of a header section or of chunk
// framing.
func (s *respScanner) step(c byte) error {
	switch s.state {
	case sVersion:
		// RFC 9112, Section 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT;
		// this framing is HTTP/1's.
		const v = "HTTP/1."
		if int(s.idx) < len(v) {
			if c != v[s.idx] {
				return errRespVersion
			}
			s.idx++
			return nil
		}
		if c < '0' || c > '9' {
			return errRespVersion
		}
		s.http10 = c == '0'
		s.state, s.idx = sSP, 0
	case sSP:
		if c != ' ' {
			return errRespVersion
		}
		s.state = sCode
	case sCode:
		// RFC 9112, Section 4: status-code = 3DIGIT; RFC 9110,
		// Section 15: "All valid status codes are within the range of
		// 100 to 599", and a recipient handles an unknown code by its
		// class (its first digit), which 0xx and 6xx..9xx do not have.
		// Squid 5.7 answers such a status with 502 ERR_INVALID_RESP
		// too. http-cache-tests' origin sends "999 unknown" when it
		// expected a conditional request and got none: its tests mark
		// that as a setup failure, the 502 included.
		if c < '0' || c > '9' {
			return errRespStatus
		}
		s.status = s.status*10 + int(c-'0')
		s.idx++
		if s.idx == 3 {
			if s.status < 100 || s.status > 599 {
				return errRespStatus
			}
			s.state = sAfterCode
		}
	case sAfterCode:
		switch c {
		case ' ':
			s.state = sReason
		case '\r':
			// No SP and no reason: common, and unambiguous.
			s.state = sStatusLF
		default:
			return errRespStatus
		}
	case sReason:
		// reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
		if c == '\r' {
			s.state = sStatusLF
		} else if !isValueByte[c] {
			return errRespReason
		}
	case sStatusLF, sValueLF, sChunkSizeLF, rSChunkDataLF, sEndLF:
		if c != '\n' {
			return errRespEOL
		}
		return s.lineEnd()
	case sLineStart:
		switch {
		case c == '\r':
			s.state = sEndLF
		case c == ' ' || c == '\t':
			// RFC 9112, Section 5.2: a proxy may refuse obs-fold with a
			// 502; Section 2.2: whitespace before the first field line
			// is refused as well.
			return errRespFold
		case isTchar[c]:
			s.state, s.nameLen = rSName, 1
			s.mayCL, s.mayTE = !s.trailer && c|0x20 == nameCL[0], !s.trailer && c|0x20 == nameTE[0]
		case c == '\n':
			return errRespEOL
		default:
			return errRespName
		}
	case rSName:
		switch {
		case isTchar[c]:
			// c|0x20 lowercases letters and maps no other tchar onto a
			// letter or "-".
			s.mayCL = s.mayCL && s.nameLen < len(nameCL) && c|0x20 == nameCL[s.nameLen]
			s.mayTE = s.mayTE && s.nameLen < len(nameTE) && c|0x20 == nameTE[s.nameLen]
			s.nameLen++
		case c == ':':
			s.field = respFieldOther
			switch {
			case s.mayCL && s.nameLen == len(nameCL):
				s.field = fieldCL
				s.v = 0
			case s.mayTE && s.nameLen == len(nameTE):
				if s.teSeen {
					return errRespTE // one Transfer-Encoding line, as net/http
				}
				s.field, s.teIdx = fieldTE, 0
			}
			s.state, s.vphase = rSValue, 0
		default:
			// RFC 9112, Section 5.1: no whitespace between name and colon.
			return errRespName
		}
	case rSValue:
		if c == '\r' {
			s.state = sValueLF
			return nil
		}
		if !isValueByte[c] {
			if c == '\n' {
				return errRespEOL
			}
			return errRespValue
		}
		return s.valueByte(c)
	case rSChunkSize:
		// RFC 9112, Section 7.1: chunk-size = 1*HEXDIG
		if d := hexVal[c]; d != 0 {
			if s.remain>>59 != 0 || s.digits == maxChunkDigits {
				return errRespChunk // more than 63 bits
			}
			s.remain = s.remain<<4 | int64(d-1)
			s.digits++
			return nil
		}
		if s.digits == 0 {
			return errRespChunk
		}
		switch c {
		case '\r':
			s.state = sChunkSizeLF
		case ';':
			s.state = sExtPre
		case ' ', '\t':
			// Not in the grammar, but unambiguous, and sent by some
			// servers (net/http and Squid accept it too).
			s.state = sChunkSizeWS
		default:
			return errRespChunk
		}
	case sChunkSizeWS:
		if s.extLen++; s.extLen > maxChunkExt {
			return errRespChunkExt
		}
		switch c {
		case ' ', '\t':
		case ';':
			s.state = sExtPre
		case '\r':
			s.state = sChunkSizeLF
		default:
			return errRespChunk
		}
	case sExtPre, sExtName, sExtNameWS, sExtValPre, sExtToken, sExtQuoted, sExtQuotedPair, sExtAfterVal:
		s.extLen++
		if s.extLen > maxChunkExt {
			return errRespChunkExt
		}
		return s.extByte(c)
	case rSChunkDataCR:
		if c != '\r' {
			return errRespChunkData
		}
		s.state = rSChunkDataLF
	}
	return nil
}

// extByte reads a chunk extension (RFC 9112, Section 7.1.1):
// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ),
// ext-val = token / quoted-string.
func (s *respScanner) extByte(c byte) error {
	ws := c == ' ' || c == '\t'
	switch s.state {
	case sExtPre:
		if isTchar[c] {
			s.state = sExtName
		} else if !ws {
			return errRespChunkExt
		}
	case sExtName, sExtNameWS:
		switch {
		case isTchar[c] && s.state == sExtName:
		case ws:
			s.state = sExtNameWS
		case c == '=':
			s.state = sExtValPre
		case c == ';':
			s.state = sExtPre
		case c == '\r':
			s.state = sChunkSizeLF
		default:
			return errRespChunkExt
		}
	case sExtValPre:
		switch {
		case c == '"':
			s.state = sExtQuoted
		case isTchar[c]:
			s.state = sExtToken
		case !ws:
			return errRespChunkExt
		}
	case sExtToken, sExtAfterVal:
		switch {
		case isTchar[c] && s.state == sExtToken:
		case ws:
			s.state = sExtAfterVal
		case c == ';':
			s.state = sExtPre
		case c == '\r':
			s.state = sChunkSizeLF
		default:
			return errRespChunkExt
		}
	case sExtQuoted:
		// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
		switch {
		case c == '"':
			s.state = sExtAfterVal
		case c == '\\':
			s.state = sExtQuotedPair
		case !isValueByte[c]:
			return errRespChunkExt
		}
	case sExtQuotedPair:
		if !isValueByte[c] {
			return errRespChunkExt
		}
		s.state = sExtQuoted
	}
	return nil
}

// valueByte reads one byte of a Content-Length or Transfer-Encoding value.
func (s *respScanner) valueByte(c byte) error {
	ws := c == ' ' || c == '\t'
	switch s.field {
	case fieldCL:
		// RFC 9110, Section 8.6: Content-Length = 1*DIGIT, one value.
		switch {
		case ws:
			if s.vphase == 1 {
				s.vphase = 2
			}
		case '0' <= c && c <= '9' && s.vphase < 2:
			d := int64(c - '0')
			if s.v > (1<<63-1-d)/10 {
				return errRespCL
			}
			s.v, s.vphase = s.v*10+d, 1
		default:
			return errRespCL
		}
	case fieldTE:
		// Only "chunked" alone (RFC 9112, Section 6.1), as net/http.
		// Another coding would be read until the connection closes
		// (Section 6.3), but cuttle cannot decode it, and a
		// transfer coding is hop-by-hop: what it would forward is not
		// the content. Squid 5.7 answers 502 ERR_INVALID_RESP as well
		// (http-cache-tests' headers-store-Transfer-Encoding sends
		// "Transfer-Encoding: ARIZQHYPGXOFWNE").
		const chunked = "chunked"
		switch {
		case ws:
			if s.vphase == 1 {
				s.vphase = 2
			}
		case s.vphase < 2 && s.teIdx < len(chunked) && c|0x20 == chunked[s.teIdx]:
			s.teIdx++
			s.vphase = 1
		default:
			return errRespTE
		}
	}
	return nil
}

// lineEnd is reached at the LF of a line.
func (s *respScanner) lineEnd() error {
	switch s.state {
	case sStatusLF:
		s.state = sLineStart
	case sValueLF:
		switch s.field {
		case fieldCL:
			if s.vphase == 0 {
				return errRespCL // empty
			}
			if s.clSeen && s.v != s.cl {
				return errRespCLs
			}
			s.clSeen, s.cl = true, s.v
		case fieldTE:
			if s.teIdx != len("chunked") {
				return errRespTE
			}
			s.teSeen = true
		}
		s.field = respFieldOther
		s.state = sLineStart
	case sChunkSizeLF:
		if s.remain == 0 {
			// The last chunk: the trailer section follows.
			s.trailer, s.headLen = true, 0
			s.state = sLineStart
			return nil
		}
		s.state = rSChunkData
	case rSChunkDataLF:
		s.state, s.remain, s.digits, s.extLen = rSChunkSize, 0, 0, 0
	case sEndLF:
		if s.trailer {
			s.state = sDone
			return nil
		}
		return s.headEnd()
	}
	return nil
}

// headEnd decides how the body of the response is delimited, at the end
// of its header section (RFC 9112, Section 6.3).
func (s *respScanner) headEnd() error {
	if s.teSeen && s.clSeen {
		// RFC 9112, Section 6.1: such a message "ought to be handled as
		// an error"; net/http would let Transfer-Encoding win and reuse
		// the connection.
		return errRespCLTE
	}
	if s.teSeen && s.http10 {
		// RFC 9112, Section 6.1: the framing is faulty.
		return errRespTE10
	}
	switch {
	case s.status == 101:
		// A protocol switch: what follows is no longer HTTP/1.
		s.state = sUntilClose
	case s.status < 200:
		// An interim response (100, 102, 103): the final one follows.
		s.startHead()
	case s.head || s.status == 204 || s.status == 304:
		s.state = sDone
	case s.teSeen:
		s.state, s.remain, s.digits, s.extLen = rSChunkSize, 0, 0, 0
	case s.clSeen && s.cl == 0:
		s.state = sDone
	case s.clSeen:
		s.state, s.remain = sBody, s.cl
	default:
		s.state = sUntilClose
	}
	return nil
}
