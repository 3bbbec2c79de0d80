package httpcache

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// UpgradeRule holds the http_upgrade_request_protocols lines of one
// protocol, in order.
type UpgradeRule struct {
	// Protocol is the protocol name, optionally with "/version"
	// ("WebSocket", "Bar/1"), case-sensitive as in Squid, or OTHER: the
	// rules for every protocol that has none of its own.
	Protocol string

	// Rules are its allow and deny lines. The first whose acls all match
	// decides; when none does, the offer is dropped (unlike http_access,
	// there is no implicit opposite of the last line).
	Rules []Rule
}

// upgradeOffers returns the protocols of the request's Upgrade field that
// http_upgrade_request_protocols allows, as Squid filters them: for each
// offer P[/V], the rules naming P (those naming P with another version do
// not apply) or, when no rule names P, the OTHER rules. A field that
// violates the HTTP syntax is ignored whole.
func (h *Handler) upgradeOffers(tx *transaction) []string {
	rules := h.opts.UpgradeProtocols
	values := tx.req.Header["Upgrade"]
	if len(rules) == 0 || len(values) == 0 {
		return nil
	}
	var offers []string
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.Trim(p, " \t")
			if p == "" {
				continue // empty list elements are allowed (RFC 9110, 5.6.1)
			}
			name, version, versioned := strings.Cut(p, "/")
			if !isToken(name) || versioned && !isToken(version) {
				return nil
			}
			offers = append(offers, p)
		}
	}
	var allowedOffers []string
	for _, p := range offers {
		name, version, _ := strings.Cut(p, "/")
		named := false
		decided, allow := false, false
		for i := range rules {
			rn, rv, rversioned := strings.Cut(rules[i].Protocol, "/")
			if rules[i].Protocol == "OTHER" || rn != name {
				continue
			}
			named = true
			if decided || rversioned && rv != version {
				continue // inapplicable, but P has rules of its own
			}
			decided, allow = firstMatch(rules[i].Rules, tx)
		}
		if !named {
			for i := range rules {
				if rules[i].Protocol == "OTHER" && !decided {
					decided, allow = firstMatch(rules[i].Rules, tx)
				}
			}
		}
		if allow {
			allowedOffers = append(allowedOffers, p)
		}
	}
	return allowedOffers
}

// firstMatch returns whether a rule of rules matched, and if so whether
// it allows.
func firstMatch(rules []Rule, tx *transaction) (matched, allow bool) {
	for i := range rules {
		if rules[i].matches(tx) {
			return true, rules[i].Allow
		}
	}
	return false, false
}

