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
	"strconv"
	"sync"
	"syscall"
	"time"

	"cuttle/accesslog"
	"cuttle/httpcache"
	"cuttle/squidconf"
	"cuttle/store"
)

// serve runs cuttle until ctx ends, then shuts down within
// shutdown_lifetime.
func serve(ctx context.Context, sf *squidFlags, cf *cuttleFlags, stderr io.Writer) int {
	start := time.Now()
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

	cacheLog, closeCacheLog := openCacheLog(cfg.CacheLog, sf.debugLevel > 0, stderr)
	defer closeCacheLog()
	cacheLog.Printf("Starting cuttle/%s with %s", version, sf.configFile)

	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: cfg.CacheMem, MaxObjectSize: cfg.MaximumObjectSizeInMemory})
	if err != nil {
		cacheLog.Printf("FATAL: cache_mem: %v", err)
		return 1
	}
	defer mem.Close()
	var disk store.Store
	if dirs := openDisks(cfg, cacheLog); dirs != nil {
		defer func() {
			if err := dirs.Close(); err != nil {
				cacheLog.Printf("cache_dir: %v", err)
			}
		}()
		disk = dirs
	}

	logger, filtered, writers, err := openAccessLogs(s, cacheLog.Printf)
	if err != nil {
		cacheLog.Printf("FATAL: %v", err)
		return 1
	}
	defer logger.Close()
	for _, fl := range filtered {
		defer fl.Log.Close()
	}

	opts := s.handler
	opts.Store = store.NewTiered(mem, disk)
	opts.Log = logger
	opts.FilteredLogs = filtered
	opts.ErrorLog = cacheLog
	opts.CDNCacheControl = cf.cdnCacheControl
	h, err := httpcache.New(opts)
	if err != nil {
		cacheLog.Printf("FATAL: %v", err)
		return 1
	}

	if cf.demoOrigin != "" {
		stopDemo, err := startDemoOrigin(cf.demoOrigin, cacheLog)
		if err != nil {
			cacheLog.Printf("FATAL: --demo-origin: %v", err)
			return 1
		}
		defer stopDemo()
	}

	if cf.debugAddr != "" {
		stopDebug, err := startDebugServer(cf.debugAddr, cacheLog)
		if err != nil {
			cacheLog.Printf("FATAL: --debug-addr: %v", err)
			return 1
		}
		defer stopDebug()
	}

	var servers []*http.Server
	var wg sync.WaitGroup
	serveErr := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			cacheLog.Printf("FATAL: http_port %s: %v", l.addr, err)
			shutdownAll(servers, time.Second)
			return 1
		}
		srv := &http.Server{
			Handler:           h.Port(l.port),
			ReadHeaderTimeout: cf.readHeaderTimeout,
			IdleTimeout:       cf.idleTimeout,
			ErrorLog:          cacheLog,
			ConnState:         h.ConnState,
			ConnContext:       h.ConnContext,
		}
		servers = append(servers, srv)
		cacheLog.Printf("Accepting reverse-proxy HTTP Socket connections at %s", ln.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	if len(servers) == 0 {
		cacheLog.Printf("WARNING: no http_port in %s: nothing to listen on", sf.configFile)
	}
	if cfg.PidFilename != "" {
		if err := os.WriteFile(cfg.PidFilename, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			cacheLog.Printf("WARNING: pid_filename %s: %v", cfg.PidFilename, err)
		} else {
			defer os.Remove(cfg.PidFilename)
		}
	}
	cacheLog.Printf("Ready to serve requests (started in %v)", time.Since(start).Round(time.Millisecond))

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	status := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-serveErr:
			cacheLog.Printf("FATAL: %v", err)
			status = 1
			break loop
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				// squid -k rotate: with logfile_rotate N the logs are
				// renamed to .0 .. .N-1 as Squid does; with 0 (Debian's
				// default) they are only reopened, which is what logrotate
				// expects. Lines are flushed first, never lost or torn.
				for _, w := range writers {
					if err := w.Rotate(cfg.LogfileRotate); err != nil {
						cacheLog.Printf("ERROR: rotate: %v", err)
					}
				}
				rotateCacheLog(cfg.CacheLog, cfg.LogfileRotate)
				cacheLog.Printf("Log files rotated (logfile_rotate %d)", cfg.LogfileRotate)
			case syscall.SIGHUP:
				cacheLog.Printf("WARNING: -k reconfigure is not supported yet; restart cuttle to apply a changed config")
			}
		}
	}
	cacheLog.Printf("Preparing for shutdown after %s", cfg.ShutdownLifetime)
	shutdownAll(servers, cfg.ShutdownLifetime)
	wg.Wait()
	cacheLog.Printf("cuttle/%s: Exiting normally.", version)
	return status
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

// openAccessLogs opens the access_log files: the lines without an acl
// list share one Logger; each line with one gets its own, written only
// for the transactions its acls match.
//
// A syslog: destination that cannot be reached is reported through warn
// and left out, as syslog(3) in Squid would drop the lines.
func openAccessLogs(s *setup, warn func(string, ...any)) (*accesslog.Logger, []httpcache.FilteredLog, []*accesslog.Writer, error) {
	fopts := accesslog.FormatOptions{StripQueryTerms: s.cfg.StripQueryTerms}
	var outputs []accesslog.Output
	var filtered []httpcache.FilteredLog
	var writers []*accesslog.Writer
	fail := func(err error) (*accesslog.Logger, []httpcache.FilteredLog, []*accesslog.Writer, error) {
		for _, w := range writers {
			w.Close()
		}
		return nil, nil, nil, err
	}
	for i, al := range s.cfg.AccessLogs {
		if al.Module != "stdio" && al.Module != "daemon" && al.Module != "syslog" {
			continue
		}
		format, err := logFormat(s, al.Format, fopts)
		if err != nil {
			return fail(fmt.Errorf("%s: access_log: %w", al.Pos, err))
		}
		var w *accesslog.Writer
		if al.Module == "syslog" {
			if w, err = accesslog.OpenSyslog(al.Path); err != nil {
				warn("%s: access_log: %v; nothing is logged there", al.Pos, err)
				continue
			}
		} else if w, err = accesslog.OpenFile(al.Path); err != nil {
			return fail(fmt.Errorf("%s: access_log: %w", al.Pos, err))
		}
		writers = append(writers, w)
		out := accesslog.Output{W: w, Format: format}
		if i < len(s.logTerms) && len(s.logTerms[i]) > 0 {
			filtered = append(filtered, httpcache.FilteredLog{Log: accesslog.New(out), Terms: s.logTerms[i]})
			continue
		}
		outputs = append(outputs, out)
	}
	return accesslog.New(outputs...), filtered, writers, nil
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
func openDisks(cfg *squidconf.Config, cacheLog *log.Logger) *store.Disks {
	var dirs []*store.Disk
	for i, o := range diskOptions(cfg, cacheLog.Writer(), cacheLog.Printf) {
		d, err := store.OpenDisk(o)
		if err != nil {
			cacheLog.Printf("%s: cache_dir: %v; not used", cfg.CacheDirs[i].Pos, err)
			continue
		}
		dirs = append(dirs, d)
	}
	if len(dirs) == 0 {
		return nil
	}
	return store.NewDisks(dirs...)
}
