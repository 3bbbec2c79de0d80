package httpcache

import (
	"strconv"
	"sync/atomic"
)

// fieldTableSize is how many whole seconds a fieldTable covers: the
// first hour, where nearly every Age and Cache-Status ttl of a hit falls.
const fieldTableSize = 3600

// fieldTable holds one ready-made field value for each whole second below
// fieldTableSize, each made on its first use, so that a hit assigns a
// shared []string instead of formatting and allocating one (Age,
// RFC 9111, Section 5.1; Cache-Status ttl, RFC 9211, Section 2.5).
//
// The table starts empty: building all 3,600 values up front took about
// a millisecond and 230 KB at start-up, per table. Two goroutines that
// fill the same slot at once store equal values, so no lock is needed;
// a filled slot costs one atomic load.
type fieldTable struct {
	prefix string // written before the number
	slots  [fieldTableSize]atomic.Pointer[[]string]
}

// get returns the value for n seconds: prefix followed by n in decimal.
func (t *fieldTable) get(n int64) []string {
	if n < 0 || n >= fieldTableSize {
		return []string{t.format(n)}
	}
	slot := &t.slots[n]
	if v := slot.Load(); v != nil {
		return *v
	}
	v := []string{t.format(n)} // capacity 1: a caller's append copies
	slot.Store(&v)
	return v
}

func (t *fieldTable) format(n int64) string {
	return t.prefix + strconv.FormatInt(n, 10)
}
