package httpcache

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"cuttle/accesslog"
)

// PrescanListener returns ln with every accepted connection wrapped by
// [PrescanConn]. current returns the Handler of the configuration in
// force, which gives the limits of new connections and logs rejections.
// Each http_port listener should be wrapped so (https_port: see
// PrescanConn).
func PrescanListener(ln net.Listener, current func() *Handler) net.Listener {
	return prescanListener{ln, current}
}

type prescanListener struct {
	net.Listener
	current func() *Handler
}

func (l prescanListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return PrescanConn(c, l.current), nil
}

// PrescanConn wraps the HTTP/1.x client connection c (plain TCP, or a
// *tls.Conn whose handshake negotiated HTTP/1.1; an HTTP/2 connection
// must not be wrapped) so that every request head is checked against
// RFC 9112 and the limits of [Options.Requests] before net/http reads
// it, and every body is followed (Content-Length or chunked, strictly)
// to find the next head of a persistent connection.
//
// A request head is delivered only once it is complete and valid. When
// one is refused, net/http sees the end of the connection instead
// (after the requests before it, which are answered in order); the
// connection answers itself with a minimal 400, 405, 414, 431, 501 or
// 505 and Connection: close when net/http closes it, and the Handler
// logs the request as Squid does (NONE_NONE/400 error:invalid-request,
// [Handler.LogRejected]). A fault in a body (chunk size, extension,
// CRLF, trailer, overhead) ends the body with an error instead: the
// Handler's own answer stands, and the connection is closed after it.
//
// The wrapper of a *tls.Conn keeps its ConnectionState, so that
// Request.TLS is set.
func PrescanConn(c net.Conn, current func() *Handler) net.Conn {
	h := current()
	pc := &prescanConn{Conn: c, current: current, accepted: h.now()}
	pc.s.reset(h.opts.Requests)
	pc.self = pc
	if tc, ok := c.(*tls.Conn); ok {
		tlc := &prescanTLSConn{pc, tc}
		pc.self = tlc
		return tlc
	}
	return pc
}

// prescanTLSConn is a prescanConn over TLS: net/http takes Request.TLS
// from ConnectionState.
type prescanTLSConn struct {
	*prescanConn
	tc *tls.Conn
}

// ConnectionState returns the TLS state of the connection.
func (c *prescanTLSConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// errBodyRejected ends a request body the pre-scan refused.
var errBodyRejected = errors.New("httpcache: malformed request body framing")

// prescanConn is the connection wrapper of PrescanConn. Read is called
// by one goroutine at a time (net/http's connection goroutine, or its
// background read, which it waits for).
type prescanConn struct {
	net.Conn
	current  func() *Handler
	accepted time.Time
	self     net.Conn // the outermost wrapper, as net/http knows it
	small    []byte   // read buffer for short reads, allocated when needed

	s       scanner
	hold    []byte // a request head read but not complete yet
	out     []byte // checked bytes not delivered yet
	outOff  int
	readErr error // the error of the last underlying Read, after out

	failed   bool         // nothing more is delivered
	rejected atomic.Int32 // the rejectKind of a refused head, answered at Close
	method   string       // the refused request's method, for the log
	closed   atomic.Bool
}

func (c *prescanConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.outOff < len(c.out) {
			n := copy(p, c.out[c.outOff:])
			c.outOff += n
			if c.outOff == len(c.out) {
				c.out, c.outOff = c.out[:0], 0
			}
			return n, nil
		}
		if err := c.readErr; err != nil {
			c.readErr = nil
			return 0, err
		}
		if c.failed {
			return c.afterFailure(p)
		}
		// net/http's background read asks for one byte: reading a
		// pipelined head byte by byte would cost a system call each.
		buf, inPlace := p, len(p) >= minDirectRead
		if !inPlace {
			if c.small == nil {
				c.small = make([]byte, 4096)
			}
			buf = c.small
		}
		n, err := c.Conn.Read(buf)
		direct := 0
		if n > 0 {
			direct = c.process(buf[:n], inPlace)
		}
		c.readErr = err
		if err != nil && c.s.inBody() {
			// A body cut short (client gone, read timeout): the rest of
			// the connection is never parsed (go#11930).
			c.failed = true
		}
		if direct > 0 {
			return direct, nil
		}
	}
}

