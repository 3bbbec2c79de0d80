package httpcache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cuttle/store"
)

// Port returns the http.Handler for one accelerator listener.
func (h *Handler) Port(p Port) http.Handler {
	if p.Scheme == "" {
		p.Scheme = "http"
	}
	// Squid 5's X-Cache-Lookup names the cache and the port the request
	// came in on.
	at := " from " + h.opts.VisibleHostname + ":" + strconv.Itoa(p.ListenPort)
	p.lookupHit = []string{"HIT" + at}
	p.lookupMiss = []string{"MISS" + at}
	p.lookupNone = []string{"NONE" + at}
	return &portHandler{h: h, port: p}
}

type portHandler struct {
	h    *Handler
	port Port
}

func (ph *portHandler) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	defer ph.h.recoverRequest(req) // panics.go
	ph.h.serve(rw, req, &ph.port)
}

func (h *Handler) handle(cw *countingWriter, tx *transaction) {
	req := tx.req
	if h.refuseMalformedRequest(cw, tx) { // CPDoS HMC (cpdos.go)
		return
	}
	if req.Method == http.MethodConnect || req.Method == "PRI" {
		// An accelerator never opens tunnels (Squid answers CONNECT on an
		// accel port through its error path too). PRI is the HTTP/2
		// connection preface (RFC 9113, Section 3.4), never a request:
		// net/http hands "PRI * HTTP/2.0" sent in clear (h2c with prior
		// knowledge) to the handler with the rest of the connection as
		// its body, which must not reach the origin.
		tx.url, tx.result = "error:unsupported-request", "NONE_NONE"
		h.serveError(cw, tx, http.StatusNotImplemented, "ERR_UNSUP_REQ")
		return
	}
	u, err := h.requestURL(tx) // the site's URL, or the cache manager's (mgr.go)
	if err != nil {
		tx.url, tx.result = "error:invalid-request", "NONE_NONE"
		h.serveError(cw, tx, http.StatusBadRequest, "ERR_INVALID_URL")
		return
	}
	tx.setURL(u)
	tx.key = tx.url
	if h.bodyTooLarge(cw, tx) { // request_body_max_size (timeouts.go)
		return
	}
	h.followXFF(tx)
	tx.lookup = tx.port.lookupNone

	if h.rateLimited(cw, tx) {
		return
	}
	tx.acl.last = ""
	if allow, challenge := h.httpAccess(tx); !allow {
		if challenge {
			h.serveChallenge(cw, tx)
			return
		}
		name := tx.acl.last // deny_info names the last ACL evaluated
		tx.result = "TCP_DENIED"
		h.deny(cw, tx, http.StatusForbidden, "ERR_ACCESS_DENIED", name)
		return
	}
	if h.serveManager(cw, tx) {
		return
	}
	if req.Method == "PURGE" {
		h.purge(cw, tx)
		return
	}
	if h.upgrade(cw, tx) { // http_upgrade_request_protocols (upgrade.go)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		h.forward(cw, tx, h.statusNoStoreM, nil)
		return
	}
	tx.lookup = tx.port.lookupMiss
	if req.ContentLength != 0 {
		// A GET or HEAD with a body (reliability.md A13, C7): the answer
		// may depend on the body, which is not in the key, so it is
		// forwarded with its body and neither looked up nor stored.
		tx.noStore = true
		h.forward(cw, tx, h.statusBypass, nil)
		return
	}
	if len(h.opts.CacheAccess) > 0 && !allowed(h.opts.CacheAccess, tx) {
		// squid.conf cache deny: no lookup, nothing stored.
		tx.noStore = true
		h.forward(cw, tx, h.statusBypass, nil)
		return
	}
	if hasBody(req) {
		// A GET or HEAD with a body (a "fat GET"): the response may depend
		// on the body, which is not part of the key, so the cache is
		// bypassed both ways (RFC 9110, Section 9.3.1).
		tx.noStore = true
		h.forward(cw, tx, h.statusBypass, nil)
		return
	}
	tx.rd = parseRequestDirectives(req.Header)
	if tx.rd.reload && !h.opts.ReloadLookup {
		// Squid skips the lookup on a client reload unless some
		// refresh_pattern could make use of the stored object.
		h.forward(cw, tx, h.statusNoStore, nil)
		return
	}
	switch out, stale := h.serveHit(cw, tx); out {
	case hitServed:
		return
	case hitStale:
		defer stale.close()
		h.forward(cw, tx, h.statusStale, stale)
		return
	case hitReload:
		tx.result = "TCP_CLIENT_REFRESH_MISS"
		h.forward(cw, tx, h.statusNoStore, nil)
		return
	}
	if tx.rd.cc.OnlyIfCached {
		// RFC 9111, Section 5.2.1.7: no stored response, so 504.
		tx.result = "TCP_MISS"
		h.serveError(cw, tx, http.StatusGatewayTimeout, "ERR_ONLY_IF_CACHED_MISS")
		return
	}
	// Only a plain GET can lead: a HEAD or Range answer is not stored, so
	// it would leave nothing for the waiters.
	if h.opts.CollapsedForwarding && !tx.rd.reload && req.Method == http.MethodGet && len(req.Header["Range"]) == 0 {
		h.collapsedMiss(cw, tx)
		return
	}
	status := h.statusMiss
	if tx.varyMiss {
		status = h.statusVaryMiss
	}
	h.forward(cw, tx, status, nil)
}

