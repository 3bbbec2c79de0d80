package httpcache

// The cache manager: Squid's text pages (mgr:info, mgr:counters...) on the
// accelerator's own ports. Squid answers two forms of manager URL there:
//
//   - an origin-form target under /squid-internal-mgr/, whatever the Host
//     (Squid's internalCheck in prepareAcceleratedURL), logged as
//     http://<visible_hostname>:<port>/squid-internal-mgr/<page> (Squid's
//     internalLocalUri);
//   - an absolute cache_object://host/page target, which squidclient and
//     cachemgr.cgi send, logged as it came.
//
// Both go through http_access like any request; the built-in manager acl
// matches them, so the usual "http_access allow localhost manager" and
// "http_access deny manager" decide who may read them. A page is built on
// demand, never stored and never forwarded: Squid logs it as TCP_MISS with
// HIER_NONE, and so does cuttle.

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

const (
	// managerPath starts the path of an internal manager URL (Squid 4 and
	// later, /squid-internal-mgr/<page>).
	managerPath = "/squid-internal-mgr/"

	// cacheObjectScheme is the scheme of Squid's older manager URLs
	// (cache_object://host/page).
	cacheObjectScheme = "cache_object://"

	// cacheObjectAlias is what CacheObjectListener turns the scheme into:
	// Go's URL parser takes no '_' in a scheme and net/http answers such a
	// request line 400 before any handler runs.
	cacheObjectAlias = "cache-object"
)

// managerPages lists the pages cuttle serves, in the order of its menu
// page, with the description the menu gives (Squid's mgr:menu).
var managerPages = [...]struct{ name, desc string }{
	{"menu", "This list of pages"},
	{"info", "General runtime information"},
	{"counters", "Traffic and resource counters"},
	{"5min", "Counters averaged over 5 minutes"},
	{"60min", "Counters averaged over 60 minutes"},
	{"utilization", "Counter averages over several periods"},
	{"storedir", "Cache directory statistics"},
	{"mem", "Memory allocation by size class"},
}

// requestURL is the absolute URL of a request (Port.siteURL), with the
// cache manager's two forms recognised first, as Squid's
// prepareAcceleratedURL does on an accel port: a cache_object:// target is
// kept as it is, and an origin-form /squid-internal-mgr/ target becomes
// this cache's own URL whatever the Host says (internalLocalUri: the
// visible_hostname, lower-cased, and the port).
func (h *Handler) requestURL(tx *transaction) (string, error) {
	req := tx.req
	switch {
	case req.URL.Scheme == cacheObjectAlias:
		host := strings.ToLower(req.URL.Host)
		if !validHost(host) {
			return "", errInvalidRequest
		}
		path := req.URL.EscapedPath()
		if path == "" {
			path = "/"
		}
		if req.URL.RawQuery != "" || req.URL.ForceQuery {
			path += "?" + req.URL.RawQuery
		}
		return cacheObjectScheme + host + path, nil
	case strings.HasPrefix(req.RequestURI, managerPath):
		return "http://" + strings.ToLower(h.opts.VisibleHostname) + ":" +
			strconv.Itoa(tx.port.ListenPort) + req.URL.RequestURI(), nil
	}
	return tx.port.siteURL(req)
}

// managerPage returns the page a manager URL asks for (Squid's action,
// without the query or the cache_object "@password"), and false when the
// URL is not one of the manager's. An absolute http URL counts only when
// it names this cache (visible_hostname), as Squid's internalHostnameIs
// requires.
func (h *Handler) managerPage(tx *transaction) (string, bool) {
	var page string
	switch {
	case strings.HasPrefix(tx.url, cacheObjectScheme):
		page = strings.TrimPrefix(tx.pathQuery(), "/")
		if i := strings.IndexByte(page, '@'); i >= 0 {
			page = page[:i]
		}
	case strings.HasPrefix(tx.pathQuery(), managerPath) && strings.EqualFold(tx.host, h.opts.VisibleHostname):
		page = tx.pathQuery()[len(managerPath):]
	default:
		return "", false
	}
	if i := strings.IndexByte(page, '?'); i >= 0 {
		page = page[:i]
	}
	return page, true
}

// serveManager answers a request for a cache manager page, once
// http_access has allowed it, and reports whether the request was one.
// The page is text/plain with Expires and Last-Modified equal to Date, as
// Squid sends it; an unknown page gets Squid's 404 ERR_INVALID_URL.
func (h *Handler) serveManager(rw *countingWriter, tx *transaction) bool {
	page, ok := h.managerPage(tx)
	if !ok {
		return false
	}
	tx.result = "TCP_MISS"
	tx.lookup = tx.port.lookupMiss
	body, ok := h.managerBody(page)
	if !ok {
		h.serveError(rw, tx, http.StatusNotFound, "ERR_INVALID_URL")
		return true
	}
	date := []string{h.now().UTC().Format(http.TimeFormat)}
	out := rw.Header()
	clear(out)
	out["Server"] = []string{h.opts.Version}
	out["Mime-Version"] = []string{"1.0"}
	out["Date"] = date
	out["Content-Type"] = []string{"text/plain;charset=utf-8"}
	out["Expires"] = date
	out["Last-Modified"] = date
	out["Content-Length"] = []string{strconv.Itoa(len(body))}
	out["X-Cache"] = h.xCacheMiss
	out["X-Cache-Lookup"] = tx.lookup
	out["Via"] = h.via
	rw.WriteHeader(http.StatusOK)
	if tx.req.Method != http.MethodHead {
		io.WriteString(rw, body) //nolint:errcheck // the client may be gone; nothing to do
	}
	return true
}

