package main

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"time"
)

// startMetricsServer serves the Prometheus endpoint h (see
// httpcache.MetricsHandler) on addr, on a server of its own so that
// scrapes never reach the accelerator's ports. It is off unless
// --metrics-addr is given. logf receives the address it listens at and
// the server's errors (cache_log). stop closes the listener and waits up
// to a second for scrapes in flight.
func startMetricsServer(addr string, h http.Handler, logf func(string, ...any)) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(logfWriter(logf), "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("ERROR: metrics server: %v", err)
		}
	}()
	logf("Prometheus metrics at http://%s/metrics", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	}, nil
}

// logfWriter turns a printf-like function into the io.Writer of a
// log.Logger, one call per message.
type logfWriter func(string, ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("metrics server: %s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
