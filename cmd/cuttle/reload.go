package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cuttle/accesslog"
	"cuttle/httpcache"
	"cuttle/squidconf"
	"cuttle/store"
)

// process is a running cuttle: what lives from start to exit, across
// reconfigurations. Each configuration is a generation; -k reconfigure
// builds the next one beside the running one and switches to it at once.
type process struct {
	sf       *squidFlags
	cf       *cuttleFlags
	cacheLog *log.Logger
	notifier *notifier
	dropped  bool // running as cache_effective_user: no new port below 1024

	// Shared by every generation, so that a reload keeps the cache's
	// contents, the counters and the connection records.
	store     store.Store
	storeInfo func() []httpcache.TierInfo // nil until the tiers are open
	stats     *httpcache.Stats
	conns     *httpcache.ConnTable
	connLimit *httpcache.ConnLimit   // client_ip_max_connections
	guard     *httpcache.ConnGuard   // max_filedescriptors, write_timeout, client_lifetime
	fdLimit   int                    // open files allowed (max_filedescriptors)
	rateLimit *httpcache.RateLimiter // --rate-limit; nil when off

	gen atomic.Pointer[generation] // the current one

	mu       sync.Mutex // serialises reload, rotate and shutdown; guards the fields below
	cfg      *squidconf.Config
	ports    map[string]*portServer       // by http_port and https_port address
	writers  map[string]*accesslog.Writer // open access_log files, by module and path
	retiring sync.WaitGroup               // old generations draining
	serving  sync.WaitGroup               // the Serve goroutines
	serveErr chan error
}

// generation is one configuration's handler and log outputs.
type generation struct {
	handler  *httpcache.Handler
	ports    map[string]http.Handler // by http_port and https_port address
	tls      map[string]*tls.Config  // by https_port address
	writers  map[string]*accesslog.Writer
	inflight atomic.Int64 // requests being served by this generation

	// readHeader and idle are the http.Server timeouts of the ports
	// this generation opens (hardening.go), maxHeader their
	// request_header_max_size.
	readHeader, idle time.Duration
	maxHeader        int

	// keepAlive is client_persistent_connections: whether client
	// connections stay open after a response, on every port.
	keepAlive bool
}

// portServer is one listening socket. It outlives the generations: a
// reload that keeps an http_port's address keeps its socket and its
// connections, and only the handler behind it changes.
type portServer struct {
	addr string
	srv  *http.Server
	cur  atomic.Pointer[portHandler]
}

// portHandler is what a portServer serves with in one generation.
type portHandler struct {
	gen *generation
	h   http.Handler
	tls *tls.Config // for new connections; nil on an http_port
}

// ServeHTTP serves a request with the generation current when it
// arrived: a reload meanwhile does not change its settings.
func (ps *portServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ph := ps.cur.Load()
	ph.gen.inflight.Add(1)
	defer ph.gen.inflight.Add(-1)
	ph.h.ServeHTTP(w, r)
}

// notify tells systemd about the service's state, logging failures.
func (p *process) notify(lines ...string) {
	if err := p.notifier.notify(lines...); err != nil {
		p.cacheLog.Printf("WARNING: NOTIFY_SOCKET: %v", err)
	}
}

// writerKey names an access_log destination.
func writerKey(al squidconf.AccessLog) string { return al.Module + ":" + al.Path }

