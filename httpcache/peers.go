package httpcache

import (
	"cmp"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Peer is a cache_peer ... originserver: where misses are forwarded.
type Peer struct {
	// Name is name= (logged by %<A, named by cache_peer_access); Host and
	// Port are where to connect.
	Name string
	Host string
	Port int

	// Login is login=: "PASSTHRU" or "PASS" forward the client's
	// Authorization; "user:pass" sends those credentials; "" sends none.
	Login string

	// ForcedDomain is forceddomain=: the Host field sent to this peer in
	// place of the one the client asked for. "" keeps the client's.
	ForcedDomain string

	// The selection options of squid.conf cache_peer: round-robin,
	// weighted-round-robin, carp, sourcehash, userhash and default. A peer
	// with none of them is still chosen first-up (FIRSTUP_PARENT).
	RoundRobin, WeightedRoundRobin, CARP, SourceHash, UserHash, Default bool

	// Weight is weight=: the share of requests round-robin, carp,
	// sourcehash and userhash give this peer relative to the others.
	// 0 means 1.
	Weight int

	// MaxConn is max-conn=: at most this many connections are open to the
	// peer, and a peer with that many requests in flight is skipped. 0
	// means no limit.
	MaxConn int

	// ConnectTimeout is connect-timeout=, or else peer_connect_timeout.
	// 0 means 30 seconds, Squid's peer_connect_timeout default.
	ConnectTimeout time.Duration

	// ConnectFailLimit is connect-fail-limit=: after this many connection
	// failures in a row the peer is dead until a probe or a request
	// connects again. 0 means 10, Squid's default.
	ConnectFailLimit int

	// Access is cache_peer_access for this peer. Empty lets every request
	// use it.
	Access []Rule

	// TLS, when not nil, makes cuttle speak HTTPS to the peer with this
	// configuration (cache_peer tls, or ssl). It is used only when
	// Options.Transport is nil.
	TLS *tls.Config

	idx    int    // index in Options.Peers; -1 for the origin reached direct
	base   string // "http://host:port" or "https://host:port"
	ip     string // the address logged by %<a
	header string // Authorization for login=user:pass
}

// peerSet is the run-time state of the peers: transports, liveness,
// round-robin counters and the hash tables of carp, sourcehash and userhash.
type peerSet struct {
	peers         []Peer
	transports    []http.RoundTripper
	inflight      []atomic.Int64 // requests being sent or answered, per peer (max-conn=)
	hashes        hashGroups
	probeInterval time.Duration
	maxTries      int

	mu      sync.Mutex // protects tcpUp, rr, rtt, rttN, probed, probing, rrReset
	tcpUp   []int      // connection failures left before a peer is dead; 0: dead (Squid's tcp_up)
	rr      []int64    // round-robin counters (Squid's rr_count)
	rtt     []int64    // average time to response headers, in milliseconds
	rttN    []int
	probed  []time.Time // when each dead peer was last probed
	probing []bool
	rrReset time.Time // when the round-robin counters were last reset
}

// rrResetInterval is how often Squid resets the round-robin counters.
const rrResetInterval = 5 * time.Minute

// setupPeers checks Options.Peers and builds their state: addresses, the
// Authorization of login=user:pass, one transport per peer (max-conn=,
// connect-timeout=, TLS) unless Options.Transport is set, and the carp,
// sourcehash and userhash tables.
func (h *Handler) setupPeers() error {
	n := len(h.opts.Peers)
	ps := &peerSet{
		peers:         make([]Peer, n),
		transports:    make([]http.RoundTripper, n),
		inflight:      make([]atomic.Int64, n),
		probeInterval: cmp.Or(h.opts.PeerProbeInterval, time.Second),
		maxTries:      cmp.Or(max(h.opts.ForwardMaxTries, 0), 25),
		tcpUp:         make([]int, n),
		rr:            make([]int64, n),
		rtt:           make([]int64, n),
		rttN:          make([]int, n),
		probed:        make([]time.Time, n),
		probing:       make([]bool, n),
		rrReset:       h.now(),
	}
	for i, p := range h.opts.Peers {
		if p.Host == "" || p.Port <= 0 || p.Port > 65535 {
			return errors.New("httpcache: peer " + strconv.Quote(p.Name) + ": invalid address")
		}
		if p.Name == "" {
			p.Name = p.Host
		}
		p.Weight = max(p.Weight, 1)
		p.ConnectTimeout = cmp.Or(max(p.ConnectTimeout, 0), 30*time.Second)
		p.ConnectFailLimit = cmp.Or(max(p.ConnectFailLimit, 0), 10)
		p.idx = i
		scheme := "http://"
		if p.TLS != nil {
			scheme = "https://"
		}
		p.base = scheme + net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
		p.ip = resolveForLog(p.Host)
		if p.Login != "" && p.Login != "PASS" && p.Login != "PASSTHRU" && strings.Contains(p.Login, ":") {
			user, pass, _ := strings.Cut(p.Login, ":")
			r := http.Request{Header: http.Header{}}
			r.SetBasicAuth(user, pass)
			p.header = r.Header.Get("Authorization")
		}
		ps.peers[i] = p
		ps.tcpUp[i] = p.ConnectFailLimit
		ps.rr[i] = 1
		ps.transports[i] = h.opts.Transport
		if ps.transports[i] == nil {
			ps.transports[i] = h.originTransport(p.ConnectTimeout, p.MaxConn, p.TLS)
		}
	}
	ps.hashes = newHashGroups(ps.peers)
	h.opts.Peers = ps.peers
	h.peers = ps
	return nil
}

// newDialTransport returns a pooled transport with the given connect
// timeout, connection limit (0: none) and TLS configuration (nil: the
// default).
func newDialTransport(connectTimeout time.Duration, maxConn int, tlsConfig *tls.Config) *http.Transport {
	tr := newTransport()
	tr.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxConnsPerHost = maxConn
	if tlsConfig != nil {
		tr.TLSClientConfig = tlsConfig.Clone()
	}
	return tr
}

// selectPath returns the destinations of a request in the order they are
// tried, following Squid's peer_select.cc: always_direct first (the
// origin only), then the peers peer selection picks, then the origin when
// going direct is allowed (http_port allow-direct and no never_direct
// match). Its length is at most forward_max_tries.
func (h *Handler) selectPath(tx *transaction) []hop {
	if len(h.opts.AlwaysDirect) > 0 && allowed(h.opts.AlwaysDirect, tx) {
		return []hop{h.directHop(tx)}
	}
	neverDirect := tx.port == nil || !tx.port.AllowDirect ||
		len(h.opts.NeverDirect) > 0 && allowed(h.opts.NeverDirect, tx)
	ps := h.peers
	var path []hop
	if len(ps.peers) > 0 {
		usable := make([]bool, len(ps.peers))
		for i := range ps.peers {
			p := &ps.peers[i]
			// Squid's peerHTTPOkay: below max-conn=, allowed by
			// cache_peer_access and alive.
			usable[i] = (p.MaxConn <= 0 || ps.inflight[i].Load() < int64(p.MaxConn)) &&
				(len(p.Access) == 0 || allowed(p.Access, tx))
		}
		facts := selectFacts{url: tx.url, user: authUser(tx)}
		if tx.clientIP.IsValid() {
			facts.client = tx.clientIP.Unmap().String()
		}
		now := h.now()
		ps.mu.Lock()
		for i := range usable {
			if usable[i] && ps.tcpUp[i] == 0 {
				usable[i] = false
				h.probe(i, now)
			}
		}
		if now.Sub(ps.rrReset) >= rrResetInterval {
			ps.resetRR(now)
		}
		path = selectParents(ps.peers, usable, ps.rr, ps.rtt, &ps.hashes, facts)
		ps.mu.Unlock()
	}
	if !neverDirect {
		path = append(path, h.directHop(tx))
	}
	if len(path) > h.peers.maxTries {
		path = path[:h.peers.maxTries]
	}
	return path
}

// resetRR sets every round-robin counter back to 1, as Squid does every
// five minutes and when a peer revives (so that it is not flooded with
// the requests it missed). ps.mu must be held.
func (ps *peerSet) resetRR(now time.Time) {
	for i := range ps.rr {
		ps.rr[i] = 1
	}
	ps.rrReset = now
}

// authUser returns the name of the user the request authenticated as
// (auth_param, through a proxy_auth acl of http_access), for userhash;
// empty when the request was not authenticated, as in Squid.
func authUser(tx *transaction) string {
	return tx.user
}

// directHop is the origin server named by the request's URL (HIER_DIRECT).
// The client's Authorization goes to it unchanged, as it is the origin.
func (h *Handler) directHop(tx *transaction) hop {
	p := &Peer{
		Name: tx.host, Host: tx.host, Port: tx.urlPort, Login: "PASSTHRU", idx: -1,
		base: tx.url[:tx.hostLen], ip: tx.host,
	}
	return hop{peer: p, hier: "HIER_DIRECT"}
}

// errBadRequest means the outgoing request could not be built.
var errBadRequest = errors.New("httpcache: cannot build the outgoing request")

// roundTrip sends the request to the destinations of path in turn, built
// for each by newRequest, until one connects: a destination that cannot
// be connected to counts as a failure of that peer (connect-fail-limit=)
// and the next one is tried (forward_max_tries), as long as no byte of
// the request body was sent. tx.peer and tx.hier name the last
// destination tried.
func (h *Handler) roundTrip(tx *transaction, path []hop, body *replayBody, newRequest func(*Peer) (*http.Request, error)) (*http.Response, error) {
	var err error
	for i := range path {
		tx.peer, tx.hier = path[i].peer, path[i].hier
		var outreq *http.Request
		if outreq, err = newRequest(path[i].peer); err != nil {
			return nil, errors.Join(errBadRequest, err)
		}
		var res *http.Response
		if res, err = h.send(path[i].peer, outreq); err == nil {
			return h.idleBody(res), nil // read_timeout (timeouts.go)
		}
		if !connectFailure(err) || body.started() || outreq.Context().Err() != nil {
			break
		}
	}
	return nil, err
}

// send makes one request to peer and keeps its state: requests in flight
// (max-conn=), connection failures and successes (connect-fail-limit=) and
// the response time (weighted-round-robin).
func (h *Handler) send(p *Peer, outreq *http.Request) (*http.Response, error) {
	if p.idx < 0 {
		// Going direct: log the address connected to (%<a).
		trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
			if ap, err := netip.ParseAddrPort(ci.Conn.RemoteAddr().String()); err == nil {
				p.ip = ap.Addr().Unmap().String()
			}
		}}
		outreq = outreq.WithContext(httptrace.WithClientTrace(outreq.Context(), trace))
		return h.transport.RoundTrip(outreq)
	}
	ps := h.peers
	ps.inflight[p.idx].Add(1)
	start := h.now()
	res, err := ps.transports[p.idx].RoundTrip(outreq)
	if err != nil {
		ps.inflight[p.idx].Add(-1)
		if connectFailure(err) {
			h.connectFailed(p)
		}
		return nil, err
	}
	h.connectSucceeded(p, h.now().Sub(start))
	res.Body = &peerBody{ReadCloser: res.Body, inflight: &ps.inflight[p.idx]}
	return res, nil
}