// managerBody builds one page; false for a page cuttle does not have.
func (h *Handler) managerBody(page string) (string, bool) {
	var b strings.Builder
	switch page {
	case "menu":
		// Squid's layout: name and description padded, then the access.
		for _, p := range managerPages {
			b.WriteString(" ")
			b.WriteString(pad(p.name, 22))
			b.WriteString("\t")
			b.WriteString(pad(p.desc, 32))
			b.WriteString("\tpublic\n")
		}
	case "info":
		h.infoPage(&b)
	case "counters":
		h.countersPage(&b)
	case "5min":
		from, to := h.window(5)
		avgPage(&b, from, to)
	case "60min":
		from, to := h.window(60)
		avgPage(&b, from, to)
	case "utilization":
		h.utilizationPage(&b)
	case "storedir":
		h.storedirPage(&b)
	case "mem":
		memPage(&b, h.now().Sub(h.opts.Stats.Start()))
	default:
		return "", false
	}
	return b.String(), true
}

// pad returns s padded with spaces to width (never cut), like printf's %-*s.
func pad(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return s + strings.Repeat(" ", width-len(s))
}

// CacheObjectListener returns ln with one change to the connections it
// accepts: when the first request line of a connection has a
// cache_object:// target (Squid's manager URL, which squidclient mgr:info
// and cachemgr.cgi send), its scheme is respelled so that net/http, which
// refuses a '_' in a scheme, passes the request on to the [Handler]; the
// Handler logs and matches the URL as cache_object:// again. Each
// http_port listener should be wrapped so. Later requests on a persistent
// connection are not rewritten: the manager's clients send one request per
// connection.
func CacheObjectListener(ln net.Listener) net.Listener {
	return cacheObjectListener{ln}
}

type cacheObjectListener struct{ net.Listener }

func (l cacheObjectListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &cacheObjectConn{Conn: c}, nil
}

// cacheObjectConn rewrites the start of its first request line. Only the
// goroutine serving the connection reads it before the first request has
// been read; net/http orders its later background reads after that.
type cacheObjectConn struct {
	net.Conn
	checked bool
	head    []byte // the start of the request, read while checking it
	err     error  // the error that ended that read, returned after head
}

// requestPeek is how much of a request line is looked at: enough for any
// method, a space and the scheme.
const requestPeek = 64

func (c *cacheObjectConn) Read(p []byte) (int, error) {
	if !c.checked {
		c.checked = true
		c.head, c.err = peekRequestLine(c.Conn)
		respellCacheObject(c.head)
	}
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	if c.err != nil {
		err := c.err
		c.err = nil
		return 0, err
	}
	return c.Conn.Read(p)
}

// CloseWrite keeps net/http's graceful close (a TCP half-close) working
// through the wrapper.
func (c *cacheObjectConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the connection's own ReadFrom (sendfile, splice).
func (c *cacheObjectConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// peekRequestLine reads from r until it holds the method, a space and as
// many bytes as the cache_object scheme, or a line end, or requestPeek
// bytes, or r fails; whichever comes first.
func peekRequestLine(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, requestPeek)
	for !requestLineDecided(buf) {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// requestLineDecided reports whether buf says enough to tell a
// cache_object request line from any other.
func requestLineDecided(buf []byte) bool {
	if len(buf) == cap(buf) {
		return true
	}
	for i, c := range buf {
		switch {
		case c == ' ':
			return len(buf) >= i+1+len(cacheObjectScheme)
		case c <= ' ' || c >= 0x7f:
			return true // not a method: nothing to rewrite
		}
	}
	return false
}

// respellCacheObject turns "METHOD cache_object://" at the start of buf
// into "METHOD cache-object://" (scheme names are case-insensitive).
func respellCacheObject(buf []byte) {
	sp := bytes.IndexByte(buf, ' ')
	if sp <= 0 || len(buf) < sp+1+len(cacheObjectScheme) {
		return
	}
	for _, c := range buf[:sp] {
		if !isTokenChar(c) {
			return // not a method
		}
	}
	if bytes.EqualFold(buf[sp+1:sp+1+len(cacheObjectScheme)], []byte(cacheObjectScheme)) {
		buf[sp+1+len("cache")] = '-'
	}
}

// isTokenChar reports whether c may appear in a method (RFC 9110,
// Section 5.6.2, tchar).
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
