package httpcache

// The request pre-scan: a strict HTTP/1.x message scanner run over the
// bytes a client connection delivers, before net/http parses them.
// net/http is lenient where a shared cache must not be (reliability.md
// G1, G2): it ignores Transfer-Encoding on HTTP/1.0 requests and unfolds
// obs-fold even on Content-Length. The scanner follows each message of a
// persistent connection to the end of its body (Content-Length or
// chunked, RFC 9112 Sections 6 and 7) to find the next request head, and
// reports the first byte that breaks RFC 9112 or a configured limit.
//
// It works byte by byte over what net/http reads anyway and keeps its
// state in a fixed-size struct: nothing is allocated per request.

// URIWhitespace is what to do with whitespace inside a request-target
// (squid.conf uri_whitespace). The zero value is Squid's default, strip.
type URIWhitespace int

// The uri_whitespace actions.
const (
	// URIStrip removes the whitespace (uri_whitespace strip, the default).
	URIStrip URIWhitespace = iota
	// URIDeny answers 400 (uri_whitespace deny).
	URIDeny
	// URIAllow would forward the whitespace unchanged (uri_whitespace
	// allow); Go's HTTP server cannot accept such a request line, so
	// cuttle encodes it instead, as URIEncode (the safe choice of
	// SQUID-2020:11).
	URIAllow
	// URIEncode replaces each whitespace byte with its %-encoding
	// (uri_whitespace encode).
	URIEncode
	// URIChop cuts the target at the first whitespace (uri_whitespace chop).
	URIChop
)

// RequestLimits are the request parsing limits the pre-scan enforces on
// HTTP/1.x client connections (see [PrescanConn]).
type RequestLimits struct {
	// MaxHeaderBytes is squid.conf request_header_max_size: the largest
	// request head (request line and header fields) accepted; a longer
	// request line is answered 414, a longer head 431. Zero means
	// Squid's default, 64 KB.
	MaxHeaderBytes int64

	// MaxHeaderFields caps the number of header fields of one request
	// (431 beyond it). Zero means DefaultMaxHeaderFields.
	MaxHeaderFields int

	// URIWhitespace is squid.conf uri_whitespace.
	URIWhitespace URIWhitespace
}

// Defaults of [RequestLimits].
const (
	// DefaultMaxHeaderBytes is Squid's request_header_max_size default.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxHeaderFields is the default header field count cap
	// (Squid has none; its byte limit bounds the count).
	DefaultMaxHeaderFields = 1000
)

// Scanner limits that squid.conf does not set.
const (
	// maxEmptyLines is how many empty lines before a request line are
	// ignored (RFC 9112, Section 2.2: at least one SHOULD be).
	maxEmptyLines = 10
	// maxChunkLine caps a chunk-size line with its extensions, as Go's
	// own chunked reader does (4096 bytes).
	maxChunkLine = 4096
	// Chunked framing that costs more than 80 % of the bytes once a body
	// passes 100 KB is refused (reliability.md A11/H11).
	overheadFloor = 100 << 10
	// maxChunkSize bounds a chunk size so that no sum overflows.
	maxChunkSize = 1 << 62
)

// rejectKind is why the pre-scan refused a request. Its name is the
// Stats key ([Stats.Rejected]).
type rejectKind uint8

const (
	rejectNone rejectKind = iota
	rejectRequestLine
	rejectMethod
	rejectPRI
	rejectVersion
	rejectTarget
	rejectURITooLong
	rejectHeadTooLarge
	rejectTooManyFields
	rejectFieldName
	rejectFieldValue
	rejectObsFold
	rejectBareCR
	rejectContentLength
	rejectCLAndTE
	rejectTEOnHTTP10
	rejectTransferCoding
	rejectEmptyLines
	rejectChunkSize
	rejectChunkExt
	rejectChunkCRLF
	rejectChunkOverhead
	rejectTrailer
	rejectHost
	rejectH2Preface
	numRejectKinds
)

