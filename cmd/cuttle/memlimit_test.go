package main

import (
	"bytes"
	"log"
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestTunedLimit(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tt := range []struct {
		nonHeap, live, cache, want int64
	}{
		// 1,000 slow connections beside a full cache_mem of 64 MB: the
		// cache gets no headroom, the 20 MiB of the rest the least.
		{10 * mib, 84 * mib, 64 * mib, 10*mib + 84*mib + tunerHeadroom},
		// 10,000 idle connections: their heap again.
		{80 * mib, 264 * mib, 64 * mib, 80*mib + 264*mib + 200*mib},
		// An empty cache, a small heap.
		{5 * mib, 3 * mib, 0, 5*mib + 3*mib + tunerHeadroom},
		// The cache's charge above the live heap (the estimate errs high).
		{5 * mib, 60 * mib, 64 * mib, 5*mib + 64*mib + tunerHeadroom},
	} {
		if got := tunedLimit(tt.nonHeap, tt.live, tt.cache); got != tt.want {
			t.Errorf("tunedLimit(%d, %d, %d) = %d MiB, want %d MiB", tt.nonHeap, tt.live, tt.cache, got/mib, tt.want/mib)
		}
		if got := tunedLimit(tt.nonHeap, tt.live, tt.cache); got < tt.live+tunerHeadroom {
			t.Errorf("tunedLimit(%d, %d, %d) = %d leaves the heap less than %d of headroom", tt.nonHeap, tt.live, tt.cache, got, tunerHeadroom)
		}
	}
}

type fixedSize int64

func (f fixedSize) Bytes() int64 { return int64(f) }

// TestMemoryTuner checks that the tuner sets a limit above the cache and
// the live heap, and lifts it when stopped; GOMEMLIMIT turns it off. It
// changes the process's memory limit, so it does not run in parallel.
func TestMemoryTuner(t *testing.T) {
	var logBuf bytes.Buffer
	stop := startMemoryTuner(fixedSize(200<<20), log.New(&logBuf, "", 0))
	time.Sleep(2 * tunerPeriod)
	got := debug.SetMemoryLimit(-1)
	if got < 200<<20+tunerHeadroom || got == math.MaxInt64 {
		t.Errorf("memory limit with 200 MiB cached = %d, want above %d", got, 200<<20+tunerHeadroom)
	}
	if second := startMemoryTuner(fixedSize(0), log.New(&logBuf, "", 0)); second == nil {
		t.Fatal("second tuner: nil stop")
	} else {
		second() // a no-op: the first one runs on
	}
	stop()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit after stop = %d, want none", got)
	}
	if !strings.Contains(logBuf.String(), "Memory limit: cache_mem in use") {
		t.Errorf("cache_log = %q, want the tuner's line", logBuf.String())
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	logBuf.Reset()
	startMemoryTuner(fixedSize(200<<20), log.New(&logBuf, "", 0))()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit with GOMEMLIMIT set in the environment = %d, want untouched", got)
	}
	if !strings.Contains(logBuf.String(), "left to the environment") {
		t.Errorf("cache_log = %q, want the environment's setting noted", logBuf.String())
	}
}