// hitOutcome is what serveHit did.
type hitOutcome uint8

const (
	hitNone   hitOutcome = iota // nothing usable stored: a miss
	hitServed                   // the response was sent
	hitStale                    // revalidate the returned stale object
	hitReload                   // client reload of a stored object
)

// lookup finds the stored response for the request: the object under the
// URL or, when the URL holds a variant index, the variant the request
// selects (RFC 9111, Section 4.1). It sets tx.key to where it was found.
// The caller closes the returned object's body.
func (h *Handler) lookup(tx *transaction) (*store.Object, *cached, store.Tier) {
	ctx := tx.req.Context()
	obj, tier, err := h.get(ctx, tx.url)
	if err != nil {
		if errors.Is(err, store.ErrCorrupt) {
			tx.result = "TCP_SWAPFAIL_MISS" // removed by the store; fetched again
		}
		return nil, nil, 0
	}
	if isVariantIndex(&obj.Meta) {
		idx, err := decodeVariantIndex(&obj.Meta)
		obj.Body.Close()
		if err != nil {
			return nil, nil, 0
		}
		tx.key = variantKey(tx.url, idx.names, tx.req.Header)
		if obj, tier, err = h.get(ctx, tx.key); err != nil {
			tx.varyMiss = true
			if errors.Is(err, store.ErrCorrupt) {
				tx.result = "TCP_SWAPFAIL_MISS"
			}
			return nil, nil, 0
		}
	}
	c, ok := obj.Meta.Decoded.(*cached)
	if !ok {
		if c, err = unmarshalCached(obj.Meta.Header); err != nil {
			// A stored object that fails its check is removed and
			// fetched again (Squid's TCP_SWAPFAIL_MISS).
			h.errorLog.Printf("httpcache: stored object %s: %v; removed", tx.key, err)
			obj.Body.Close()
			h.opts.Store.Delete(context.WithoutCancel(ctx), tx.key) //nolint:errcheck // best effort
			tx.result = "TCP_SWAPFAIL_MISS"
			return nil, nil, 0
		}
	}
	if !c.varyMatches(tx.req) {
		obj.Body.Close()
		tx.varyMiss = true
		return nil, nil, 0
	}
	return obj, c, tier
}

// get reads one stored object and the tier it came from.
func (h *Handler) get(ctx context.Context, key string) (*store.Object, store.Tier, error) {
	var obj *store.Object
	tier := store.TierMemory
	var err error
	if h.tiers != nil {
		obj, tier, err = h.tiers.GetTier(ctx, key)
	} else {
		obj, err = h.opts.Store.Get(ctx, key)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrCorrupt) {
		h.errorLog.Printf("httpcache: get %s: %v", key, err)
	}
	return obj, tier, err
}

