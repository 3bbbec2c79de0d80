package httpcache

import (
	"cmp"
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"cuttle/accesslog"
	"cuttle/store"
)

// Options configures a [Handler]. Zero values take the documented defaults.
type Options struct {
	// Store holds cached objects. Required.
	Store store.Store

	// Peers are the cache_peer ... originserver lines in config order.
	// Misses go to the peers that peer selection picks (peerselect.go);
	// when none may take a request and it may not go direct, Squid's 503.
	Peers []Peer

	// AlwaysDirect and NeverDirect are always_direct and never_direct:
	// a request always_direct allows goes to the origin named by its URL
	// (HIER_DIRECT), never to a peer; one never_direct allows only goes
	// to peers. Requests on an http_port without allow-direct never go
	// direct either, as in Squid's accelerator mode. Empty lists allow
	// nothing.
	AlwaysDirect, NeverDirect []Rule

	// ForwardMaxTries is forward_max_tries: how many destinations a
	// request tries when it cannot connect. 0 means 25, Squid 6's default.
	ForwardMaxTries int

	// ConnectTimeout is connect_timeout, the time to connect to an origin
	// when going direct. 0 means one minute, Squid's default. (Peers have
	// their own, [Peer.ConnectTimeout].)
	ConnectTimeout time.Duration

	// PeerProbeInterval is how often a dead peer is probed with a TCP
	// connect while requests would use it. 0 means one second, Squid's
	// rate.
	PeerProbeInterval time.Duration

	// Access is http_access. An empty list denies everything, as in Squid.
	Access []Rule

	// Auth is auth_param basic, which proxy_auth ACLs use; nil means no
	// authentication, and those ACLs never match.
	Auth *BasicAuth

	// RefreshPatterns are the refresh_pattern lines in order.
	RefreshPatterns []RefreshPattern

	// VisibleHostname names this cache in Via, X-Cache and Cache-Status
	// (squid.conf visible_hostname). Default "localhost".
	VisibleHostname string

	// Version is the product token in Via and error pages. Default "cuttle".
	Version string

	// Headers are the header rules: request_header_access,
	// reply_header_access, *_header_replace, *_header_add, forwarded_for,
	// follow_x_forwarded_for and via. The zero value is Squid's default.
	Headers HeaderOptions

	// MaxObjectSize is maximum_object_size: larger replies are forwarded but
	// not stored. 0 means 4 MiB, Squid's default.
	MaxObjectSize int64

	// ReplyHeaderMaxSize is reply_header_max_size: an origin response
	// whose header section is larger is refused with a 502 (ERR_TOO_BIG).
	// 0 means DefaultReplyHeaderMaxSize (64 KiB, Squid's default);
	// negative means no limit. Used by the transports cuttle builds, not
	// by Transport.
	ReplyHeaderMaxSize int64

	// CacheAccess is squid.conf cache: a request denied by it is neither
	// answered from the cache nor stored. Empty allows everything.
	CacheAccess []Rule

	// ReplyAccess is http_reply_access: a reply it denies is replaced by
	// ERR_ACCESS_DENIED (TCP_DENIED_REPLY). Empty allows every reply.
	ReplyAccess []Rule

	// MissAccess is miss_access: a request it denies is not forwarded and
	// gets ERR_FORWARDING_DENIED. Empty allows every request.
	MissAccess []Rule

	// SendHit is send_hit: a stored response it denies is not served (the
	// request is a miss). StoreMiss is store_miss: a response it denies is
	// not stored. Empty allows everything.
	SendHit, StoreMiss []Rule

	// DenyInfo holds the deny_info lines in order: the page, redirect or
	// reset a denial sends, chosen by the last ACL evaluated.
	DenyInfo []DenyInfo

	// ErrorDirectory is error_directory: error page templates are read
	// from files of this directory at start, with Squid's %-codes. ""
	// sends cuttle's built-in pages.
	ErrorDirectory string

	// SuppressVersion is httpd_suppress_version_string: the version is left
	// out of Server, Via and error pages ("cuttle" instead of
	// "cuttle/1.2").
	SuppressVersion bool

	// NegativeTTL is negative_ttl: how long error replies (404, 500 and
	// friends, as Squid lists them) without explicit freshness are kept.
	// 0, Squid's default, keeps none.
	NegativeTTL time.Duration

	// MaxStale is max_stale: how stale an object may be to be served when
	// the origin cannot be reached or fails (RFC 9111, Section 4.2.4). 0
	// means Squid's default of one week; negative means never.
	MaxStale time.Duration

	// CollapsedForwarding is collapsed_forwarding: concurrent misses for one
	// URL make one origin request; the others wait for it and are then
	// answered from the cache (TCP_CF_HIT) or, when the response could not
	// be shared, fetch on their own.
	CollapsedForwarding bool

	// RangeOffsetLimit is range_offset_limit: on a miss, a Range request
	// whose first byte is at most this far into the object fetches the
	// whole object, stores it and answers the range from it; 0 (Squid's
	// default) forwards the Range as it is, and -1 always fetches the whole.
	RangeOffsetLimit int64

	// EnablePurge allows the PURGE method, subject to http_access. Squid
	// enables it when an acl of type method names PURGE.
	EnablePurge bool

	// ReloadLookup makes a client reload look the object up first, so that
	// it is logged TCP_CLIENT_REFRESH_MISS; Squid does so when any
	// refresh_pattern has reload-into-ims or ignore-reload, and otherwise
	// skips the lookup (TCP_MISS).
	ReloadLookup bool

	// CDNCacheControl honours the CDN-Cache-Control response field
	// (RFC 9213): when present, its directives replace Cache-Control and
	// Expires for this cache. Off by default, as in Squid.
	CDNCacheControl bool

	// MaxVariants caps the variants stored per URL (Vary); 0 means
	// DefaultMaxVariants.
	MaxVariants int

	// Stats receives the counters of every transaction; nil gives the
	// Handler its own. Pass the same Stats to the Handler of each
	// configuration so that a reload resets nothing.
	Stats *Stats

	// Conns follows client connections (for the access.log line of one
	// closed before a request); nil gives the Handler its own. Like Stats,
	// one ConnTable serves every configuration of a process.
	Conns *ConnTable

	// DelayPools are squid.conf delay_pools: the bandwidth of misses per
	// pool, network and client (see NewDelayPools); nil limits nothing.
	DelayPools *DelayPools

	// RateLimit is cuttle's request-rate limit per client (see
	// NewRateLimiter); nil limits nothing.
	RateLimit *RateLimiter

	// StoreInfo describes the store's tiers for the cache manager; nil
	// reports none.
	StoreInfo func() []TierInfo

	// Log receives one entry per transaction; nil logs nothing.
	Log *accesslog.Logger

	// FilteredLogs are the access_log lines with acl lists.
	FilteredLogs []FilteredLog

	// ErrorLog receives errors (cache_log); nil uses the log package's
	// standard logger.
	ErrorLog *log.Logger

	// Transport reaches the origin servers; nil uses a pooled
	// http.Transport that never uses an environment proxy and never adds
	// Accept-Encoding.
	Transport http.RoundTripper

	// ReadTimeout is read_timeout: how long a read from an origin server
	// (its response header after the request was sent, then each read of
	// its body) or from a client sending a request body may wait for
	// data. 0 means DefaultReadTimeout, Squid's 15 minutes; negative
	// means never.
	ReadTimeout time.Duration

	// ServerIdleTimeout is server_idle_pconn_timeout: how long a
	// connection to an origin server or peer may wait in the pool for the
	// next request before it is closed. 0 means
	// DefaultServerIdleTimeout, Squid's minute; negative means no
	// connection is kept for another request.
	ServerIdleTimeout time.Duration

	// WriteTimeout is write_timeout for the streams of HTTP/2 clients:
	// how long one write of a response may wait for the client's flow
	// control window (RFC 9113, Section 5.2) before the stream is reset,
	// as each write to an HTTP/1 client waits at most that long for the
	// TCP window (ConnGuardOptions.WriteTimeout). A client that opens
	// many streams and never lets their windows open ("zero window",
	// reliability I3) would otherwise hold a handler per stream for as
	// long as it keeps the connection. 0 means no limit.
	WriteTimeout time.Duration

	// RequestBodyMaxSize is request_body_max_size: a request whose body
	// is larger gets 413 (ERR_TOO_BIG), before its body is read when
	// Content-Length says so, and as soon as the limit is passed when
	// it is chunked. 0, Squid's default, means no limit.
	RequestBodyMaxSize int64

	// UpgradeProtocols is http_upgrade_request_protocols: which protocols
	// a client may ask to switch to with Upgrade (upgrade.go). Empty, as
	// in Squid, forwards no Upgrade at all.
	UpgradeProtocols []UpgradeRule

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Requests are the limits the request pre-scan enforces on client
	// connections (squid.conf request_header_max_size, uri_whitespace;
	// see PrescanConn); the zero value is Squid's defaults.
	Requests RequestLimits
}