// newGeneration builds the handler and the access logs of setup s,
// reusing the access_log files already open under the same name. On error
// nothing it opened stays open.
func (p *process) newGeneration(s *setup) (*generation, error) {
	g := &generation{ports: make(map[string]http.Handler), tls: make(map[string]*tls.Config), writers: make(map[string]*accesslog.Writer)}
	g.readHeader, g.idle = serverTimeouts(s.cfg, p.cf)
	g.maxHeader = serverMaxHeaderBytes(s.cfg)
	g.keepAlive = s.cfg.ClientPersistentConnections
	var opened []*accesslog.Writer
	open := func(al squidconf.AccessLog) (*accesslog.Writer, error) {
		key := writerKey(al)
		if w := g.writers[key]; w != nil {
			return w, nil
		}
		w := p.writers[key]
		if w == nil {
			var err error
			if al.Module == "syslog" {
				w, err = accesslog.OpenSyslog(al.Path)
			} else {
				w, err = accesslog.OpenFile(al.Path)
			}
			if err != nil {
				return nil, err
			}
			opened = append(opened, w)
		}
		g.writers[key] = w
		return w, nil
	}
	logger, filtered, err := openAccessLogs(s, open, p.cacheLog.Printf)
	if err != nil {
		for _, w := range opened {
			w.Close()
		}
		return nil, err
	}
	opts := s.handler
	opts.Store = p.store
	opts.Stats = p.stats
	opts.StoreInfo = p.storeInfo
	opts.Conns = p.conns
	opts.Log = logger
	opts.FilteredLogs = filtered
	opts.ErrorLog = p.cacheLog
	opts.CDNCacheControl = p.cf.cdnCacheControl
	opts.RateLimit = p.rateLimit
	h, err := httpcache.New(opts)
	if err != nil {
		for _, w := range opened {
			w.Close()
		}
		return nil, err
	}
	g.handler = h
	for _, l := range s.listeners {
		g.ports[l.addr] = h.Port(l.port)
		if l.tls != nil {
			g.tls[l.addr] = l.tls
		}
	}
	if p.writers == nil {
		p.writers = make(map[string]*accesslog.Writer)
	}
	for k, w := range g.writers {
		p.writers[k] = w
	}
	return g, nil
}

// startPort serves ln, opened for the http_port or https_port address
// key, with h of the current generation.
func (p *process) startPort(key string, ln net.Listener, h http.Handler) {
	addr := ln.Addr().String()
	ps := &portServer{addr: key}
	gen := p.gen.Load()
	ps.cur.Store(&portHandler{gen: gen, h: h, tls: gen.tls[key]})
	// squidclient's "GET cache_object://host/page" request line is
	// refused by net/http unless the connection rewrites it; on an
	// https_port the check sees a TLS handshake and passes it on. The
	// request pre-scan (prescan.go) wraps the plaintext: after the TLS
	// handshake, and only for HTTP/1.x, so that the server still gets the
	// *tls.Conn it needs for HTTP/2.
	// max_filedescriptors, write_timeout, client_lifetime (httpcache/connguard.go)
	ln = p.guard.Listener(ln, func() bool { return ps.cur.Load().tls == nil })
	ln = p.connLimit.Listener(ln) // client_ip_max_connections, counted before TLS
	ln = newPrescanListener(httpcache.CacheObjectListener(ln), func() *tls.Config { return ps.cur.Load().tls },
		func() *httpcache.Handler { return ps.cur.Load().gen.handler }, gen.readHeader, p.cacheLog)
	ps.srv = &http.Server{
		Handler:           ps,
		ReadHeaderTimeout: gen.readHeader, // request_timeout
		MaxHeaderBytes:    gen.maxHeader,  // request_header_max_size, for HTTP/2 too
		IdleTimeout:       gen.idle,       // client_idle_pconn_timeout
		ErrorLog:          p.cacheLog,
		// The connection hooks go to the current generation's handler;
		// the connection records themselves are shared (ConnTable).
		ConnState: func(c net.Conn, st http.ConnState) { ps.cur.Load().gen.handler.ConnState(c, st) },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return ps.cur.Load().gen.handler.ConnContext(ctx, c)
		},
	}
	ps.srv.SetKeepAlivesEnabled(gen.keepAlive) // client_persistent_connections
	p.ports[key] = ps
	kind := "HTTP"
	if gen.tls[key] != nil {
		kind = "HTTPS"
	}
	p.cacheLog.Printf("Accepting reverse-proxy %s Socket connections at %s", kind, addr)
	p.serving.Go(func() {
		if err := ps.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			select {
			case p.serveErr <- err:
			default:
			}
		}
	})
}

