package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by [Store.Get] when no object is stored under the key.
var ErrNotFound = errors.New("store: not found")

// ErrTooLarge is returned by [Store.Put] when the body exceeds the tier's
// object size limit (maximum_object_size_in_memory for the memory tier).
// Nothing is stored in that case.
var ErrTooLarge = errors.New("store: object too large")

// Meta is what the store keeps beside an object's body. The store does not
// interpret any of it except Size; HTTP meaning belongs to the caller.
type Meta struct {
	// Header is the caller's serialised metadata (for httpcache: the stored
	// response status line and header fields). Tiers persist it verbatim.
	Header []byte

	// Decoded is an optional in-memory form of Header that the memory tier
	// keeps beside the object and hands back unchanged on Get, so that a hit
	// does not have to parse Header again. Tiers that persist objects
	// (the disk tier) drop it; callers must cope with a nil Decoded. If it
	// implements [Sizer], the memory tier charges its size to the byte
	// budget (cache_mem) with the rest of the object.
	Decoded any

	// Size is the body length in bytes, or -1 if unknown when Put is called.
	// Get always reports the real stored length.
	Size int64

	// Stored is when the response was received (RFC 9111 response_time).
	Stored time.Time

	// Expires is a hint for replacement: when the object stops being fresh.
	// The zero time means unknown.
	Expires time.Time
}

// Sizer is implemented by a [Meta.Decoded] value that knows how much
// memory it holds. The memory tier adds MemSize to the object's cost, so
// that cache_mem bounds what the cached objects really occupy: a decoded
// header kept beside its serialised form can cost more than the form
// itself.
type Sizer interface {
	// MemSize returns the bytes of heap the value keeps alive beyond what
	// Meta already counts: an estimate, never below the real figure by
	// much. It is called once, when the object is stored.
	MemSize() int64
}

// Object is a stored object returned by [Store.Get].
type Object struct {
	// Key is the full key the object was stored under. Tiers compare it with
	// the requested key on every Get, so it always equals the requested key.
	Key string

	// Meta is the metadata given to Put, with Size set to the body length.
	Meta Meta

	// Body streams the stored body. The caller must Close it.
	Body io.ReadCloser

	// gen identifies the stored version of a disk object, so that a copy
	// promoted to memory is never older than the disk's.
	gen uint64
}

// Store is an object store: bytes, sizes, times and keys, no HTTP semantics.
type Store interface {
	// Get returns the object stored under key, or ErrNotFound.
	// The caller must Close obj.Body.
	Get(ctx context.Context, key string) (*Object, error)

	// Put streams body into storage under key, replacing any object stored
	// under it. It must not commit a partial object: a non-EOF read error,
	// ctx cancellation, a body whose length differs from a non-negative
	// meta.Size or a body longer than the tier accepts (ErrTooLarge) aborts
	// the write and leaves no object under key, not even one stored before.
	// Put reads body until EOF or until it gives up; it never keeps body
	// after returning.
	Put(ctx context.Context, key string, meta Meta, body io.Reader) error

	// Delete removes the object stored under key, if any.
	Delete(ctx context.Context, key string) error
}