var rejectNames = [numRejectKinds]string{
	rejectNone:           "none",
	rejectRequestLine:    "request-line",
	rejectMethod:         "method",
	rejectPRI:            "pri-method",
	rejectVersion:        "http-version",
	rejectTarget:         "request-target",
	rejectURITooLong:     "uri-too-long",
	rejectHeadTooLarge:   "header-too-large",
	rejectTooManyFields:  "too-many-fields",
	rejectFieldName:      "field-name",
	rejectFieldValue:     "field-value",
	rejectObsFold:        "obs-fold",
	rejectBareCR:         "bare-cr",
	rejectContentLength:  "content-length",
	rejectCLAndTE:        "content-length-and-transfer-encoding",
	rejectTEOnHTTP10:     "transfer-encoding-on-http10",
	rejectTransferCoding: "transfer-coding",
	rejectEmptyLines:     "empty-lines",
	rejectChunkSize:      "chunk-size",
	rejectChunkExt:       "chunk-extension",
	rejectChunkCRLF:      "chunk-crlf",
	rejectChunkOverhead:  "chunk-overhead",
	rejectTrailer:        "trailer",
	rejectHost:           "duplicate-host",
	rejectH2Preface:      "h2-preface",
}

func (k rejectKind) String() string { return rejectNames[k] }

// answer returns the status, the Squid error name and the logged URL of a
// request refused for k, as Squid 5.7 answers the same input where it
// refuses it (see the README's table).
func (k rejectKind) answer() (status int, errCode, url string) {
	switch k {
	case rejectURITooLong:
		return 414, "ERR_TOO_BIG", "error:request-too-large"
	case rejectHeadTooLarge, rejectTooManyFields:
		return 431, "ERR_TOO_BIG", "error:request-too-large"
	case rejectVersion:
		return 505, "ERR_UNSUP_HTTPVERSION", "error:invalid-request"
	case rejectTransferCoding, rejectH2Preface:
		return 501, "ERR_UNSUP_REQ", "error:unsupported-request"
	case rejectPRI:
		return 405, "ERR_UNSUP_REQ", "error:method-not-allowed"
	case rejectRequestLine, rejectMethod, rejectEmptyLines:
		return 400, "ERR_PROTOCOL_UNKNOWN", "error:invalid-request"
	case rejectTarget:
		return 400, "ERR_INVALID_URL", "error:invalid-request"
	}
	return 400, "ERR_INVALID_REQ", "error:invalid-request"
}

// scanState is where the scanner is in the message.
type scanState uint8

const (
	sIdle               scanState = iota // between messages
	sEmptyCR                             // CR of an empty line before the request line
	sMethod                              // request method
	sTarget                              // request-target and version, up to the line end
	sLineCR                              // CR ending a line: LF must follow
	sFieldStart                          // start of a header (or trailer) line
	sName                                // field name
	sValue                               // field value
	sBodyCL                              // Content-Length body
	sChunkSize                           // chunk-size digits
	sChunkBWS                            // whitespace after the size: ';' must follow
	sChunkExtName                        // chunk-ext-name (after ';' and BWS)
	sChunkExtAfter                       // after an ext name or value: BWS, '=', ';' or CR
	sChunkExtValue                       // first byte of a chunk-ext-val (after '=' and BWS)
	sChunkExtToken                       // token chunk-ext-val
	sChunkExtQuoted                      // quoted-string chunk-ext-val
	sChunkExtQuotedPair                  // after a backslash in it
	sChunkData                           // chunk data
	sChunkDataCR                         // CR after chunk data
	sChunkDataLF                         // LF after chunk data
	sDead                                // after a rejection
)

// Field kinds the scanner recognises by name.
const (
	fieldOther = iota
	fieldContentLength
	fieldTransferEncoding
	fieldHost
	fieldTrailer
)

// knownFields are the names matched while a field name is read.
var knownFields = [...]string{
	fieldContentLength:    "content-length",
	fieldTransferEncoding: "transfer-encoding",
	fieldHost:             "host",
	fieldTrailer:          "trailer",
}

// scanEvent is why scan stopped before the end of its input.
type scanEvent uint8

const (
	evNone      scanEvent = iota // the input was consumed
	evHeadBegin                  // the next byte starts a message
	evHeadEnd                    // the input up to here ends a request head
	evReject                     // the byte at the stop position is refused
)