// reload is squid -k reconfigure: the configuration file is read and
// checked; if anything is wrong the running configuration stays and
// cache_log says why. Otherwise the new one replaces it at once: ports
// whose address did not change keep their sockets and connections,
// requests in flight finish with the settings they started with, and the
// cache keeps its contents.
func (p *process) reload() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notify(reloading()...)
	defer p.notify("READY=1", "STATUS=serving")
	start := time.Now()
	p.cacheLog.Printf("Reconfiguring cuttle from %s", p.sf.configFile)
	if err := p.reloadLocked(); err != nil {
		p.stats.Reloaded(false)
		for line := range strings.Lines(err.Error()) {
			p.cacheLog.Printf("ERROR: reconfigure: %s", strings.TrimRight(line, "\n"))
		}
		p.cacheLog.Printf("Reconfiguration refused: still running the previous configuration")
		return
	}
	p.stats.Reloaded(true)
	p.cacheLog.Printf("Reconfigured in %v", time.Since(start).Round(100*time.Microsecond))
}

func (p *process) reloadLocked() error {
	var notes strings.Builder
	cfg, err := loadConfig(p.sf, &notes)
	if err != nil {
		var b strings.Builder
		printConfigErrors(&b, err)
		return errors.New(strings.TrimRight(b.String(), "\n"))
	}
	s, err := buildOptions(cfg, &notes)
	if err != nil {
		var b strings.Builder
		printConfigErrors(&b, err)
		return errors.New(strings.TrimRight(b.String(), "\n"))
	}
	for line := range strings.Lines(notes.String()) {
		p.cacheLog.Print(strings.TrimRight(line, "\n"))
	}
	p.restartOnly(p.cfg, cfg)

	// New ports are bound before anything changes, so that a port that
	// cannot be bound refuses the whole reload.
	want := make(map[string]bool, len(s.listeners))
	fresh := make(map[string]net.Listener)
	closeFresh := func() {
		for _, ln := range fresh {
			ln.Close()
		}
	}
	for _, l := range s.listeners {
		if want[l.addr] {
			closeFresh()
			return fmt.Errorf("%s %s: listed twice", l.directive(), l.addr)
		}
		want[l.addr] = true
		if p.ports[l.addr] != nil {
			continue
		}
		ln, err := listenPort(l.addr)
		if err != nil {
			closeFresh()
			if p.dropped {
				return fmt.Errorf("%s %s: %w (cuttle runs as %s now; a new privileged port needs a restart)", l.directive(), l.addr, err, p.cfg.CacheEffectiveUser)
			}
			return fmt.Errorf("%s %s: %w", l.directive(), l.addr, err)
		}
		fresh[l.addr] = ln
	}
	gen, err := p.newGeneration(s)
	if err != nil {
		closeFresh()
		return err
	}

	// The switch: every kept port takes the new handler, new ports start,
	// removed ones stop accepting and finish their requests.
	old := p.gen.Swap(gen)
	for addr, ps := range p.ports {
		if h, ok := gen.ports[addr]; ok {
			ps.cur.Store(&portHandler{gen: gen, h: h, tls: gen.tls[addr]})
			ps.srv.SetKeepAlivesEnabled(gen.keepAlive)
		}
	}
	for addr, ln := range fresh {
		p.startPort(addr, ln, gen.ports[addr])
	}
	var gone []*portServer
	for addr, ps := range p.ports {
		if !want[addr] {
			gone = append(gone, ps)
			delete(p.ports, addr)
			p.cacheLog.Printf("Closing HTTP port %s (not in the new configuration)", addr)
		}
	}
	oldCfg := p.cfg
	p.cfg = cfg
	p.connLimit.SetMax(cfg.ClientIPMaxConnections)
	p.guard.Set(guardOptions(cfg, p.fdLimit))
	p.retiring.Go(func() { p.retire(old, gone, oldCfg.ShutdownLifetime) })
	return nil
}

