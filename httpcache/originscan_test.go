package httpcache

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// scanAll feeds in to a fresh scanner in pieces of size step (0: at once)
// and returns where the first response ended (-1: it did not) and the
// error.
func scanAll(in []byte, head bool, step int) (int, error) {
	var s respScanner
	s.maxHead = DefaultReplyHeaderMaxSize
	s.reset(head)
	if step <= 0 {
		step = len(in) + 1
	}
	for off := 0; off < len(in); off += step {
		p := in[off:min(off+step, len(in))]
		n, err := s.scan(p)
		if err != nil {
			return off, err
		}
		if s.state == sDone {
			return off + n, nil
		}
	}
	return -1, nil
}

func TestResponsePrescan(t *testing.T) {
	t.Parallel()
	const cl3 = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
	tests := []struct {
		name    string
		in      string
		head    bool
		wantEnd int // -1: the response has not ended; 0: where § is
		wantErr error
	}{
		{"Content-Length body", cl3 + "abc§NEXT", false, 0, nil},
		{"Content-Length body not yet complete", cl3 + "ab", false, -1, nil},
		{"Content-Length 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n§X", false, 0, nil},
		{"identical Content-Length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\ncontent-length:  1 \r\n\r\na§X", false, 0, nil},
		{"HEAD", cl3 + "§abc", true, 0, nil},
		{"204", "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n§abc", false, 0, nil},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n§abc", false, 0, nil},
		{"until close", "HTTP/1.0 200 OK\r\n\r\nabc", false, -1, nil},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n\x00\x01", false, -1, nil},
		{"1xx then final", "HTTP/1.1 100 Continue\r\n\r\n" + cl3 + "abc§", false, 0, nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n00\r\n\r\n§X", false, 0, nil},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n\r\n§", false, 0, nil},
		{"chunk extensions", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 ; a = b ;c;d=\"\\\"x\"\r\nZ\r\n0\r\n\r\n§", false, 0, nil},

		{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, errRespCLTE},
		{"differing CLs", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", false, 0, errRespCLs},
		{"CL list", "HTTP/1.1 200 OK\r\nContent-Length: 3,3\r\n\r\n", false, 0, errRespCL},
		{"CL overflow", "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n", false, 0, errRespCL},
		{"CL max", "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n", false, -1, nil},
		{"TE identity", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n", false, 0, errRespTE},
		{"TE chunkedx", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedx\r\n\r\n", false, 0, errRespTE},
		{"TE HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, errRespTE10},
		{"TE on a HEAD answer with CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", true, 0, errRespCLTE},
		{"HTTP/1", "HTTP/1 200 OK\r\n\r\n", false, 0, errRespVersion},
		{"lower-case version", "http/1.1 200 OK\r\n\r\n", false, 0, errRespVersion},
		{"status 99", "HTTP/1.1 099 X\r\n\r\n", false, 0, errRespStatus},
		{"status 600", "HTTP/1.1 600 X\r\n\r\n", false, 0, errRespStatus},
		{"status 1000", "HTTP/1.1 1000 X\r\n\r\n", false, 0, errRespStatus},
		{"status 999 (http-cache-tests: conditional request expected)", "HTTP/1.1 999 unknown\r\nSet-Cookie: a=c\r\n" +
			"Cache-Control: max-age=2\r\nETag: \"AVQLGBWRMHCXSNI\"\r\nContent-Length: 8\r\n\r\ne5443188", false, 0, errRespStatus},
		{"TE of an unknown coding (http-cache-tests)", "HTTP/1.1 200 OK\r\nTransfer-Encoding: ARIZQHYPGXOFWNE\r\n" +
			"Cache-Control: max-age=3600\r\n\r\n4fd49a9c", false, 0, errRespTE},
		{"304 with two Set-Cookie", "HTTP/1.1 304 Not Modified\r\nSet-Cookie: a=c\r\nset-cookie: b=d; Path=/\r\n" +
			"ETag: \"AVQLGBWRMHCXSNI\"\r\n\r\n§", false, 0, nil},
		{"two spaces", "HTTP/1.1  200 X\r\n\r\n", false, 0, errRespStatus},
		{"reason NUL", "HTTP/1.1 200 \x00\r\n\r\n", false, 0, errRespReason},
		{"reason bare CR", "HTTP/1.1 200 a\rb\r\n\r\n", false, 0, errRespEOL},
		{"status line bare LF", "HTTP/1.1 200 OK\nA: b\r\n\r\n", false, 0, errRespReason},
		{"name with space", "HTTP/1.1 200 OK\r\nA b: c\r\n\r\n", false, 0, errRespName},
		{"name with high byte", "HTTP/1.1 200 OK\r\nA\xe9: c\r\n\r\n", false, 0, errRespName},
		{"obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n", false, 0, errRespFold},
		{"value BEL", "HTTP/1.1 200 OK\r\nA: \a\r\n\r\n", false, 0, errRespValue},
		{"value bare LF", "HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n", false, 0, errRespEOL},
		{"end bare LF", "HTTP/1.1 200 OK\r\nA: b\r\n\n", false, 0, errRespEOL},
		{"chunk size empty", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", false, 0, errRespChunk},
		{"chunk size 17 digits", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000001\r\n", false, 0, errRespChunk},
		{"chunk size sign", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+1\r\n", false, 0, errRespChunk},
		{"chunk data too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", false, 0, errRespChunkData},
		{"chunk ext empty name", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;=a\r\n", false, 0, errRespChunkExt},
		{"chunk ext unterminated quote", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"b\r\n", false, 0, errRespChunkExt},
		{"chunk ext too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("a", maxChunkExt) + "\r\n", false, 0, errRespChunkExt},
		{"trailer obs-fold", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n", false, 0, errRespFold},
		{"header too big", "HTTP/1.1 200 OK\r\nA: " + strings.Repeat("a", DefaultReplyHeaderMaxSize) + "\r\n\r\n", false, 0, errRespTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, wantEnd := tt.in, tt.wantEnd
			if i := strings.Index(in, "§"); i >= 0 {
				in, wantEnd = in[:i]+in[i+len("§"):], i
			}
			for _, step := range []int{0, 1, 2, 7} {
				end, err := scanAll([]byte(in), tt.head, step)
				if !errors.Is(err, tt.wantErr) || (err == nil && end != wantEnd) {
					t.Errorf("scan(%q) in pieces of %d = %d, %v, want %d, %v", in, step, end, err, wantEnd, tt.wantErr)
				}
			}
		})
	}
}

// TestResponsePrescanAllocs: scanning a response allocates nothing.
func TestResponsePrescanAllocs(t *testing.T) {
	in := []byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nCache-Control: max-age=60\r\n\r\nabc")
	chunked := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\n\r\n")
	s := respScanner{maxHead: DefaultReplyHeaderMaxSize}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range [][]byte{in, chunked} {
			s.reset(false)
			if _, err := s.scan(p); err != nil || s.state != sDone {
				t.Fatalf("scan: %v, state %d", err, s.state)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("allocations per scan = %v, want 0", allocs)
	}
}

// FuzzResponsePrescan checks the scanner against itself and net/http:
// the verdict and the end of the response do not depend on how the bytes
// are split, and a response the scanner accepts whole is read by
// http.ReadResponse to exactly the same end, without error.
func FuzzResponsePrescan(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"b\"\r\nabc\r\n0\r\nT: x\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length:\r\n 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\na\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s), false, uint8(0))
		f.Add([]byte(s), true, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, head bool, step uint8) {
		end, err := scanAll(in, head, 0)
		end2, err2 := scanAll(in, head, int(step))
		if (err == nil) != (err2 == nil) || err == nil && end != end2 {
			t.Fatalf("scan(%q) = %d, %v at once but %d, %v in pieces of %d", in, end, err, end2, err2, step)
		}
		if err != nil || end < 0 {
			return
		}
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		br := bufio.NewReader(bytes.NewReader(in[:end]))
		var res *http.Response
		for {
			res, err = http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("scanner accepted %q but http.ReadResponse: %v", in[:end], err)
			}
			if res.StatusCode >= 200 || res.StatusCode == 101 {
				break
			}
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Fatalf("scanner accepted %q but the body: %v", in[:end], err)
		}
		if n := br.Buffered(); n != 0 {
			t.Fatalf("scanner ended %q at %d, net/http left %d bytes", in, end, n)
		}
	})
}

// BenchmarkResponseScan measures the response scanner alone over a
// typical origin response head with a small Content-Length body, and over
// a chunked body with an extension and a trailer.
func BenchmarkResponseScan(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"head", "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 01:56:54 GMT\r\nServer: Apache/2.4.62 (Debian)\r\n" +
			"Last-Modified: Wed, 01 Jan 2025 00:00:00 GMT\r\nETag: \"5f3a-62b1c4f0a9e00\"\r\nAccept-Ranges: bytes\r\n" +
			"Cache-Control: public, max-age=3600\r\nVary: Accept-Encoding\r\nContent-Type: text/javascript; charset=utf-8\r\n" +
			"Set-Cookie: session=abc123; Path=/; HttpOnly\r\nContent-Length: 16\r\n\r\n0123456789abcdef"},
		{"chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"10;name=\"value\"\r\n0123456789abcdef\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: abc\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.in)
			s := respScanner{maxHead: DefaultReplyHeaderMaxSize}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				s.reset(false)
				if n, err := s.scan(in); err != nil || n != len(in) || s.state != sDone {
					b.Fatalf("scan = %d, %v, state %d", n, err, s.state)
				}
			}
		})
	}
}
