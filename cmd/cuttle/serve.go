package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"cuttle/accesslog"
	"cuttle/httpcache"
	"cuttle/squidconf"
	"cuttle/store"
)

// serve runs cuttle until ctx ends or a shutdown signal arrives, then
// stops within shutdown_lifetime. SIGHUP reloads the configuration
// (reload.go), SIGUSR1 rotates the logs.
//
// The order is Squid's: the configuration is checked, the ports are bound
// and the pid file written while still root, then the process drops to
// cache_effective_user and opens its logs and cache directories.
func serve(ctx context.Context, sf *squidFlags, cf *cuttleFlags, stderr io.Writer) int {
	start := time.Now()
	// Signals are caught from the start and handled once serving: a
	// SIGTERM right after READY=1, or a SIGHUP during a slow start, must
	// not take the default action (exit).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	cfg, err := loadConfig(sf, stderr)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	s, err := buildOptions(cfg, stderr)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	p := &process{
		sf: sf, cf: cf, cfg: cfg,
		stats:    httpcache.NewStats(nil),
		conns:    new(httpcache.ConnTable),
		ports:    make(map[string]*portServer),
		serveErr: make(chan error, 1),
		notifier: newNotifier(),
	}

	// Ports first, while privileged (ports below 1024).
	lns := make(map[string]net.Listener, len(s.listeners))
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, l := range s.listeners {
		if _, dup := lns[l.addr]; dup {
			fmt.Fprintf(stderr, "cuttle: %s %s: listed twice\n", l.directive(), l.addr)
			closeAll()
			return 1
		}
		ln, err := listenPort(l.addr)
		if err != nil {
			fmt.Fprintf(stderr, "cuttle: FATAL: %s %s: %v\n", l.directive(), l.addr, err)
			closeAll()
			return 1
		}
		lns[l.addr] = ln
	}
	if cfg.PidFilename != "" && cfg.PidFilename != "none" {
		if err := os.WriteFile(cfg.PidFilename, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintf(stderr, "cuttle: WARNING: pid_filename %s: %v\n", cfg.PidFilename, err)
		} else {
			// After dropping privileges the file may no longer be removable
			// (/run): systemd's PIDFile= cleans it up then.
			defer os.Remove(cfg.PidFilename)
		}
	}
	if privilegeDrop {
		dropped, err := dropPrivileges(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "cuttle: FATAL: %v\n", err)
			closeAll()
			return 1
		}
		p.dropped = dropped
	}

	cacheLog, closeCacheLog := openCacheLog(cfg.CacheLog, sf.debugLevel > 0, stderr)
	defer closeCacheLog()
	p.cacheLog = cacheLog
	cacheLog.Printf("Starting cuttle/%s with %s", version, sf.configFile)
	if p.dropped {
		cacheLog.Printf("Running as user %s (uid %d, gid %d)", cfg.CacheEffectiveUser, os.Getuid(), os.Getgid())
	}
	setMemoryLimit(cfg.CacheMem, cacheLog)

	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: cfg.CacheMem, MaxObjectSize: cfg.MaximumObjectSizeInMemory})
	if err != nil {
		cacheLog.Printf("FATAL: cache_mem: %v", err)
		closeAll()
		return 1
	}
	defer mem.Close()
	var disk store.Store
	dirs, byIndex := openDisks(cfg, cacheLog, func(any) { p.stats.RecordPanic() })
	if dirs != nil {
		defer func() {
			if err := dirs.Close(); err != nil {
				cacheLog.Printf("cache_dir: %v", err)
			}
		}()
		disk = dirs
	}
	p.store = store.NewTiered(mem, disk)
	p.storeInfo = storeInfo(mem, byIndex, cfg)
	p.connLimit = httpcache.NewConnLimit(cfg.ClientIPMaxConnections, cacheLog.Printf, nil)
	p.fdLimit, err = raiseFDLimit(cfg.MaxFiledescriptors) // fdlimit_unix.go
	if err != nil {
		cacheLog.Printf("WARNING: max_filedescriptors %d: %v; the limit is %d", cfg.MaxFiledescriptors, err, p.fdLimit)
	}
	p.guard = httpcache.NewConnGuard(guardOptions(cfg, p.fdLimit), cacheLog.Printf, nil)
	if cf.rateLimit > 0 {
		p.rateLimit = httpcache.NewRateLimiter(cf.rateLimit, cf.rateBurst, 0, nil)
	}

	gen, err := p.newGeneration(s)
	if err != nil {
		cacheLog.Printf("FATAL: %v", err)
		closeAll()
		return 1
	}
	defer p.closeWriters()

	if cf.demoOrigin != "" {
		stopDemo, err := startDemoOrigin(cf.demoOrigin, cacheLog)
		if err != nil {
			cacheLog.Printf("FATAL: --demo-origin: %v", err)
			closeAll()
			return 1
		}
		defer stopDemo()
	}
	if cf.debugAddr != "" {
		stopDebug, err := startDebugServer(cf.debugAddr, cacheLog)
		if err != nil {
			cacheLog.Printf("FATAL: --debug-addr: %v", err)
			closeAll()
			return 1
		}
		defer stopDebug()
	}
	if cf.metricsAddr != "" {
		stopMetrics, err := startMetricsServer(cf.metricsAddr, httpcache.MetricsHandler(p.stats, p.storeInfo, p.conns), cacheLog.Printf)
		if err != nil {
			cacheLog.Printf("FATAL: --metrics-addr: %v", err)
			closeAll()
			return 1
		}
		defer stopMetrics()
	}

	p.gen.Store(gen)
	for _, l := range s.listeners {
		p.startPort(l.addr, lns[l.addr], gen.ports[l.addr])
	}
	if len(s.listeners) == 0 {
		cacheLog.Printf("WARNING: no http_port in %s: nothing to listen on", sf.configFile)
	}
	statsCtx, stopStats := context.WithCancel(context.Background())
	defer stopStats()
	go p.stats.Run(statsCtx)

	cacheLog.Printf("Ready to serve requests (started in %v)", time.Since(start).Round(100*time.Microsecond))
	p.notify("READY=1", "STATUS=serving")
	status := 0
	lifetime := cfg.ShutdownLifetime
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-p.serveErr:
			cacheLog.Printf("FATAL: %v", err)
			status = 1
			break loop
		case sig := <-sigs:
			switch sig {
			case syscall.SIGTERM:
				// squid -k shutdown: finish what is in flight, within
				// shutdown_lifetime.
				break loop
			case syscall.SIGINT:
				// squid -k interrupt: stop now, still flushing the logs and
				// the store's index.
				lifetime = 0
				break loop
			case syscall.SIGUSR1:
				p.rotate()
			case syscall.SIGHUP:
				p.reload()
			}
		}
	}
	p.mu.Lock()
	if p.cfg.ShutdownLifetime != cfg.ShutdownLifetime && lifetime != 0 {
		lifetime = p.cfg.ShutdownLifetime
	}
	p.mu.Unlock()
	p.notify("STOPPING=1")
	cacheLog.Printf("Preparing for shutdown after %s", lifetime)
	p.shutdown(lifetime)
	cacheLog.Printf("cuttle/%s: Exiting normally.", version)
	return status
}

