package httpcache

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"cuttle/store"
)

// forward sends the request to the peers peer selection picks, in turn
// until one can be reached (peers.go), and relays the reply, storing it on
// the way when RFC 9111 allows.
//
// With stale set, the request revalidates that stored response
// (RFC 9111, Section 4.3.1): a 304 refreshes and serves it, anything else
// replaces it.
func (h *Handler) forward(rw *countingWriter, tx *transaction, cacheStatus []string, stale *staleObject) {
	if tx.result == "" {
		tx.result = "TCP_MISS"
	}
	if !h.missAllowed(rw, tx) {
		return
	}
	path := h.selectPath(tx)
	if len(path) == 0 {
		// No peer may take the request and it may not go direct
		// (squid.conf cache_peer_access, never_direct, allow-direct).
		h.serveError(rw, tx, http.StatusServiceUnavailable, "ERR_CANNOT_FORWARD")
		return
	}
	req := tx.req
	ctx := req.Context()
	whole := stale == nil && h.fetchWhole(tx)
	body := h.guardBody(rw, newReplayBody(req)) // request_body_max_size, read_timeout (timeouts.go)
	requestTime := h.now()
	tx.peerStart = requestTime
	res, err := h.roundTrip(tx, path, body, func(peer *Peer) (*http.Request, error) {
		return h.outgoingRequest(tx, peer, body, stale, whole)
	})
	if errors.Is(err, errBadRequest) {
		tx.peer, tx.hier = nil, ""
		h.serveError(rw, tx, http.StatusBadRequest, "ERR_INVALID_URL")
		return
	}
	if err != nil {
		err = body.failure(err) // the client's body failed first (timeouts.go)
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, errBodyTooLarge) && !errors.Is(err, errClientBodyTimeout) {
		// The client went away while the origin was asked: nobody to
		// answer (logged _ABORTED with status 000, as Squid does). The
		// connection is aborted: returning would let net/http send an
		// empty 200 in the handler's name.
		tx.result += "_ABORTED"
		h.logTransaction(tx, rw)
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		if stale != nil {
			h.opts.Stats.revalidated(RevalidationFailed)
		}
		if stale != nil && h.servableOnError(tx, stale) {
			// Squid serves the stale copy when the origin cannot be asked.
			tx.result = "TCP_REFRESH_FAIL_OLD"
			h.serveStale(rw, tx, stale, stale.c, h.statusStale)
			return
		}
		if stale != nil {
			tx.result = "TCP_REFRESH_FAIL_ERR"
		}
		status, code := errorStatus(ctx, err)
		if code == "ERR_READ_TIMEOUT" {
			tx.result += "_TIMEDOUT" // Squid's suffix for a timed-out transaction
		}
		h.serveError(rw, tx, status, code)
		return
	}
	defer res.Body.Close()
	res.Body = h.delayBody(tx, res.Body) // squid.conf delay_pools
	responseTime := h.now()
	tx.peerStatus = res.StatusCode
	tx.peerDone = responseTime // moved to the body's end by copyBody's caller
	tx.peerBytes = int64(len("HTTP/1.1 000 \r\n\r\n") + len(res.Status) + headerWireSize(res.Header))
	removeHopByHop(res.Header)
	if stale != nil {
		switch {
		case res.StatusCode == http.StatusNotModified:
			tx.result = "TCP_REFRESH_UNMODIFIED"
			h.opts.Stats.revalidated(RevalidationUnmodified)
			c := h.refreshed(tx, stale, res.Header, requestTime, responseTime)
			// Stored first, so that the next request finds it fresh; the
			// stale copy stays open for this answer.
			h.storeRefreshed(tx, stale, c)
			if w, ok := h.opts.Store.(waiter); ok {
				w.Wait()
			}
			h.serveStale(rw, tx, stale, c, h.statusStale)
			return
		case originFailed(res.StatusCode) && h.servableOnError(tx, stale):
			// RFC 5861, Section 4 (and squid.conf max_stale): a 5xx
			// answer lets the stale copy be served instead.
			tx.result = "TCP_REFRESH_FAIL_OLD"
			h.opts.Stats.revalidated(RevalidationFailed)
			h.serveStale(rw, tx, stale, stale.c, h.statusStale)
			return
		case res.StatusCode >= 500:
			tx.result = "TCP_REFRESH_FAIL_ERR"
			h.opts.Stats.revalidated(RevalidationFailed)
		default:
			tx.result = "TCP_REFRESH_MODIFIED"
			h.opts.Stats.revalidated(RevalidationModified)
		}
	}

	if !safeMethod(req.Method) && res.StatusCode < 400 {
		h.invalidate(ctx, tx, res.Header)
	}
	if !h.replyAllowed(rw, tx, res.StatusCode, res.Header) {
		return // not stored either
	}

	sw, stored := h.storeResponse(tx, res, requestTime, responseTime)
	if stored {
		cacheStatus = h.storedStatus(cacheStatus)
		h.opts.Stats.storedObject()
	}
	if whole && sw != nil && res.ContentLength >= 0 && res.ContentLength <= maxRangeBuffer {
		h.serveWhole(rw, tx, res, sw)
		return
	}
	// A whole object fetched for a Range request that is too large to cut
	// the range from in memory is sent whole: a 200 answers any Range
	// request (RFC 9110, Section 14.2), and it is stored on the way.

	h.forwardedHeader(rw.Header(), tx, res, cacheStatus)
	rw.WriteHeader(res.StatusCode)

	sent := rw.bytes
	err = h.copyBody(rw, res.Body, sw)
	tx.peerDone = h.now()
	tx.peerBytes += rw.bytes - sent
	if err != nil {
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

// outgoingRequest builds the request sent to peer: the client's request
// with the outgoing header fields, the cache's validators when stale is
// being revalidated, no Range when the whole object is fetched
// (range_offset_limit), and the Host the client asked for unless the
// peer has forceddomain=.
func (h *Handler) outgoingRequest(tx *transaction, peer *Peer, body *replayBody, stale *staleObject, whole bool) (*http.Request, error) {
	req := tx.req
	var rb io.Reader
	if body != nil {
		rb = body
	}
	outreq, err := http.NewRequestWithContext(req.Context(), req.Method, peer.base+tx.pathQuery(), rb)
	if err != nil {
		return nil, err
	}
	outreq.ContentLength = req.ContentLength
	if body == nil {
		outreq.Body, outreq.ContentLength = nil, 0
	}
	outreq.Header = h.outgoingHeader(tx, peer)
	if stale != nil {
		// The revalidation carries the cache's validators, not the
		// client's conditions (answered afterwards, in serveStale).
		for _, k := range conditionalFields {
			delete(outreq.Header, k)
		}
		stale.addConditions(outreq.Header)
	}
	if whole {
		// range_offset_limit: fetch the whole object to store it, and cut
		// the range from it.
		delete(outreq.Header, "Range")
		delete(outreq.Header, "If-Range")
	}
	// The origin sees the Host the client asked for, or the peer's
	// forceddomain= (squid.conf cache_peer), after the request_header_*
	// rules.
	host := tx.authority()
	if peer.ForcedDomain != "" {
		host = peer.ForcedDomain
	}
	outreq.Host = h.hdr.applyRequest(h, outreq.Header, tx, host)
	tx.peerSent = int64(len(outreq.Method)+len(outreq.URL.RequestURI())+len("  HTTP/1.1\r\n\r\n")+
		headerWireSize(outreq.Header)) + max(outreq.ContentLength, 0)
	return outreq, nil
}

// forwardedHeader fills out with the origin's response fields and the ones
// a cache adds to a forwarded response: Via, X-Cache, X-Cache-Lookup and
// Cache-Status with fwd-status.
func (h *Handler) forwardedHeader(out http.Header, tx *transaction, res *http.Response, cacheStatus []string) {
	for k, v := range res.Header {
		out[k] = v
	}
	out["Via"] = h.appendVia(res.Header["Via"])
	out["X-Cache"] = h.xCacheMiss
	out["X-Cache-Lookup"] = tx.lookup
	out["Cache-Status"] = h.fwdStatus(cacheStatus, res.StatusCode)
}

// fwdStatus adds fwd-status, the status the origin answered with
// (RFC 9211, Section 2.3), to a forwarded response's Cache-Status.
func (h *Handler) fwdStatus(cs []string, status int) []string {
	return []string{cs[0] + "; fwd-status=" + strconv.Itoa(status)}
}

// storeResponse decides whether the origin's response is stored
// (RFC 9111, Section 3) and, if so, starts storing it under its key: the
// URL, or the variant's secondary key when it varies (Section 4.1). It
// returns the writer, and false when the response is not stored.
func (h *Handler) storeResponse(tx *transaction, res *http.Response, requestTime, responseTime time.Time) (*storeWriter, bool) {
	if tx.noStore || !h.storeMissAllowed(tx, res) {
		return nil, false
	}
	req := tx.req
	hdr := res.Header
	resCC := h.responseCC(hdr)
	if h.opts.CDNCacheControl && len(hdr["Cdn-Cache-Control"]) > 0 {
		// RFC 9213, Section 2.1: CDN-Cache-Control replaces Expires too.
		hdr = hdr.Clone()
		delete(hdr, "Expires")
	}
	rp := tx.refresh(h.opts.RefreshPatterns)
	lifetime, explicit := FreshnessLifetime(res.StatusCode, hdr, resCC, rp, responseTime)
	if !explicit && requestErrorStatus(res.StatusCode) {
		return nil, false // CPDoS (cpdos.go)
	}
	if !explicit && negativeStatus(res.StatusCode) {
		// squid.conf negative_ttl: errors without freshness of their own
		// are kept that long, as in Squid. With Squid's default of 0, the
		// statuses RFC 9110, Section 15.1 makes heuristically cacheable
		// (404, 405, 414, 501, 204) follow refresh_pattern, and the other
		// errors are not kept.
		switch {
		case h.opts.NegativeTTL > 0:
			lifetime = h.opts.NegativeTTL
		case !heuristicStatus(res.StatusCode):
			return nil, false
		}
	}
	if resCC.NoCache {
		lifetime = 0 // RFC 9111, Section 5.2.2.4: revalidate before every use
	}
	if !Storable(req, res.StatusCode, res.Header, resCC, lifetime, rp) || res.ContentLength > h.opts.MaxObjectSize {
		return nil, false
	}
	c := &cached{
		status:       res.StatusCode,
		header:       res.Header,
		requestTime:  requestTime,
		responseTime: responseTime,
		initialAge:   InitialAge(res.Header, requestTime, responseTime),
		lifetime:     lifetime,
	}
	c.varyNames, _ = parseVary(res.Header)
	key := tx.url
	var onCommit func()
	if len(c.varyNames) > 0 {
		for _, name := range c.varyNames {
			c.varyValues = append(c.varyValues, varyValue(req.Header, name))
		}
		key = variantKey(tx.url, c.varyNames, req.Header)
		names := c.varyNames
		onCommit = func() { h.addVariant(context.Background(), tx.url, names, key) }
	}
	tx.key = key
	c.headerBytes = hitFieldsSize(c.header)
	c.setSize(res.ContentLength)
	sw := h.startStore(key, c, res.ContentLength)
	sw.onCommit = onCommit
	return sw, true
}

// storedStatus adds "stored" (RFC 9211, Section 2.6) to a miss's
// Cache-Status.
func (h *Handler) storedStatus(cs []string) []string {
	switch &cs[0] {
	case &h.statusMiss[0]:
		return h.statusStored
	case &h.statusStale[0]:
		return h.statusStaleStored
	}
	return []string{cs[0] + "; stored"}
}

// fetchWhole reports whether a Range request that missed fetches the whole
// object (squid.conf range_offset_limit): when the limit is -1, or when
// the one range asked for starts within it.
func (h *Handler) fetchWhole(tx *transaction) bool {
	limit := h.opts.RangeOffsetLimit
	if limit == 0 || tx.noStore || tx.req.Method != http.MethodGet {
		return false
	}
	r := tx.req.Header.Get("Range")
	if r == "" {
		return false
	}
	if limit < 0 {
		return true
	}
	spec, ok := strings.CutPrefix(r, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimSpace(spec), "-")
	if first == "" {
		return false // a suffix range: its offset depends on the length
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return err == nil && n <= limit
}

// maxRangeBuffer is the largest whole object fetched for a Range request
// (range_offset_limit) that is held in memory to cut the range from.
const maxRangeBuffer = 1 << 20

// serveWhole stores the whole response fetched for a Range request and
// answers the range from it (range_offset_limit). Its length is known and
// at most maxRangeBuffer.
func (h *Handler) serveWhole(rw *countingWriter, tx *transaction, res *http.Response, sw *storeWriter) {
	body, err := io.ReadAll(io.LimitReader(res.Body, res.ContentLength+1))
	if err != nil || int64(len(body)) != res.ContentLength {
		sw.abort(errOriginBody)
		tx.result += "_ABORTED"
		h.serveError(rw, tx, http.StatusBadGateway, "ERR_READ_ERROR")
		return
	}
	sw.write(body)
	if err := sw.commit(); err != nil && !store.Refused(err) {
		h.errorLog.Printf("httpcache: store: %v", err)
	}
	h.forwardedHeader(rw.Header(), tx, res, h.storedStatus(h.statusMiss))
	if res.StatusCode != http.StatusOK {
		rw.WriteHeader(res.StatusCode)
		rw.Write(body) //nolint:errcheck // the client may be gone
		return
	}
	serveRange(rw, tx.req, bytes.NewReader(body))
}

// outgoingHeader builds the request header sent to the origin: the client's
// end-to-end fields but the unkeyed ones (unkeyed.go), X-Forwarded-For as
// forwarded_for says, Via added
// (via on), Authorization only as login= allows. The request_header_*
// rules are applied last, in forward.
func (h *Handler) outgoingHeader(tx *transaction, peer *Peer) http.Header {
	out := tx.req.Header.Clone()
	if out == nil {
		out = http.Header{}
	}
	removeHopByHop(out)
	h.hdr.removeUnkeyed(out)                // unkeyed.go
	stripMethodOverride(tx.req.Method, out) // CPDoS HMO (cpdos.go)
	switch {
	case peer.Login == "PASSTHRU" || peer.Login == "PASS":
	case peer.header != "":
		out.Set("Authorization", peer.header)
	default:
		// Squid does not pass the client's credentials to an origin server
		// peer unless login=PASS or login=PASSTHRU says so.
		delete(out, "Authorization")
	}
	h.setForwardedFor(out, tx)
	if h.via != nil {
		out["Via"] = h.appendVia(out["Via"])
	}
	return out
}

// errorStatus maps a forwarding error to the status and Squid error page.
func errorStatus(ctx context.Context, err error) (int, string) {
	var ne net.Error
	switch {
	case errors.Is(err, errBodyTooLarge): // timeouts.go
		return http.StatusRequestEntityTooLarge, "ERR_TOO_BIG"
	case errors.Is(err, errClientBodyTimeout):
		return http.StatusRequestTimeout, "ERR_READ_TIMEOUT"
	case ctx.Err() != nil:
		return http.StatusBadGateway, "ERR_READ_ERROR"
	case errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, "ERR_READ_TIMEOUT"
	}
	if code, ok := isOriginError(err); ok {
		return http.StatusBadGateway, code // malformed response (originscan.go)
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
			if err := sw.commit(); err != nil && !store.Refused(err) {
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
	onCommit func() // run once the object is stored
	pw       *io.PipeWriter
	done     chan error
	err      error // Put's result once received
	ended    bool  // done has been received
	n        int64
	limit    int64
}

// startStore begins a Put of the object and returns its writer.
func (h *Handler) startStore(key string, c *cached, size int64) *storeWriter {
	pr, pw := io.Pipe()
	sw := &storeWriter{pw: pw, done: make(chan error, 1), limit: h.opts.MaxObjectSize}
	meta := metaFor(c, size)
	h.background.Go(func() {
		err := h.storePut(context.Background(), key, meta, pr) // recovers a panic
		// Unblock the writer if Put gave up before the end of the body.
		pr.CloseWithError(cmp.Or(err, io.ErrClosedPipe))
		sw.done <- err
	})
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
	err := sw.wait()
	if err == nil && sw.onCommit != nil {
		sw.onCommit()
	}
	return err
}

// abort discards the object.
func (sw *storeWriter) abort(err error) {
	if sw == nil {
		return
	}
	sw.pw.CloseWithError(err)
	sw.wait()
}
