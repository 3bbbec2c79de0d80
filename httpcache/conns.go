package httpcache

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"cuttle/accesslog"
)

// Squid logs a connection that closes before it has sent a whole request
// header as "NONE_NONE/000 0 - error:transaction-end-before-headers -
// HIER_NONE/- -" (load balancers' TCP health checks show up so). net/http
// never calls a handler for such a connection, so the server's ConnState
// hook reports it: ConnState and ConnContext below are set on each
// http.Server of the handler's ports.

// ConnTable follows the client connections of a process: ConnState and
// ConnContext record them there. It is shared by the Handlers of
// successive configurations (Options.Conns), so that a connection accepted
// before a reload is still known when it closes after it. The zero value
// is ready to use.
type ConnTable struct {
	m sync.Map // net.Conn → *connInfo

	ipMu  sync.Mutex         // protects perIP
	perIP map[netip.Addr]int // open connections by client address (acl maxconn)
}

// PerIP returns the number of open connections from the client address ip
// (squid.conf acl maxconn).
func (t *ConnTable) PerIP(ip netip.Addr) int {
	t.ipMu.Lock()
	defer t.ipMu.Unlock()
	return t.perIP[ip.Unmap()]
}

// countIP adds delta to the connections of ip.
func (t *ConnTable) countIP(ip netip.Addr, delta int) {
	t.ipMu.Lock()
	defer t.ipMu.Unlock()
	if t.perIP == nil {
		t.perIP = make(map[netip.Addr]int)
	}
	if n := t.perIP[ip] + delta; n > 0 {
		t.perIP[ip] = n
	} else {
		delete(t.perIP, ip)
	}
}

// Len returns the number of open client connections.
func (t *ConnTable) Len() int {
	n := 0
	t.m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// connInfo is what the handler knows of one client connection.
type connInfo struct {
	mu       sync.Mutex
	accepted time.Time
	state    http.ConnState
	served   bool // a handler ran for the request being read, if any

	localIP string // the address the client connected to (%>la), set once

	// remote is the client's address, counted in ConnTable.perIP from
	// StateNew until the connection ends; invalid when not counted.
	remote netip.Addr

	notes []accesslog.Note // annotations of acl annotate_client
}

type connKey struct{}

// ConnContext attaches the connection's record to every request's
// context (http.Server.ConnContext).
func (h *Handler) ConnContext(ctx context.Context, c net.Conn) context.Context {
	ci, _ := h.opts.Conns.m.Load(c)
	if ci == nil {
		ci, _ = h.opts.Conns.m.LoadOrStore(c, &connInfo{accepted: h.now()})
	}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		info := ci.(*connInfo)
		info.mu.Lock()
		info.localIP = ta.AddrPort().Addr().Unmap().String()
		info.mu.Unlock()
	}
	return context.WithValue(ctx, connKey{}, ci)
}

// localIP returns the local address of the request's connection, formatted
// once per connection.
func localIP(req *http.Request) string {
	if ci, ok := req.Context().Value(connKey{}).(*connInfo); ok {
		ci.mu.Lock()
		defer ci.mu.Unlock()
		return ci.localIP
	}
	return ""
}

// ConnState follows each connection (http.Server.ConnState) and logs one
// that closes while a request header was still awaited.
func (h *Handler) ConnState(c net.Conn, state http.ConnState) {
	v, _ := h.opts.Conns.m.LoadOrStore(c, &connInfo{accepted: h.now()})
	ci := v.(*connInfo)
	ci.mu.Lock()
	prev, served := ci.state, ci.served
	switch state {
	case http.StateActive:
		ci.served = false
	case http.StateIdle:
		ci.served = true
	}
	ci.state = state
	var counted netip.Addr
	switch {
	case state == http.StateNew && !ci.remote.IsValid():
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			ci.remote = ta.AddrPort().Addr().Unmap()
			h.opts.Conns.countIP(ci.remote, 1)
		}
	case state == http.StateClosed || state == http.StateHijacked:
		counted, ci.remote = ci.remote, netip.Addr{}
	}
	ci.mu.Unlock()
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	if counted.IsValid() {
		h.opts.Conns.countIP(counted, -1)
	}
	h.opts.Conns.m.Delete(c)
	if state == http.StateHijacked || prev == http.StateIdle || served {
		return
	}
	// New (nothing read) or Active without a handler (an incomplete
	// header): Squid's error:transaction-end-before-headers.
	h.logConnEnd(c, ci.accepted)
}

// startACL prepares what the ACLs of a transaction read: the connection
// table (acl maxconn) and the annotations of the connection (acl
// annotate_client).
func (h *Handler) startACL(tx *transaction) {
	tx.acl.conns = h.opts.Conns
	if ci, ok := tx.req.Context().Value(connKey{}).(*connInfo); ok {
		tx.acl.conn = ci
		ci.mu.Lock()
		if len(ci.notes) > 0 {
			tx.acl.notes = append(tx.acl.notes, ci.notes...)
		}
		ci.mu.Unlock()
	}
}

// markServed records that a handler runs for the connection's request.
func markServed(req *http.Request) {
	if ci, ok := req.Context().Value(connKey{}).(*connInfo); ok {
		ci.mu.Lock()
		ci.served = true
		ci.mu.Unlock()
	}
}

// logConnEnd writes the access.log line of a connection that closed
// before a request header.
func (h *Handler) logConnEnd(c net.Conn, accepted time.Time) {
	if h.opts.Log == nil && len(h.opts.FilteredLogs) == 0 {
		return
	}
	e := &accesslog.Entry{
		Start:      accepted,
		End:        h.now(),
		ResultCode: "NONE_NONE",
		Method:     "-",
		URL:        "error:transaction-end-before-headers",
	}
	var addr netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		addr = ta.AddrPort()
	}
	e.ClientIP = addr.Addr().Unmap().String()
	e.ClientPort = int(addr.Port())
	tx := &transaction{start: accepted, clientIP: addr.Addr(), clientPort: addr.Port(), url: e.URL, result: "NONE_NONE"}
	h.writeEntry(tx, e)
}