// peerBody ends a request in flight to a peer when its response body is
// closed.
type peerBody struct {
	io.ReadCloser
	inflight *atomic.Int64
	closed   atomic.Bool
}

func (b *peerBody) Close() error {
	if !b.closed.Swap(true) {
		b.inflight.Add(-1)
	}
	return b.ReadCloser.Close()
}

// connectFailure reports whether err means that no connection could be
// made (refused, unreachable, timed out while connecting), so that the
// request was not sent.
func connectFailure(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// connectFailed counts a connection failure to p. The failure that reaches
// connect-fail-limit= marks it dead, as Squid's peerConnectFailed does,
// with the same cache.log lines.
func (h *Handler) connectFailed(p *Peer) {
	h.errorLog.Printf("TCP connection to %s/%d failed", p.Host, p.Port)
	ps := h.peers
	ps.mu.Lock()
	dead := false
	if ps.tcpUp[p.idx] > 0 {
		ps.tcpUp[p.idx]--
		dead = ps.tcpUp[p.idx] == 0
	}
	ps.mu.Unlock()
	if dead {
		h.errorLog.Printf("Detected DEAD Parent: %s", p.Name)
	}
}

// connectSucceeded records that p answered after rtt: it is alive again
// with its full connect-fail-limit=, and its average response time
// (weighted-round-robin) moves toward rtt.
func (h *Handler) connectSucceeded(p *Peer, rtt time.Duration) {
	ps := h.peers
	ps.mu.Lock()
	revived := ps.tcpUp[p.idx] == 0
	ps.tcpUp[p.idx] = p.ConnectFailLimit
	if revived {
		ps.resetRR(h.now())
	}
	if rtt >= 0 {
		// Squid's running average over the last 50 samples at most.
		n := min(ps.rttN[p.idx]+1, 50)
		ps.rttN[p.idx] = n
		ps.rtt[p.idx] = (ps.rtt[p.idx]*int64(n-1) + rtt.Milliseconds()) / int64(n)
	}
	ps.mu.Unlock()
	if revived {
		h.errorLog.Printf("Detected REVIVED Parent: %s", p.Name)
	}
}

// probe starts a TCP connect to dead peer i, unless one is running or one
// started less than PeerProbeInterval ago (Squid's peerProbeConnect, which
// selection triggers the same way). A probe that connects revives the
// peer. ps.mu must be held.
func (h *Handler) probe(i int, now time.Time) {
	ps := h.peers
	if ps.probing[i] || (!ps.probed[i].IsZero() && now.Sub(ps.probed[i]) < ps.probeInterval) {
		return
	}
	ps.probing[i], ps.probed[i] = true, now
	p := &ps.peers[i]
	go func() {
		defer h.recoverPanic("probe of peer " + p.Name)
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), p.ConnectTimeout)
		if err == nil {
			conn.Close()
		}
		ps.mu.Lock()
		ps.probing[i] = false
		ps.mu.Unlock()
		if err == nil {
			h.connectSucceeded(p, -1)
		}
	}()
}

// replayBody is a request body that tells whether the transport has
// started reading it: until then, the request may go to another peer.
// Closing it does nothing; the server closes the client's body.
type replayBody struct {
	r    io.Reader
	read atomic.Bool
}

// newReplayBody wraps the body of req, or returns nil when it has none.
func newReplayBody(req *http.Request) *replayBody {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
		return nil
	}
	return &replayBody{r: req.Body}
}

func (b *replayBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

func (b *replayBody) Close() error { return nil }

// started reports whether any of the body was read. A nil body never is.
func (b *replayBody) started() bool { return b != nil && b.read.Load() }
