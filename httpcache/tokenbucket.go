package httpcache

import (
	"math"
	"time"
)

// bucket is a token bucket refilled continuously: level grows by rate
// tokens a second, up to size. It is the bucket of squid.conf delay pools
// (tokens are bytes, rate and size are delay_parameters' restore/max) and
// of cuttle's request-rate limit (tokens are requests).
//
// Squid adds restore × elapsed seconds to every bucket once a second from
// its event loop (DelayPools::Update); cuttle computes the same refill from
// the time elapsed when a bucket is used, so idle buckets cost nothing and
// no goroutine ticks. A bucket has no lock: its owner serialises access.
type bucket struct {
	level float64   // tokens now; negative after an overdraft
	last  time.Time // when level was computed
}

// newBucket returns a bucket holding level tokens at now.
func newBucket(level float64, now time.Time) bucket {
	return bucket{level: level, last: now}
}

// refill adds the tokens earned since the last refill, up to size. A
// clock that went backwards adds nothing.
func (b *bucket) refill(rate, size float64, now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		if b.level < size {
			b.level = math.Min(b.level+rate*el.Seconds(), size)
		}
		b.last = now
	}
}

// wait returns how long the bucket takes to hold want tokens at rate, or
// -1 if it never will (rate 0).
func (b *bucket) wait(want, rate float64) time.Duration {
	need := want - b.level
	if need <= 0 {
		return 0
	}
	if rate <= 0 {
		return -1
	}
	return time.Duration(math.Ceil(need / rate * float64(time.Second)))
}