// serveHit answers from the store when a stored response may be used
// (decideHit), and otherwise says what to do instead.
func (h *Handler) serveHit(rw *countingWriter, tx *transaction) (hitOutcome, *staleObject) {
	obj, c, tier := h.lookup(tx)
	if obj == nil {
		return hitNone, nil
	}
	keepOpen := false
	defer func() {
		if !keepOpen {
			obj.Body.Close()
		}
	}()
	tx.lookup = tx.port.lookupHit
	age := CurrentAge(c.initialAge, c.responseTime, tx.start)
	rp := &defaultRefresh
	if tx.rd.reload || tx.rd.conditional || age >= c.lifetime {
		rp = tx.refresh(h.opts.RefreshPatterns)
	}
	action := decideHit(&tx.rd, rp, age, c.lifetime, func() CacheControl { return h.responseCC(c.header) })
	switch action {
	case reload:
		return hitReload, nil
	case revalidate:
		// RFC 9111, Section 4.3.1: revalidate (or fetch again) keeping the
		// stored copy open for the answer and for when the origin fails.
		s := h.staleFrom(obj, c, tx.key, age)
		if s == nil {
			return hitNone, nil
		}
		keepOpen = true
		return hitStale, s
	case useStaleRefresh:
		h.refreshInBackground(tx, c)
	}
	if !h.sendHitAllowed(tx, c) {
		return hitNone, nil // squid.conf send_hit deny: a miss
	}

	out := rw.Header()
	h.storedHeader(out, tx, c, age, h.hitStatus(c.lifetime-age), obj.Meta.Size)
	tx.result = "TCP_MEM_HIT"
	switch {
	case negativeStatus(c.status):
		tx.result = "TCP_NEGATIVE_HIT"
	case tier == store.TierDisk:
		tx.result = "TCP_HIT"
	}
	if h.answerConditional(rw, tx, c) {
		return hitServed, nil // a 304, which http_reply_access always allows
	}
	if !h.replyAllowed(rw, tx, c.status, c.header) {
		return hitServed, nil
	}
	if c.status == http.StatusOK && tx.req.Method == http.MethodGet && len(tx.req.Header["Range"]) > 0 {
		if rs, ok := obj.Body.(io.ReadSeeker); ok {
			serveRange(rw, tx.req, rs)
			return hitServed, nil
		}
	}
	fields := c.headerBytes
	for _, k := range hitReplaced {
		fields += fieldSize(k, out[k])
	}
	rw.writeHeaderSized(c.status, fields)
	if tx.req.Method != http.MethodHead {
		if _, err := io.Copy(rw, obj.Body); err != nil {
			tx.result += "_ABORTED"
			if errors.Is(err, store.ErrCorrupt) {
				// A stored block failed its check after the response
				// began: the client must see a broken message, never a
				// wrong byte (the store has removed the object).
				h.logTransaction(tx, rw)
				tx.logged = true
				panic(http.ErrAbortHandler)
			}
		}
	}
	return hitServed, nil
}

// hitStatus is the Cache-Status of a hit with ttl of freshness left
// (RFC 9211, Section 2.1 hit, 2.5 ttl); negative once stale.
func (h *Handler) hitStatus(ttl time.Duration) []string {
	return h.statusHitTTL.get(int64(ttl / time.Second))
}

// answerConditional answers the client's own conditional request from a
// stored response with 304 when its condition says so (RFC 9111,
// Section 4.3.2); a hit is then logged TCP_INM_HIT or TCP_IMS_HIT as in
// Squid. The response header must already be filled in.
func (h *Handler) answerConditional(rw *countingWriter, tx *transaction, c *cached) bool {
	if c.status != http.StatusOK || !tx.rd.conditional {
		return false
	}
	ok, inm := notModified(tx.req, c.header, c.responseTime)
	if !ok {
		return false
	}
	if strings.HasSuffix(tx.result, "_HIT") {
		tx.result = "TCP_IMS_HIT"
		if inm {
			tx.result = "TCP_INM_HIT"
		}
	}
	// RFC 9110, Section 15.4.5: no representation metadata in a 304
	// (net/http drops Content-Type itself); the log still names the stored
	// type, as Squid's does.
	out := rw.Header()
	tx.mimeType = c.header.Get("Content-Type")
	delete(out, "Content-Length")
	delete(out, "Content-Type")
	rw.WriteHeader(http.StatusNotModified)
	return true
}

