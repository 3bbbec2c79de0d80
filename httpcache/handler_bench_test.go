package httpcache

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"cuttle/accesslog"
	"cuttle/store"
)

// BenchmarkMemoryHit measures one memory hit of a 1 KiB object through
// the accelerator handler, with and without an access.log.
func BenchmarkMemoryHit(b *testing.B) {
	for _, logging := range []bool{false, true} {
		name := "nolog"
		if logging {
			name = "log"
		}
		b.Run(name, func(b *testing.B) {
			body := strings.Repeat("x", 1024)
			origin := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
				rw.Header().Set("Cache-Control", "max-age=3600")
				rw.Header().Set("Content-Type", "text/plain")
				io.WriteString(rw, body)
			}))
			defer origin.Close()
			mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: 64 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer mem.Close()
			opts := Options{
				Store:    store.NewTiered(mem, nil),
				Access:   []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}},
				Peers:    []Peer{{Host: "127.0.0.1", Port: int(origin.Listener.Addr().(*net.TCPAddr).Port)}},
				ErrorLog: log.New(io.Discard, "", 0),
			}
			if logging {
				w, err := accesslog.OpenFile(filepath.Join(b.TempDir(), "access.log"))
				if err != nil {
					b.Fatal(err)
				}
				opts.Log = accesslog.New(accesslog.Output{W: w, Format: accesslog.Squid(accesslog.FormatOptions{StripQueryTerms: true})})
				defer opts.Log.Close()
			}
			h, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			ph := h.Port(Port{Vhost: true})
			req := httptest.NewRequest("GET", "/obj/1k", nil)
			req.Host = "bench"
			req.RemoteAddr = "127.0.0.1:40000"
			w := &discardWriter{h: http.Header{}}
			ph.ServeHTTP(w, req) // miss
			mem.Wait()
			w.h = http.Header{}
			ph.ServeHTTP(w, req)
			if w.h.Get("X-Cache") != "HIT from localhost" {
				b.Fatalf("second request X-Cache = %q, want a hit", w.h.Get("X-Cache"))
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				ph.ServeHTTP(w, req)
			}
		})
	}
}
