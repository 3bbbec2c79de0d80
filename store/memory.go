package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/ristretto/v2"
)

// Defaults for [MemoryOptions], those of Squid's cache_mem and
// maximum_object_size_in_memory.
const (
	DefaultMemoryMaxBytes      = 256 << 20
	DefaultMemoryMaxObjectSize = 512 << 10
)

// EntryOverhead is the fixed number of bytes charged to the byte budget for
// every object in the memory tier, on top of its body, Meta.Header and key.
// It covers the entry itself with its Meta, ristretto's slot in its store
// map and its cost record in the eviction policy: 255 to 310 bytes of live
// heap on amd64 with Go 1.26, depending on how full the maps are (the most
// just after they grow; BenchmarkMemoryEntryOverhead reports it), plus a
// margin for the size classes of the key and header allocations. The
// garbage collector's headroom is not charged.
const EntryOverhead = 384

const (
	// avgObjectSize is the object size assumed when sizing ristretto's
	// admission counters from the byte budget.
	avgObjectSize = 4 << 10

	// countersPerObject is ristretto's advice: about 10 counters per object
	// the cache holds when full.
	countersPerObject = 10

	// minCounters is the floor for small budgets.
	minCounters = 1 << 10

	// maxCounters bounds the counters whatever the budget: see numCounters.
	maxCounters = 1 << 18

	// putStripes is the number of locks that order Puts of the same key; a
	// power of two.
	putStripes = 64
)

// MemoryOptions configures [NewMemory].
type MemoryOptions struct {
	// MaxBytes is the byte budget (squid.conf cache_mem): the sum of the
	// costs of the objects kept never exceeds it. An object's cost is its
	// body length plus len(Meta.Header) plus its key length plus
	// [EntryOverhead], plus the MemSize of a Meta.Decoded that is a
	// [Sizer]. Zero means [DefaultMemoryMaxBytes].
	MaxBytes int64

	// MaxObjectSize is the largest body the memory tier keeps
	// (maximum_object_size_in_memory); Put of a larger body returns
	// [ErrTooLarge]. Zero means [DefaultMemoryMaxObjectSize]. A value above
	// MaxBytes is lowered to MaxBytes.
	MaxObjectSize int64
}

// Memory is the memory tier: a [Store] on a ristretto cache whose cost unit
// is the byte.
//
// It is an accelerator, never the only copy that matters: ristretto's
// TinyLFU admission may decline an object, and under heavy contention a Put
// may be dropped, so a Put that returns nil is not a promise of a later hit.
// Puts are applied asynchronously; [Memory.Wait] waits for them.
//
// Entries are keyed by a 64-bit hash of the full key and keep the key,
// which Get compares: a hash collision is a miss, never a foreign object.
// Stored bytes are never written after Put; every Get's Body reads the same
// bytes. A body being read when its object is evicted, deleted or replaced
// stays valid, and holds its memory, until the reader is dropped.
//
// Meta.Decoded is kept as given; its memory is charged to MaxBytes when it
// implements [Sizer], and not otherwise.
//
// A Memory is safe for concurrent use. Its zero value is not usable; call
// [NewMemory].
type Memory struct {
	cache     *ristretto.Cache[string, *entry]
	hash      func(string) (uint64, uint64) // ristretto's key hash
	maxBytes  int64
	maxObject int64

	// scratch holds chunks for reading bodies of unknown size.
	scratch *sync.Pool

	// held counts the entries handed to ristretto that it has not let go
	// of: see Len.
	held atomic.Int64

	// putMu protects the order of ristretto operations on the keys of one
	// hash stripe: see set.
	putMu [putStripes]sync.Mutex
}