// upgrade handles a request that offers protocols http_upgrade_request_protocols
// allows: the request goes to the origin with those offers on a connection
// of its own, and only a real 101 (Switching Protocols) naming one of them,
// with Connection: upgrade, turns the client connection into a tunnel to
// the origin (logged TCP_TUNNEL, as Squid does). Any other answer is relayed
// as an ordinary response and the client connection stays HTTP; a 101 that
// fails those checks is a 502 (ERR_INVALID_RESP), as in Squid. It returns
// false when the request has nothing to upgrade to (Squid's default: the
// Upgrade field is dropped and the request served as any other).
//
// An upgrade request is never answered from the cache nor stored (Squid
// may answer one from the cache), and it is sent to the first destination
// that accepts a connection.
func (h *Handler) upgrade(rw *countingWriter, tx *transaction) bool {
	req := tx.req
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.ContentLength != 0 || len(req.TransferEncoding) > 0 {
		return false
	}
	offers := h.upgradeOffers(tx)
	if len(offers) == 0 {
		return false
	}
	if tx.result == "" {
		tx.result = "TCP_MISS"
	}
	path := h.selectPath(tx)
	if len(path) == 0 {
		h.serveError(rw, tx, http.StatusServiceUnavailable, "ERR_CANNOT_FORWARD")
		return true
	}
	ctx := req.Context()
	var conn net.Conn
	var err error
	for _, hop := range path {
		tx.peer, tx.hier = hop.peer, hop.hier
		if conn, err = h.dialHop(ctx, hop.peer, tx); err == nil {
			break
		}
		if hop.peer.idx >= 0 {
			h.connectFailed(hop.peer)
		}
	}
	if err != nil {
		status, code := errorStatus(ctx, err)
		h.serveError(rw, tx, status, code)
		return true
	}
	defer conn.Close()
	outreq, err := h.outgoingRequest(tx, tx.peer, nil, nil, false)
	if err != nil {
		tx.peer, tx.hier = nil, ""
		h.serveError(rw, tx, http.StatusBadRequest, "ERR_INVALID_URL")
		return true
	}
	outreq.Header["Connection"] = []string{"Upgrade"}
	outreq.Header["Upgrade"] = []string{strings.Join(offers, ", ")}
	if _, ok := outreq.Header["User-Agent"]; !ok {
		outreq.Header["User-Agent"] = []string{""} // not Go's default
	}
	d := cmp.Or(h.readTimeout(), DefaultReadTimeout)
	tx.peerStart = h.now()
	conn.SetDeadline(time.Now().Add(d)) //nolint:errcheck // reported by the I/O
	br := bufio.NewReader(conn)
	var res *http.Response
	if err = outreq.Write(conn); err == nil {
		res, err = readFinalOrSwitch(br, outreq)
	}
	if err != nil {
		status, code := errorStatus(ctx, err)
		h.serveError(rw, tx, status, code)
		return true
	}
	defer res.Body.Close()
	tx.peerStatus, tx.peerDone = res.StatusCode, h.now()
	if res.StatusCode != http.StatusSwitchingProtocols {
		h.relayPlain(rw, tx, res)
		return true
	}
	proto, ok := switchedTo(res.Header, offers)
	if !ok {
		h.serveError(rw, tx, http.StatusBadGateway, "ERR_INVALID_RESP")
		return true
	}
	h.tunnel(rw, tx, res, proto, conn, br, d)
	return true
}

// dialHop connects to the destination p, with TLS when the peer speaks
// it (cache_peer tls) or when going direct to an https URL.
func (h *Handler) dialHop(ctx context.Context, p *Peer, tx *transaction) (net.Conn, error) {
	timeout := p.ConnectTimeout
	if p.idx < 0 {
		timeout = cmp.Or(h.opts.ConnectTimeout, time.Minute)
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	addr := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
	var conf *tls.Config
	switch {
	case p.TLS != nil:
		conf = p.TLS.Clone()
	case p.idx < 0 && strings.HasPrefix(tx.url, "https:"):
		conf = &tls.Config{}
	}
	if conf == nil {
		return dialer.DialContext(ctx, "tcp", addr)
	}
	if conf.ServerName == "" {
		conf.ServerName = p.Host
	}
	conf.NextProtos = []string{"http/1.1"} // an upgrade is HTTP/1.1 only
	return (&tls.Dialer{NetDialer: dialer, Config: conf}).DialContext(ctx, "tcp", addr)
}

// readFinalOrSwitch reads the origin's answer, skipping interim 1xx
// responses other than 101.
func readFinalOrSwitch(br *bufio.Reader, outreq *http.Request) (*http.Response, error) {
	for range 16 {
		res, err := http.ReadResponse(br, outreq)
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			return res, nil
		}
		res.Body.Close()
	}
	return nil, errors.New("httpcache: too many interim responses")
}

// switchedTo checks a 101 as Squid does (a protocol named in Upgrade, and
// Connection: upgrade) and, beyond Squid, that the protocol is one the
// request offered. It returns the Upgrade value.
func switchedTo(hdr http.Header, offers []string) (string, bool) {
	if !headerHasToken(hdr, "Connection", "upgrade") {
		return "", false
	}
	v := strings.TrimSpace(hdr.Get("Upgrade"))
	if v == "" || strings.Contains(v, ",") {
		return "", false
	}
	for _, o := range offers {
		on, _, _ := strings.Cut(o, "/")
		vn, _, _ := strings.Cut(v, "/")
		if strings.EqualFold(o, v) || strings.EqualFold(on, v) || strings.EqualFold(on, vn) {
			return v, true
		}
	}
	return "", false
}