// serveRange answers a Range request from a complete stored body
// (RFC 9110, Section 14): 206 with one part or multipart/byteranges, or
// 416, cut by net/http, which also sets Content-Length and Content-Range. A
// nil Content-Type keeps it from sniffing one the origin did not send. The
// Range field is checked first (cleanRanges): one that is malformed or asks
// for too many parts is ignored and the whole body sent (Section 14.2), and
// one that cannot be satisfied gets 416 here, with the Content-Range
// net/http would leave out.
func serveRange(rw http.ResponseWriter, req *http.Request, rs io.ReadSeeker) {
	out := rw.Header()
	delete(out, "Content-Length")
	if _, ok := out["Content-Type"]; !ok {
		out["Content-Type"] = nil
	}
	size, err := rs.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = rs.Seek(0, io.SeekStart)
	}
	if err != nil {
		http.Error(rw, "cannot read the stored object", http.StatusInternalServerError)
		return
	}
	v, ok := cleanRanges(req.Header.Get("Range"))
	switch {
	case !ok || size == 0:
		v = "" // ignore it: the whole (or empty) body
	case v == "":
		out["Content-Range"] = []string{"bytes */" + strconv.FormatInt(size, 10)}
		out["Content-Type"] = nil
		rw.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	r := *req
	r.Header = req.Header.Clone()
	if v == "" {
		r.Header.Del("Range")
	} else {
		r.Header.Set("Range", v)
	}
	http.ServeContent(rw, &r, "", time.Time{}, rs)
}

// negativeStatus lists the error statuses Squid caches negatively: for
// negative_ttl when they carry no freshness of their own, and logged
// TCP_NEGATIVE_HIT when served from the cache.
func negativeStatus(code int) bool {
	switch code {
	case 204, 305, 400, 403, 404, 405, 414, 500, 501, 502, 503, 504:
		return true
	}
	return false
}

// responseCC returns the directives this cache obeys for a response:
// CDN-Cache-Control when Options.CDNCacheControl is set and the field is
// there (RFC 9213, Section 2), else Cache-Control.
func (h *Handler) responseCC(hdr http.Header) CacheControl {
	if h.opts.CDNCacheControl {
		if v := hdr["Cdn-Cache-Control"]; len(v) > 0 {
			return ParseCacheControl(http.Header{"Cache-Control": v})
		}
	}
	return ParseCacheControl(hdr)
}

// purge answers PURGE (Squid's extension method): the stored response of
// the URL, with all its variants, is removed; 200 if there was one, 404 if
// not. Squid allows PURGE only when an acl of type method names it, and
// http_access decides who may.
func (h *Handler) purge(rw *countingWriter, tx *transaction) {
	if !h.opts.EnablePurge {
		tx.result = "TCP_DENIED"
		h.serveError(rw, tx, http.StatusForbidden, "ERR_ACCESS_DENIED")
		return
	}
	tx.result = "TCP_MISS"
	status := http.StatusNotFound
	if h.deleteURL(context.WithoutCancel(tx.req.Context()), tx.url) {
		status = http.StatusOK
	}
	out := rw.Header()
	out["Content-Length"] = []string{"0"}
	out["Via"] = h.via
	rw.WriteHeader(status)
}

// cleanRanges checks a Range field value: a well-formed byte range set
// (RFC 9110, Section 14.1.2; the unit is case-insensitive) of at most
// maxRanges parts whose positions fit in 63 bits. It returns the value
// rewritten in the spelling net/http knows, without the suffix ranges of
// length 0 that can never be satisfied ("" when none is left), and false
// for anything else, which is ignored, as Section 14.2 allows: many small
// or overlapping ranges are a known amplification attack, and a malformed
// one has no meaning.
func cleanRanges(v string) (string, bool) {
	if len(v) < 6 || !strings.EqualFold(v[:6], "bytes=") {
		return "", false
	}
	var b strings.Builder
	n := 0
	for spec := range strings.SplitSeq(v[6:], ",") {
		spec = strings.Trim(spec, " \t")
		if spec == "" {
			continue // empty list elements are allowed (RFC 9110, 5.6.1)
		}
		if n++; n > maxRanges {
			return "", false
		}
		first, last, ok := strings.Cut(spec, "-")
		if !ok || first == "" && last == "" || !digits(first) || !digits(last) {
			return "", false
		}
		if first != "" && last != "" {
			a, _ := strconv.ParseInt(first, 10, 64)
			z, _ := strconv.ParseInt(last, 10, 64)
			if z < a {
				return "", false
			}
		}
		if first == "" && strings.Trim(last, "0") == "" {
			continue // "-0": a suffix of no bytes (Section 14.1.3)
		}
		if b.Len() == 0 {
			b.WriteString("bytes=")
		} else {
			b.WriteByte(',')
		}
		b.WriteString(spec)
	}
	if n == 0 {
		return "", false
	}
	return b.String(), true
}

// digits reports whether s is empty or at most 18 decimal digits, so that
// it fits in an int64.
func digits(s string) bool {
	if len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// maxRanges is the most byte ranges one request may ask for.
const maxRanges = 16
