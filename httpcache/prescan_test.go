package httpcache

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cuttle/accesslog"
	"cuttle/store"
)

// rawOrigin is an origin server on a raw TCP listener that records the
// exact bytes each connection receives, so that smuggled bytes show. It
// answers every request it parses with its path as the body, cacheable.
type rawOrigin struct {
	ln net.Listener

	mu    sync.Mutex // protects conns, paths
	conns []*bytes.Buffer
	paths []string
}

func newRawOrigin(t *testing.T) *rawOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &rawOrigin{ln: ln}
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

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (o *rawOrigin) serve(c net.Conn) {
	defer c.Close()
	o.mu.Lock()
	buf := new(bytes.Buffer)
	o.conns = append(o.conns, buf)
	o.mu.Unlock()
	br := bufio.NewReader(io.TeeReader(c, lockedWriter{&o.mu, buf}))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		o.mu.Lock()
		o.paths = append(o.paths, req.URL.Path)
		o.mu.Unlock()
		body := req.URL.Path
		io.WriteString(c, "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=3600\r\nContent-Type: text/plain\r\nContent-Length: "+
			strconv.Itoa(len(body))+"\r\n\r\n"+body)
	}
}

// received returns everything the origin received, connection by
// connection, and the paths of the requests it parsed.
func (o *rawOrigin) received() (string, []string, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var sb strings.Builder
	for _, b := range o.conns {
		sb.WriteString(b.String())
		sb.WriteString("\n--\n")
	}
	return sb.String(), append([]string(nil), o.paths...), len(o.conns)
}

// prescanProxy is the Handler served on a listener wrapped by
// PrescanListener, with the http.Server hooks cuttle sets.
type prescanProxy struct {
	addr    string
	h       *Handler
	logger  *accesslog.Logger
	logPath string
	stats   *Stats
}