// listenPort opens the socket of an http_port or https_port: plain TCP, as
// Squid's. Go's listeners try Multipath TCP first (Go 1.24), which costs
// two more sockets at every start and gives an accelerator nothing.
func listenPort(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return lc.Listen(context.Background(), "tcp", addr)
}

// privilegeDrop lets serve switch to cache_effective_user when started as
// root. main sets it; tests that call run in their own process leave it
// off, and test the drop through the binary.
var privilegeDrop bool

// memLimitOverhead is what cuttle declares it needs beside cache_mem:
// the Go runtime, connection buffers, the disk index and objects in
// flight. With cache_mem it sets the Go runtime's soft memory limit
// (GOMEMLIMIT), unless the environment sets one.
const memLimitOverhead = 64 << 20

// setMemoryLimit sets the Go memory limit from cache_mem unless GOMEMLIMIT
// is set: cache_mem, an eighth more for the memory tier's bookkeeping,
// and memLimitOverhead. cache_mem counts each object's whole footprint
// (body, header, decoded header), so the collector's own headroom
// (GOGC) is what the limit cuts: with a full cache the heap stays near
// the limit instead of growing to twice what is live.
func setMemoryLimit(cacheMem int64, cacheLog *log.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if cacheMem <= 0 {
		cacheMem = store.DefaultMemoryMaxBytes
	}
	limit := cacheMem + cacheMem/8 + memLimitOverhead
	debug.SetMemoryLimit(limit)
	cacheLog.Printf("Memory limit %d MB (cache_mem %d MB + overhead; set GOMEMLIMIT to change)", limit>>20, cacheMem>>20)
}

// shutdownAll stops the servers gracefully: listeners close at once, and
// requests in flight get up to lifetime to finish (shutdown_lifetime).
func shutdownAll(servers []*http.Server, lifetime time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
			}
		})
	}
	wg.Wait()
}

// openCacheLog opens cache_log for appending, falling back to stderr.
func openCacheLog(path string, alsoStderr bool, stderr io.Writer) (*log.Logger, func()) {
	flags := log.Ldate | log.Ltime
	if path == "" || path == "none" || path == "/dev/stderr" || path == "stderr" {
		return log.New(stderr, "", flags), func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		fmt.Fprintf(stderr, "cuttle: cache_log %s: %v; logging to stderr\n", path, err)
		return log.New(stderr, "", flags), func() {}
	}
	cl := &cacheLogFile{path: path, f: f}
	cacheLogs.Store(path, cl)
	var w io.Writer = cl
	if alsoStderr {
		w = io.MultiWriter(cl, stderr)
	}
	return log.New(w, "", flags), func() {
		cacheLogs.Delete(path)
		cl.close()
	}
}

