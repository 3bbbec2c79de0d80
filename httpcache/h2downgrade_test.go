package httpcache

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawOrigin records the exact bytes of every request head it receives and
// answers each with a small 200.
type h2Origin struct {
	ln    net.Listener
	mu    sync.Mutex
	heads []string // protected by mu
	short []bool   // protected by mu: the body ended before its Content-Length
}

func newH2Origin(t *testing.T) *h2Origin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &h2Origin{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go o.serve(c)
		}
	}()
	return o
}

func (o *h2Origin) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var head bytes.Buffer
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				return
			}
			if line == "\r\n" || line == "\n" {
				break
			}
		}
		raw := head.String()
		req, err := http.ReadRequest(bufio.NewReader(&head))
		short := false
		if err == nil && req.ContentLength > 0 {
			_, err := io.CopyN(io.Discard, br, req.ContentLength)
			short = err != nil
		}
		o.mu.Lock()
		o.heads = append(o.heads, raw)
		o.short = append(o.short, short)
		o.mu.Unlock()
		if short {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: no-store\r\n\r\nok")
	}
}

func (o *h2Origin) received() ([]string, []bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.heads...), append([]bool(nil), o.short...)
}

// hpackLiteral encodes a header field as an HPACK literal without
// indexing, with a new name and no Huffman coding (RFC 7541, 6.2.2).
func hpackLiteral(name, value string) []byte {
	b := []byte{0}
	for _, s := range []string{name, value} {
		n := len(s)
		if n < 127 {
			b = append(b, byte(n))
		} else {
			b = append(b, 127)
			for n -= 127; n >= 128; n >>= 7 {
				b = append(b, byte(n%128+128))
			}
			b = append(b, byte(n))
		}
		b = append(b, s...)
	}
	return b
}

// h2Frame encodes one HTTP/2 frame (RFC 9113, Section 4.1).
func h2Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags}
	b = binary.BigEndian.AppendUint32(b, stream)
	return append(b, payload...)
}

// h2Exchange sends one request made of fields (and, when body is not nil,
// one DATA frame) on a new HTTP/2 connection and returns how the server
// answered stream 1: "response", "rst" (RST_STREAM), "goaway" or "closed".
func h2Exchange(t *testing.T, addr string, fields [][2]string, body []byte) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatalf("ALPN: %q, want h2", conn.ConnectionState().NegotiatedProtocol)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var block []byte
	for _, f := range fields {
		block = append(block, hpackLiteral(f[0], f[1])...)
	}
	flags := byte(0x4) // END_HEADERS
	if body == nil {
		flags |= 0x1 // END_STREAM
	}
	out := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	out = append(out, h2Frame(0x4, 0, 0, nil)...)
	out = append(out, h2Frame(0x1, flags, 1, block)...)
	if body != nil {
		out = append(out, h2Frame(0x0, 0x1, 1, body)...)
	}
	if _, err := conn.Write(out); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	hdr := make([]byte, 9)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			return "closed"
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, fl, stream := hdr[3], hdr[4], binary.BigEndian.Uint32(hdr[5:])&0x7fffffff
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			return "closed"
		}
		switch {
		case typ == 0x4 && fl&0x1 == 0:
			conn.Write(h2Frame(0x4, 0x1, 0, nil)) // SETTINGS ACK
		case typ == 0x1 && stream == 1:
			return "response"
		case typ == 0x3 && stream == 1:
			return "rst"
		case typ == 0x7:
			return "goaway"
		}
	}
}