// minDirectRead is the smallest buffer read into directly.
const minDirectRead = 512

// afterFailure answers reads once the connection is refused. A refused
// head makes net/http see the end of the connection; its background
// read (one byte, while a handler answers an earlier request) blocks
// instead, so that the earlier request is not cancelled, until net/http
// aborts it with a deadline or the client goes away.
func (c *prescanConn) afterFailure(p []byte) (int, error) {
	if c.rejected.Load() == 0 {
		return 0, errBodyRejected
	}
	if len(p) != 1 {
		return 0, io.EOF
	}
	var scratch [512]byte
	for {
		if _, err := c.Conn.Read(scratch[:]); err != nil {
			return 0, err
		}
	}
}

// process scans b, just read into the caller's buffer, and returns how
// many of its first bytes can be delivered as they are; the rest goes to
// out (checked, possibly rewritten) or hold (an incomplete head).
func (c *prescanConn) process(b []byte, inPlace bool) int {
	direct := inPlace && len(c.hold) == 0 && len(c.out) == 0
	directEnd, from, headStart := 0, 0, -1
	if len(c.hold) > 0 {
		headStart = 0
	}
	commit := func(to int) {
		if from == to {
			return
		}
		if direct && from == directEnd {
			directEnd = to
		} else {
			direct = false
			c.out = append(c.out, b[from:to]...)
		}
		from = to
	}
	for pos := 0; pos < len(b); {
		k, ev := c.s.scan(b[pos:])
		pos += k
		switch ev {
		case evHeadBegin:
			commit(pos) // the end of the previous body
			headStart = pos
		case evHeadEnd:
			if len(c.hold) == 0 && c.s.emptyLen == 0 && !c.s.targetWhitespace() {
				commit(pos) // the common case: delivered as read
			} else {
				head := append(c.hold, b[headStart:pos]...)
				c.hold = c.hold[:0]
				if !c.rewriteHead(head) {
					c.s.fail(rejectTarget)
					c.refuse(true)
					return directEnd
				}
				direct = false
				from = pos
			}
			headStart = -1
		case evReject:
			inHead := headStart >= 0
			if !inHead {
				commit(pos) // the valid part of the body
			}
			c.hold = c.hold[:0]
			c.refuse(inHead)
			return directEnd
		}
	}
	if headStart >= 0 {
		c.hold = append(c.hold, b[headStart:]...) // at most a head: the scanner caps it
	} else {
		commit(len(b))
	}
	return directEnd
}

// rewriteHead appends the complete head to out without its leading empty
// lines and with the whitespace of its target handled per uri_whitespace.
// It reports false if no target is left.
func (c *prescanConn) rewriteHead(head []byte) bool {
	s := &c.s
	if !s.targetWhitespace() {
		c.out = append(c.out, head[s.emptyLen:]...)
		return true
	}
	// Whitespace around the target is a delimiter, as Squid's relaxed
	// parser takes it; whitespace inside is handled per uri_whitespace.
	target := trimOWS(head[s.targetStart:s.lastWS])
	if len(target) == 0 {
		return false
	}
	c.out = append(c.out, head[s.emptyLen:s.targetStart]...)
loop:
	for _, b := range target {
		if b != ' ' && b != '\t' {
			c.out = append(c.out, b)
			continue
		}
		switch s.limits.URIWhitespace {
		case URIChop:
			break loop
		case URIEncode, URIAllow:
			if b == ' ' {
				c.out = append(c.out, "%20"...)
			} else {
				c.out = append(c.out, "%09"...)
			}
		}
	}
	c.out = append(c.out, head[s.lastWS:]...)
	return true
}

// refuse stops the connection after a rejection by the scanner.
func (c *prescanConn) refuse(inHead bool) {
	c.failed = true
	kind := c.s.reject
	h := c.current()
	if !inHead {
		h.opts.Stats.Rejected(kind.String())
		return
	}
	if c.s.methodLen > 0 && c.s.methodLen <= len(c.s.method) && c.s.state != sMethod {
		c.method = string(c.s.method[:c.s.methodLen])
	}
	if kind == rejectRequestLine || kind == rejectMethod || kind == rejectEmptyLines {
		c.method = ""
	}
	c.rejected.Store(int32(kind))
}

