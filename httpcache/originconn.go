package httpcache

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// DefaultReplyHeaderMaxSize is squid.conf reply_header_max_size's default:
// a response whose header section is larger is refused with a 502
// (ERR_TOO_BIG).
const DefaultReplyHeaderMaxSize = 64 << 10

// strictConn is a connection to an origin whose responses are checked by a
// respScanner as the Transport reads them (originscan.go). A malformed
// response fails the Read that holds its error (or the next one, when it
// is the response's first: see Read), and every later one, so that the
// Transport answers the request with an error, closes the connection and
// never sends the request again. Bytes beyond the end of a response are
// never passed on: the Read returns io.EOF with the response's last
// bytes, so that the Transport does not put the connection back in its
// pool.
type strictConn struct {
	net.Conn
	sc  respScanner
	err error // sticky; Read is only called by the Transport's read loop

	// wrote is set when a request is written and cleared when its
	// response starts: bytes that arrive without one are unsolicited.
	wrote atomic.Bool
	// headNext is set when the next request on the connection is a HEAD
	// (by headTrace), whose response has no body.
	headNext atomic.Bool

	excess func(p []byte) // told of the bytes that followed a response
}

func newStrictConn(c net.Conn, maxHead int64, excess func([]byte)) *strictConn {
	sc := &strictConn{Conn: c, excess: excess}
	sc.sc.maxHead = maxHead
	sc.sc.state = sDone
	return sc
}

func (c *strictConn) Write(p []byte) (int, error) {
	c.wrote.Store(true)
	return c.Conn.Write(p)
}

func (c *strictConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	if n == 0 {
		return n, err
	}
	first := false
	if c.sc.state == sDone {
		if !c.wrote.Swap(false) {
			// Nothing was asked: the origin sent more than its last
			// response. The Transport closes a connection that reads
			// io.EOF, silently.
			c.excess(p[:n])
			c.err = io.EOF
			return 0, io.EOF
		}
		c.sc.reset(c.headNext.Swap(false))
		first = true
	}
	m, serr := c.sc.scan(p[:n])
	if serr != nil {
		c.err = serr
		if first && len(p) >= len(standInStatus) {
			// The Transport takes a failed read of the first bytes of a
			// response on a reused connection for the origin closing an
			// idle connection, and sends an idempotent request again on
			// another pooled connection, for as long as there are any:
			// one malformed answer would ask the origin again and again
			// (http-cache-tests saw 96 requests for one). So this Read
			// hands over a complete, valid status line in its place, and
			// the next one fails: the Transport reports the error from
			// reading the header section, which it never retries, and
			// closes the connection. The stand-in goes no further than
			// the Transport's status line parser. (TestOriginMalformed-
			// NotRetried holds net/http to this.)
			return copy(p, standInStatus), nil
		}
		return 0, serr
	}
	if m < n {
		// The response ended within p and more bytes follow: the origin
		// and cuttle disagree about where it ends. The response as framed
		// is passed on, as Squid does ("Excess data"), but the rest never
		// is, and the connection is closed (RFC 9112, Section 6.3), so
		// that no later request reads it as its response.
		c.excess(p[m:n])
		c.err = io.EOF
		return m, io.EOF
	}
	return n, err
}

// standInStatus is what strictConn.Read hands the Transport instead of the
// first bytes of a malformed response.
const standInStatus = "HTTP/1.1 502\r\n"

// strictTransport marks the connections of HEAD requests, so that their
// scanner expects no body; the rest goes to the Transport.
type strictTransport struct{ *http.Transport }

func (t strictTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodHead {
		// Only HEAD pays for the trace: the common case allocates
		// nothing here.
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if c, ok := info.Conn.(*strictConn); ok {
				c.headNext.Store(true)
			}
		}}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	}
	return t.Transport.RoundTrip(req)
}

// originTransport returns the transport to an origin or peer: pooled, with
// the given connect timeout, connection limit and TLS configuration (see
// newDialTransport), whose responses are read strictly (RFC 9112), whose
// header sections may be at most squid.conf reply_header_max_size and whose
// idle connections last server_idle_pconn_timeout.
func (h *Handler) originTransport(connectTimeout time.Duration, maxConn int, tlsConfig *tls.Config) http.RoundTripper {
	tr := newDialTransport(connectTimeout, maxConn, tlsConfig)
	// squid.conf read_timeout covers the wait for the reply's first byte
	// as much as the gaps between later ones (timeouts.go): a response
	// header that takes longer after the request was sent is given up.
	tr.ResponseHeaderTimeout = h.readTimeout()
	// squid.conf server_idle_pconn_timeout: how long a pooled connection
	// waits for its next request.
	switch d := h.opts.ServerIdleTimeout; {
	case d < 0:
		tr.DisableKeepAlives = true
	case d > 0:
		tr.IdleConnTimeout = d
	}
	maxHead := h.opts.ReplyHeaderMaxSize
	if maxHead == 0 {
		maxHead = DefaultReplyHeaderMaxSize
	}
	if maxHead > 0 {
		// The Transport's own limit stays above the scanner's, which
		// counts exactly (and refuses with ERR_TOO_BIG).
		tr.MaxResponseHeaderBytes = maxHead + 4096
	}
	excess := func(p []byte) {
		// Squid's "Excess data from ..." warning.
		h.errorLog.Printf("httpcache: origin sent %d bytes beyond the end of a response (%q); connection closed", len(p), p[:min(len(p), 32)])
	}
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newStrictConn(c, maxHead, excess), nil
	}
	if tlsConfig != nil {
		// The scanner must see the plaintext: cuttle does the TLS
		// handshake itself, as the Transport would (HTTP/1.1 only).
		cfg := tr.TLSClientConfig.Clone()
		cfg.NextProtos = nil
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			conf := cfg
			if conf.ServerName == "" {
				host, _, _ := net.SplitHostPort(addr)
				conf = conf.Clone()
				conf.ServerName = host
			}
			tc := tls.Client(c, conf)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return newStrictConn(tc, maxHead, excess), nil
		}
	}
	return strictTransport{tr}
}