// scanner is the pre-scan's state: one per connection, reused for every
// message. The zero value is not ready; use reset.
type scanner struct {
	limits RequestLimits

	state     scanState
	afterLine scanState // where sLineCR goes after the LF
	inHead    bool      // a request head is being read (evHeadBegin sent)
	trailers  bool      // the header lines being read are a trailer section
	reject    rejectKind

	// The request head being read; offsets count from its first byte
	// (empty lines included).
	headLen     int64
	emptyLen    int // bytes of leading empty lines
	emptyLines  int
	lineStart   int64
	targetStart int  // offset of the request-target
	targetSeen  bool // the first byte of the target (not whitespace) was checked
	lastWS      int  // offset of the last SP or HTAB in the request line
	wsCount     int  // SP and HTAB bytes after the method's SP
	fields      int  // header fields so far
	method      [8]byte
	methodLen   int
	version     [12]byte
	versionLen  int // bytes after the last whitespace; > 8 is invalid
	http10      bool
	pri         bool
	fieldKind   int
	nameLen     int
	nameMatch   uint8 // bit per knownFields entry still matching
	valueBuf    [24]byte
	valueLen    int // bytes of a CL/TE value; > len(valueBuf) is invalid
	haveCL      bool
	haveTE      bool
	haveHost    bool
	badCL       bool
	badTE       bool
	contentLen  int64
	lineBytes   int // chunk-size line bytes so far
	chunkSize   int64
	chunkDigits int
	remaining   int64 // body bytes left (CL body or chunk data)
	data        int64 // chunked body: data bytes so far
	overhead    int64 // chunked body: framing bytes so far
}