// entry is a stored object. Nothing in it changes after set.
type entry struct {
	key  string
	meta Meta // Header is the entry's own copy; Size is len(body)
	body []byte
	cost int64
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty memory tier. It fails if an option is
// negative.
func NewMemory(opts MemoryOptions) (*Memory, error) {
	return newMemory(opts, hashKey)
}

// newMemory is NewMemory with the key hash function as a parameter, so that
// tests can force collisions.
func newMemory(opts MemoryOptions, keyToHash func(string) (uint64, uint64)) (*Memory, error) {
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("store: memory: negative MaxBytes %d", opts.MaxBytes)
	}
	if opts.MaxObjectSize < 0 {
		return nil, fmt.Errorf("store: memory: negative MaxObjectSize %d", opts.MaxObjectSize)
	}
	maxBytes := opts.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultMemoryMaxBytes
	}
	maxObject := opts.MaxObjectSize
	if maxObject == 0 {
		maxObject = DefaultMemoryMaxObjectSize
	}
	maxObject = min(maxObject, maxBytes)

	m := &Memory{
		hash:      keyToHash,
		maxBytes:  maxBytes,
		maxObject: maxObject,
		scratch:   newScratch(),
	}
	cache, err := ristretto.NewCache(&ristretto.Config[string, *entry]{
		NumCounters: numCounters(maxBytes),
		MaxCost:     maxBytes,
		BufferItems: 64,
		KeyToHash:   keyToHash,
		// EntryOverhead already covers ristretto's own bookkeeping.
		IgnoreInternalCost: true,
		// ristretto calls OnExit exactly once for every value a Set
		// handed to it: when the policy declines it, when it leaves the
		// store (eviction, Del, replacement, Close) or when Close finds
		// it still queued. Misses of Del and evicted keys whose value is
		// already gone come with a nil value.
		OnExit: func(e *entry) {
			if e != nil {
				m.held.Add(-1)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("store: memory: %w", err)
	}
	m.cache = cache
	return m, nil
}

// numCounters returns the number of TinyLFU counters (ristretto's
// NumCounters) for a byte budget: 10 per object of 4 KiB the budget holds,
// between minCounters and maxCounters.
//
// ristretto allocates its count-min sketch (4 rows of 4-bit counters) and
// its doorkeeper bloom filter (about 10 bits a counter) in NewCache: about
// 4 bytes a counter once rounded to powers of two. The pages stay out of
// the resident set only until traffic arrives: a few thousand distinct keys
// touch every page, and every NumCounters accesses the sketch is halved,
// all of it. The garbage collector then lets the heap grow by as much again
// before it collects. Uncapped, 256 MB of cache_mem cost 3 MiB of counters
// and 1 GB 12 MiB, whatever the cache holds.
//
// The cap, 2^18 counters, costs 1 MiB (512 KiB of sketch, 512 KiB of bloom
// filter) from about 103 MB of cache_mem up. The price is in the admission
// window: TinyLFU compares the newcomer's frequency with the eviction
// candidate's over the last NumCounters accesses, so the cap remembers
// 262,144 requests whatever the budget. That is worse when popularity is
// stable and better when new objects keep becoming popular. Hit ratios
// simulated on ristretto v2.4.2 (objects of 1 byte to 32 KiB, Zipf s=1.01
// over 1M keys, 5M requests), capped against uncapped:
//
//	cache_mem  popularity                              capped  uncapped
//	256 MB     stable                                  0.683   0.710
//	256 MB     1,000 ranks shift per 200,000 requests  0.664   0.676
//	256 MB     2,000 ranks shift per 50,000 requests   0.572   0.529
//	1 GB       stable                                  0.756   0.800
//	1 GB       1,000 ranks shift per 200,000 requests  0.747   0.778
//	1 GB       2,000 ranks shift per 50,000 requests   0.684   0.591
func numCounters(maxBytes int64) int64 {
	return min(max(countersPerObject*(maxBytes/avgObjectSize), minCounters), maxCounters)
}

// hashKey is the memory tier's key hash. The conflict hash is 0 (unused):
// entries keep their key, and Get compares it.
func hashKey(key string) (uint64, uint64) {
	return xxhash.Sum64String(key), 0
}

// Get returns the object stored under key, or ErrNotFound. The returned
// Object and its Body share the stored bytes: the caller must not modify
// Meta.Header. Closing Body is not needed for the memory tier but is part of
// the [Store] contract. Get does not block and ignores ctx.
func (m *Memory) Get(ctx context.Context, key string) (*Object, error) {
	e, ok := m.cache.Get(key)
	if !ok || e.key != key {
		return nil, ErrNotFound
	}
	return newMemObject(e), nil
}

// Put reads body to EOF and stores it under key with meta, replacing any
// object stored under it. The body is read into memory: one allocation of
// Meta.Size bytes when the size is known.
//
// Put fails, leaving no object under key (an earlier one is removed too),
// if the body is longer than the object size limit ([ErrTooLarge]; with a
// known Meta.Size nothing is read at all), if its length differs from a
// non-negative Meta.Size, if reading it fails, or if ctx is cancelled.
func (m *Memory) Put(ctx context.Context, key string, meta Meta, body io.Reader) error {
	b, err := readBody(ctx, body, meta.Size, m.maxObject, m.scratch)
	if err != nil {
		m.cache.Del(key)
		if errors.Is(err, ErrTooLarge) {
			return ErrTooLarge
		}
		return fmt.Errorf("store: put %q: %w", key, err)
	}
	m.set(key, meta, b)
	return nil
}

// set stores body, which it takes ownership of, under key. The caller has
// checked the size limit.
func (m *Memory) set(key string, meta Meta, body []byte) {
	m.setIf(key, meta, body, nil)
}

// setIf is set when cond, called under the key's stripe lock, reports
// true (or is nil). It reports whether it stored the object.
func (m *Memory) setIf(key string, meta Meta, body []byte, cond func() bool) bool {
	meta.Header = clone(meta.Header)
	meta.Size = int64(len(body))
	e := &entry{
		key:  key,
		meta: meta,
		body: body,
		cost: int64(len(body)+len(meta.Header)+len(key)) + EntryOverhead + decodedSize(meta.Decoded),
	}
	// ristretto treats a Set of a key it holds as an update: its policy
	// charges the new cost but trims the cache to its budget only at the
	// next new key, so the budget could be overrun for a while. And when a
	// key's first Set is still queued, a second Set is a new item that the
	// policy rejects, keeping the older object. So every Put is a delete
	// followed by a new key. Under the lock of the hash's stripe, two Puts
	// to one slot cannot interleave: ristretto's queue never holds two new
	// items for a slot without a delete between them, the last Put wins, and
	// each stored object's cost is the one the policy charged.
	mu := m.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	if cond != nil && !cond() {
		return false
	}
	m.cache.Del(key)
	// Counted before Set, whose OnExit may run first.
	m.held.Add(1)
	if !m.cache.Set(key, e, e.cost) {
		m.held.Add(-1) // dropped: ristretto's buffer was full
	}
	return true
}

// decodedSize is the memory charged for a Meta.Decoded value: its MemSize
// if it is a [Sizer], else 0.
func decodedSize(d any) int64 {
	if s, ok := d.(Sizer); ok {
		return max(s.MemSize(), 0)
	}
	return 0
}

// stripe returns the lock that orders the writes of key.
func (m *Memory) stripe(key string) *sync.Mutex {
	h, _ := m.hash(key)
	return &m.putMu[h&(putStripes-1)]
}

// clone returns a copy of b that shares nothing with it, or nil if b is
// empty.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// Delete removes the object stored under key, if any. It never fails.
func (m *Memory) Delete(ctx context.Context, key string) error {
	mu := m.stripe(key)
	mu.Lock()
	m.cache.Del(key)
	mu.Unlock()
	return nil
}

// Wait blocks until every Put and Delete that returned before the call has
// been applied, so that a following Get sees it (unless the admission policy
// declined the object).
func (m *Memory) Wait() {
	m.cache.Wait()
}

// Bytes returns the sum of the costs of the objects kept, which never
// exceeds [Memory.MaxBytes]. Puts still in ristretto's buffers are not
// counted; see [Memory.Wait].
func (m *Memory) Bytes() int64 {
	return m.maxBytes - m.cache.RemainingCost()
}

// Len returns the number of objects the memory tier holds. Like
// [Memory.Bytes] it is exact after [Memory.Wait]; unlike Bytes, it also
// counts the objects of Puts still in ristretto's buffers, until they are
// stored or declined. It is 0 after [Memory.Close].
func (m *Memory) Len() int {
	return int(m.held.Load())
}

// MaxBytes returns the byte budget, with the default applied.
func (m *Memory) MaxBytes() int64 {
	return m.maxBytes
}

// MaxObjectSize returns the largest body the memory tier keeps, with the
// default applied.
func (m *Memory) MaxObjectSize() int64 {
	return m.maxObject
}

// Close empties the cache and stops its goroutines. Nothing else may use m
// during or after Close: ristretto panics on a Delete that races with Close.
func (m *Memory) Close() {
	m.cache.Close()
}
