package httpcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"

	"cuttle/store"
)

// A panic must never take the process down (reliability checklist H10;
// the Squid audit of 2021 found dozens of assertions on odd but legal
// traffic, which in Go become panics). net/http recovers a handler's
// panic, but logs it to the server's log and says nothing to the cache's
// counters, and nothing recovers a panic in a goroutine the Handler starts
// itself. So every goroutine the Handler starts, and the Handler itself,
// recovers, logs the panic with its stack to cache_log and counts it
// (Stats, cuttle_panics_total).

// errStorePanic is what a Put that panicked returns.
var errStorePanic = errors.New("httpcache: store panicked")

// panicked logs and counts a recovered panic value v from what.
func (h *Handler) panicked(what string, v any) {
	h.opts.Stats.RecordPanic()
	h.errorLog.Printf("httpcache: panic in %s: %v\n%s", what, v, debug.Stack())
}

// recoverPanic, deferred at the top of a goroutine, recovers a panic in
// it, logs and counts it. http.ErrAbortHandler, the panic that breaks off a
// response on purpose, is neither logged nor counted.
func (h *Handler) recoverPanic(what string) {
	if v := recover(); v != nil && v != http.ErrAbortHandler { //nolint:errorlint // a panic value, not an error chain
		h.panicked(what, v)
	}
}

// recoverRequest is deferred by ServeHTTP: a panic while serving a request
// is logged and counted, and the response is then broken off with
// http.ErrAbortHandler, which net/http handles quietly (the connection is
// closed, the client sees a truncated or missing response).
func (h *Handler) recoverRequest(req *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v != http.ErrAbortHandler { //nolint:errorlint // a panic value, not an error chain
		h.panicked(fmt.Sprintf("request %s %s", req.Method, req.RequestURI), v)
	}
	panic(http.ErrAbortHandler)
}

// storePut is Store.Put that turns a panic of the store into an error, so
// that a broken store makes a miss, never a dead process or a lost
// response.
func (h *Handler) storePut(ctx context.Context, key string, meta store.Meta, body io.Reader) (err error) {
	defer func() {
		if v := recover(); v != nil {
			h.panicked("store put of "+key, v)
			err = errStorePanic
		}
	}()
	return h.opts.Store.Put(ctx, key, meta, body)
}
