package httpcache

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultReadTimeout is Squid's read_timeout default: how long a read
// from an origin server, or from a client sending a request body, may
// wait for data.
const DefaultReadTimeout = 15 * time.Minute

// DefaultServerIdleTimeout is Squid's server_idle_pconn_timeout default:
// how long an idle connection to an origin server is kept for the next
// request.
const DefaultServerIdleTimeout = time.Minute

// readTimeout returns read_timeout, or 0 when reads are never timed out.
func (h *Handler) readTimeout() time.Duration {
	switch d := h.opts.ReadTimeout; {
	case d == 0:
		return DefaultReadTimeout
	case d < 0:
		return 0
	default:
		return d
	}
}

// errReadTimeout is an origin body that sent nothing for read_timeout. It
// is a timeout, as net.Error means it.
var errReadTimeout error = readTimeoutError{}

type readTimeoutError struct{}

func (readTimeoutError) Error() string   { return "httpcache: origin read timed out (read_timeout)" }
func (readTimeoutError) Timeout() bool   { return true }
func (readTimeoutError) Temporary() bool { return true }

// idleBody sets read_timeout on the body of an origin response: squid.conf
// read_timeout is "extended after each successful read()", so it bounds
// the silence between reads, never the length of the whole transfer. A
// body that stays silent longer is closed, and its pending read fails with
// errReadTimeout.
func (h *Handler) idleBody(res *http.Response) *http.Response {
	d := h.readTimeout()
	if d == 0 || res.Body == nil || res.Body == http.NoBody {
		return res
	}
	b := &idleReader{rc: res.Body, d: d}
	b.timer = time.AfterFunc(d, func() {
		b.fired.Store(true)
		b.rc.Close() //nolint:errcheck // unblocks the pending Read
	})
	res.Body = b
	return res
}

// idleReader closes its body when no Read returns for d.
type idleReader struct {
	rc    io.ReadCloser
	d     time.Duration
	timer *time.Timer
	fired atomic.Bool
}

func (b *idleReader) Read(p []byte) (int, error) {
	b.timer.Reset(b.d)
	n, err := b.rc.Read(p)
	if b.fired.Load() {
		return n, errReadTimeout
	}
	return n, err
}

func (b *idleReader) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}

// errBodyTooLarge is a request body over request_body_max_size; the
// forwarding fails with 413.
var errBodyTooLarge = errors.New("httpcache: request body larger than request_body_max_size")

// errClientBodyTimeout is a client that sent nothing of its request body
// for read_timeout; the forwarding fails with 408.
var errClientBodyTimeout = errors.New("httpcache: client request body timed out (read_timeout)")

// guardBody applies request_body_max_size and read_timeout to a request
// body as it streams to the origin, and returns it: each read waits at
// most read_timeout for the client, and the body fails with
// errBodyTooLarge as soon as more than request_body_max_size bytes have
// come (a chunked body has no length to check beforehand; a
// Content-Length over the limit is refused before the body is read, see
// bodyTooLarge). A body that fails leaves the client connection unreadable,
// so that it is closed after the error reply, as Squid closes it
// (quitAfterError), rather than read on for the next request.
func (h *Handler) guardBody(rw http.ResponseWriter, b *replayBody) *replayBody {
	if b == nil {
		return nil
	}
	d := h.readTimeout()
	limit := h.opts.RequestBodyMaxSize
	if d == 0 && limit <= 0 {
		return b
	}
	b.r = &clientBody{r: b.r, rc: http.NewResponseController(rw), d: d, limit: limit}
	return b
}

// clientBody is a request body with a per-read deadline and a size limit.
type clientBody struct {
	r     io.Reader
	rc    *http.ResponseController
	d     time.Duration
	limit int64 // 0: none
	n     int64
	// failed is errBodyTooLarge or errClientBodyTimeout once returned; the
	// transport reads the body on a goroutine of its own.
	failed atomic.Pointer[error]
}

// failure returns the error that ended b's request body when it was too
// large or timed out (the transport may report the cancelled request
// instead), else err.
func (b *replayBody) failure(err error) error {
	if b == nil {
		return err
	}
	if cb, ok := b.r.(*clientBody); ok {
		if p := cb.failed.Load(); p != nil {
			return *p
		}
	}
	return err
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.d > 0 {
		// Not supported by every ResponseWriter (HTTP/2 is); then only
		// the connection's own deadlines apply.
		b.rc.SetReadDeadline(time.Now().Add(b.d)) //nolint:errcheck
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.limit > 0 && b.n > b.limit {
		err = errBodyTooLarge
	}
	switch {
	case err == io.EOF:
		if b.d > 0 {
			// What follows (net/http's check that the client is still
			// there, the wait for the next request) is not a body read.
			b.rc.SetReadDeadline(time.Time{}) //nolint:errcheck
		}
	case err != nil:
		b.rc.SetReadDeadline(time.Now()) //nolint:errcheck // see guardBody
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			err = errClientBodyTimeout
		}
		if err == errBodyTooLarge || err == errClientBodyTimeout {
			b.failed.Store(&err)
		}
	}
	return n, err
}

// bodyTooLarge answers 413 (ERR_TOO_BIG) to a request whose Content-Length
// is over request_body_max_size, before any of the body is read, as Squid
// does: its clientIsRequestBodyTooLargeForPolicy runs before http_access.
func (h *Handler) bodyTooLarge(rw *countingWriter, tx *transaction) bool {
	limit := h.opts.RequestBodyMaxSize
	if limit <= 0 || tx.req.ContentLength <= limit {
		return false
	}
	tx.result = "NONE_NONE"
	// The body is never read: the connection closes after the reply
	// (quitAfterError in Squid) instead of reading it to its end.
	http.NewResponseController(rw).SetReadDeadline(time.Now()) //nolint:errcheck
	h.serveError(rw, tx, http.StatusRequestEntityTooLarge, "ERR_TOO_BIG")
	return true
}
