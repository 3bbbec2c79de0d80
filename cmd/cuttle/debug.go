package main

import (
	"fmt"
	"html"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"
)

// defaultMemProfileRate is the Go runtime's own default for
// runtime.MemProfileRate: one sample per 512 KiB allocated.
const defaultMemProfileRate = 512 * 1024

// startDebugServer serves Go's profiles on addr under /debug/pprof/, in
// the paths `go tool pprof` knows, for measuring cuttle under load. It is
// off unless --debug-addr is given. Heap sampling (runtime.MemProfileRate),
// which main turns off, is turned back on here, so the heap profile
// covers the allocations made since.
//
// The handlers are cuttle's own over runtime/pprof rather than
// net/http/pprof, whose init registers on http.DefaultServeMux in every
// start (about a millisecond here, see issue 7's start-up budget).
func startDebugServer(addr string, logger *log.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	runtime.MemProfileRate = defaultMemProfileRate
	srv := &http.Server{Handler: http.HandlerFunc(serveDebug), ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed on stop
	logger.Printf("Debug (pprof) server listening at %s", ln.Addr())
	return func() { srv.Close() }, nil
}

// maxProfileSeconds bounds the duration of a CPU profile or an execution
// trace that one request may ask for.
const maxProfileSeconds = 300

// serveDebug answers /debug/pprof/ (an index), /debug/pprof/profile and
// /debug/pprof/trace (?seconds=N, default 30 and 1), and
// /debug/pprof/<profile> (?debug=N) for the named runtime/pprof profiles.
func serveDebug(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/debug/pprof/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch name {
	case "":
		debugIndex(w)
	case "cmdline":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, strings.Join(os.Args, "\x00"))
	case "profile", "trace":
		def := 30
		if name == "trace" {
			def = 1
		}
		secs, err := formInt(r, "seconds", def)
		if err != nil || secs <= 0 || secs > maxProfileSeconds {
			http.Error(w, "seconds must be 1 to "+strconv.Itoa(maxProfileSeconds), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		start, stop := pprof.StartCPUProfile, pprof.StopCPUProfile
		if name == "trace" {
			start, stop = trace.Start, trace.Stop
		}
		if err := start(w); err != nil {
			w.Header().Del("Content-Disposition")
			http.Error(w, "cannot start: "+err.Error(), http.StatusInternalServerError)
			return
		}
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-r.Context().Done():
		}
		stop()
	default:
		p := pprof.Lookup(name)
		if p == nil {
			http.Error(w, "no such profile", http.StatusNotFound)
			return
		}
		debug, err := formInt(r, "debug", 0)
		if err != nil {
			http.Error(w, "debug must be a number", http.StatusBadRequest)
			return
		}
		if debug > 0 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		}
		if name == "heap" && r.FormValue("gc") != "" {
			runtime.GC()
		}
		p.WriteTo(w, debug) //nolint:errcheck // the client went away
	}
}

// debugIndex lists the profiles with links.
func debugIndex(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!DOCTYPE html>\n<title>cuttle profiles</title>\n<h1>/debug/pprof/</h1>\n<ul>\n")
	for _, p := range pprof.Profiles() {
		n := html.EscapeString(p.Name())
		fmt.Fprintf(w, "<li><a href=\"%s?debug=1\">%s</a> (%d)\n", n, n, p.Count())
	}
	fmt.Fprint(w, "<li><a href=\"profile?seconds=30\">profile</a> (CPU, 30 s)\n<li><a href=\"trace?seconds=1\">trace</a> (1 s)\n</ul>\n")
}

func formInt(r *http.Request, name string, def int) (int, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}
