package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// floodOrigin is the origin behind the HTTP/2 flood tests: /slow/... is
// uncacheable and answers after 50 ms (so that a request that reaches it
// is counted even when its client is gone), /big is a cacheable body of
// 256 KB (under Squid's maximum_object_size_in_memory).
// It counts the requests it receives and its open connections.
type floodOrigin struct {
	requests atomic.Int64
	open     atomic.Int64
	srv      *httptest.Server
}

// floodBigSize is the size of the origin's /big.
const floodBigSize = 256 << 10

func newFloodOrigin(t *testing.T) *floodOrigin {
	o := &floodOrigin{}
	big := bytes.Repeat([]byte("0123456789abcdef"), floodBigSize/16)
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		if r.URL.Path == "/big" {
			w.Header().Set("Cache-Control", "max-age=600")
			w.Write(big)
			return
		}
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok\n")
	}))
	o.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			o.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			o.open.Add(-1)
		}
	}
	o.srv.Start()
	t.Cleanup(o.srv.Close)
	return o
}

// floodEnv is one cuttle binary with an https_port (HTTP/2 by ALPN) in
// front of a floodOrigin, and its metrics endpoint.
type floodEnv struct {
	t       *testing.T
	addr    string
	metrics string
	origin  *floodOrigin
	proc    *binaryProc
}

func newFloodEnv(t *testing.T, bin, extra string) *floodEnv {
	t.Helper()
	o := newFloodOrigin(t)
	port, metrics, p := startTLSCuttle(t, bin, o.srv.URL, extra)
	return &floodEnv{t: t, addr: fmt.Sprintf("127.0.0.1:%d", port), metrics: metrics, origin: o, proc: p}
}

// stats reads cuttle's goroutines and resident memory from its metrics.
func (e *floodEnv) stats() (goroutines int, rss int64) {
	e.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get("http://" + e.metrics + "/metrics")
	if err != nil {
		e.t.Fatalf("metrics: %v\n%s", err, e.proc.out.String())
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "cuttle_goroutines":
			goroutines, _ = strconv.Atoi(value)
		case "process_resident_memory_bytes":
			f, _ := strconv.ParseFloat(value, 64)
			rss = int64(f)
		}
	}
	if goroutines == 0 {
		e.t.Fatal("metrics without cuttle_goroutines")
	}
	return goroutines, rss
}

