package httpcache

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"cuttle/store"
)

// feedConn is a net.Conn whose reads return data in pieces of size step.
type feedConn struct {
	net.Conn // nil: only Read, Close and the addresses are used
	data     []byte
	step     int
}

func (c *feedConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.step, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func (c *feedConn) Close() error                       { return nil }
func (c *feedConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *feedConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *feedConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (c *feedConn) SetWriteDeadline(t time.Time) error { return nil }

// prescanAll runs data through a prescanConn reading step bytes at a
// time with reads of size bufSize, and returns what it delivers and the
// rejection, if any.
func prescanAll(t testing.TB, h *Handler, data []byte, step, bufSize int) ([]byte, rejectKind) {
	fc := &feedConn{data: data, step: step}
	c := PrescanConn(fc, func() *Handler { return h }).(*prescanConn)
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	kind := c.s.reject
	c.Close()
	return out, kind
}

func fuzzHandler(t testing.TB) *Handler {
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	h, err := New(Options{Store: mem, ErrorLog: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// FuzzRequestPrescan checks that the pre-scan never panics, that its
// verdict does not depend on how the bytes arrive, and that every head it
// lets through is one a strict reference accepts: no obs-fold, no NUL,
// no bare CR, not both Content-Length and Transfer-Encoding, no
// Transfer-Encoding on HTTP/1.0, and net/http parses it.
func FuzzRequestPrescan(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\"y\"\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.0\r\n\r\n",
		"GET /a HTTP/1.1\r\nContent-Length:\r\n 5\r\n\r\nhello",
		"\r\n\nGET /a b HTTP/1.1\nHost: a\n\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(7))
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		whole, kind1 := prescanAll(t, h, data, len(data)+1, 4096)
		split, kind2 := prescanAll(t, h, data, int(step%16)+1, 1+int(step)%700)
		if kind1 != kind2 || !bytes.Equal(whole, split) {
			t.Fatalf("verdict depends on the reads: %v %q vs %v %q", kind1, whole, kind2, split)
		}
		checkHeads(t, whole)
	})
}

// checkHeads applies the reference checks to the first request head
// delivered, if complete.
func checkHeads(t *testing.T, out []byte) {
	end := -1
	if i := bytes.Index(out, []byte("\n\r\n")); i >= 0 {
		end = i + 3
	}
	if j := bytes.Index(out, []byte("\n\n")); j >= 0 && (end < 0 || j+2 < end) {
		end = j + 2
	}
	if end < 0 {
		return // an unfinished head is never delivered
	}
	head := out[:end]
	for _, bad := range []string{"\n ", "\n\t", "\x00"} {
		if bytes.Contains(head, []byte(bad)) {
			t.Fatalf("head passed with %q: %q", bad, head)
		}
	}
	for k := range head {
		if head[k] == '\r' && (k+1 == len(head) || head[k+1] != '\n') {
			t.Fatalf("head passed with a bare CR: %q", head)
		}
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		if strings.Contains(err.Error(), "invalid URI for request") {
			return // net/http answers 400 there itself
		}
		t.Fatalf("net/http refuses a head the pre-scan passed: %v\n%q", err, head)
	}
	if len(req.TransferEncoding) > 0 && (req.ProtoMinor == 0 || len(req.Header["Content-Length"]) > 0) {
		t.Fatalf("head passed with bad framing: %q", head)
	}
}

// FuzzChunkedPrescan checks the chunked-body scanner against Go's chunked
// reader: a body the pre-scan accepts whole decodes without error, to as
// many data bytes as the scanner counted.
func FuzzChunkedPrescan(f *testing.F) {
	for _, s := range []string{
		"3\r\nabc\r\n0\r\n\r\n",
		"1;a=b\r\nx\r\n0\r\nX: y\r\n\r\n",
		"0001\r\nx\r\n0\r\n\r\n",
		"1 \r\nx\r\n0\r\n\r\n",
		"1\nx\r\n0\r\n\r\n",
		"1;a=\"\\\"\"\r\nx\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var s scanner
		s.reset(RequestLimits{})
		head := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		data := append([]byte(head), body...)
		pos, complete := 0, false
		for pos < len(data) && !complete {
			k, ev := s.scan(data[pos:])
			pos += k
			switch {
			case ev == evReject:
				return
			case ev == evHeadBegin && pos > len(head):
				complete = true // the body ended: the rest is another message
			}
		}
		if !complete && (s.inHead || s.state != sIdle) {
			return // unfinished
		}
		end := pos - len(head)
		cr := httputil.NewChunkedReader(bytes.NewReader(body[:end]))
		n, err := io.Copy(io.Discard, cr)
		if err != nil {
			t.Fatalf("Go refuses a chunked body the pre-scan accepted: %v\n%q", err, body[:end])
		}
		if n != s.data {
			t.Fatalf("decoded %d data bytes, the scanner counted %d: %q", n, s.data, body[:end])
		}
	})
}
