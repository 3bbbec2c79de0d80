package httpcache

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ConnLimit is squid.conf client_ip_max_connections: it counts the open
// connections of each client address over all the listeners it wraps, and
// closes a new connection at once when its address already has the
// maximum open, as Squid does at accept. Squid's documentation calls the
// value "an absolute limit on the number of connections a single client
// IP can use", and cuttle keeps to that: with a limit of N, the (N+1)th
// concurrent connection is closed (Squid's code compares the count before
// adding the new connection, which lets one more through).
//
// Each refusal is written to cache_log as Squid words it ("WARNING:
// 192.0.2.7:50123 attempting more than 8 connections."), at most once a
// minute per address.
//
// The zero value is not usable; see NewConnLimit. One ConnLimit serves a
// process across reloads: SetMax changes the limit, and connections
// accepted before keep being counted.
type ConnLimit struct {
	max  atomic.Int64 // negative: no limit
	logf func(format string, args ...any)
	now  func() time.Time

	mu     sync.Mutex // protects open and warned
	open   map[netip.Addr]int
	warned map[netip.Addr]time.Time // last refusal logged, per address
}

// NewConnLimit returns a limit of maxConns connections per client
// address (negative: no limit, Squid's default); logf receives the
// refusals (nil: none are logged) and now is the clock (nil: time.Now).
func NewConnLimit(maxConns int, logf func(format string, args ...any), now func() time.Time) *ConnLimit {
	if now == nil {
		now = time.Now
	}
	l := &ConnLimit{logf: logf, now: now, open: make(map[netip.Addr]int), warned: make(map[netip.Addr]time.Time)}
	l.max.Store(int64(maxConns))
	return l
}

// SetMax changes the limit (client_ip_max_connections after a reload).
func (l *ConnLimit) SetMax(maxConns int) { l.max.Store(int64(maxConns)) }

// Open returns how many connections of the address are open.
func (l *ConnLimit) Open(ip netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[ip.Unmap()]
}

// Listener wraps ln so that its connections are counted and limited.
func (l *ConnLimit) Listener(ln net.Listener) net.Listener {
	return &LimitListener{Listener: ln, limit: l}
}

// LimitListener is a net.Listener whose Accept closes the connections a
// ConnLimit refuses and returns the others (squid.conf
// client_ip_max_connections). Make one with [ConnLimit.Listener].
type LimitListener struct {
	net.Listener
	limit *ConnLimit
}

// Accept waits for a connection that the limit allows.
func (ll *LimitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := ll.limit.admit(c); lc != nil {
			return lc, nil
		}
		c.Close()
	}
}

// addrOf returns the client address of a connection.
func addrOf(c net.Conn) netip.AddrPort {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap
}

// admit counts c and returns it wrapped, or nil when its address already
// has the maximum open.
func (l *ConnLimit) admit(c net.Conn) net.Conn {
	ap := addrOf(c)
	ip := ap.Addr().Unmap()
	limit := l.max.Load()
	l.mu.Lock()
	n := l.open[ip]
	if limit >= 0 && int64(n) >= limit {
		logIt := l.warnable(ip)
		l.mu.Unlock()
		if logIt && l.logf != nil {
			l.logf("WARNING: %s attempting more than %d connections.", ap, limit)
		}
		return nil
	}
	l.open[ip] = n + 1
	l.mu.Unlock()
	return &limitedConn{Conn: c, limit: l, ip: ip}
}

// warnable reports whether a refusal of ip is to be logged: the first in
// a minute. Old entries are dropped when there are many. l.mu must be
// held.
func (l *ConnLimit) warnable(ip netip.Addr) bool {
	now := l.now()
	if last, ok := l.warned[ip]; ok && now.Sub(last) < time.Minute {
		return false
	}
	if len(l.warned) >= 1024 {
		for k, t := range l.warned {
			if now.Sub(t) >= time.Minute {
				delete(l.warned, k)
			}
		}
	}
	l.warned[ip] = now
	return true
}

// release uncounts one connection of ip.
func (l *ConnLimit) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.open[ip]; n > 1 {
		l.open[ip] = n - 1
	} else {
		delete(l.open, ip)
	}
}

// limitedConn is an admitted connection: closing it uncounts it, once.
type limitedConn struct {
	net.Conn
	limit  *ConnLimit
	ip     netip.Addr
	closed atomic.Bool
}

func (c *limitedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.limit.release(c.ip)
	}
	return c.Conn.Close()
}
