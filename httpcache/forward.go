package httpcache

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"

	"cuttle/store"
)

// forward sends the request to the first origin server peer and relays the
// reply, storing it on the way when RFC 9111 allows.
//
// With stale set, the request revalidates that stored response
// (RFC 9111, Section 4.3.1): a 304 refreshes and serves it, anything else
// replaces it.
func (h *Handler) forward(rw *countingWriter, tx *transaction, cacheStatus []string, stale *staleObject) {
	tx.result = "TCP_MISS"
	if len(h.opts.Peers) == 0 {
		// Accelerated requests never go direct (squid.conf never_direct).
		h.serveError(rw, tx, http.StatusServiceUnavailable, "ERR_CANNOT_FORWARD")
		return
	}
	peer := &h.opts.Peers[0]
	tx.peer, tx.hier = peer, "FIRSTUP_PARENT"
	req := tx.req
	ctx := req.Context()

	outreq, err := http.NewRequestWithContext(ctx, req.Method, peer.base+tx.pathQuery(), req.Body)
	if err != nil {
		tx.peer, tx.hier = nil, ""
		h.serveError(rw, tx, http.StatusBadRequest, "ERR_INVALID_URL")
		return
	}
	outreq.ContentLength = req.ContentLength
	if req.ContentLength == 0 {
		outreq.Body = nil
	}
	outreq.Header = h.outgoingHeader(tx, peer)
	if stale != nil {
		stale.addConditions(outreq.Header)
	}
	// The origin sees the Host the client asked for (squid.conf cache_peer
	// without forceddomain=).
	outreq.Host = tx.authority()

	requestTime := h.now()
	res, err := h.transport.RoundTrip(outreq)
	if err != nil {
		if stale != nil && stale.servableOnError() {
			// Squid serves the stale copy when the origin cannot be asked.
			tx.result = "TCP_REFRESH_FAIL_OLD"
			h.serveStale(rw, tx, stale, stale.c, h.statusStale)
			return
		}
		if stale != nil {
			tx.result = "TCP_REFRESH_FAIL_ERR"
		}
		status, code := errorStatus(ctx, err)
		h.serveError(rw, tx, status, code)
		return
	}
	defer res.Body.Close()
	responseTime := h.now()
	removeHopByHop(res.Header)
	if stale != nil {
		if res.StatusCode == http.StatusNotModified {
			tx.result = "TCP_REFRESH_UNMODIFIED"
			c := h.refreshed(tx, stale, res.Header, requestTime, responseTime)
			h.serveStale(rw, tx, stale, c, h.statusStale)
			return
		}
		tx.result = "TCP_REFRESH_MODIFIED"
	}

	if !safeMethod(req.Method) && res.StatusCode < 400 {
		h.invalidate(ctx, tx, res.Header)
	}

	resCC := ParseCacheControl(res.Header)
	lifetime, _ := FreshnessLifetime(res.StatusCode, res.Header, resCC, tx.url, h.opts.RefreshPatterns, responseTime)
	if resCC.NoCache {
		lifetime = 0 // RFC 9111, Section 5.2.2.4: revalidate before every use
	}
	storable := Storable(req, res.StatusCode, res.Header, resCC, lifetime) &&
		res.ContentLength <= h.opts.MaxObjectSize

	var sw *storeWriter
	if storable {
		c := &cached{
			status:       res.StatusCode,
			header:       res.Header,
			requestTime:  requestTime,
			responseTime: responseTime,
			initialAge:   InitialAge(res.Header, requestTime, responseTime),
			lifetime:     lifetime,
		}
		c.varyNames, _ = parseVary(res.Header)
		for _, name := range c.varyNames {
			c.varyValues = append(c.varyValues, varyValue(req.Header, name))
		}
		c.headerBytes = hitFieldsSize(c.header)
		c.setSize(res.ContentLength)
		sw = h.startStore(tx.url, c, res.ContentLength)
		cacheStatus = h.statusStored
	}

	out := rw.Header()
	for k, v := range res.Header {
		out[k] = v
	}
	out["Via"] = h.appendVia(res.Header["Via"])
	out["X-Cache"] = h.xCacheMiss
	out["Cache-Status"] = cacheStatus
	rw.WriteHeader(res.StatusCode)

	if err := h.copyBody(rw, res.Body, sw); err != nil {
		tx.result += "_ABORTED"
		if errors.Is(err, errOriginBody) {
			// The client must not take a truncated body for a complete one:
			// abort its connection, as net/http/httputil does.
			h.logTransaction(tx, rw)
			tx.logged = true
			panic(http.ErrAbortHandler)
		}
	}
}