// cacheLogs holds the open cache_log files by path, for -k rotate.
var cacheLogs sync.Map

// cacheLogFile is cache_log: a file that -k rotate can rename and reopen
// (log.Logger serialises the writes; mu orders them with a rotation).
type cacheLogFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func (c *cacheLogFile) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.f.Write(p)
}

func (c *cacheLogFile) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.f.Close()
}

// rotate renames PATH.(i-1) to PATH.i down to PATH to PATH.0, as Squid's
// logfile_rotate n does, then reopens PATH; with n <= 0 it only reopens.
func (c *cacheLogFile) rotate(n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > 0 {
		for i := n - 1; i >= 1; i-- {
			os.Rename(c.path+"."+strconv.Itoa(i-1), c.path+"."+strconv.Itoa(i)) //nolint:errcheck // a missing generation is fine
		}
		if err := os.Rename(c.path, c.path+".0"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err // keep writing to the old file
	}
	c.f.Close()
	c.f = f
	return nil
}

// rotateCacheLog rotates the cache_log file at path, if one is open.
func rotateCacheLog(path string, n int) {
	if v, ok := cacheLogs.Load(path); ok {
		if err := v.(*cacheLogFile).rotate(n); err != nil {
			fmt.Fprintf(os.Stderr, "cuttle: rotate cache_log %s: %v\n", path, err)
		}
	}
}

// openAccessLogs builds the access loggers of s, getting each file from
// open (which may return one already open): the lines without an acl list
// share one Logger; each line with one gets its own, written only for the
// transactions its acls match.
//
// A syslog: destination that cannot be reached is reported through warn
// and left out, as syslog(3) in Squid would drop the lines.
func openAccessLogs(s *setup, open func(squidconf.AccessLog) (*accesslog.Writer, error), warn func(string, ...any)) (*accesslog.Logger, []httpcache.FilteredLog, error) {
	fopts := accesslog.FormatOptions{StripQueryTerms: s.cfg.StripQueryTerms}
	var outputs []accesslog.Output
	var filtered []httpcache.FilteredLog
	for i, al := range s.cfg.AccessLogs {
		if al.Module != "stdio" && al.Module != "daemon" && al.Module != "syslog" {
			continue
		}
		format, err := logFormat(s, al.Format, fopts)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: access_log: %w", al.Pos, err)
		}
		w, err := open(al)
		if err != nil {
			if al.Module == "syslog" {
				warn("%s: access_log: %v; nothing is logged there", al.Pos, err)
				continue
			}
			return nil, nil, fmt.Errorf("%s: access_log: %w", al.Pos, err)
		}
		out := accesslog.Output{W: w, Format: format}
		if i < len(s.logTerms) && len(s.logTerms[i]) > 0 {
			filtered = append(filtered, httpcache.FilteredLog{Log: accesslog.New(out), Terms: s.logTerms[i]})
			continue
		}
		outputs = append(outputs, out)
	}
	return accesslog.New(outputs...), filtered, nil
}

// logFormat finds a built-in or logformat-defined format by name.
func logFormat(s *setup, name string, fopts accesslog.FormatOptions) (accesslog.Formatter, error) {
	if f, ok := accesslog.Lookup(name, fopts); ok {
		return f, nil
	}
	for _, lf := range s.cfg.LogFormats {
		if lf.Name == name {
			return accesslog.Compile(lf.Format, fopts)
		}
	}
	return nil, fmt.Errorf("unknown logformat %q", name)
}

// openDisks opens the cache_dir lines as disk tiers; their indexes load
// in the background. A directory that cannot be used (Squid's own store in
// it, no permission) is reported and left out: cuttle serves without it.
// It returns the tier over the disks that opened (nil if none) and each
// cache_dir line's Disk by index (nil where it did not open).
func openDisks(cfg *squidconf.Config, cacheLog *log.Logger, onPanic func(any)) (*store.Disks, []*store.Disk) {
	var dirs []*store.Disk
	byIndex := make([]*store.Disk, len(cfg.CacheDirs))
	for i, o := range diskOptions(cfg, cacheLog.Writer(), cacheLog.Printf, onPanic) {
		d, err := store.OpenDisk(o)
		if err != nil {
			cacheLog.Printf("%s: cache_dir: %v; not used", cfg.CacheDirs[i].Pos, err)
			continue
		}
		dirs = append(dirs, d)
		byIndex[i] = d
	}
	if len(dirs) == 0 {
		return nil, byIndex
	}
	return store.NewDisks(dirs...), byIndex
}
