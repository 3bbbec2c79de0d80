// Command origin is the soak test's origin server: every path answers
// with a small cacheable body; /vary/ answers vary on Accept-Language.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()
	body := make([]byte, 512)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	h := http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "public, max-age=3600")
		rw.Header().Set("Content-Type", "text/plain")
		if len(req.URL.Path) >= 6 && req.URL.Path[:6] == "/vary/" {
			rw.Header().Set("Vary", "Accept-Language")
			fmt.Fprintf(rw, "lang=%s\n", req.Header.Get("Accept-Language"))
		}
		rw.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