// Handler is the accelerator: one per configuration, shared by every
// listener. Use [Handler.Port] to get the http.Handler of one listener.
type Handler struct {
	opts      Options
	now       func() time.Time
	transport http.RoundTripper
	errorLog  *log.Logger
	hdr       *headerRules

	// peers is the state of Options.Peers (peers.go).
	peers *peerSet

	// Constant response fields, built once.
	via, xCacheHit, xCacheMiss   []string
	statusHit, statusMiss        []string
	statusStored, statusNoStore  []string
	statusNoStoreM, statusDenied []string
	statusStale, statusBypass    []string
	statusVaryMiss               []string
	statusStaleStored            []string

	states sync.Pool // of *txState

	// maxRevalidate is the largest stored body a revalidation keeps in
	// memory to store it again with updated headers.
	maxRevalidate int64

	// tiers is Store when it can say which tier served a hit (TCP_HIT
	// versus TCP_MEM_HIT), else nil.
	tiers tierGetter

	maxVariants int
	variantMu   variantLocks
	flights     flightGroup
	background  sync.WaitGroup // store writers and background refreshes: see Wait
	refreshing  flightGroup    // background refreshes (stale-while-revalidate)

	// statusHitTTL holds the Cache-Status values of hits with less than
	// an hour of freshness left ("; hit; ttl=N"), made on first use.
	statusHitTTL *fieldTable
	cacheStatus  string // this cache's name in Cache-Status

	auth *authenticator // auth_param basic, or nil (auth.go)
	// Error pages (denyinfo.go): the Server field, the deny_info line of
	// each ACL and the error_directory templates by name.
	server    []string
	denyInfo  map[string]*DenyInfo
	templates map[string]string
}