// get makes one ordinary HTTP/2 request on a new connection.
func (e *floodEnv) get(path string) error {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	res, err := c.Get("https://" + e.addr + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || res.ProtoMajor != 2 {
		return fmt.Errorf("GET %s: %s over %s", path, res.Status, res.Proto)
	}
	return nil
}

// cached requests path until cuttle answers it from its cache.
func (e *floodEnv) cached(path string) {
	e.t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for range 100 {
		res, err := c.Get("https://" + e.addr + path)
		if err != nil {
			e.t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if strings.HasPrefix(res.Header.Get("X-Cache"), "HIT") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("%s never became a cache hit", path)
}

// floodWatch samples cuttle while a flood runs: the peak of goroutines
// and resident memory, and an ordinary client's requests, which must keep
// being served.
type floodWatch struct {
	e          *floodEnv
	before     int
	rssBefore  int64
	peak       int
	rssPeak    int64
	served     int
	failed     []error
	originBase int64
	stop       chan struct{}
	done       chan struct{}
}

func (e *floodEnv) watch() *floodWatch {
	// The baseline: an ordinary request has been served (its connection
	// closed), so that what serving costs once is in it.
	if err := e.get("/slow/warm"); err != nil {
		e.t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	w := &floodWatch{e: e, stop: make(chan struct{}), done: make(chan struct{})}
	w.before, w.rssBefore = e.stats()
	w.peak, w.rssPeak = w.before, w.rssBefore
	w.originBase = e.origin.requests.Load()
	go func() {
		defer close(w.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			g, rss := e.stats()
			w.peak, w.rssPeak = max(w.peak, g), max(w.rssPeak, rss)
			if i%3 == 0 {
				if err := e.get("/slow/normal"); err != nil {
					w.failed = append(w.failed, err)
				} else {
					w.served++
				}
			}
		}
	}()
	return w
}

// finish stops the sampling, then checks that an ordinary client was
// served during the flood and is served after it, that cuttle's
// goroutines come back to the baseline within d (plus what its idle
// origin connections hold: two each) and that its memory stayed bounded.
// It returns the origin requests the flood caused.
func (w *floodWatch) finish(d time.Duration) int64 {
	t := w.e.t
	t.Helper()
	close(w.stop)
	<-w.done
	if w.served == 0 {
		t.Errorf("no ordinary request served during the flood (%d failed: %v)", len(w.failed), w.failed)
	}
	origin := w.e.origin.requests.Load() - w.originBase - int64(w.served)
	if err := w.e.get("/slow/after"); err != nil {
		t.Errorf("ordinary request after the flood: %v", err)
	}
	var after int
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		after, _ = w.e.stats()
		if after <= w.before+10+2*int(w.e.origin.open.Load()) || time.Now().After(deadline) {
			break
		}
	}
	_, rss := w.e.stats()
	t.Logf("goroutines before %d, peak %d, after %d (origin connections open %d); RSS before %d MiB, peak %d MiB, after %d MiB; ordinary requests during: %d served, %d failed; origin requests from the flood: %d",
		w.before, w.peak, after, w.e.origin.open.Load(), w.rssBefore>>20, w.rssPeak>>20, rss>>20, w.served, len(w.failed), origin)
	if limit := w.before + 10 + 2*int(w.e.origin.open.Load()); after > limit {
		t.Errorf("goroutines: %d after the flood, want at most %d (baseline %d)", after, limit, w.before)
	}
	if grown := w.rssPeak - w.rssBefore; grown > 256<<20 {
		t.Errorf("resident memory grew by %d MiB during the flood", grown>>20)
	}
	return origin
}

// h2Conn is a raw HTTP/2 client connection: the test writes the frames
// it likes, and a reader goroutine takes whatever cuttle sends, noting
// the RST_STREAM and GOAWAY frames, and the end of the connection.
type h2Conn struct {
	conn      *tls.Conn
	authority string // as an ordinary client names the site: the same cache key
	fr        *http2.Framer
	wmu       sync.Mutex
	henc      *hpack.Encoder
	hbuf      bytes.Buffer
	mu        sync.Mutex
	resets    map[uint32]http2.ErrCode // protected by mu
	goaway    *http2.ErrCode           // protected by mu
	dataLen   int64                    // protected by mu
	closed    chan struct{}
}

// dialH2 opens an HTTP/2 connection, sends the preface and settings, and
// starts reading. With read false, nothing is read: cuttle's writes pile
// up until the connection's buffers are full.
func (e *floodEnv) dialH2(read bool, settings ...http2.Setting) *h2Conn {
	e.t.Helper()
	conn, err := tls.Dial("tcp", e.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	if conn.ConnectionState().NegotiatedProtocol != "h2" {
		e.t.Fatalf("ALPN %q, want h2", conn.ConnectionState().NegotiatedProtocol)
	}
	c := &h2Conn{conn: conn, authority: e.addr, resets: make(map[uint32]http2.ErrCode), closed: make(chan struct{})}
	c.fr = http2.NewFramer(conn, conn)
	c.fr.SetMaxReadFrameSize(1 << 24)
	c.fr.AllowIllegalWrites = true // WINDOW_UPDATE 0
	c.henc = hpack.NewEncoder(&c.hbuf)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		e.t.Fatal(err)
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		e.t.Fatal(err)
	}
	if read {
		go c.readLoop()
	}
	return c
}

func (c *h2Conn) readLoop() {
	defer close(c.closed)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return
		}
		c.mu.Lock()
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			c.resets[f.StreamID] = f.ErrCode
		case *http2.GoAwayFrame:
			code := f.ErrCode
			c.goaway = &code
		case *http2.DataFrame:
			c.dataLen += int64(len(f.Data()))
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.mu.Unlock()
				c.wmu.Lock()
				c.fr.WriteSettingsAck()
				c.wmu.Unlock()
				continue
			}
		}
		c.mu.Unlock()
	}
}

// headers encodes a GET of path as a header block.
func (c *h2Conn) headers(path string) []byte {
	c.hbuf.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", c.authority}, {":path", path}} {
		c.henc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return bytes.Clone(c.hbuf.Bytes())
}