// outgoingHeader builds the request header sent to the origin: the client's
// end-to-end fields, X-Forwarded-For and Via added (squid.conf
// forwarded_for on, via on), Authorization only as login= allows.
func (h *Handler) outgoingHeader(tx *transaction, peer *Peer) http.Header {
	out := tx.req.Header.Clone()
	if out == nil {
		out = http.Header{}
	}
	removeHopByHop(out)
	switch {
	case peer.Login == "PASSTHRU" || peer.Login == "PASS":
	case peer.header != "":
		out.Set("Authorization", peer.header)
	default:
		// Squid does not pass the client's credentials to an origin server
		// peer unless login=PASS or login=PASSTHRU says so.
		delete(out, "Authorization")
	}
	client := "unknown"
	if tx.clientIP.IsValid() {
		client = tx.clientIP.Unmap().String()
	}
	if prior := out["X-Forwarded-For"]; len(prior) > 0 {
		out.Set("X-Forwarded-For", joinList(prior)+", "+client)
	} else {
		out.Set("X-Forwarded-For", client)
	}
	out["Via"] = h.appendVia(out["Via"])
	return out
}

func joinList(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	s := vs[0]
	for _, v := range vs[1:] {
		s += ", " + v
	}
	return s
}

// errorStatus maps a forwarding error to the status and Squid error page.
func errorStatus(ctx context.Context, err error) (int, string) {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return http.StatusBadGateway, "ERR_READ_ERROR"
	case errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, "ERR_READ_TIMEOUT"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return http.StatusServiceUnavailable, "ERR_CONNECT_FAIL"
	}
	return http.StatusBadGateway, "ERR_READ_ERROR"
}

var (
	errOriginBody = errors.New("httpcache: origin body ended early")
	errClientGone = errors.New("httpcache: client write failed")
)

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody streams the origin body to the client and, when sw is not nil,
// into the store. The store sees the body only if it arrived whole.
func (h *Handler) copyBody(rw *countingWriter, body io.Reader, sw *storeWriter) error {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := rw.Write(buf[:n]); err != nil {
				sw.abort(errClientGone)
				return errClientGone
			}
			sw.write(buf[:n])
		}
		if rerr == io.EOF {
			if err := sw.commit(); err != nil && !errors.Is(err, store.ErrTooLarge) {
				h.errorLog.Printf("httpcache: store: %v", err)
			}
			return nil
		}
		if rerr != nil {
			sw.abort(errOriginBody)
			return errOriginBody
		}
	}
}

// storeWriter feeds one object to Store.Put through a pipe. Its methods
// accept a nil receiver (nothing is being stored).
type storeWriter struct {
	pw    *io.PipeWriter
	done  chan error
	err   error // Put's result once received
	ended bool  // done has been received
	n     int64
	limit int64
}

// startStore begins a Put of the object and returns its writer.
func (h *Handler) startStore(key string, c *cached, size int64) *storeWriter {
	pr, pw := io.Pipe()
	sw := &storeWriter{pw: pw, done: make(chan error, 1), limit: h.opts.MaxObjectSize}
	meta := metaFor(c, size)
	go func() {
		err := h.opts.Store.Put(context.Background(), key, meta, pr)
		// Unblock the writer if Put gave up before the end of the body.
		pr.CloseWithError(cmp.Or(err, io.ErrClosedPipe))
		sw.done <- err
	}()
	return sw
}

// metaFor is the store metadata of a cached response with a body of size
// bytes (-1 if unknown).
func metaFor(c *cached, size int64) store.Meta {
	return store.Meta{
		Header:  c.marshal(),
		Decoded: c,
		Size:    size,
		Stored:  c.responseTime,
		Expires: c.responseTime.Add(c.lifetime - c.initialAge),
	}
}

func (sw *storeWriter) wait() error {
	if !sw.ended {
		sw.err, sw.ended = <-sw.done, true
	}
	return sw.err
}

func (sw *storeWriter) write(p []byte) {
	if sw == nil || sw.ended {
		return
	}
	sw.n += int64(len(p))
	if sw.n > sw.limit {
		sw.abort(store.ErrTooLarge)
		return
	}
	if _, err := sw.pw.Write(p); err != nil {
		sw.wait()
	}
}

// commit ends the body and waits for the store to finish.
func (sw *storeWriter) commit() error {
	if sw == nil {
		return nil
	}
	sw.pw.Close()
	return sw.wait()
}

// abort discards the object.
func (sw *storeWriter) abort(err error) {
	if sw == nil {
		return
	}
	sw.pw.CloseWithError(err)
	sw.wait()
}