// tierGetter is the optional power of a store to report the tier of a hit
// ([store.Tiered] has it).
type tierGetter interface {
	GetTier(ctx context.Context, key string) (*store.Object, store.Tier, error)
}

// New validates opts and returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil {
		return nil, errors.New("httpcache: Options.Store is nil")
	}
	if opts.VisibleHostname == "" {
		opts.VisibleHostname = "localhost"
	}
	if opts.Version == "" {
		opts.Version = "cuttle"
	}
	if opts.SuppressVersion {
		opts.Version, _, _ = strings.Cut(opts.Version, "/")
	}
	if opts.MaxObjectSize <= 0 {
		opts.MaxObjectSize = 4 << 20
	}
	if err := checkGeneratedField("visible_hostname", opts.VisibleHostname, true); err != nil {
		return nil, err
	}
	if err := checkGeneratedField("version", opts.Version, false); err != nil {
		return nil, err
	}
	h := &Handler{opts: opts, now: opts.Now, transport: opts.Transport, errorLog: opts.ErrorLog}
	if h.now == nil {
		h.now = time.Now
	}
	h.states.New = func() any { return new(txState) }
	h.tiers, _ = opts.Store.(tierGetter)
	h.maxRevalidate = min(opts.MaxObjectSize, 16<<20)
	h.maxVariants = cmp.Or(max(opts.MaxVariants, 0), DefaultMaxVariants)
	if h.opts.MaxStale == 0 {
		h.opts.MaxStale = 7 * 24 * time.Hour
	}
	if h.errorLog == nil {
		h.errorLog = log.Default()
	}
	h.setupErrorPages()
	if h.opts.Stats == nil {
		h.opts.Stats = NewStats(h.now)
	}
	if h.opts.Conns == nil {
		h.opts.Conns = new(ConnTable)
	}
	if h.transport == nil {
		h.transport = h.originTransport(cmp.Or(opts.ConnectTimeout, time.Minute), 0, nil)
	}
	if err := h.setupPeers(); err != nil {
		return nil, err
	}
	name := opts.VisibleHostname
	if !opts.Headers.NoVia {
		h.via = []string{"1.1 " + name + " (" + opts.Version + ")"}
	}
	h.hdr = compileHeaderRules(opts.Headers)
	h.xCacheHit = []string{"HIT from " + name}
	h.xCacheMiss = []string{"MISS from " + name}
	cs := cacheStatusName(name)
	h.statusHit = []string{cs + "; hit"}
	h.statusMiss = []string{cs + "; fwd=uri-miss"}
	h.statusStored = []string{cs + "; fwd=uri-miss; stored"}
	h.statusNoStore = []string{cs + "; fwd=request"}
	h.statusNoStoreM = []string{cs + "; fwd=method"}
	h.statusDenied = []string{cs + "; detail=denied"}
	h.statusStale = []string{cs + "; fwd=stale"}
	h.statusBypass = []string{cs + "; fwd=bypass"}
	h.statusVaryMiss = []string{cs + "; fwd=vary-miss"}
	h.statusStaleStored = []string{cs + "; fwd=stale; stored"}
	h.cacheStatus = cs
	h.statusHitTTL = &fieldTable{prefix: cs + "; hit; ttl="}
	if opts.Auth != nil {
		a, err := newAuthenticator(*opts.Auth, h.now, h.errorLog)
		if err != nil {
			return nil, err
		}
		h.auth = a
	}
	return h, nil
}

