package httpcache

import (
	"context"
	"errors"
	"io"
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

	// Peers are the cache_peer ... originserver lines in config order; the
	// first one is used (FIRSTUP_PARENT). With none, misses get Squid's 503.
	Peers []Peer

	// Access is http_access. An empty list denies everything, as in Squid.
	Access []Rule

	// RefreshPatterns are the refresh_pattern lines in order.
	RefreshPatterns []RefreshPattern

	// VisibleHostname names this cache in Via, X-Cache and Cache-Status
	// (squid.conf visible_hostname). Default "localhost".
	VisibleHostname string

	// Version is the product token in Via and error pages. Default "cuttle".
	Version string

	// MaxObjectSize is maximum_object_size: larger replies are forwarded but
	// not stored. 0 means 4 MiB, Squid's default.
	MaxObjectSize int64

	// Log receives one entry per transaction; nil logs nothing.
	Log *accesslog.Logger

	// ErrorLog receives errors (cache_log); nil uses the log package's
	// standard logger.
	ErrorLog *log.Logger

	// Transport reaches the origin servers; nil uses a pooled
	// http.Transport that never uses an environment proxy and never adds
	// Accept-Encoding.
	Transport http.RoundTripper

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Peer is a cache_peer ... originserver: where misses are forwarded.
type Peer struct {
	// Name is name= (logged by %<A); Host and Port are where to connect.
	Name string
	Host string
	Port int

	// Login is login=: "PASSTHRU" or "PASS" forward the client's
	// Authorization; "user:pass" sends those credentials; "" sends none.
	Login string

	base   string // "http://host:port"
	ip     string // the address logged by %<a
	header string // Authorization for login=user:pass
}

// Handler is the accelerator: one per configuration, shared by every
// listener. Use [Handler.Port] to get the http.Handler of one listener.
type Handler struct {
	opts      Options
	now       func() time.Time
	transport http.RoundTripper
	errorLog  *log.Logger

	// Constant response fields, built once.
	via, xCacheHit, xCacheMiss   []string
	statusHit, statusMiss        []string
	statusStored, statusNoStore  []string
	statusNoStoreM, statusDenied []string
	statusStale                  []string

	states sync.Pool // of *txState

	// maxRevalidate is the largest stored body a revalidation keeps in
	// memory to store it again with updated headers.
	maxRevalidate int64

	// tiers is Store when it can say which tier served a hit (TCP_HIT
	// versus TCP_MEM_HIT), else nil.
	tiers tierGetter
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
	if opts.MaxObjectSize <= 0 {
		opts.MaxObjectSize = 4 << 20
	}
	h := &Handler{opts: opts, now: opts.Now, transport: opts.Transport, errorLog: opts.ErrorLog}
	if h.now == nil {
		h.now = time.Now
	}
	h.states.New = func() any { return new(txState) }
	h.tiers, _ = opts.Store.(tierGetter)
	h.maxRevalidate = min(opts.MaxObjectSize, 16<<20)
	if h.errorLog == nil {
		h.errorLog = log.Default()
	}
	if h.transport == nil {
		h.transport = newTransport()
	}
	h.opts.Peers = make([]Peer, len(opts.Peers))
	for i, p := range opts.Peers {
		if p.Host == "" || p.Port <= 0 || p.Port > 65535 {
			return nil, errors.New("httpcache: peer " + strconv.Quote(p.Name) + ": invalid address")
		}
		hostport := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
		p.base = "http://" + hostport
		p.ip = resolveForLog(p.Host)
		if p.Login != "" && p.Login != "PASS" && p.Login != "PASSTHRU" && strings.Contains(p.Login, ":") {
			user, pass, _ := strings.Cut(p.Login, ":")
			r := http.Request{Header: http.Header{}}
			r.SetBasicAuth(user, pass)
			p.header = r.Header.Get("Authorization")
		}
		if p.Name == "" {
			p.Name = p.Host
		}
		h.opts.Peers[i] = p
	}
	name := opts.VisibleHostname
	h.via = []string{"1.1 " + name + " (" + opts.Version + ")"}
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
	return h, nil
}

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
		IdleConnTimeout:       time.Minute, // server_idle_pconn_timeout default
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

// Port returns the http.Handler for one accelerator listener.
func (h *Handler) Port(p Port) http.Handler {
	if p.Scheme == "" {
		p.Scheme = "http"
	}
	return &portHandler{h: h, port: p}
}

type portHandler struct {
	h    *Handler
	port Port
}

func (ph *portHandler) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	ph.h.serve(rw, req, &ph.port)
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

	result, hier string
	peer         *Peer
	logged       bool
	mimeType     string          // %mt when the reply does not carry it (304)
	entry        accesslog.Entry // the access.log entry, kept here to avoid an allocation
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
	tx.req, tx.port, tx.start = req, port, h.now()
	if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil {
		tx.clientIP, tx.clientPort = ap.Addr(), ap.Port()
	}
	h.handle(cw, tx)
	h.logTransaction(tx, cw)
	*st = txState{} // drop references before pooling
	h.states.Put(st)
}