// write runs fn with the framer, under the write lock.
func (c *h2Conn) write(fn func(fr *http2.Framer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return fn(c.fr)
}

// waitClosed waits up to d for cuttle to end the connection.
func (c *h2Conn) waitClosed(d time.Duration) bool {
	select {
	case <-c.closed:
		return true
	case <-time.After(d):
		return false
	}
}

func (c *h2Conn) state() (resets int, goaway string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	goaway = "none"
	if c.goaway != nil {
		goaway = c.goaway.String()
	}
	return len(c.resets), goaway
}

// eachStream opens up to n client streams (odd ids from 1), writing each
// one's frames with frames, and returns how many were written before the
// connection failed.
func (c *h2Conn) eachStream(n int, frames func(fr *http2.Framer, id uint32) error) int {
	sent := 0
	for id := uint32(1); sent < n; id += 2 {
		if err := c.write(func(fr *http2.Framer) error { return frames(fr, id) }); err != nil {
			break
		}
		sent++
	}
	return sent
}

// finishStreams ends a flood of sent streams: it logs what cuttle did
// with the connection, closes it, and checks that the origin got fewer
// than a quarter as many requests as the streams sent.
func (c *h2Conn) finishStreams(t *testing.T, w *floodWatch, sent int, what string) {
	t.Helper()
	closed := c.waitClosed(5 * time.Second)
	resets, goaway := c.state()
	t.Logf("%d streams %s; cuttle sent %d RST_STREAM, GOAWAY %s, closed the connection: %v", sent, what, resets, goaway, closed)
	c.conn.Close()
	if origin := w.finish(10 * time.Second); origin > int64(sent)/4 {
		t.Errorf("the origin got %d requests for %d streams %s", origin, sent, what)
	}
}

// TestH2Floods runs the HTTP/2 denial-of-service floods of reliability I3
// against the cuttle binary over TLS, each against a cuttle of its own,
// and checks the safe outcome: cuttle ends the connection or absorbs the
// flood, its goroutines come back to what they were, its memory stays
// bounded, the origin sees a bounded number of requests, and an ordinary
// client is served during the flood and after it.
func TestH2Floods(t *testing.T) {
	t.Parallel()
	bin, _ := buildCuttleBinary(t)

	// Rapid Reset (CVE-2023-44487): each stream is opened and cancelled
	// at once, so that the client's concurrency limit never applies.
	t.Run("I3-rapid-reset", func(t *testing.T) {
		t.Parallel()
		e := newFloodEnv(t, bin, "")
		w := e.watch()
		c := e.dialH2(true)
		sent := c.eachStream(20000, func(fr *http2.Framer, id uint32) error {
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headers(fmt.Sprintf("/slow/%d", id)), EndStream: true, EndHeaders: true}); err != nil {
				return err
			}
			return fr.WriteRSTStream(id, http2.ErrCodeCancel)
		})
		c.finishStreams(t, w, sent, "opened and reset")
	})

	// Made You Reset (CVE-2025-8671): the client makes cuttle reset each
	// stream itself, with a frame that is a stream error: a WINDOW_UPDATE
	// of 0 (RFC 9113, Section 6.9) or DATA on a stream the client had
	// closed (Section 5.1).
	t.Run("I3-made-you-reset", func(t *testing.T) {
		t.Parallel()
		e := newFloodEnv(t, bin, "")
		w := e.watch()
		c := e.dialH2(true)
		sent := c.eachStream(20000, func(fr *http2.Framer, id uint32) error {
			if id%4 == 1 {
				if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headers(fmt.Sprintf("/slow/%d", id)), EndHeaders: true}); err != nil {
					return err
				}
				return fr.WriteWindowUpdate(id, 0)
			}
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headers(fmt.Sprintf("/slow/%d", id)), EndStream: true, EndHeaders: true}); err != nil {
				return err
			}
			return fr.WriteData(id, false, []byte("x"))
		})
		c.finishStreams(t, w, sent, "provoked into a reset")
	})

	// CONTINUATION flood (CVE-2023-45288): a header block that never
	// ends. cuttle must close the connection once the block is over
	// request_header_max_size, not buffer it.
	t.Run("I3-continuation-flood", func(t *testing.T) {
		t.Parallel()
		e := newFloodEnv(t, bin, "")
		w := e.watch()
		c := e.dialH2(true)
		// Each CONTINUATION carries 16 KB of new header fields.
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		for i := 0; block.Len() < 16<<10; i++ {
			enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-flood-%d", i), Value: strings.Repeat("v", 100), Sensitive: true})
		}
		frag := block.Bytes()
		const limit = 256 << 20
		sent := 0
		err := c.write(func(fr *http2.Framer) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.headers("/slow/cont")})
		})
		for err == nil && sent < limit {
			err = c.write(func(fr *http2.Framer) error { return fr.WriteContinuation(1, false, frag) })
			if err == nil {
				sent += len(frag)
			}
		}
		closed := c.waitClosed(10 * time.Second)
		_, goaway := c.state()
		t.Logf("%d KB of header block sent before the connection ended (write error %v); GOAWAY %s", sent>>10, err, goaway)
		if !closed || sent >= limit {
			t.Errorf("cuttle did not close the connection after %d MB of CONTINUATION frames", sent>>20)
		}
		c.conn.Close()
		if origin := w.finish(10 * time.Second); origin != 0 {
			t.Errorf("the origin got %d requests from an unfinished header block", origin)
		}
	})

	// Control frame floods: SETTINGS and PING each need an answer; a
	// client that never reads them makes the answers pile up. cuttle must
	// drop the connection (Go's server does past 10000 queued control
	// frames) or answer in constant memory, never queue them without end.
	for _, tt := range []struct {
		name   string
		frames int
		frame  func(fr *http2.Framer, i int) error
	}{
		// A million SETTINGS: 9 MB of ACKs if each were answered.
		{"I3-settings-flood", 1000000, func(fr *http2.Framer, i int) error {
			return fr.WriteSettings(http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(i)})
		}},
		// Five million PINGs: 85 MB of answers.
		{"I3-ping-flood", 5000000, func(fr *http2.Framer, i int) error {
			var data [8]byte
			copy(data[:], strconv.Itoa(i))
			return fr.WritePing(false, data)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newFloodEnv(t, bin, "")
			w := e.watch()
			c := e.dialH2(false)
			// The frames go out 1000 to a write.
			frames, batch := tt.frames, 1000
			var buf bytes.Buffer
			fr := http2.NewFramer(&buf, nil)
			sent := 0
			var err error
			for sent < frames && err == nil {
				buf.Reset()
				for range batch {
					tt.frame(fr, sent)
					sent++
				}
				c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				_, err = c.conn.Write(buf.Bytes())
			}
			switch ne, _ := err.(net.Error); {
			case err == nil:
				// Go's server owes one SETTINGS ACK however many
				// SETTINGS wait for it (needToSendSettingsAck): the
				// flood is absorbed, which finish checks.
				t.Logf("%d frames absorbed, the connection still open", sent)
			case ne != nil && ne.Timeout():
				t.Errorf("after %d frames cuttle stopped reading but kept the connection: %v", sent, err)
			default:
				t.Logf("%d frames written before cuttle closed the connection (%v)", sent, err)
			}
			c.conn.Close()
			w.finish(10 * time.Second)
		})
	}

	// Zero window ("Broke Window"): the client lets cuttle send nothing
	// (SETTINGS_INITIAL_WINDOW_SIZE 0, never a WINDOW_UPDATE) on many
	// streams of a large cached body. Each stream holds a handler;
	// write_timeout must free them as it frees a client whose TCP window
	// stays shut.
	t.Run("I3-zero-window", func(t *testing.T) {
		t.Parallel()
		e := newFloodEnv(t, bin, "write_timeout 2 seconds")
		e.cached("/big")
		w := e.watch()
		c := e.dialH2(true, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		const streams = 100
		for i := range streams {
			id := uint32(2*i + 1)
			if err := c.write(func(fr *http2.Framer) error {
				return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headers("/big"), EndStream: true, EndHeaders: true})
			}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		held, _ := e.stats()
		var resets int
		var goaway string
		freed := false
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			resets, goaway = c.state()
			select {
			case <-c.closed:
				freed = true
			default:
				freed = resets == streams
			}
			if freed {
				break
			}
		}
		c.mu.Lock()
		data := c.dataLen
		c.mu.Unlock()
		t.Logf("%d streams of a cached %d KB body with a zero window: %d goroutines a second later; cuttle reset %d streams, GOAWAY %s, sent %d bytes of DATA", streams, floodBigSize>>10, held, resets, goaway, data)
		if !freed {
			t.Errorf("write_timeout 2 seconds: after 15 s cuttle has reset %d of %d stalled streams and kept the connection", resets, streams)
		}
		if data != 0 {
			t.Errorf("cuttle sent %d bytes of DATA into a zero window", data)
		}
		// The connection stays open, idle: its own goroutines remain.
		if origin := w.finish(5 * time.Second); origin != 0 {
			t.Errorf("the origin got %d requests for a cached body", origin)
		}
	})
}