// Close stops what the Handler runs beside requests: the authentication
// helpers. Requests still being served may fail to authenticate.
func (h *Handler) Close() {
	if h.auth != nil {
		h.auth.close()
	}
}

// Wait waits for the work the Handler's requests left running: objects
// being written to the store and background refreshes
// (stale-while-revalidate). Call it after the servers have stopped and
// before the store is closed.
func (h *Handler) Wait() { h.background.Wait() }

// newTransport returns the pooled origin transport.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second, // squid.conf connect_timeout default
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       DefaultServerIdleTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// resolveForLog returns the IP address Squid would log for a peer host.
func resolveForLog(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	if addrs, err := net.LookupHost(host); err == nil && len(addrs) > 0 {
		return addrs[0]
	}
	return host
}

// cacheStatusName returns the cache's name as an RFC 8941 token when it is
// one, else as a quoted string (RFC 9211, Section 2).
func cacheStatusName(name string) string {
	ok := name != "" && (name[0] == '*' || 'a' <= name[0]|0x20 && name[0]|0x20 <= 'z')
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c > ' ' && c < 0x7f && !strings.ContainsRune(`"(),;<=>?@[\]{}`, rune(c))
	}
	if ok {
		return name
	}
	return strconv.Quote(name)
}

// transaction is one request's state, shared by ACLs, the cache logic and
// the access log.
type transaction struct {
	req        *http.Request
	port       *Port
	start      time.Time
	url        string // absolute URL (Squid's %ru before strip_query_terms)
	hostLen    int    // length of scheme://host[:port] in url
	host       string // lower-case host without port
	urlPort    int
	clientIP   netip.Addr
	clientPort uint16

	// indirectIP is the indirect client found by follow_x_forwarded_for;
	// srcIP, when valid, is the address src ACLs match instead of
	// clientIP (xff.go).
	indirectIP, srcIP netip.Addr

	result, hier string
	peer         *Peer

	// user is the name the client authenticated as (auth_param basic),
	// "" when it did not: logged as %un, and read by userhash peer
	// selection. auth says how far the credentials were checked, authn
	// checks them and challenge is the WWW-Authenticate of a 401
	// (acl_auth.go).
	user      string
	auth      authState
	authn     *authenticator
	challenge []string

	// key is where the response is stored: the URL, or the secondary key
	// of its variant (variants.go).
	key string
	rd  requestDirectives
	rp  *RefreshPattern // refresh_pattern of url, found when first needed

	// lookup is X-Cache-Lookup: whether a usable object was found.
	lookup []string

	// noStore is set when squid.conf cache denies the request.
	noStore bool

	// varyMiss is set when the URL is stored but not the variant the
	// request selects (Cache-Status fwd=vary-miss).
	varyMiss bool

	acl aclState // what ACLs read and record (acltypes.go)

	// For the access log: the error page served (%err_code), the
	// origin's status (%<Hs) and when the origin was asked and had
	// answered in full (%<pt, %<tt).
	errCode             string
	peerStatus          int
	peerStart, peerDone time.Time
	peerSent, peerBytes int64 // bytes sent to and received from the origin
	logged              bool
	mimeType            string          // %mt when the reply does not carry it (304)
	entry               accesslog.Entry // the access.log entry, kept here to avoid an allocation
}