// restartOnly reports the changes a reload cannot apply.
func (p *process) restartOnly(old, cfg *squidconf.Config) {
	same := func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
	for _, c := range []struct {
		name     string
		old, new any
	}{
		{"cache_mem", old.CacheMem, cfg.CacheMem},
		{"maximum_object_size_in_memory", old.MaximumObjectSizeInMemory, cfg.MaximumObjectSizeInMemory},
		{"cache_dir", old.CacheDirs, cfg.CacheDirs},
		{"cache_log", old.CacheLog, cfg.CacheLog},
		{"pid_filename", old.PidFilename, cfg.PidFilename},
		{"cache_effective_user", old.CacheEffectiveUser, cfg.CacheEffectiveUser},
		{"max_filedescriptors", old.MaxFiledescriptors, cfg.MaxFiledescriptors},
		{"request_timeout (for ports kept open)", old.RequestTimeout, cfg.RequestTimeout},
		{"client_idle_pconn_timeout (for ports kept open)", old.ClientIdlePconnTimeout, cfg.ClientIdlePconnTimeout},
	} {
		if c.name == "cache_dir" {
			if cacheDirsEqual(old.CacheDirs, cfg.CacheDirs) {
				continue
			}
		} else if same(c.old, c.new) {
			continue
		}
		p.cacheLog.Printf("WARNING: reconfigure: a changed %s takes effect at the next restart", c.name)
	}
}

// cacheDirsEqual compares cache_dir lines without their positions.
func cacheDirsEqual(a, b []squidconf.CacheDir) bool {
	return slices.EqualFunc(a, b, func(x, y squidconf.CacheDir) bool {
		x.Pos, y.Pos = squidconf.Pos{}, squidconf.Pos{}
		return fmt.Sprint(x) == fmt.Sprint(y)
	})
}

// retire waits for an old generation's requests to finish (at most
// lifetime), stops the ports that were removed, and closes the access_log
// files the new generation no longer writes.
func (p *process) retire(old *generation, gone []*portServer, lifetime time.Duration) {
	if len(gone) > 0 {
		servers := make([]*http.Server, len(gone))
		for i, ps := range gone {
			servers[i] = ps.srv
		}
		shutdownAll(servers, lifetime)
	}
	// A request that picked the old generation a moment before the switch
	// has registered itself well within the first tick.
	deadline := time.Now().Add(max(lifetime, time.Second))
	for time.Sleep(100 * time.Millisecond); old.inflight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	old.handler.Close() // its authentication helpers
	old.handler.Wait()  // its store writers, before the store may close
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.gen.Load()
	for key, w := range old.writers {
		if cur.writers[key] == w {
			continue
		}
		if p.writers[key] == w {
			delete(p.writers, key)
		}
		if err := w.Close(); err != nil {
			p.cacheLog.Printf("access_log %s: %v", key, err)
		}
	}
}

// rotate is squid -k rotate: with logfile_rotate N the logs are renamed to
// .0 .. .N-1 as Squid does; with 0 (Debian's default) they are only
// reopened, which is what logrotate expects. Lines are flushed first,
// never lost or torn.
func (p *process) rotate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.writers {
		if err := w.Rotate(p.cfg.LogfileRotate); err != nil {
			p.cacheLog.Printf("ERROR: rotate: %v", err)
		}
	}
	rotateCacheLog(p.cfg.CacheLog, p.cfg.LogfileRotate)
	p.cacheLog.Printf("Log files rotated (logfile_rotate %d)", p.cfg.LogfileRotate)
}

// shutdown stops accepting, lets requests in flight finish within
// lifetime (0: none), and flushes and closes the access logs.
func (p *process) shutdown(lifetime time.Duration) {
	p.mu.Lock()
	servers := make([]*http.Server, 0, len(p.ports))
	for _, ps := range p.ports {
		servers = append(servers, ps.srv)
	}
	p.mu.Unlock()
	shutdownAll(servers, lifetime)
	p.serving.Wait()
	p.retiring.Wait()
	if g := p.gen.Load(); g != nil {
		g.handler.Close()
		g.handler.Wait() // store writers finish before the store closes
	}
}

// closeWriters flushes and closes every open access_log file.
func (p *process) closeWriters() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, w := range p.writers {
		if err := w.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "cuttle: access_log %s: %v\n", key, err)
		}
		delete(p.writers, key)
	}
}