func (h *Handler) handle(cw *countingWriter, tx *transaction) {
	req := tx.req
	if req.Method == http.MethodConnect {
		// An accelerator never opens tunnels (Squid answers CONNECT on an
		// accel port through its error path too).
		tx.url, tx.result = "error:unsupported-request", "NONE_NONE"
		h.serveError(cw, tx, http.StatusNotImplemented, "ERR_UNSUP_REQ")
		return
	}
	u, err := tx.port.siteURL(req)
	if err != nil {
		tx.url, tx.result = "error:invalid-request", "NONE_NONE"
		h.serveError(cw, tx, http.StatusBadRequest, "ERR_INVALID_URL")
		return
	}
	tx.setURL(u)

	if !allowed(h.opts.Access, tx) {
		tx.result = "TCP_DENIED"
		h.serveError(cw, tx, http.StatusForbidden, "ERR_ACCESS_DENIED")
		return
	}

	status := h.statusNoStoreM
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		status = h.statusMiss
		if reload(req) {
			status = h.statusNoStore
		} else if served, stale := h.serveHit(cw, tx); served {
			return
		} else if stale != nil {
			h.forward(cw, tx, h.statusStale, stale)
			return
		}
		if onlyIfCached(req) {
			// RFC 9111, Section 5.2.1.7: no stored response, so 504.
			tx.result = "TCP_MISS"
			h.serveError(cw, tx, http.StatusGatewayTimeout, "ERR_ONLY_IF_CACHED_MISS")
			return
		}
	}
	h.forward(cw, tx, status, nil)
}

// reload reports whether the client asked not to be served from cache
// (RFC 9111, Section 5.2.1.4 no-cache; Section 5.4 Pragma: no-cache).
func reload(req *http.Request) bool {
	cc := req.Header["Cache-Control"]
	if len(cc) == 0 {
		for _, p := range req.Header["Pragma"] {
			if strings.Contains(strings.ToLower(p), "no-cache") {
				return true
			}
		}
		return false
	}
	c := ParseCacheControl(req.Header)
	return c.NoCache || c.MaxAge == 0
}

// hasConditional reports whether the request carries a condition a hit
// may answer with 304.
func hasConditional(req *http.Request) bool {
	return len(req.Header["If-None-Match"]) > 0 || len(req.Header["If-Modified-Since"]) > 0
}

// onlyIfCached reports whether the client forbids contacting the origin.
func onlyIfCached(req *http.Request) bool {
	return len(req.Header["Cache-Control"]) > 0 && ParseCacheControl(req.Header).OnlyIfCached
}