// TestH2DowngradeNeverInvalid sends HTTP/2 requests that abuse
// pseudo-headers and connection-specific fields (CR, LF and spaces in
// :path, :method and :authority, uppercase or ':' in names, Connection,
// Transfer-Encoding, Upgrade, a Content-Length that disagrees with the
// DATA) to an https_port with h2, and checks that whatever reaches the
// origin over HTTP/1.1 is a well-formed request with nothing injected
// (reliability I2). Go's HTTP/2 server refuses most of them itself.
func TestH2DowngradeNeverInvalid(t *testing.T) {
	t.Parallel()
	o := newH2Origin(t)
	port := o.ln.Addr().(*net.TCPAddr).Port
	h, err := New(Options{
		Store:  hfNewProxy(t, nil, hfNewClock(), nil, nil).h.opts.Store,
		Access: hfAllowAll,
		Peers:  []Peer{{Name: "origin", Host: "127.0.0.1", Port: port}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h.Port(Port{Vhost: true, Scheme: "https", ListenPort: 443}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	base := func(extra ...[2]string) [][2]string {
		f := [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "www.example.com"}, {":path", "/ok"}}
		return append(f, extra...)
	}
	with := func(name, value string) [][2]string {
		f := base()
		for i := range f {
			if f[i][0] == name {
				f[i][1] = value
			}
		}
		return f
	}
	tests := []struct {
		name   string
		fields [][2]string
		body   []byte
	}{
		{"valid", base(), nil},
		{"space in :path", with(":path", "/a b"), nil},
		{"CRLF in :path", with(":path", "/a\r\nX-Injected: 1"), nil},
		{"LF in :path", with(":path", "/a\nX-Injected: 1"), nil},
		{"space in :method", with(":method", "GET /x HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET"), nil},
		{"lowercase :method", with(":method", "get"), nil},
		{"CRLF in :authority", with(":authority", "www.example.com\r\nX-Injected: 1"), nil},
		{"space in :authority", with(":authority", "www.example.com /x"), nil},
		{"uppercase name", base([2]string{"X-Upper", "1"}), nil},
		{"colon in name", base([2]string{"x:injected", "1"}), nil},
		{"space in name", base([2]string{"x injected", "1"}), nil},
		{"CRLF in value", base([2]string{"x-a", "b\r\nx-injected: 1"}), nil},
		{"NUL in value", base([2]string{"x-a", "b\x00c"}), nil},
		{"connection", base([2]string{"connection", "keep-alive, x-drop"}), nil},
		{"transfer-encoding", base([2]string{"transfer-encoding", "chunked"}), nil},
		{"upgrade", base([2]string{"upgrade", "h2c"}), nil},
		{"keep-alive", base([2]string{"keep-alive", "timeout=5"}), nil},
		{"te trailers", base([2]string{"te", "trailers"}), nil},
		{"te other", base([2]string{"te", "gzip"}), nil},
		{"host disagrees", base([2]string{"host", "evil.example"}), nil},
		{"pseudo after regular", append(base([2]string{"x-a", "1"}), [2]string{":extra", "1"}), nil},
		{"duplicate :path", append(base(), [2]string{":path", "/other"}), nil},
		{"content-length above DATA", [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "www.example.com"}, {":path", "/post"}, {"content-length", "50"}}, []byte("0123456789")},
		{"content-length below DATA", [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "www.example.com"}, {":path", "/post"}, {"content-length", "5"}}, []byte("0123456789")},
	}
	answers := map[string]string{}
	for _, tt := range tests {
		answers[tt.name] = h2Exchange(t, addr, tt.fields, tt.body)
	}
	if answers["valid"] != "response" {
		t.Fatalf("valid request: %s, want a response", answers["valid"])
	}
	token := `[!#$%&'*+\-.^_` + "`" + `|~0-9A-Za-z]+`
	requestLine := regexp.MustCompile(`^` + token + ` /[!-~]* HTTP/1\.1\r\n$`)
	fieldLine := regexp.MustCompile(`^` + token + `: [^\x00-\x08\x0a-\x1f\x7f]*\r\n$`)
	heads, short := o.received()
	for i, head := range heads {
		lines := strings.SplitAfter(head, "\r\n")
		if !requestLine.MatchString(lines[0]) {
			t.Errorf("origin got request line %q", lines[0])
		}
		for _, l := range lines[1:] {
			if l == "\r\n" || l == "" {
				continue
			}
			if !fieldLine.MatchString(l) {
				t.Errorf("origin got field line %q", l)
			}
			name, _, _ := strings.Cut(strings.ToLower(l), ":")
			switch name {
			case "x-injected", "connection", "transfer-encoding", "upgrade", "keep-alive", "te", "x-drop", "http2-settings":
				if !(name == "connection" && strings.TrimSpace(l[len(name)+1:]) == "keep-alive") {
					t.Errorf("origin got %q", strings.TrimSpace(l))
				}
			}
		}
		if strings.Contains(head, "evil.example") {
			t.Errorf("origin got a Host other than :authority: %q", head)
		}
		if m := regexp.MustCompile(`(?i)\r\ncontent-length: (\d+)\r\n`).FindStringSubmatch(head); m != nil {
			// A Content-Length the DATA does not fill is acceptable only
			// when the request is then broken off (the origin sees a
			// client gone mid-body, as over HTTP/1.1), never completed.
			if n, _ := strconv.Atoi(m[1]); n != 10 && !short[i] {
				t.Errorf("origin got Content-Length %d completed for a 10-byte DATA frame", n)
			}
		}
	}
	t.Logf("answers: %v; %d requests reached the origin", answers, len(heads))
}