// headerHasToken reports whether the comma-separated field name holds
// token, case-insensitively.
func headerHasToken(hdr http.Header, name, token string) bool {
	for _, v := range hdr[name] {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// relayPlain sends the origin's non-101 answer to an upgrade request as an
// ordinary response: the client connection stays HTTP, and nothing is
// stored.
func (h *Handler) relayPlain(rw *countingWriter, tx *transaction, res *http.Response) {
	removeHopByHop(res.Header)
	h.forwardedHeader(rw.Header(), tx, res, h.statusNoStore)
	rw.WriteHeader(res.StatusCode)
	if tx.req.Method == http.MethodHead {
		return
	}
	if err := h.copyBody(rw, res.Body, nil); err != nil {
		tx.result += "_ABORTED"
		if errors.Is(err, errOriginBody) {
			h.logTransaction(tx, rw)
			tx.logged = true
			panic(http.ErrAbortHandler)
		}
	}
}

// tunnel sends the 101 to the client and then copies bytes both ways
// until both sides have finished, or neither has sent anything for d
// (squid.conf read_timeout, which Squid's tunnels use as well). It is
// logged as Squid 5 logs it: TCP_TUNNEL with status 200 (tunnel.cc sets
// the status of every tunnel it starts shoveling to 200), with the bytes
// sent to the client.
func (h *Handler) tunnel(rw *countingWriter, tx *transaction, res *http.Response, proto string, origin net.Conn, obr *bufio.Reader, d time.Duration) {
	client, cbuf, err := http.NewResponseController(rw.ResponseWriter).Hijack()
	if err != nil {
		h.serveError(rw, tx, http.StatusBadGateway, "ERR_INVALID_RESP")
		return
	}
	defer client.Close()
	removeHopByHop(res.Header)
	res.Header["Connection"] = []string{"Upgrade"}
	res.Header["Upgrade"] = []string{proto}
	res.Header["Via"] = h.appendVia(res.Header["Via"])
	client.SetDeadline(time.Now().Add(d)) //nolint:errcheck
	head := "HTTP/1.1 101 Switching Protocols\r\n"
	cbuf.WriteString(head) //nolint:errcheck // checked at Flush
	res.Header.Write(cbuf) //nolint:errcheck
	cbuf.WriteString("\r\n")
	headSize := int64(len(head)+headerWireSize(res.Header)) + 2
	if err := cbuf.Flush(); err != nil {
		tx.result = "TCP_TUNNEL_ABORTED"
		return
	}
	tx.result = "TCP_TUNNEL"
	rw.status, rw.bytes, rw.header = http.StatusOK, headSize, headSize
	tx.peerSent += int64(cbuf.Reader.Buffered())

	var last atomic.Int64 // unix nanoseconds of the latest byte either way
	last.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	var toClient, toOrigin int64
	wg.Go(func() { toOrigin = shovel(origin, client, cbuf.Reader, d, &last) })
	toClient = shovel(client, origin, obr, d, &last)
	wg.Wait()
	rw.bytes += toClient
	tx.peerBytes += toClient
	tx.peerSent += toOrigin
	tx.peerDone = h.now()
}

// shovel copies from src (through its buffered reader br) to dst until src
// ends, either side fails, or the tunnel has been idle both ways for d.
// At the end dst's sending half is closed (or, failing that, dst and src
// entirely), so that the other direction ends too. It returns the bytes
// copied.
func shovel(dst, src net.Conn, br *bufio.Reader, d time.Duration, last *atomic.Int64) int64 {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var n int64
	clean := false
	for {
		src.SetReadDeadline(time.Now().Add(d)) //nolint:errcheck
		m, err := br.Read(buf)
		if m > 0 {
			last.Store(time.Now().UnixNano())
			dst.SetWriteDeadline(time.Now().Add(d)) //nolint:errcheck
			if _, werr := dst.Write(buf[:m]); werr != nil {
				break
			}
			n += int64(m)
		}
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, last.Load())) < d {
			continue // the other direction is busy: not idle
		}
		clean = err == io.EOF
		break
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); clean && ok && cw.CloseWrite() == nil {
		return n
	}
	// Unblock the other direction.
	dst.Close()
	src.Close()
	return n
}