// refresh returns the refresh_pattern of the request's URL.
func (tx *transaction) refresh(patterns []RefreshPattern) *RefreshPattern {
	if tx.rp == nil {
		tx.rp = MatchRefresh(tx.url, patterns)
	}
	return tx.rp
}

// pathQuery returns the URL without scheme and authority.
func (tx *transaction) pathQuery() string { return tx.url[tx.hostLen:] }

// authority returns the URL's host[:port].
func (tx *transaction) authority() string {
	return tx.url[strings.Index(tx.url, "://")+3 : tx.hostLen]
}

func (tx *transaction) setURL(u string) {
	tx.url = u
	rest := u[strings.Index(u, "://")+3:]
	authority := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority = rest[:i]
	}
	tx.hostLen = len(u) - len(rest) + len(authority)
	tx.host = authority
	tx.urlPort = 80
	if strings.HasPrefix(u, "https:") {
		tx.urlPort = 443
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && i > strings.LastIndexByte(authority, ']') {
		if n, err := strconv.Atoi(authority[i+1:]); err == nil {
			tx.urlPort = n
		}
		tx.host = authority[:i]
	}
	tx.host = strings.TrimSuffix(strings.TrimPrefix(tx.host, "["), "]")
}

// txState is the per-request state, pooled so that a hit allocates little.
type txState struct {
	tx transaction
	cw countingWriter
}

func (h *Handler) serve(rw http.ResponseWriter, req *http.Request, port *Port) {
	st := h.states.Get().(*txState)
	*st = txState{}
	tx, cw := &st.tx, &st.cw
	cw.ResponseWriter = rw
	if h.hdr.replyHooks {
		cw.h, cw.tx = h, tx // reply_header_access and reply_header_add
	}
	tx.req, tx.port, tx.start = req, port, h.now()
	markServed(req)
	if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil {
		tx.clientIP, tx.clientPort = ap.Addr(), ap.Port()
	}
	if req.ProtoMajor == 2 && h.opts.WriteTimeout > 0 {
		cw.stall, cw.stallTimeout = http.NewResponseController(rw), h.opts.WriteTimeout
	}
	h.startACL(tx)
	h.handle(cw, tx)
	h.logTransaction(tx, cw)
	if cw.stall != nil {
		// net/http flushes what the handler left buffered after it
		// returns, waiting for the window: that last write too gets
		// write_timeout, and the stream's end stops the timer.
		cw.stall.SetWriteDeadline(time.Now().Add(cw.stallTimeout)) //nolint:errcheck // HTTP/2 supports it
	}
	*st = txState{} // drop references before pooling
	h.states.Put(st)
}

// storedHeader fills out with a stored response's fields and the ones a
// cache adds: Age (RFC 9111, Section 5.1), Via, X-Cache, X-Cache-Lookup,
// Cache-Status and the Content-Length of the stored body.
func (h *Handler) storedHeader(out http.Header, tx *transaction, c *cached, age time.Duration, cacheStatus []string, size int64) {
	for k, v := range c.header {
		out[k] = v
	}
	out["Age"] = ageField(age)
	out["Via"] = h.appendVia(c.header["Via"])
	out["X-Cache"] = h.xCacheHit
	out["X-Cache-Lookup"] = tx.lookup
	out["Cache-Status"] = cacheStatus
	out["Content-Length"] = c.contentLengthField(size)
}

// appendVia adds this cache to a Via field (RFC 9110, Section 7.6.3),
// unless via is off.
func (h *Handler) appendVia(prev []string) []string {
	if len(prev) == 0 || h.via == nil {
		return h.via
	}
	out := make([]string, 0, len(prev)+1)
	return append(append(out, prev...), h.via[0])
}
