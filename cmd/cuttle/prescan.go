package main

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"cuttle/httpcache"
	"cuttle/squidconf"
)

// requestLimits turns request_header_max_size and uri_whitespace into the
// limits of the request pre-scan.
func requestLimits(cfg *squidconf.Config) httpcache.RequestLimits {
	lim := httpcache.RequestLimits{MaxHeaderBytes: cfg.RequestHeaderMaxSize}
	if lim.MaxHeaderBytes < 0 {
		// "none": a head is still held whole before net/http sees it,
		// so cuttle keeps a bound.
		lim.MaxHeaderBytes = maxHeaderBytesNone
	}
	switch cfg.URIWhitespace {
	case "deny":
		lim.URIWhitespace = httpcache.URIDeny
	case "allow":
		lim.URIWhitespace = httpcache.URIAllow
	case "encode":
		lim.URIWhitespace = httpcache.URIEncode
	case "chop":
		lim.URIWhitespace = httpcache.URIChop
	}
	return lim
}

// maxHeaderBytesNone is the head size limit for request_header_max_size
// none.
const maxHeaderBytesNone = 16 << 20

// serverMaxHeaderBytes is http.Server.MaxHeaderBytes for a port: the
// limit HTTP/2 connections (which the pre-scan does not see) get, and a
// backstop for HTTP/1.x.
func serverMaxHeaderBytes(cfg *squidconf.Config) int {
	return int(requestLimits(cfg).MaxHeaderBytes)
}

// prescanListener hands out the connections of a port wrapped by the
// request pre-scan (httpcache.PrescanConn), which must see the plaintext
// HTTP/1.x bytes. On an https_port (config returns a *tls.Config) the TLS
// handshake is therefore made before Accept returns the connection, in a
// goroutine of its own per connection, so that the negotiated protocol is
// known: an HTTP/2 connection is returned as the *tls.Conn, which
// net/http needs to serve HTTP/2 (ALPN), and HTTP/1.x is wrapped (the
// wrapper keeps the TLS state for Request.TLS). A plain http_port
// connection is wrapped at once.
type prescanListener struct {
	net.Listener
	config   func() *tls.Config
	current  func() *httpcache.Handler
	timeout  time.Duration // for the handshake; 0: none
	errorLog *log.Logger

	start     sync.Once
	ready     chan net.Conn
	errc      chan error
	done      chan struct{}
	closeOnce sync.Once
}

func newPrescanListener(ln net.Listener, config func() *tls.Config, current func() *httpcache.Handler, timeout time.Duration, errorLog *log.Logger) *prescanListener {
	return &prescanListener{
		Listener: ln, config: config, current: current, timeout: timeout, errorLog: errorLog,
		ready: make(chan net.Conn), errc: make(chan error), done: make(chan struct{}),
	}
}

// Accept returns the next connection, wrapped, after its TLS handshake
// on an https_port.
func (l *prescanListener) Accept() (net.Conn, error) {
	if l.config() == nil {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		return httpcache.PrescanConn(c, l.current), nil
	}
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errc:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// acceptLoop accepts TLS connections and starts their handshakes.
func (l *prescanListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errc <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		config := l.config()
		if config == nil {
			l.deliver(httpcache.PrescanConn(c, l.current))
			continue
		}
		go l.handshake(c, config)
	}
}

// handshake makes the TLS handshake of c, as net/http would (same
// timeout, same answer to a plain HTTP request, same cache_log line), and
// hands the connection to Accept.
func (l *prescanListener) handshake(c net.Conn, config *tls.Config) {
	tc := tls.Server(c, config)
	if l.timeout > 0 {
		tc.SetDeadline(time.Now().Add(l.timeout))
	}
	if err := tc.Handshake(); err != nil {
		reason := err.Error()
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			reason = "client sent an HTTP request to an HTTPS server"
		}
		l.errorLog.Printf("http: TLS handshake error from %s: %s", c.RemoteAddr(), reason)
		c.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		l.deliver(tc)
		return
	}
	l.deliver(httpcache.PrescanConn(tc, l.current))
}

// looksLikeHTTP reports whether a TLS record header is the start of a
// plain HTTP request, as net/http's check.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

func (l *prescanListener) deliver(c net.Conn) {
	select {
	case l.ready <- c:
	case <-l.done:
		c.Close()
	}
}

// Close stops accepting; handshakes in progress end with their timeout.
func (l *prescanListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}
