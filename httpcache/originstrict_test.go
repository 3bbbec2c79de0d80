package httpcache

// End-to-end tests of the strict reading of origin responses
// (originscan.go, originconn.go) through the real Handler, against a raw
// TCP origin that writes exact bytes and records on which connection each
// request arrived. Each case is named by its item of the reliability
// checklist (A18, F1..F10, C10). Helpers are prefixed rs.

import (
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cuttle/store"
)

// rsReply is what the raw origin writes for one request; close closes the
// connection after it.
type rsReply struct {
	raw   string
	close bool
}

// rsOrigin is a raw TCP origin: script returns the exact bytes of the
// answer to the n-th request (1-based).
type rsOrigin struct {
	ln     net.Listener
	script func(n int, req *http.Request) rsReply

	mu      sync.Mutex // protects conns, open, reqConn, paths
	conns   int
	open    []net.Conn // closed at the end of the test
	reqConn []int      // the connection (1-based) each request came on
	paths   []string   // the path of each request
}

func rsNewOrigin(t testing.TB, script func(n int, req *http.Request) rsReply) *rsOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &rsOrigin{ln: ln, script: script}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		o.mu.Lock()
		for _, c := range o.open {
			c.Close()
		}
		o.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			o.mu.Lock()
			o.conns++
			o.open = append(o.open, conn)
			id := o.conns
			o.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				o.serveConn(conn, id)
			}()
		}
	}()
	return o
}

func (o *rsOrigin) serveConn(conn net.Conn, id int) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body) //nolint:errcheck // the test reads what it needs
		o.mu.Lock()
		o.reqConn = append(o.reqConn, id)
		o.paths = append(o.paths, req.URL.Path)
		n := len(o.reqConn)
		o.mu.Unlock()
		r := o.script(n, req)
		if _, err := io.WriteString(conn, r.raw); err != nil || r.close {
			return
		}
	}
}

func (o *rsOrigin) requests() (conns []int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.reqConn...)
}

func (o *rsOrigin) port() int { return o.ln.Addr().(*net.TCPAddr).Port }

// rsNewProxy starts the handler in front of the raw origin.
func rsNewProxy(t *testing.T, o *rsOrigin, set func(*Options)) *hfProxy {
	t.Helper()
	return hfNewProxy(t, nil, hfNewClock(), nil, func(opts *Options) {
		opts.Peers = []Peer{{Name: "origin", Host: "127.0.0.1", Port: o.port()}}
		if set != nil {
			set(opts)
		}
	})
}

// rsGood is the origin's answer to every later request: cacheable.
const rsGood = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\ngood"

// rsCached is the head of a cacheable response with a body of n bytes.
func rsCached(n int) string {
	return "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
}

const rsChunked = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n"

type rsCase struct {
	name  string
	req   string // the first request; "" is GET /x
	first rsReply

	// wantStatus is the status of the first answer; 0 means either a
	// 502 or a response whose body breaks off (the check happened in
	// the body). wantBody is checked when not "".
	wantStatus int
	wantBody   string
	wantErr    string // the error page (X-Squid-Error), if any

	stored bool // the first answer was stored: GET /x again is a hit
	reuse  bool // the connection may be reused afterwards
}

// rsMalformed is a malformed response: 502 with ERR_INVALID_RESP, not
// stored, its connection never reused.
func rsMalformed(name, raw string) rsCase {
	return rsCase{name: name, first: rsReply{raw: raw}, wantStatus: 502, wantErr: "ERR_INVALID_RESP 0"}
}

// rsBodyError is a response whose body framing is wrong: a 502 when the
// scanner sees it with the header section (one write on loopback), at
// worst a body that breaks off; never stored, connection never reused.
func rsBodyError(name, raw string) rsCase {
	return rsCase{name: name, first: rsReply{raw: raw}}
}