// Close answers a refused request, then closes the connection.
func (c *prescanConn) Close() error {
	if c.closed.Swap(true) {
		return c.Conn.Close()
	}
	if kind := rejectKind(c.rejected.Load()); kind != rejectNone {
		c.answer(kind)
	}
	return c.Conn.Close()
}

// answerTimeout bounds the write of a rejection answer.
const answerTimeout = 5 * time.Second

// answer writes the minimal response to a refused request and logs it.
func (c *prescanConn) answer(kind rejectKind) {
	h := c.current()
	status, errCode, url := kind.answer()
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	body := text + "\n"
	resp := "HTTP/1.1 " + text + "\r\n" +
		"Server: cuttle\r\n" +
		"Date: " + h.now().UTC().Format(http.TimeFormat) + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"X-Squid-Error: " + errCode + " 0\r\n" +
		"Connection: close\r\n\r\n" + body
	c.Conn.SetWriteDeadline(time.Now().Add(answerTimeout))
	n, _ := io.WriteString(c.Conn, resp)
	h.LogRejected(c.self, Rejection{
		Status: status, ErrCode: errCode, Reason: kind.String(),
		Method: c.method, URL: url, Start: c.accepted, Bytes: int64(n),
	})
}

// Rejection describes a request refused before any handler ran, for
// [Handler.LogRejected].
type Rejection struct {
	// Status is the status sent (%>Hs): 400, 405, 414, 431, 501 or 505.
	Status int
	// ErrCode is Squid's error name (%err_code), e.g. ERR_INVALID_REQ.
	ErrCode string
	// Reason names the rule broken, for the counters ([Stats.Rejected]).
	Reason string
	// Method is the request method if the request line was read (%rm).
	Method string
	// URL is what Squid logs as the URL (%ru) of such a request, e.g.
	// error:invalid-request.
	URL string
	// Start is when the connection was accepted; Bytes the size of the
	// answer (%<st).
	Start time.Time
	Bytes int64
}

// LogRejected writes the access.log line of a request refused by the
// pre-scan ([PrescanConn]) and counts it, as Squid logs a request its
// parser refuses: "NONE_NONE/400 ... error:invalid-request". c is the
// client connection as the http.Server knows it: its ConnState record is
// marked so that no error:transaction-end-before-headers line follows.
func (h *Handler) LogRejected(c net.Conn, r Rejection) {
	h.opts.Stats.Rejected(r.Reason)
	h.opts.Stats.countError(r.ErrCode)
	if v, ok := h.opts.Conns.m.Load(c); ok {
		ci := v.(*connInfo)
		ci.mu.Lock()
		ci.served = true
		ci.mu.Unlock()
	}
	if h.opts.Log == nil && len(h.opts.FilteredLogs) == 0 {
		return
	}
	e := &accesslog.Entry{
		Start:      r.Start,
		End:        h.now(),
		ResultCode: "NONE_NONE",
		Status:     r.Status,
		Bytes:      r.Bytes,
		Method:     r.Method,
		URL:        r.URL,
		ErrorCode:  r.ErrCode,
	}
	var addr netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		addr = ta.AddrPort()
	}
	e.ClientIP = addr.Addr().Unmap().String()
	e.ClientPort = int(addr.Port())
	tx := &transaction{start: r.Start, clientIP: addr.Addr(), clientPort: addr.Port(), url: r.URL, result: "NONE_NONE", errCode: r.ErrCode}
	h.writeEntry(tx, e)
}

// Rejected counts a request refused by the pre-scan, by the rule it
// broke (a [Rejection] Reason, e.g. "obs-fold"); see RejectedCounts.
func (s *Stats) Rejected(reason string) {
	v, ok := s.rejected.Load(reason)
	if !ok {
		v, _ = s.rejected.LoadOrStore(reason, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// RejectedCounts returns the number of requests refused by the pre-scan
// ([PrescanConn]) so far, by reason.
func (s *Stats) RejectedCounts() map[string]int64 {
	m := make(map[string]int64)
	s.rejected.Range(func(k, v any) bool {
		m[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return m
}