// reset makes s ready for a new connection with limits.
func (s *scanner) reset(limits RequestLimits) {
	if limits.MaxHeaderBytes <= 0 {
		limits.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if limits.MaxHeaderFields <= 0 {
		limits.MaxHeaderFields = DefaultMaxHeaderFields
	}
	*s = scanner{limits: limits}
}

// startHead prepares for a new request head.
func (s *scanner) startHead() {
	lim, data := s.limits, s.data
	*s = scanner{limits: lim, inHead: true, data: data}
}

// fail records a rejection and makes every later byte refused.
func (s *scanner) fail(k rejectKind) scanEvent {
	s.reject = k
	s.state = sDead
	return evReject
}

// scan consumes b up to the first event and returns how many bytes it
// consumed. On evHeadBegin the byte at n is not consumed yet; on evReject
// the byte at n is the refused one (bytes before it are valid).
func (s *scanner) scan(b []byte) (n int, ev scanEvent) {
	i := 0
	for i < len(b) {
		switch s.state {
		case sDead:
			return i, evReject
		case sBodyCL:
			k := int64(len(b) - i)
			if k > s.remaining {
				k = s.remaining
			}
			i += int(k)
			s.remaining -= k
			if s.remaining == 0 {
				s.state = sIdle
			}
			continue
		case sChunkData:
			k := int64(len(b) - i)
			if k > s.remaining {
				k = s.remaining
			}
			i += int(k)
			s.remaining -= k
			if s.remaining == 0 {
				s.state = sChunkDataCR
			}
			continue
		case sValue:
			// The common case, in a tight loop: plain value bytes.
			if s.fieldKind == fieldOther {
				j := i + valueRun(b[i:])
				s.headLen += int64(j - i) // the head's or the trailer section's size
				if s.headLen > s.limits.MaxHeaderBytes {
					return j, s.fail(rejectHeadTooLarge)
				}
				i = j
				if i == len(b) {
					return i, evNone
				}
			}
		case sName:
			if s.nameMatch == 0 { // not a field the scanner looks at
				j := i + tcharRun(b[i:])
				if i, ev := s.run(i, j); ev != evNone {
					return i, ev
				}
				i = j
				if i == len(b) {
					return i, evNone
				}
			}
		case sTarget:
			if s.targetSeen {
				j := i
				for j < len(b) && b[j] > ' ' && b[j] != 0x7f {
					j++
				}
				if s.versionLen < len(s.version) {
					copy(s.version[s.versionLen:], b[i:j])
				}
				s.versionLen += j - i
				if i, ev := s.run(i, j); ev != evNone {
					return i, ev
				}
				i = j
				if i == len(b) {
					return i, evNone
				}
			}
		case sIdle:
			if !s.inHead {
				s.startHead()
				return i, evHeadBegin
			}
		}
		c := b[i]
		if ev := s.step(c); ev != evNone {
			if ev == evReject {
				return i, ev
			}
			return i + 1, ev
		}
		i++
	}
	return i, evNone
}

// run counts the bytes b[i:j] of a head consumed by a fast path.
func (s *scanner) run(i, j int) (int, scanEvent) {
	s.headLen += int64(j - i)
	if s.headLen > s.limits.MaxHeaderBytes {
		if s.state == sTarget {
			return j, s.fail(rejectURITooLong)
		}
		return j, s.fail(rejectHeadTooLarge)
	}
	return i, evNone
}

// step consumes one byte outside the fast paths of scan.
func (s *scanner) step(c byte) scanEvent {
	if s.inHead {
		s.headLen++
		if s.headLen > s.limits.MaxHeaderBytes {
			if s.state == sTarget || s.state == sMethod || s.lineStart == 0 && s.state == sLineCR {
				return s.fail(rejectURITooLong)
			}
			return s.fail(rejectHeadTooLarge)
		}
	} else if s.trailers {
		s.headLen++ // the trailer section counts as a head
		if s.headLen > s.limits.MaxHeaderBytes {
			return s.fail(rejectHeadTooLarge)
		}
	}
	switch s.state {
	case sIdle:
		switch {
		case c == '\r':
			s.state = sEmptyCR
		case c == '\n':
			return s.emptyLine()
		case isTchar[c]:
			s.state = sMethod
			return s.methodByte(c)
		default:
			return s.fail(rejectRequestLine)
		}
	case sEmptyCR:
		if c != '\n' {
			return s.fail(rejectBareCR)
		}
		return s.emptyLine()
	case sMethod:
		switch {
		case isTchar[c]:
			return s.methodByte(c)
		case c == ' ':
			s.state = sTarget
			s.targetStart = int(s.headLen)
			s.pri = s.methodLen == 3 && string(s.method[:3]) == "PRI"
		default:
			return s.fail(rejectMethod)
		}
	case sTarget:
		switch {
		case c == ' ' || c == '\t':
			s.wsCount++
			s.lastWS = int(s.headLen) - 1
			s.versionLen = 0
		case c == '\r':
			s.state, s.afterLine = sLineCR, sFieldStart
		case c == '\n':
			return s.requestLineEnd()
		case c < 0x20 || c == 0x7f:
			return s.fail(rejectTarget)
		default:
			if !s.targetSeen {
				// origin-form, asterisk-form, absolute-form or
				// authority-form (RFC 9112, Section 3.2).
				s.targetSeen = true
				if c != '/' && c != '*' && (lower(c) < 'a' || lower(c) > 'z') {
					return s.fail(rejectTarget)
				}
			}
			if s.versionLen < len(s.version) {
				s.version[s.versionLen] = c
			}
			s.versionLen++
		}
	case sLineCR:
		if c != '\n' {
			return s.fail(rejectBareCR)
		}
		s.state = s.afterLine
		switch {
		case s.inHead && s.lineStart == 0:
			return s.requestLineEnd()
		case s.afterLine == sFieldStart:
			return s.fieldLineEnd()
		case s.afterLine == sIdle: // end of a head or trailer section
			return s.sectionEnd()
		case s.afterLine == sChunkData:
			return s.chunkLineEnd()
		}
	case sFieldStart:
		switch {
		case c == '\r':
			s.state, s.afterLine = sLineCR, sIdle
		case c == '\n':
			return s.sectionEnd()
		case c == ' ' || c == '\t':
			// obs-fold (RFC 9112, Section 5.2), or whitespace before the
			// first field (Section 2.2): both are refused.
			return s.fail(rejectObsFold)
		case isTchar[c]:
			s.fields++
			if s.inHead && s.fields > s.limits.MaxHeaderFields {
				return s.fail(rejectTooManyFields)
			}
			s.state = sName
			s.nameLen = 0
			s.nameMatch = 1<<len(knownFields) - 2 // every entry but fieldOther
			s.nameByte(c)
		default:
			// ':' (empty name), bytes outside tchar.
			return s.fail(rejectFieldName)
		}
	case sName:
		switch {
		case isTchar[c]:
			s.nameByte(c)
		case c == ':':
			s.fieldKind = fieldOther
			for k := 1; k < len(knownFields); k++ {
				if s.nameMatch&(1<<k) != 0 && s.nameLen == len(knownFields[k]) {
					s.fieldKind = k
				}
			}
			if s.trailers && s.fieldKind != fieldOther {
				// RFC 9110, Section 6.5.1: framing, routing and the
				// Trailer field itself never come as trailers.
				return s.fail(rejectTrailer)
			}
			s.valueLen = 0
			s.state = sValue
		default:
			// Whitespace before the colon (RFC 9112, Section 5.1), a
			// line without a colon, separators, obs-text.
			return s.fail(rejectFieldName)
		}
	case sValue:
		switch {
		case c == '\r':
			s.state, s.afterLine = sLineCR, sFieldStart
		case c == '\n':
			return s.fieldLineEnd()
		case c == ' ' || c == '\t' || isFieldVchar[c]:
			if s.fieldKind == fieldContentLength || s.fieldKind == fieldTransferEncoding {
				if s.valueLen < len(s.valueBuf) {
					s.valueBuf[s.valueLen] = c
				}
				s.valueLen++
			}
		default:
			return s.fail(rejectFieldValue)
		}
	case sChunkSize:
		s.lineBytes++
		if v := hexVal[c]; v != 0 {
			if s.chunkSize > maxChunkSize>>4 {
				return s.fail(rejectChunkSize)
			}
			s.chunkSize = s.chunkSize<<4 | int64(v-1)
			s.chunkDigits++
			return evNone
		}
		if s.chunkDigits == 0 {
			return s.fail(rejectChunkSize)
		}
		switch c {
		case ';':
			s.state = sChunkExtName
		case '\r':
			s.state, s.afterLine = sLineCR, sChunkData
		default:
			return s.fail(rejectChunkSize)
		}
	case sChunkExtName, sChunkExtAfter, sChunkExtValue, sChunkExtToken, sChunkExtQuoted, sChunkExtQuotedPair:
		s.lineBytes++
		if s.lineBytes > maxChunkLine {
			return s.fail(rejectChunkExt)
		}
		return s.chunkExt(c)
	case sChunkDataCR:
		s.overhead++
		if c != '\r' {
			return s.fail(rejectChunkCRLF)
		}
		s.state = sChunkDataLF
	case sChunkDataLF:
		s.overhead++
		if c != '\n' {
			return s.fail(rejectChunkCRLF)
		}
		s.startChunkLine()
	}
	return evNone
}

// chunkExt consumes a byte of chunk extensions (RFC 9112, Section 7.1.1):
// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
// Whitespace between the size and the first ';' is refused, as Go's
// chunked reader refuses it: what is forwarded must parse the same.
func (s *scanner) chunkExt(c byte) scanEvent {
	switch s.state {
	case sChunkExtName:
		switch {
		case c == ' ' || c == '\t':
			if s.versionLen > 0 { // a name has begun: whitespace ends it
				s.state = sChunkExtAfter
			}
		case isTchar[c]:
			s.versionLen++ // reused as "name bytes seen"
		case s.versionLen > 0 && c == '=':
			s.state = sChunkExtValue
		case s.versionLen > 0 && c == ';':
			s.versionLen = 0
		case s.versionLen > 0 && c == '\r':
			s.state, s.afterLine = sLineCR, sChunkData
		default:
			return s.fail(rejectChunkExt)
		}
	case sChunkExtAfter:
		switch c {
		case ' ', '\t':
		case '=':
			s.state = sChunkExtValue
		case ';':
			s.state, s.versionLen = sChunkExtName, 0
		case '\r':
			s.state, s.afterLine = sLineCR, sChunkData
		default:
			return s.fail(rejectChunkExt)
		}
	case sChunkExtValue:
		switch {
		case c == ' ' || c == '\t':
		case c == '"':
			s.state = sChunkExtQuoted
		case isTchar[c]:
			s.state = sChunkExtToken
		default:
			return s.fail(rejectChunkExt)
		}
	case sChunkExtToken:
		switch {
		case isTchar[c]:
		case c == ' ' || c == '\t':
			s.state = sChunkExtAfter
		case c == ';':
			s.state, s.versionLen = sChunkExtName, 0
		case c == '\r':
			s.state, s.afterLine = sLineCR, sChunkData
		default:
			return s.fail(rejectChunkExt)
		}
	case sChunkExtQuoted:
		// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
		switch {
		case c == '"':
			s.state = sChunkExtAfter
		case c == '\\':
			s.state = sChunkExtQuotedPair
		case c == '\t' || c == ' ' || isFieldVchar[c]:
		default:
			return s.fail(rejectChunkExt)
		}
	case sChunkExtQuotedPair:
		if c != '\t' && c != ' ' && !isFieldVchar[c] {
			return s.fail(rejectChunkExt)
		}
		s.state = sChunkExtQuoted
	}
	return evNone
}

func (s *scanner) methodByte(c byte) scanEvent {
	if s.methodLen < len(s.method) {
		s.method[s.methodLen] = c
	}
	s.methodLen++
	return evNone
}

func (s *scanner) nameByte(c byte) {
	lc := lower(c)
	for k := 1; k < len(knownFields); k++ {
		if s.nameMatch&(1<<k) != 0 && (s.nameLen >= len(knownFields[k]) || knownFields[k][s.nameLen] != lc) {
			s.nameMatch &^= 1 << k
		}
	}
	s.nameLen++
}

func (s *scanner) emptyLine() scanEvent {
	s.emptyLines++
	if s.emptyLines > maxEmptyLines {
		return s.fail(rejectEmptyLines)
	}
	s.emptyLen = int(s.headLen)
	s.state = sIdle
	return evNone
}

// requestLineEnd checks the version of a request line (RFC 9112,
// Section 2.3): "HTTP/" DIGIT "." DIGIT; major versions other than 1 are
// answered 505, as Squid does.
func (s *scanner) requestLineEnd() scanEvent {
	s.lineStart = s.headLen
	s.state = sFieldStart
	if s.wsCount == 0 || s.lastWS <= s.targetStart {
		return s.fail(rejectRequestLine) // HTTP/0.9, or no target
	}
	v := s.version[:min(s.versionLen, len(s.version))]
	if s.versionLen < 6 || string(v[:5]) != "HTTP/" {
		return s.fail(rejectRequestLine)
	}
	digits := v[5:]
	if s.versionLen != 8 || digits[1] != '.' || digits[0] < '0' || digits[0] > '9' || digits[2] < '0' || digits[2] > '9' {
		for _, d := range digits {
			if (d < '0' || d > '9') && d != '.' {
				return s.fail(rejectRequestLine)
			}
		}
		return s.fail(rejectVersion)
	}
	if digits[0] != '1' {
		if s.pri && string(digits) == "2.0" {
			// The HTTP/2 connection preface in clear (h2c with prior
			// knowledge, RFC 9113, Section 3.4): refused like CONNECT,
			// as cuttle did before the pre-scan (Squid 5.7: 505).
			return s.fail(rejectH2Preface)
		}
		return s.fail(rejectVersion)
	}
	if s.pri {
		// The HTTP/2 preface's method over HTTP/1.x (Squid: 405).
		return s.fail(rejectPRI)
	}
	s.http10 = digits[2] == '0'
	if s.wsCount > 1 && s.limits.URIWhitespace == URIDeny {
		return s.fail(rejectTarget)
	}
	return evNone
}

// inBody reports whether the scanner is inside a message body.
func (s *scanner) inBody() bool {
	return !s.inHead && s.state != sIdle && s.state != sDead
}

// targetWhitespace reports whether the request-target holds whitespace,
// which the connection rewrites per uri_whitespace.
func (s *scanner) targetWhitespace() bool { return s.wsCount > 1 }

// fieldLineEnd checks a complete field line: Content-Length and
// Transfer-Encoding values (RFC 9112, Sections 6.1 and 6.3).
func (s *scanner) fieldLineEnd() scanEvent {
	s.state = sFieldStart
	s.lineStart = s.headLen
	if s.trailers {
		return evNone
	}
	switch s.fieldKind {
	case fieldContentLength:
		n, ok := parseContentLength(s.valueBuf[:min(s.valueLen, len(s.valueBuf))], s.valueLen <= len(s.valueBuf))
		if !ok || s.haveCL && n != s.contentLen {
			s.badCL = true
		}
		s.haveCL, s.contentLen = true, n
	case fieldHost:
		// RFC 9112, Section 3.2: more than one Host is answered 400.
		if s.haveHost {
			return s.fail(rejectHost)
		}
		s.haveHost = true
	case fieldTransferEncoding:
		if s.haveTE || !isChunked(s.valueBuf[:min(s.valueLen, len(s.valueBuf))]) {
			s.badTE = true
		}
		s.haveTE = true
	}
	s.fieldKind = fieldOther
	return evNone
}

// parseContentLength parses 1*DIGIT with optional surrounding whitespace
// (the field's OWS). Lists, signs and overflowing values are invalid.
func parseContentLength(v []byte, complete bool) (int64, bool) {
	if !complete {
		return 0, false
	}
	v = trimOWS(v)
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' || n > (1<<63-1-9)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isChunked reports whether a Transfer-Encoding value is "chunked" alone
// (case-insensitive, RFC 9112, Section 7): cuttle implements no other
// transfer coding.
func isChunked(v []byte) bool {
	v = trimOWS(v)
	if len(v) != len("chunked") {
		return false
	}
	for i, c := range v {
		if lower(c) != "chunked"[i] {
			return false
		}
	}
	return true
}

func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// sectionEnd ends a request head or a trailer section.
func (s *scanner) sectionEnd() scanEvent {
	if s.trailers {
		// The chunked body is complete.
		s.trailers = false
		s.state = sIdle
		return evNone
	}
	// RFC 9112, Section 6.1: a request with both Content-Length and
	// Transfer-Encoding, or with Transfer-Encoding on HTTP/1.0, has
	// faulty framing; cuttle answers 400 and closes (G1).
	switch {
	case s.haveTE && s.haveCL:
		return s.fail(rejectCLAndTE)
	case s.haveTE && s.http10:
		return s.fail(rejectTEOnHTTP10)
	case s.badCL:
		return s.fail(rejectContentLength)
	case s.haveTE && s.badTE:
		return s.fail(rejectTransferCoding)
	}
	s.inHead = false
	switch {
	case s.haveTE:
		s.data, s.overhead = 0, 0
		s.startChunkLine()
	case s.contentLen > 0:
		s.state, s.remaining = sBodyCL, s.contentLen
	default:
		s.state = sIdle
	}
	return evHeadEnd
}

func (s *scanner) startChunkLine() {
	s.state = sChunkSize
	s.chunkSize, s.chunkDigits, s.lineBytes, s.versionLen = 0, 0, 0, 0
}

// chunkLineEnd starts the data of a chunk, or the trailer section after
// the last chunk, and refuses framing that costs more than the data it
// carries (many tiny chunks, long extensions).
func (s *scanner) chunkLineEnd() scanEvent {
	s.overhead += int64(s.lineBytes) + 1
	if total := s.data + s.overhead; total > overheadFloor && s.overhead*5 > total*4 {
		return s.fail(rejectChunkOverhead)
	}
	if s.chunkSize == 0 {
		s.trailers, s.headLen = true, 0
		s.state = sFieldStart
		return evNone
	}
	s.data += s.chunkSize
	s.state, s.remaining = sChunkData, s.chunkSize
	return evNone
}