// serveHit answers from the store when a fresh, matching object exists.
func (h *Handler) serveHit(rw *countingWriter, tx *transaction) (served bool, stale *staleObject) {
	ctx := tx.req.Context()
	var obj *store.Object
	var tier store.Tier = store.TierMemory
	var err error
	if h.tiers != nil {
		obj, tier, err = h.tiers.GetTier(ctx, tx.url)
	} else {
		obj, err = h.opts.Store.Get(ctx, tx.url)
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			h.errorLog.Printf("httpcache: get %s: %v", tx.url, err)
		}
		return false, nil
	}
	defer obj.Body.Close()
	c, ok := obj.Meta.Decoded.(*cached)
	if !ok {
		if c, err = unmarshalCached(obj.Meta.Header); err != nil {
			h.errorLog.Printf("httpcache: stored object %s: %v", tx.url, err)
			return false, nil
		}
	}
	if !c.varyMatches(tx.req) {
		return false, nil
	}
	age := CurrentAge(c.initialAge, c.responseTime, tx.start)
	if age >= c.lifetime || !clientAccepts(tx.req, age, c.lifetime) {
		// RFC 9111, Section 4.3.1: a stale response with a validator is
		// revalidated rather than fetched again, unless the client brings
		// its own conditions.
		if !hasValidator(c.header) || hasConditional(tx.req) || obj.Meta.Size > h.maxRevalidate {
			return false, nil
		}
		body, err := io.ReadAll(io.LimitReader(obj.Body, obj.Meta.Size+1))
		if err != nil || int64(len(body)) != obj.Meta.Size {
			return false, nil
		}
		return false, &staleObject{c: c, body: body}
	}

	out := rw.Header()
	h.storedHeader(out, c, age, h.statusHit, obj.Meta.Size)
	tx.result = "TCP_MEM_HIT"
	if tier == store.TierDisk {
		tx.result = "TCP_HIT"
	}
	if c.status == http.StatusOK && hasConditional(tx.req) {
		if ok, inm := notModified(tx.req, c.header, c.responseTime); ok {
			// RFC 9111, Section 4.3.2: answer the client's condition from
			// the stored response; Squid logs TCP_INM_HIT or TCP_IMS_HIT.
			tx.result = "TCP_IMS_HIT"
			if inm {
				tx.result = "TCP_INM_HIT"
			}
			// RFC 9110, Section 15.4.5: no representation metadata in a
			// 304 (net/http drops Content-Type itself); the log still
			// names the stored type, as Squid's does.
			tx.mimeType = c.header.Get("Content-Type")
			delete(out, "Content-Length")
			delete(out, "Content-Type")
			rw.WriteHeader(http.StatusNotModified)
			return true, nil
		}
	}
	if c.status == http.StatusOK && tx.req.Method == http.MethodGet && len(tx.req.Header["Range"]) > 0 {
		if rs, ok := obj.Body.(io.ReadSeeker); ok {
			// RFC 9110, Section 14: ranges of a complete stored response
			// (206, multipart/byteranges, 416) are cut by net/http, which
			// also sets Content-Length and Content-Range. A nil
			// Content-Type keeps it from sniffing one the origin did not
			// send.
			delete(out, "Content-Length")
			if _, ok := out["Content-Type"]; !ok {
				out["Content-Type"] = nil
			}
			http.ServeContent(rw, tx.req, "", time.Time{}, rs)
			return true, nil
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
		}
	}
	return true, nil
}

// storedHeader fills out with a stored response's fields and the ones a
// cache adds: Age (RFC 9111, Section 5.1), Via, X-Cache, Cache-Status and
// the Content-Length of the stored body.
func (h *Handler) storedHeader(out http.Header, c *cached, age time.Duration, cacheStatus []string, size int64) {
	for k, v := range c.header {
		out[k] = v
	}
	out["Age"] = ageField(age)
	out["Via"] = h.appendVia(c.header["Via"])
	out["X-Cache"] = h.xCacheHit
	out["Cache-Status"] = cacheStatus
	out["Content-Length"] = c.contentLengthField(size)
}

// clientAccepts applies the request's max-age and min-fresh to a fresh
// object (RFC 9111, Sections 5.2.1.1 and 5.2.1.3).
func clientAccepts(req *http.Request, age, lifetime time.Duration) bool {
	if len(req.Header["Cache-Control"]) == 0 {
		return true
	}
	cc := ParseCacheControl(req.Header)
	if cc.MaxAge >= 0 && age > cc.MaxAge {
		return false
	}
	if cc.MinFresh >= 0 && lifetime-age < cc.MinFresh {
		return false
	}
	return true
}

// appendVia adds this cache to a Via field (RFC 9110, Section 7.6.3).
func (h *Handler) appendVia(prev []string) []string {
	if len(prev) == 0 {
		return h.via
	}
	out := make([]string, 0, len(prev)+1)
	return append(append(out, prev...), h.via[0])
}
