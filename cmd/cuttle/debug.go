package main

import (
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startDebugServer serves Go's profiling endpoints (net/http/pprof) on addr,
// for measuring cuttle under load. It is off unless --debug-addr is given.
func startDebugServer(addr string, logger *log.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed on stop
	logger.Printf("Debug (pprof) server listening at %s", ln.Addr())
	return func() { srv.Close() }, nil
}
