package httpcache

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"cuttle/store"
)

// TestCacheMemBoundsHeap fills a memory tier of 8 MB (cache_mem) with
// many more small objects than it holds, through the handler and a real
// origin, and checks that what the cached objects occupy on the heap stays
// within cache_mem: the decoded header kept beside each object
// (store.Meta.Decoded) is charged to it. Uncharged, 512-byte objects took
// about 1.6 times cache_mem.
func TestCacheMemBoundsHeap(t *testing.T) {
	body := strings.Repeat("x", 512)
	origin := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		rw.Header().Set("Cache-Control", "public, max-age=3600")
		rw.Header().Set("Content-Type", "text/plain")
		rw.Header().Set("Last-Modified", "Tue, 24 Nov 2026 10:00:00 GMT")
		io.WriteString(rw, body)
	}))
	defer origin.Close()
	const budget = 8 << 20
	mem, err := store.NewMemory(store.MemoryOptions{MaxBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	h, err := New(Options{
		Store:    store.NewTiered(mem, nil),
		Access:   []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}},
		Peers:    []Peer{{Host: "127.0.0.1", Port: origin.Listener.Addr().(*net.TCPAddr).Port}},
		ErrorLog: log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	ph := h.Port(Port{Vhost: true})
	get := func(path string) *discardWriter {
		req := httptest.NewRequest("GET", path, nil)
		req.Host = "soak.local"
		req.RemoteAddr = "127.0.0.1:40000"
		w := &discardWriter{h: http.Header{}}
		ph.ServeHTTP(w, req)
		return w
	}
	get("/warm-up")
	mem.Wait()
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	base := heap() - mem.Bytes()
	const n = 14000 // about twice what 8 MB holds
	for i := range n {
		get(fmt.Sprintf("/bust?q=%d", i))
	}
	mem.Wait()
	if mem.Bytes() > budget {
		t.Errorf("memory tier charges %d bytes, over cache_mem %d", mem.Bytes(), budget)
	}
	if mem.Len() < n/4 || mem.Len() >= n {
		t.Errorf("memory tier holds %d of %d objects: want it full and evicting", mem.Len(), n)
	}
	// The margin covers what is not the cache: connection pools, the
	// allocator's size classes, ristretto's buffers.
	grown := heap() - base
	t.Logf("%d objects, %d bytes charged, heap grew by %d (%.0f B/object)", mem.Len(), mem.Bytes(), grown, float64(grown)/float64(mem.Len()))
	if limit := int64(budget) + budget/10 + 1<<20; grown > limit {
		t.Errorf("heap grew by %d bytes for %d cached objects, want at most %d (cache_mem %d + 10%% + 1 MiB)", grown, mem.Len(), limit, budget)
	}
}