func TestOriginResponseStrictness(t *testing.T) {
	t.Parallel()
	head4k := "X-Big: " + strings.Repeat("a", 4<<10) + "\r\n"
	head16k := strings.Repeat("X-Big: "+strings.Repeat("b", 1000)+"\r\n", 16)
	head63k := strings.Repeat("X-Big: "+strings.Repeat("c", 1000)+"\r\n", 63)
	head65k := strings.Repeat("X-Big: "+strings.Repeat("d", 1000)+"\r\n", 65)
	tests := []rsCase{
		{name: "control: a valid response", first: rsReply{raw: rsCached(3) + "abc"}, wantStatus: 200, wantBody: "abc", stored: true, reuse: true},

		// A18 / F9: framing fields.
		rsMalformed("A18 F9 Content-Length and Transfer-Encoding",
			"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		rsMalformed("A18 F9 Transfer-Encoding then Content-Length",
			"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		rsMalformed("A18 F9 two differing Content-Length",
			"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
		rsMalformed("A18 Content-Length list 1, 1", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 1, 1\r\n\r\na"),
		rsMalformed("A18 Content-Length +3", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: +3\r\n\r\nabc"),
		rsMalformed("A18 Content-Length 0x3", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 0x3\r\n\r\nabc"),
		rsMalformed("A18 Content-Length empty", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: \r\n\r\nabc"),
		rsMalformed("A18 Content-Length 3 3", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 3 3\r\n\r\nabc"),
		rsMalformed("A18 Content-Length overflow", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 18446744073709551616\r\n\r\nabc"),
		rsMalformed("A18 Content-Length obs-fold", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length:\r\n 3\r\n\r\nabc"),
		rsMalformed("A18 Content-Length space before colon", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length : 3\r\n\r\nabc"),
		rsMalformed("A18 Transfer-Encoding gzip", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: gzip\r\n\r\nabc"),
		rsMalformed("A18 Transfer-Encoding gzip, chunked",
			"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		rsMalformed("A18 two Transfer-Encoding lines",
			"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		rsMalformed("A18 Transfer-Encoding in HTTP/1.0",
			"HTTP/1.0 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),

		// A18: chunked bodies.
		{name: "A18 chunked with extensions and trailer", first: rsReply{raw: rsChunked +
			"3;name=value;q=\"a \\\" b\"\r\nabc\r\n2 \r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"},
			wantStatus: 200, wantBody: "abcde", stored: true, reuse: true},
		rsBodyError("A18 chunk size 3x", rsChunked+"3x\r\nabc\r\n0\r\n\r\n"),
		rsBodyError("A18 chunk size 0x3", rsChunked+"0x3\r\nabc\r\n0\r\n\r\n"),
		rsBodyError("A18 chunk size overflow", rsChunked+"10000000000000003\r\nabc\r\n0\r\n\r\n"),
		rsBodyError("A18 chunk size bare LF", rsChunked+"3\nabc\r\n0\r\n\r\n"),
		rsBodyError("A18 chunk extension with a control byte", rsChunked+"3;a\x01\r\nabc\r\n0\r\n\r\n"),
		rsBodyError("A18 chunk extension quoted CRLF", rsChunked+"3;a=\"\r\n\"\r\nabc\r\n0\r\n\r\n"),
		rsBodyError("A18 chunk data not followed by CRLF", rsChunked+"3\r\nabcXX\r\n0\r\n\r\n"),
		rsBodyError("A18 trailer with obs-fold", rsChunked+"3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n"),

		// F10: bytes after the end of a response are never read as the
		// next one: the response as framed is used (as Squid does) and
		// the connection is closed.
		{name: "F10 A18 response after a Content-Length body", first: rsReply{raw: rsCached(3) +
			"abcHTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 4\r\n\r\nevil"},
			wantStatus: 200, wantBody: "abc", stored: true},
		{name: "F10 body longer than Content-Length", first: rsReply{raw: rsCached(3) + "abcdefghijklmnop"},
			wantStatus: 200, wantBody: "abc", stored: true},
		{name: "F10 bytes after a chunked body", first: rsReply{raw: rsChunked + "3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"},
			wantStatus: 200, wantBody: "abc", stored: true},
		{name: "F10 HEAD answered with a body", req: "HEAD /x HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
			first: rsReply{raw: rsCached(4) + "evil"}, wantStatus: 200},
		{name: "F10 bytes after a 304", req: get("/x", "If-None-Match: \"a\"\r\n"),
			first: rsReply{raw: "HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"}, wantStatus: 304},
		{name: "F10 stray CRLF after the body", first: rsReply{raw: rsCached(3) + "abc\r\n"},
			wantStatus: 200, wantBody: "abc", stored: true},
		{name: "F10 HEAD without a body keeps the connection", req: "HEAD /x HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
			first: rsReply{raw: rsCached(10)}, wantStatus: 200, reuse: true},

		// F3: status lines.
		rsMalformed("F3 status 099", "HTTP/1.1 099 Odd\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F3 status 600", "HTTP/1.1 600 Odd\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F3 status 20x", "HTTP/1.1 20x Odd\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F3 status +20", "HTTP/1.1 +20 Odd\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F3 status 2000", "HTTP/1.1 2000 Odd\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F3 reason with a control byte", "HTTP/1.1 200 O\x01K\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F3 HTTP/2.0 status line", "HTTP/2.0 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F3 junk status line", "ICY 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		{name: "F3 reason with obs-text", first: rsReply{raw: "HTTP/1.1 200 \xe9t\xe9\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"},
			wantStatus: 200, wantBody: "abc", stored: true, reuse: true},
		{name: "F3 no reason phrase", first: rsReply{raw: "HTTP/1.1 200\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"},
			wantStatus: 200, wantBody: "abc", stored: true, reuse: true},

		// F9 / C10: field lines.
		rsMalformed("F9 C10 CR in a value", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nX-A: a\rb\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F9 C10 LF in a value", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nX-A: a\nSet-Cookie: b\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F9 C10 NUL in a value", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nX-A: a\x00b\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F9 DEL in a value", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nX-A: a\x7fb\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F9 obs-fold", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nX-A: a\r\n b\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F9 whitespace before the first field", "HTTP/1.1 200 OK\r\n X-A: a\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F9 empty field name", "HTTP/1.1 200 OK\r\n: a\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F9 line without colon", "HTTP/1.1 200 OK\r\nnocolon\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n\r\nabc"),
		rsMalformed("F9 bare LF line ends", "HTTP/1.1 200 OK\nCache-Control: max-age=60\nContent-Length: 3\n\nabc"),

		// F2 / F1: truncation.
		{name: "F2 header section cut", first: rsReply{raw: "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 3\r\n", close: true},
			wantStatus: 502, wantErr: "ERR_READ_ERROR 0"},
		{name: "F2 status line cut", first: rsReply{raw: "HTTP/1.1 20", close: true}, wantStatus: 502, wantErr: "ERR_READ_ERROR 0"},
		{name: "F2 nothing then close", first: rsReply{raw: "", close: true}, wantStatus: 502, wantErr: "ERR_READ_ERROR 0"},
		{name: "F1 Content-Length body cut", first: rsReply{raw: rsCached(100) + "short", close: true}, wantStatus: 200},
		{name: "F1 chunked body without the last chunk", first: rsReply{raw: rsChunked + "3\r\nabc\r\n", close: true}, wantStatus: 200},

		// F7: interim responses are never final, never stored.
		{name: "F7 100 then 200", first: rsReply{raw: "HTTP/1.1 100 Continue\r\n\r\n" + rsCached(3) + "abc"},
			wantStatus: 200, wantBody: "abc", stored: true, reuse: true},
		{name: "F7 102 then 200", first: rsReply{raw: "HTTP/1.1 102 Processing\r\n\r\n" + rsCached(3) + "abc"},
			wantStatus: 200, wantBody: "abc", stored: true, reuse: true},
		{name: "F7 103 twice then 200", first: rsReply{raw: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 103 Early Hints\r\nLink: </b.css>; rel=preload\r\n\r\n" + rsCached(3) + "abc"},
			wantStatus: 200, wantBody: "abc", stored: true, reuse: true},
		rsMalformed("F7 malformed 103", "HTTP/1.1 103 Early Hints\r\nLink: a\x00\r\n\r\n"+rsCached(3)+"abc"),
		{name: "F7 100 then end", first: rsReply{raw: "HTTP/1.1 100 Continue\r\n\r\n", close: true}, wantStatus: 502, wantErr: "ERR_READ_ERROR 0"},

		// F6: large header sections (reply_header_max_size, 64 KiB).
		{name: "F6 4 KiB header section", first: rsReply{raw: strings.Replace(rsCached(3), "\r\n\r\n", "\r\n"+head4k+"\r\n", 1) + "abc"},
			wantStatus: 200, wantBody: "abc", stored: true, reuse: true},
		{name: "F6 16 KiB header section", first: rsReply{raw: strings.Replace(rsCached(3), "\r\n\r\n", "\r\n"+head16k+"\r\n", 1) + "abc"},
			wantStatus: 200, wantBody: "abc", stored: true, reuse: true},
		{name: "F6 63 KiB header section", first: rsReply{raw: strings.Replace(rsCached(3), "\r\n\r\n", "\r\n"+head63k+"\r\n", 1) + "abc"},
			wantStatus: 200, wantBody: "abc", stored: true, reuse: true},
		{name: "F6 65 KiB header section", first: rsReply{raw: strings.Replace(rsCached(3), "\r\n\r\n", "\r\n"+head65k+"\r\n", 1) + "abc"},
			wantStatus: 502, wantErr: "ERR_TOO_BIG 0"},

		// F5: a 206 with a wrong Content-Range is passed on, never stored.
		{name: "F5 Content-Range beyond the length", req: get("/x", "Range: bytes=0-3\r\n"),
			first:      rsReply{raw: "HTTP/1.1 206 Partial Content\r\nCache-Control: max-age=60\r\nContent-Range: bytes 0-99/4\r\nContent-Length: 4\r\n\r\nabcd"},
			wantStatus: 206, wantBody: "abcd", reuse: true},
		{name: "F5 Content-Range overflowing", req: get("/x", "Range: bytes=0-3\r\n"),
			first:      rsReply{raw: "HTTP/1.1 206 Partial Content\r\nCache-Control: max-age=60\r\nContent-Range: bytes 0-3/99999999999999999999999\r\nContent-Length: 4\r\n\r\nabcd"},
			wantStatus: 206, wantBody: "abcd", reuse: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := rsNewOrigin(t, func(n int, _ *http.Request) rsReply {
				if n == 1 {
					return tt.first
				}
				return rsReply{raw: rsGood}
			})
			p := rsNewProxy(t, o, nil)
			rsRun(t, p, o, tt)
		})
	}
}

// rsRun sends the case's request, then GET /x again (a hit when the first
// answer was stored, else a miss that reaches the origin) and GET /y, and
// checks that no request after the first came on its connection unless
// reuse allows it.
func rsRun(t *testing.T, p *hfProxy, o *rsOrigin, tt rsCase) {
	t.Helper()
	raw := tt.req
	if raw == "" {
		raw = get("/x")
	}
	r := hfDo(p.Listener.Addr().String(), raw)
	broken := r.err != nil // the answer broke off (before or after its header)
	res, body := r.res, r.body
	if res == nil {
		res = &http.Response{Header: http.Header{}}
	}
	switch {
	case strings.HasPrefix(tt.name, "F1 "):
		if !broken {
			t.Errorf("first: status %d body %q arrived complete, want it broken off", res.StatusCode, body)
		}
	case broken && tt.wantStatus != 0:
		t.Errorf("first: %v, want status %d", r.err, tt.wantStatus)
	case tt.wantStatus == 0:
		if res.StatusCode != 502 && !broken {
			t.Errorf("first: status %d with a complete body %q, want 502 or a body that breaks off", res.StatusCode, body)
		}
	case res.StatusCode != tt.wantStatus:
		t.Errorf("first: status %d, want %d", res.StatusCode, tt.wantStatus)
	case tt.wantBody != "" && body != tt.wantBody:
		t.Errorf("first: body %q, want %q", body, tt.wantBody)
	}
	if got := res.Header.Get("X-Squid-Error"); got != tt.wantErr && !(tt.wantStatus == 0 && got == "ERR_INVALID_RESP 0") {
		t.Errorf("first: X-Squid-Error %q, want %q", got, tt.wantErr)
	}
	if res.StatusCode == 502 && strings.Contains(body, "evil") {
		t.Errorf("first: the error page holds the origin's bytes: %q", body)
	}
	p.mem.Wait()
	before := len(o.requests())
	res, body, _ = p.do(t, get("/x"))
	if tt.stored {
		if res.Header.Get("X-Cache") != "HIT from accel-test.local" || len(o.requests()) != before {
			t.Errorf("second: X-Cache %q, origin requests %d, want a hit", res.Header.Get("X-Cache"), len(o.requests()))
		}
		if tt.wantBody != "" && body != tt.wantBody {
			t.Errorf("second: hit body %q, want %q", body, tt.wantBody)
		}
	} else if res.StatusCode != 200 || body != "good" || len(o.requests()) != before+1 {
		t.Errorf("second: status %d body %q, origin requests %d (was %d): want a miss answered by the origin",
			res.StatusCode, body, len(o.requests()), before)
	}
	if res, body, _ := p.do(t, get("/y")); res.StatusCode != 200 || body != "good" {
		t.Errorf("third: status %d body %q, want the origin's good answer", res.StatusCode, body)
	}
	conns := o.requests()
	if !tt.reuse {
		for i, c := range conns[1:] {
			if c == conns[0] {
				t.Errorf("request %d came on the connection of the first (connections %v): it was reused", i+2, conns)
			}
		}
	}
}

// TestOriginReplyHeaderMaxSize: reply_header_max_size sets the limit
// (F6): a 64 KiB header section passes under 128 KB and its hit is
// byte-identical to the miss; negative means no limit.
func TestOriginReplyHeaderMaxSize(t *testing.T) {
	t.Parallel()
	head := strings.Repeat("X-Big: "+strings.Repeat("e", 1000)+"\r\n", 64)
	raw := strings.Replace(rsCached(3), "\r\n\r\n", "\r\n"+head+"\r\n", 1) + "abc"
	for _, limit := range []int64{128 << 10, -1} {
		t.Run(strconv.FormatInt(limit, 10), func(t *testing.T) {
			t.Parallel()
			o := rsNewOrigin(t, func(int, *http.Request) rsReply { return rsReply{raw: raw} })
			p := rsNewProxy(t, o, func(opts *Options) { opts.ReplyHeaderMaxSize = limit })
			miss, mbody, _ := p.do(t, get("/x"))
			hit, hbody, _ := p.do(t, get("/x"))
			if miss.StatusCode != 200 || hit.Header.Get("X-Cache") != "HIT from accel-test.local" {
				t.Fatalf("status %d then X-Cache %q, want 200 then a hit", miss.StatusCode, hit.Header.Get("X-Cache"))
			}
			if mbody != hbody || strings.Join(miss.Header["X-Big"], "") != strings.Join(hit.Header["X-Big"], "") ||
				len(hit.Header["X-Big"]) != 64 {
				t.Errorf("hit differs from the miss: %d X-Big fields, body %q vs %q", len(hit.Header["X-Big"]), hbody, mbody)
			}
		})
	}
	t.Run("default 64 KiB", func(t *testing.T) {
		t.Parallel()
		big := strings.Replace(raw, "\r\n\r\n", "\r\n"+head[:4*1007]+"\r\n", 1) // 68 lines of 1007 bytes
		o := rsNewOrigin(t, func(int, *http.Request) rsReply { return rsReply{raw: big} })
		p := rsNewProxy(t, o, nil)
		res, _, _ := p.do(t, get("/x"))
		if res.StatusCode != 502 || res.Header.Get("X-Squid-Error") != "ERR_TOO_BIG 0" {
			t.Errorf("status %d %q, want 502 ERR_TOO_BIG", res.StatusCode, res.Header.Get("X-Squid-Error"))
		}
	})
}

// BenchmarkOriginMiss measures a miss over a pooled origin connection
// (1 KiB, not stored), with the strict response scanner and with a plain
// http.Transport, to show what the scanner costs.
func BenchmarkOriginMiss(b *testing.B) {
	body := strings.Repeat("x", 1024)
	reply := "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\n\r\n" + body
	for _, strict := range []bool{true, false} {
		name := "plain"
		if strict {
			name = "strict"
		}
		b.Run(name, func(b *testing.B) {
			o := rsNewOrigin(b, func(int, *http.Request) rsReply { return rsReply{raw: reply} })
			mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer mem.Close()
			opts := Options{
				Store:    mem,
				Access:   hfAllowAll,
				Peers:    []Peer{{Host: "127.0.0.1", Port: o.port()}},
				ErrorLog: log.New(io.Discard, "", 0),
			}
			if !strict {
				opts.Transport = newDialTransport(time.Second, 0, nil)
			}
			h, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			ph := h.Port(Port{Vhost: true})
			req := httptest.NewRequest("GET", "/obj", nil)
			req.Host = "bench"
			req.RemoteAddr = "127.0.0.1:40000"
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				clear(w.h)
				ph.ServeHTTP(w, req)
			}
			if got := len(o.requests()); got < b.N {
				b.Fatalf("origin requests = %d, want %d", got, b.N)
			}
		})
	}
}

// TestOriginMalformedNotRetried: a malformed response is answered with a
// 502 and never makes cuttle ask again. net/http's Transport resends an
// idempotent request on another pooled connection when reading the first
// byte of the answer on a reused one fails (it takes that for the origin
// closing an idle connection), and it does so for as long as reused
// connections are left: http-cache-tests saw its origin asked 96 times for
// one client request whose answer carried "Transfer-Encoding:
// ARIZQHYPGXOFWNE". Squid asks once (retry_on_error off). The first cases
// are the exact answers of the suite's origin.
func TestOriginMalformedNotRetried(t *testing.T) {
	t.Parallel()
	const warm = 8 // pooled connections before the malformed answer
	tests := []struct {
		name, raw, wantErr string
	}{
		{"cache-tests 999 (304 Not Generated)", "HTTP/1.1 999 unknown\r\nServer-Base-Url: /test/e5443188\r\n" +
			"Server-Request-Count: 2\r\nClient-Request-Count: 2\r\nServer-Now: 1795658217577\r\nCapability-Seen: \r\n" +
			"Date: Thu, 26 Nov 2026 01:56:57 GMT\r\nSet-Cookie: a=c\r\nCache-Control: max-age=2\r\n" +
			"ETag: \"AVQLGBWRMHCXSNI\"\r\nContent-Type: text/plain\r\nRequest-Numbers: 1 2\r\nConnection: keep-alive\r\n" +
			"Keep-Alive: timeout=5\r\nContent-Length: 8\r\n\r\ne5443188", "ERR_INVALID_RESP 0"},
		{"cache-tests unknown transfer coding", "HTTP/1.1 200 OK\r\nServer-Base-Url: /test/4fd49a9c\r\n" +
			"Date: Thu, 26 Nov 2026 01:56:54 GMT\r\nTransfer-Encoding: ARIZQHYPGXOFWNE\r\nCache-Control: max-age=3600\r\n" +
			"Content-Type: text/plain\r\nRequest-Numbers: 1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n4fd49a9c",
			"ERR_INVALID_RESP 0"},
		{"first byte wrong", "ICY 200 OK\r\nContent-Length: 3\r\n\r\nabc", "ERR_INVALID_RESP 0"},
		{"first byte LF", "\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", "ERR_INVALID_RESP 0"},
		{"header section too big", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Big: "+strings.Repeat("f", 1000)+"\r\n", 66) +
			"Content-Length: 3\r\n\r\nabc", "ERR_TOO_BIG 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			arrived, bad := 0, 0
			all := make(chan struct{})
			o := rsNewOrigin(t, func(_ int, req *http.Request) rsReply {
				if req.URL.Path == "/bad" {
					mu.Lock()
					bad++
					mu.Unlock()
					return rsReply{raw: tt.raw}
				}
				// Hold every warm-up answer until all have arrived, so
				// that each came on a connection of its own.
				mu.Lock()
				if arrived++; arrived == warm {
					close(all)
				}
				mu.Unlock()
				select {
				case <-all:
				case <-time.After(10 * time.Second):
				}
				return rsReply{raw: "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 2\r\n\r\nok"}
			})
			p := rsNewProxy(t, o, nil)
			var wg sync.WaitGroup
			for i := range warm {
				wg.Go(func() {
					if r := hfDo(p.Listener.Addr().String(), get("/warm"+strconv.Itoa(i))); r.err != nil || r.body != "ok" {
						t.Errorf("warm-up %d: %v %q", i, r.err, r.body)
					}
				})
			}
			wg.Wait()
			o.mu.Lock()
			conns := o.conns
			o.mu.Unlock()
			if conns != warm {
				t.Fatalf("warm-up used %d origin connections, want %d", conns, warm)
			}
			res, _, _ := p.do(t, get("/bad"))
			if res.StatusCode != 502 || res.Header.Get("X-Squid-Error") != tt.wantErr {
				t.Errorf("status %d %q, want 502 %q", res.StatusCode, res.Header.Get("X-Squid-Error"), tt.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if bad != 1 {
				t.Errorf("the origin was asked %d times for one request, want once", bad)
			}
		})
	}
}