func newPrescanProxy(t *testing.T, o *rawOrigin, set func(*Options, *http.Server)) *prescanProxy {
	t.Helper()
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	logPath := filepath.Join(t.TempDir(), "access.log")
	w, err := accesslog.OpenFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	format, _ := accesslog.Compile("%>a %Ss/%03>Hs %<st %rm %ru %err_code", accesslog.FormatOptions{})
	logger := accesslog.New(accesslog.Output{W: w, Format: format})
	t.Cleanup(func() { logger.Close() })
	stats := NewStats(time.Now)
	opts := Options{
		Store:           store.NewTiered(mem, nil),
		Access:          hfAllowAll,
		VisibleHostname: "accel-test.local",
		Version:         "cuttle/test",
		Log:             logger,
		ErrorLog:        log.New(io.Discard, "", 0),
		Stats:           stats,
		Conns:           new(ConnTable),
		Peers:           []Peer{{Name: "origin", Host: "127.0.0.1", Port: o.ln.Addr().(*net.TCPAddr).Port}},
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if set != nil {
		set(&opts, srv.Config)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h.Port(Port{Vhost: true, Scheme: "http", ListenPort: 3128})
	srv.Config.ConnState = h.ConnState
	srv.Config.ConnContext = h.ConnContext
	srv.Listener = PrescanListener(srv.Listener, func() *Handler { return h })
	srv.Start()
	t.Cleanup(srv.Close)
	return &prescanProxy{addr: srv.Listener.Addr().String(), h: h, logger: logger, logPath: logPath, stats: stats}
}

// exchange sends raw on a new connection, half-closes nothing, and reads
// until the proxy closes the connection (or 5 s pass). It returns the
// statuses of the responses read and whether the connection was closed.
func exchange(t *testing.T, addr, raw string) ([]int, string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go io.WriteString(c, raw) // large payloads may not be read whole
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, err := io.ReadAll(c)
	closed := err == nil
	if ne, ok := err.(net.Error); ok && !ne.Timeout() {
		closed = true // reset after unread input: closed too
	}
	return statuses(all), string(all), closed
}

// statuses parses the responses in raw.
func statuses(raw []byte) []int {
	var out []int
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		io.Copy(io.Discard, res.Body)
		if res.StatusCode >= 200 {
			out = append(out, res.StatusCode)
		}
	}
}

func (p *prescanProxy) logLines(t *testing.T) []string {
	t.Helper()
	if err := p.logger.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

const (
	hostLine = "Host: www.example.com\r\n"
	// last ends a payload with a request that closes the connection.
	last = "GET /last HTTP/1.1\r\n" + hostLine + "Connection: close\r\n\r\n"
)

func TestPrescanAdversarial(t *testing.T) {
	t.Parallel()
	post := "POST /p HTTP/1.1\r\n" + hostLine
	chunked := post + "Transfer-Encoding: chunked\r\n\r\n"
	tests := []struct {
		id, name string
		raw      string
		want     []int    // statuses, in order
		origin   []string // paths the origin parsed, in order
		log      string   // a substring of the access.log
		limits   RequestLimits
	}{
		{id: "A1", name: "CL+TE", raw: post + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX" + last,
			want: []int{400}, log: "NONE_NONE/400 ", origin: nil},
		{id: "A2", name: "differing CLs", raw: post + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab" + last, want: []int{400}},
		{id: "A3", name: "identical CLs", raw: post + "Content-Length: 1\r\nContent-Length: 1\r\n\r\na" + last,
			want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "A3", name: "CL list", raw: post + "Content-Length: 1, 1\r\n\r\na" + last, want: []int{400}},
		{id: "A4", name: "CL +5", raw: post + "Content-Length: +5\r\n\r\nhello" + last, want: []int{400}},
		{id: "A4", name: "CL -5", raw: post + "Content-Length: -5\r\n\r\nhello" + last, want: []int{400}},
		{id: "A4", name: "CL 0x5", raw: post + "Content-Length: 0x5\r\n\r\nhello" + last, want: []int{400}},
		{id: "A4", name: "CL 5 5", raw: post + "Content-Length: 5 5\r\n\r\nhello" + last, want: []int{400}},
		{id: "A4", name: "CL empty", raw: post + "Content-Length: \r\n\r\n" + last, want: []int{400}},
		{id: "A4", name: "CL overflow", raw: post + "Content-Length: 18446744073709551616\r\n\r\n" + last, want: []int{400}},
		{id: "A4", name: "CL leading zeros", raw: post + "Content-Length: 005\r\n\r\nhello" + last,
			want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "A5", name: "TE chunked, chunked", raw: post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n" + last, want: []int{501}, log: "ERR_UNSUP_REQ"},
		{id: "A5", name: "TE ,chunked", raw: post + "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n" + last, want: []int{501}},
		{id: "A5", name: "TE gzip, chunked", raw: post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + last, want: []int{501}},
		{id: "A5", name: "TE identity", raw: post + "Transfer-Encoding: identity\r\n\r\n" + last, want: []int{501}},
		{id: "A5", name: "TE xchunked", raw: post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + last, want: []int{501}},
		{id: "A5", name: "TE chunked;x", raw: post + "Transfer-Encoding: chunked;x\r\n\r\n0\r\n\r\n" + last, want: []int{501}},
		{id: "A5", name: "two TE lines", raw: post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + last, want: []int{501}},
		{id: "A5", name: "TE CR chunked", raw: post + "Transfer-Encoding: \rchunked\r\n\r\n0\r\n\r\n" + last, want: []int{400}},
		{id: "A5", name: "TE Chunked", raw: post + "Transfer-Encoding: Chunked\r\n\r\n1\r\na\r\n0\r\n\r\n" + last,
			want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "A6", name: "HTTP/1.0 + TE (G1)", raw: "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.0\r\n\r\n",
			want: []int{400}, log: "NONE_NONE/400 "},
		{id: "A7", name: "obs-fold on CL (G2)", raw: post + "Content-Length:\r\n 5\r\n\r\nhello" + last, want: []int{400}, log: "ERR_INVALID_REQ"},
		{id: "A7", name: "obs-fold elsewhere", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X-A: a\r\n\tb\r\n\r\n" + last, want: []int{400}},
		{id: "A8", name: "space before colon", raw: "GET /a HTTP/1.1\r\n" + hostLine + "Content-Length : 3\r\n\r\nabc" + last, want: []int{400}},
		{id: "A8", name: "tab before colon", raw: "GET /a HTTP/1.1\r\n" + hostLine + "Transfer-Encoding\t: chunked\r\n\r\n" + last, want: []int{400}},
		{id: "A8", name: "leading whitespace on the first line", raw: "GET /a HTTP/1.1\r\n " + hostLine + "\r\n" + last, want: []int{400}},
		{id: "A8", name: "folded TE", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X: a\r\n Transfer-Encoding: chunked\r\n\r\n" + last, want: []int{400}},
		{id: "A9", name: "chunk 0x1", raw: chunked + "0x1\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A9", name: "chunk +1", raw: chunked + "+1\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A9", name: "chunk 1_0", raw: chunked + "1_0\r\naaaaaaaaaaaaaaaa\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A9", name: "chunk leading space", raw: chunked + " 1\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A9", name: "chunk trailing space", raw: chunked + "1 \r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A9", name: "chunk overflow", raw: chunked + "FFFFFFFFFFFFFFFFF\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A9", name: "chunk empty size", raw: chunked + "\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A9", name: "chunk leading zeros", raw: chunked + "0001\r\na\r\n0\r\n\r\n" + last, want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "A10", name: "bare LF after size", raw: chunked + "1\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A10", name: "bare CR after size", raw: chunked + "1\ra\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A10", name: "no CRLF after data", raw: chunked + "1\r\nXY\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A10", name: "extra CRLF before last chunk", raw: chunked + "1\r\nX\r\n\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A11", name: "chunk ext ok", raw: chunked + "1;a=b;c=\"d e\";f\r\na\r\n0\r\n\r\n" + last, want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "A11", name: "chunk ext BWS", raw: chunked + "1; a = b\r\na\r\n0\r\n\r\n" + last, want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "A11", name: "BWS before ;", raw: chunked + "1 ;a\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A11", name: "quoted CRLF in ext", raw: chunked + "1;a=\"\r\n\"\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A11", name: "bare LF in ext", raw: chunked + "1;a\nb\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A11", name: "4 KB of extensions", raw: chunked + "1" + strings.Repeat(";a", 2100) + "\r\na\r\n0\r\n\r\n" + last, want: []int{0}},
		{id: "A11", name: "1-byte chunks (H11)", raw: chunked + strings.Repeat("1\r\nX\r\n", 40000) + "0\r\n\r\n" + last, want: []int{0}},
		{id: "A12", name: "valid trailer dropped", raw: chunked + "1\r\na\r\n0\r\nX-Trailer: t\r\n\r\n" + last,
			want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "A12", name: "trailer Content-Length", raw: chunked + "1\r\na\r\n0\r\nContent-Length: 5\r\n\r\n" + last, want: []int{0}},
		{id: "A12", name: "trailer Transfer-Encoding", raw: chunked + "1\r\na\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n" + last, want: []int{0}},
		{id: "A12", name: "trailer Host", raw: chunked + "1\r\na\r\n0\r\nHost: evil\r\n\r\n" + last, want: []int{0}},
		{id: "A12", name: "trailer bare LF", raw: chunked + "1\r\na\r\n0\r\nX: a\r\r\n\r\n" + last, want: []int{0}},
		{id: "A13", name: "GET with body", raw: "GET /g HTTP/1.1\r\n" + hostLine + "Content-Length: 3\r\n\r\nabc" + last,
			want: []int{200, 200}, origin: []string{"/g", "/last"}},
		{id: "A14", name: "pipelined", raw: "GET /1 HTTP/1.1\r\n" + hostLine + "\r\n" + post + "Content-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\n" + hostLine + "\r\n" + last,
			want: []int{200, 200, 200, 200}, origin: []string{"/1", "/p", "/3", "/last"}},
		{id: "A14", name: "valid request after a refused one", raw: "GET /1 HTTP/1.1\r\n" + hostLine + "\r\nGET /2 HTTP/1.1\r\n" + hostLine + "X : y\r\n\r\nGET /3 HTTP/1.1\r\n" + hostLine + "\r\n",
			want: []int{200, 400}, origin: []string{"/1"}},
		{id: "A15", name: "Expect 100-continue, body at once", raw: post + "Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc" + last,
			want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "A15", name: "double Expect", raw: post + "Expect: 100-continue\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc" + last,
			want: []int{200, 200}, origin: []string{"/p", "/last"}},
		{id: "B1", name: "60 KB head", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X-Big: " + strings.Repeat("a", 60<<10) + "\r\n\r\n" + last,
			want: []int{200, 200}, origin: []string{"/a", "/last"}},
		{id: "B1", name: "64 KB+1 head", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n" + last,
			want: []int{431}, log: "NONE_NONE/431 "},
		{id: "B1", name: "1 MB head", raw: "GET /a HTTP/1.1\r\n" + hostLine + strings.Repeat("X-Big: "+strings.Repeat("a", 1000)+"\r\n", 1000) + "\r\n" + last,
			want: []int{431}},
		{id: "B1", name: "request_header_max_size 8 KB", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X-Big: " + strings.Repeat("a", 9<<10) + "\r\n\r\n" + last,
			want: []int{431}, limits: RequestLimits{MaxHeaderBytes: 8 << 10}},
		{id: "B2", name: "10000 headers", raw: "GET /a HTTP/1.1\r\n" + hostLine + strings.Repeat("X: a\r\n", 10000) + "\r\n" + last, want: []int{431}},
		{id: "B3", name: "URL over 64 KB", raw: "GET /" + strings.Repeat("a", 64<<10) + " HTTP/1.1\r\n" + hostLine + "\r\n" + last,
			want: []int{414}, log: "NONE_NONE/414 "},
		{id: "B4", name: "method ,BAD,", raw: ",BAD, /a HTTP/1.1\r\n" + hostLine + "\r\n" + last, want: []int{400}, log: "ERR_PROTOCOL_UNKNOWN"},
		{id: "B4", name: "PRI over HTTP/1.1", raw: "PRI /a HTTP/1.1\r\n" + hostLine + "\r\n" + last, want: []int{405}},
		{id: "B4", name: "h2 preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want: []int{501}, log: "PRI error:unsupported-request ERR_UNSUP_REQ"},
		{id: "B5", name: "HTTP/0.1", raw: "GET /a HTTP/0.1\r\n" + hostLine + "\r\n" + last, want: []int{505}, log: "ERR_UNSUP_HTTPVERSION"},
		{id: "B5", name: "HTTP/9.0", raw: "GET /a HTTP/9.0\r\n" + hostLine + "\r\n" + last, want: []int{505}},
		{id: "B5", name: "HTTP/1.32", raw: "GET /a HTTP/1.32\r\n" + hostLine + "\r\n" + last, want: []int{505}},
		{id: "B5", name: "HTTP/ CR CR 1.1", raw: "GET /a HTTP/\r\r1.1\r\n" + hostLine + "\r\n" + last, want: []int{400}},
		{id: "B5", name: "HTTP/0.9", raw: "GET /a\r\n\r\n" + last, want: []int{400}},
		{id: "B6", name: "NUL in value", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X: a\x00b\r\n\r\n" + last, want: []int{400}},
		{id: "B6", name: "bare CR in value", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X: a\rb\r\n\r\n" + last, want: []int{400}},
		{id: "B6", name: "0x85 in name", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X-\x85: a\r\n\r\n" + last, want: []int{400}},
		{id: "B6", name: "@ in name", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X@A: a\r\n\r\n" + last, want: []int{400}},
		{id: "B6", name: "obs-text in value", raw: "GET /a HTTP/1.1\r\n" + hostLine + "X: caf\xe9\r\n\r\n" + last,
			want: []int{200, 200}, origin: []string{"/a", "/last"}},
		{id: "B7", name: "empty name", raw: "GET /a HTTP/1.1\r\n" + hostLine + ": x\r\n\r\n" + last, want: []int{400}},
		{id: "B7", name: "no colon", raw: "GET /a HTTP/1.1\r\n" + hostLine + "foo\r\n\r\n" + last, want: []int{400}},
		{id: "B8", name: "space in target, strip", raw: "GET /a b HTTP/1.1\r\n" + hostLine + "\r\n" + last,
			want: []int{200, 200}, origin: []string{"/ab", "/last"}},
		{id: "B8", name: "tab in target, encode", raw: "GET /a\tb HTTP/1.1\r\n" + hostLine + "\r\n" + last,
			want: []int{200, 200}, origin: []string{"/a\tb", "/last"}, limits: RequestLimits{URIWhitespace: URIEncode}},
		{id: "B8", name: "space in target, chop", raw: "GET /a b HTTP/1.1\r\n" + hostLine + "\r\n" + last,
			want: []int{200, 200}, origin: []string{"/a", "/last"}, limits: RequestLimits{URIWhitespace: URIChop}},
		{id: "B8", name: "space in target, deny", raw: "GET /a b HTTP/1.1\r\n" + hostLine + "\r\n" + last,
			want: []int{400}, limits: RequestLimits{URIWhitespace: URIDeny}},
		{id: "B8", name: "control byte in target", raw: "GET /a\x01b HTTP/1.1\r\n" + hostLine + "\r\n" + last, want: []int{400}},
		{id: "B11", name: "3 empty lines", raw: "\r\n\r\n\n" + "GET /a HTTP/1.1\r\n" + hostLine + "\r\n" + last,
			want: []int{200, 200}, origin: []string{"/a", "/last"}},
		{id: "B11", name: "1000 empty lines", raw: strings.Repeat("\r\n", 1000) + "GET /a HTTP/1.1\r\n" + hostLine + "\r\n" + last, want: []int{400}},
		{id: "B11", name: "bare CR line", raw: "\r\r\nGET /a HTTP/1.1\r\n" + hostLine + "\r\n" + last, want: []int{400}},
		{id: "-", name: "LF-only head", raw: "GET /a HTTP/1.1\n" + "Host: www.example.com\n\n" + last,
			want: []int{200, 200}, origin: []string{"/a", "/last"}},
	}
	for _, tt := range tests {
		t.Run(tt.id+" "+tt.name, func(t *testing.T) {
			t.Parallel()
			o := newRawOrigin(t)
			p := newPrescanProxy(t, o, func(opts *Options, _ *http.Server) { opts.Requests = tt.limits })
			got, raw, closed := exchange(t, p.addr, tt.raw)
			want := tt.want
			if len(want) == 1 && want[0] == 0 {
				// A body fault: the handler's answer, whatever it is, is
				// not a success, and the connection closes after it.
				if len(got) > 1 || len(got) == 1 && got[0] < 400 {
					t.Errorf("statuses = %v, want one error or none", got)
				}
				want = got
			}
			if !equalInts(got, want) {
				t.Errorf("statuses = %v, want %v\n%.300q", got, want, raw)
			}
			if !closed {
				t.Errorf("connection not closed")
			}
			recv, paths, _ := o.received()
			if strings.Join(paths, " ") != strings.Join(tt.origin, " ") {
				t.Errorf("origin parsed %q, want %q", paths, tt.origin)
			}
			for _, bad := range []string{"smuggled", "X-Trailer", "\r\n\tb", "Content-Length:\r\n", "quitquitquit"} {
				if strings.Contains(recv, bad) {
					t.Errorf("origin received %q:\n%.400q", bad, recv)
				}
			}
			if len(tt.want) == 1 && tt.want[0] != 0 {
				// A refused head: one line, as Squid logs it.
				lines := p.logLines(t)
				if len(lines) != 1 || !strings.Contains(lines[0], " NONE_NONE/"+strconv.Itoa(tt.want[0])+" ") || !strings.Contains(lines[0], " error:") {
					t.Errorf("access.log = %q, want one NONE_NONE/%d error: line", lines, tt.want[0])
				}
				if n := p.stats.RejectedCounts(); len(n) != 1 {
					t.Errorf("RejectedCounts() = %v, want one reason", n)
				}
			}
			if tt.log != "" {
				lines := strings.Join(p.logLines(t), "\n")
				if !strings.Contains(lines, tt.log) {
					t.Errorf("access.log lacks %q:\n%s", tt.log, lines)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPrescanStalledBody is A16: a body that stops halfway times out,
// the connection closes, and the bytes sent afterwards are never parsed.
func TestPrescanStalledBody(t *testing.T) {
	t.Parallel()
	o := newRawOrigin(t)
	// read_timeout is the body's idle timeout (timeouts.go); it renews the
	// connection's read deadline at each read.
	p := newPrescanProxy(t, o, func(opts *Options, srv *http.Server) {
		opts.ReadTimeout = 300 * time.Millisecond
		srv.ReadTimeout = 300 * time.Millisecond
	})
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /p HTTP/1.1\r\n"+hostLine+"Content-Length: 1000\r\n\r\n"+strings.Repeat("a", 500))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err == nil {
		res.Body.Close()
		if res.StatusCode < 400 {
			t.Errorf("stalled body: status %d, want an error", res.StatusCode)
		}
	}
	// Whatever the answer, the connection is done: later bytes are
	// refused or never read.
	io.WriteString(c, strings.Repeat("a", 500)+"GET /quitquitquit HTTP/1.1\r\n"+hostLine+"\r\n")
	rest, _ := io.ReadAll(br)
	if bytes.Contains(rest, []byte("HTTP/1.1 200")) {
		t.Errorf("a request after the stalled body was answered: %.200q", rest)
	}
	recv, paths, _ := o.received()
	if strings.Contains(recv, "quitquitquit") || len(paths) != 0 {
		t.Errorf("origin parsed %q, received %.300q", paths, recv)
	}
}

// TestPrescanClientAbortMidBody is A17: a client that goes away in the
// middle of a body leaves an origin connection in an unknown state,
// which is never reused for the next request.
func TestPrescanClientAbortMidBody(t *testing.T) {
	t.Parallel()
	o := newRawOrigin(t)
	p := newPrescanProxy(t, o, nil)
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST /p HTTP/1.1\r\n"+hostLine+"Content-Length: 1000\r\n\r\n"+strings.Repeat("a", 500))
	// Wait until the request has reached the origin, then go away.
	deadline := time.Now().Add(5 * time.Second)
	for {
		recv, _, _ := o.received()
		if strings.Count(recv, "a") >= 500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the origin never got the body: %.200q", recv)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
	for len(p.logLines(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the aborted request was never logged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, _, _ := exchange(t, p.addr, "GET /after HTTP/1.1\r\n"+hostLine+"Connection: close\r\n\r\n")
	if !equalInts(got, []int{200}) {
		t.Errorf("after the abort: statuses %v, want [200]", got)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.conns) != 2 || strings.Contains(o.conns[0].String(), "/after") {
		t.Errorf("origin connections: %d, first one %.300q; want the next request on a new connection", len(o.conns), o.conns[0].String())
	}
}

// TestPrescanGETWithBodyBypassesCache is A13: a GET with a body reaches
// the origin with its body, and its answer is neither served from nor
// stored in the cache.
func TestPrescanGETWithBodyBypassesCache(t *testing.T) {
	t.Parallel()
	o := newRawOrigin(t)
	p := newPrescanProxy(t, o, nil)
	fat := "GET /g HTTP/1.1\r\n" + hostLine + "Content-Length: 3\r\n\r\nabc"
	got, _, _ := exchange(t, p.addr, fat+fat+"GET /g HTTP/1.1\r\n"+hostLine+"Connection: close\r\n\r\n")
	if !equalInts(got, []int{200, 200, 200}) {
		t.Fatalf("statuses = %v, want three 200", got)
	}
	// Each request reaches the origin: the fat GETs bypass the cache and
	// leave nothing stored for the plain one.
	recv, paths, _ := o.received()
	if len(paths) != 3 || strings.Count(recv, "Content-Length: 3\r\n") != 2 || strings.Count(recv, "\r\n\r\nabc") != 2 {
		t.Errorf("origin parsed %q, received %.600q", paths, recv)
	}
	if lines := strings.Join(p.logLines(t), "\n"); strings.Count(lines, "TCP_MISS/200") != 3 {
		t.Errorf("access.log:\n%s", lines)
	}
}
