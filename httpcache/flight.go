package httpcache

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// flightGroup tracks the origin requests in flight per key, so that
// concurrent misses can share one (collapsed_forwarding) and a stale object
// is refreshed in the background only once at a time (RFC 5861, Section 3).
type flightGroup struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// start registers a request for key. The first caller leads and must call
// end; the others get the channel that end closes.
func (g *flightGroup) start(key string) (done chan struct{}, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch, ok := g.m[key]; ok {
		return ch, false
	}
	if g.m == nil {
		g.m = make(map[string]chan struct{})
	}
	ch := make(chan struct{})
	g.m[key] = ch
	return ch, true
}

// end releases the waiters of key.
func (g *flightGroup) end(key string, done chan struct{}) {
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(done)
}

// collapseWait bounds how long a collapsed request waits for the one it
// joined before going to the origin itself.
const collapseWait = 30 * time.Second

// waiter is the optional power of a store to make its last writes
// visible at once ([store.Memory] applies writes asynchronously).
type waiter interface{ Wait() }

// collapsedMiss forwards the first of concurrent misses for a URL and
// makes the others wait for it (squid.conf collapsed_forwarding). A
// waiter then looks the URL up again, so it gets only what was stored,
// which excludes private and uncacheable responses, and its own Vary
// match is checked: such a hit is logged TCP_CF_HIT. When nothing usable
// was stored, or the wait timed out, it forwards on its own (TCP_CF_MISS).
func (h *Handler) collapsedMiss(rw *countingWriter, tx *transaction) {
	done, leader := h.flights.start(tx.url)
	if leader {
		defer h.flights.end(tx.url, done)
		if w, ok := h.opts.Store.(waiter); ok {
			defer w.Wait()
		}
		h.forward(rw, tx, h.statusMiss, nil)
		return
	}
	h.opts.Stats.collapsedWait()
	timer := time.NewTimer(collapseWait)
	select {
	case <-done:
	case <-timer.C:
	case <-tx.req.Context().Done():
	}
	timer.Stop()
	tx.key = tx.url
	switch out, stale := h.serveHit(rw, tx); out {
	case hitServed:
		tx.result, tx.hier = "TCP_CF_HIT", ""
		return
	case hitStale:
		defer stale.close()
		h.forward(rw, tx, h.statusStale, stale)
		return
	}
	tx.result = "TCP_CF_MISS"
	h.forward(rw, tx, h.statusMiss, nil)
}

// refreshInBackground revalidates the stored response c of tx's key while
// the client gets the stale copy (stale-while-revalidate, RFC 5861,
// Section 3). One refresh per key runs at a time; it is not logged, as it
// answers no client.
func (h *Handler) refreshInBackground(tx *transaction, c *cached) {
	key := tx.key
	done, leader := h.refreshing.start(key)
	if !leader {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	req := tx.req.Clone(ctx)
	for _, k := range conditionalFields {
		delete(req.Header, k)
	}
	delete(req.Header, "Range")
	req.Method = http.MethodGet
	req.Body, req.ContentLength = nil, 0
	bg := &transaction{
		req: req, port: tx.port, start: h.now(), clientIP: tx.clientIP, clientPort: tx.clientPort,
		indirectIP: tx.indirectIP, srcIP: tx.srcIP, logged: true,
	}
	bg.setURL(tx.url)
	bg.acl.internal = true
	bg.key, bg.lookup = key, tx.port.lookupHit
	// A request max-age=0 makes serveHit hand back the stale object for
	// revalidation instead of serving it again.
	bg.rd = requestDirectives{cc: noDirectives}
	bg.rd.cc.MaxAge = 0
	h.background.Go(func() {
		defer cancel()
		defer h.refreshing.end(key, done)
		// forward aborts a client whose origin body broke off with
		// http.ErrAbortHandler; here there is no client to abort. Any
		// other panic is logged and counted (panics.go).
		defer h.recoverPanic("background refresh of " + bg.url)
		cw := &countingWriter{ResponseWriter: &discardWriter{h: http.Header{}}}
		if out, stale := h.serveHit(cw, bg); out == hitStale {
			defer stale.close()
			h.forward(cw, bg, h.statusStale, stale)
		}
	})
}

// discardWriter is an http.ResponseWriter that throws the reply away:
// the client of a background refresh (and of the benchmarks).
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
