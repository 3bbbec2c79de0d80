package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// startDemoOrigin starts the small origin server behind --demo-origin, so
// that cuttle can be tried without a real site: "/" is a page fresh for a
// minute, "/obj/N" is N bytes (suffix k or m for KiB or MiB) fresh for an
// hour, "/private" is never stored, and "/stats" counts the requests it
// served.
func startDemoOrigin(addr string, logger *log.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var served atomic.Int64
	modified := time.Now().Add(-24 * time.Hour).UTC().Format(http.TimeFormat)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, req *http.Request) {
		served.Add(1)
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.Header().Set("Cache-Control", "public, max-age=60")
		rw.Header().Set("Last-Modified", modified)
		fmt.Fprintf(rw, "<!DOCTYPE html>\n<title>cuttle demo origin</title>\n<p>Hello from the demo origin. Generated %s.</p>\n",
			time.Now().UTC().Format(time.RFC3339Nano))
	})
	mux.HandleFunc("GET /obj/{size}", func(rw http.ResponseWriter, req *http.Request) {
		served.Add(1)
		n, ok := parseDemoSize(req.PathValue("size"))
		if !ok {
			http.Error(rw, "bad size", http.StatusBadRequest)
			return
		}
		rw.Header().Set("Content-Type", "application/octet-stream")
		rw.Header().Set("Cache-Control", "max-age=3600")
		rw.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		buf := []byte(strings.Repeat("cuttle-", 1024))
		for n > 0 {
			k := min(n, int64(len(buf)))
			if _, err := rw.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("GET /private", func(rw http.ResponseWriter, req *http.Request) {
		served.Add(1)
		rw.Header().Set("Content-Type", "text/plain")
		rw.Header().Set("Cache-Control", "private, max-age=60")
		fmt.Fprintf(rw, "only for you, at %s\n", time.Now().UTC().Format(time.RFC3339Nano))
	})
	mux.HandleFunc("GET /stats", func(rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		rw.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(rw, "%d\n", served.Load())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed on stop
	logger.Printf("Demo origin listening at %s", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck // best effort on exit
	}, nil
}

func parseDemoSize(s string) (int64, bool) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, strings.TrimSuffix(s, "m")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (64<<20)/mult {
		return 0, false
	}
	return n * mult, true
}
