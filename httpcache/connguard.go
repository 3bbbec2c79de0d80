package httpcache

import (
	"io"
	"net"
	"sync/atomic"
	"time"
)

// FDReserve is how many file descriptors are kept out of the client
// connections' share of max_filedescriptors, for origin connections,
// log files and the cache: Squid's RESERVED_FD.
const FDReserve = 100

// ConnGuardOptions are the limits a [ConnGuard] applies to every client
// connection.
type ConnGuardOptions struct {
	// MaxConns is how many client connections may be open at once, over
	// all the listeners the guard wraps: squid.conf max_filedescriptors
	// less [FDReserve]. A connection beyond it is answered 503 and closed
	// at accept. 0 or less means no limit.
	MaxConns int

	// WriteTimeout is squid.conf write_timeout: how long one write to a
	// client may wait for the client to take the bytes; each write gets a
	// new deadline, so that a slow reader that keeps reading is never cut
	// off, and one that stops (a zero TCP window) cannot hold the
	// connection and its goroutine forever. 0 means none.
	WriteTimeout time.Duration

	// Lifetime is squid.conf client_lifetime: no client connection stays
	// open longer, whatever it does. 0 means no limit.
	Lifetime time.Duration
}

// ConnGuard applies squid.conf max_filedescriptors, write_timeout and
// client_lifetime to the client connections of every listener it wraps.
// One ConnGuard serves a process across reloads: Set changes the limits,
// and connections accepted before keep being counted; a new write_timeout
// applies to the next write, a new client_lifetime to new connections.
//
// A connection refused for want of descriptors gets a plain
// "503 Service Unavailable" when its listener is plain HTTP (an https_port
// connection is only closed: no TLS session exists yet), and cache_log a
// line at most once a minute, as Squid warns when it runs out of file
// descriptors.
//
// The zero value is not usable; see NewConnGuard.
type ConnGuard struct {
	maxConns     atomic.Int64
	writeTimeout atomic.Int64 // nanoseconds
	lifetime     atomic.Int64 // nanoseconds
	open         atomic.Int64
	refused      atomic.Int64
	lastWarn     atomic.Int64 // unix nanoseconds of the last cache_log line

	logf func(format string, args ...any)
	now  func() time.Time
}

// NewConnGuard returns a guard with the limits of o; logf receives the
// refusals (nil: none are logged) and now is the clock (nil: time.Now).
func NewConnGuard(o ConnGuardOptions, logf func(format string, args ...any), now func() time.Time) *ConnGuard {
	if now == nil {
		now = time.Now
	}
	g := &ConnGuard{logf: logf, now: now}
	g.Set(o)
	return g
}

// Set changes the limits (after a reload).
func (g *ConnGuard) Set(o ConnGuardOptions) {
	g.maxConns.Store(int64(o.MaxConns))
	g.writeTimeout.Store(int64(max(o.WriteTimeout, 0)))
	g.lifetime.Store(int64(max(o.Lifetime, 0)))
}

// Open returns how many client connections are open.
func (g *ConnGuard) Open() int { return int(g.open.Load()) }

// Refused returns how many connections were refused for want of file
// descriptors.
func (g *ConnGuard) Refused() int64 { return g.refused.Load() }

// Listener wraps ln so that its connections are counted and limited.
// plain reports, at each refusal, whether the listener speaks plain HTTP
// (nil: it does), so that the refused client can be told why.
func (g *ConnGuard) Listener(ln net.Listener, plain func() bool) net.Listener {
	return &guardListener{Listener: ln, g: g, plain: plain}
}

type guardListener struct {
	net.Listener
	g     *ConnGuard
	plain func() bool
}

// refusal is what a plain HTTP client refused at accept reads.
const refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 30\r\nConnection: close\r\n\r\nout of connection descriptors\n"

// Accept waits for a connection that the limit allows; the others are
// answered and closed.
func (l *guardListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g := l.g
		limit := g.maxConns.Load()
		if n := g.open.Add(1); limit <= 0 || n <= limit {
			gc := &guardedConn{Conn: c, g: g}
			if d := time.Duration(g.lifetime.Load()); d > 0 {
				gc.end = g.now().Add(d)
				c.SetDeadline(gc.end) //nolint:errcheck // a closed conn fails its next call anyway
			}
			return gc, nil
		}
		g.open.Add(-1)
		g.refused.Add(1)
		g.warn(limit)
		if l.plain == nil || l.plain() {
			// Best effort, never waiting on the client: the refused
			// connection must not cost more than the moment it takes.
			c.SetWriteDeadline(g.now().Add(100 * time.Millisecond)) //nolint:errcheck
			io.WriteString(c, refusal)                              //nolint:errcheck
		}
		c.Close()
	}
}

// warn writes the refusal to cache_log, at most once a minute.
func (g *ConnGuard) warn(limit int64) {
	if g.logf == nil {
		return
	}
	now := g.now().UnixNano()
	last := g.lastWarn.Load()
	if last != 0 && now-last < int64(time.Minute) || !g.lastWarn.CompareAndSwap(last, now) {
		return
	}
	g.logf("WARNING! Your cache is running out of filedescriptors: %d client connections open (max_filedescriptors less %d reserved); new ones are refused (%d so far)",
		limit, FDReserve, g.refused.Load())
}

// guardedConn is an admitted client connection. Every write gets
// write_timeout to complete, and no deadline reaches past client_lifetime.
// Closing it uncounts it, once.
type guardedConn struct {
	net.Conn
	g      *ConnGuard
	end    time.Time // client_lifetime; zero: none
	closed atomic.Bool
}

// clamp keeps a deadline within the connection's lifetime; the zero time
// (no deadline) becomes the end of its lifetime.
func (c *guardedConn) clamp(t time.Time) time.Time {
	if !c.end.IsZero() && (t.IsZero() || t.After(c.end)) {
		return c.end
	}
	return t
}

func (c *guardedConn) Write(p []byte) (int, error) {
	if d := time.Duration(c.g.writeTimeout.Load()); d > 0 {
		c.Conn.SetWriteDeadline(c.clamp(c.g.now().Add(d))) //nolint:errcheck // reported by Write
	}
	return c.Conn.Write(p)
}

func (c *guardedConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.clamp(t)) }

func (c *guardedConn) SetReadDeadline(t time.Time) error { return c.Conn.SetReadDeadline(c.clamp(t)) }

func (c *guardedConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

func (c *guardedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.g.open.Add(-1)
	}
	return c.Conn.Close()
}
