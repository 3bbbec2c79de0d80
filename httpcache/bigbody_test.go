package httpcache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"

	"cuttle/store"
)

// TestLargeResponseStreamed checks that a response over
// maximum_object_size (50 MB against 4 MB) streams through without being
// stored or held: the heap grows by a small fraction of the body while it
// passes, with a Content-Length and without one (the store then gives up
// at the limit). It does not run in parallel so that the heap it measures
// is its own.
func TestLargeResponseStreamed(t *testing.T) {
	const size = 50 << 20
	chunk := make([]byte, 32<<10)
	for i := range chunk {
		chunk[i] = byte('a' + i%26)
	}
	o := hfNewOrigin(t, hfNewClock(), func(n int, rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=3600")
		if req.URL.Path == "/sized" {
			rw.Header().Set("Content-Length", strconv.Itoa(size))
		}
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := rw.Write(chunk); err != nil {
				return
			}
		}
	})
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.MaxObjectSize = 4 << 20 })
	for _, path := range []string{"/sized", "/chunked"} {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base, peak := ms.HeapInuse, ms.HeapInuse
		res, err := http.Get(p.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		var got int64
		for {
			n, err := io.ReadFull(res.Body, buf)
			got += int64(n)
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			if err != nil {
				break
			}
		}
		res.Body.Close()
		if got != size {
			t.Errorf("%s: client got %d bytes, want %d", path, got, size)
		}
		const bound = 24 << 20
		if growth := int64(peak) - int64(base); growth > bound {
			t.Errorf("%s: heap grew by %d MB while 50 MB passed, want at most %d MB", path, growth>>20, bound>>20)
		}
		t.Logf("%s: heap in use %d MB before, at most %d MB during", path, base>>20, peak>>20)
		p.mem.Wait()
		if _, err := p.mem.Get(context.Background(), "http://"+res.Request.URL.Host+path); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: stored (Get = %v), want not stored over maximum_object_size", path, err)
		}
	}
}
