package httpcache

import (
	"math/bits"
	"net/http"
	"unsafe"

	"cuttle/store"
)

// The memory tier keeps a decoded form of every stored response beside its
// serialised header (store.Meta.Decoded), so that a hit parses nothing. That
// form is a *cached holding the origin's http.Header map: for a small
// object it weighs more than the object's body. Its size is charged to
// cache_mem (store.Sizer), as Squid charges an object's in-memory metadata
// to cache_mem, so that cache_mem bounds what the cached objects occupy.

var (
	_ store.Sizer = (*cached)(nil)
	_ store.Sizer = (*variantIndex)(nil)
)

// Sizes of the Go values an estimate adds up, on the platform built for.
const (
	stringHeaderSize = int64(unsafe.Sizeof(""))
	sliceHeaderSize  = int64(unsafe.Sizeof([]string(nil)))
	cachedSize       = int64(unsafe.Sizeof(cached{}))
	variantIdxSize   = int64(unsafe.Sizeof(variantIndex{}))

	// mapHeaderSize is a Go map's own struct, and mapGroupSize one group
	// of 8 slots of a map[string][]string with its control word
	// (internal/runtime/maps): 8 + 8 × (16 + 24) bytes.
	mapHeaderSize = 48
	mapGroupSize  = 8 + 8*(16+24)
	mapSlotsPer   = 8
	mapTableSize  = 48 // a table of a map with more than 8 slots
)

// MemSize estimates the heap c keeps alive besides the stored body and the
// serialised header the memory tier charges already: the struct, the
// origin's header map with its keys and values, and the Vary lists.
func (c *cached) MemSize() int64 {
	n := roundAlloc(cachedSize) + headerMemSize(c.header)
	n += stringsMemSize(c.varyNames) + stringsMemSize(c.varyValues) + stringsMemSize(c.contentLength)
	return n
}

// MemSize estimates the heap a variant index keeps alive besides its
// serialised form.
func (v *variantIndex) MemSize() int64 {
	return roundAlloc(variantIdxSize) + stringsMemSize(v.names) + stringsMemSize(v.keys)
}

// headerMemSize estimates the heap of a header map: the map, and for every
// field its name, its value slice and its value strings.
func headerMemSize(h http.Header) int64 {
	if h == nil {
		return 0
	}
	n := mapMemSize(len(h))
	for k, vs := range h {
		// net/textproto carves the value slices of one header out of a
		// shared array, and does not allocate the common field names.
		n += roundAlloc(int64(len(k))) + int64(cap(vs))*stringHeaderSize
		for _, v := range vs {
			n += roundAlloc(int64(len(v)))
		}
	}
	return n
}

// mapMemSize estimates a Go map of entries map[string][]string entries:
// one group up to 8, then tables whose groups are at most 7/8 full, in
// powers of two.
func mapMemSize(entries int) int64 {
	if entries <= mapSlotsPer {
		return mapHeaderSize + roundAlloc(mapGroupSize)
	}
	slots := (entries*8 + 6) / 7
	groups := int64(1) << bits.Len(uint((slots+mapSlotsPer-1)/mapSlotsPer-1))
	return mapHeaderSize + mapTableSize + 16 + groups*mapGroupSize
}

// stringsMemSize estimates a []string: its backing array and the bytes of
// each string.
func stringsMemSize(ss []string) int64 {
	if ss == nil {
		return 0
	}
	n := roundAlloc(int64(cap(ss)) * stringHeaderSize)
	for _, s := range ss {
		n += roundAlloc(int64(len(s)))
	}
	return n
}

// roundAlloc rounds a small allocation up as the Go allocator's size
// classes do, closely enough for an estimate: to 8 bytes up to 32, to 16
// up to 256, to 32 up to 512, then to 128.
func roundAlloc(n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 32:
		return (n + 7) &^ 7
	case n <= 256:
		return (n + 15) &^ 15
	case n <= 512:
		return (n + 31) &^ 31
	default:
		return (n + 127) &^ 127
	}
}
