package main

import (
	"log"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The Go runtime's soft memory limit (GOMEMLIMIT) keeps cuttle's resident
// size near what it needs. The collector's default pacing (GOGC=100) lets
// the heap grow to twice what is live before it collects: with a full
// cache_mem that doubles the cache, which lives as long as the process and
// gains nothing from the headroom. The tuner gives the headroom to the
// rest only (connections, requests in flight, the disk index): the limit
// is the runtime's own memory, plus the memory tier's bytes (cache_mem
// charges every object's real footprint), plus the rest of the live heap,
// plus as much again, at least tunerHeadroom. As the limit follows
// the live heap, the collector never runs without garbage to find: 10,000
// idle connections raise it instead of making the collector spin.
//
// GOMEMLIMIT or GOGC in the environment turn the tuner off: the operator's
// setting stands.

// tunerHeadroom is the least headroom the heap gets over its live bytes.
const tunerHeadroom = 32 << 20

// tunerPeriod is how often the limit is recomputed.
const tunerPeriod = 250 * time.Millisecond

// memoryTuner is one running tuner: a process has one (tests that start
// several servers in one process get it for the first).
var memoryTuner struct {
	sync.Mutex
	active bool
}

// cacheSizer is the memory tier as the tuner sees it.
type cacheSizer interface{ Bytes() int64 }

// tunerSamples are the runtime/metrics the tuner reads.
var tunerSamples = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
}

// startMemoryTuner sets the memory limit from the memory tier's size and
// the live heap every tunerPeriod until the returned stop is called.
func startMemoryTuner(mem cacheSizer, cacheLog *log.Logger) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
		cacheLog.Printf("Memory limit left to the environment (GOMEMLIMIT/GOGC)")
		return func() {}
	}
	memoryTuner.Lock()
	defer memoryTuner.Unlock()
	if memoryTuner.active {
		return func() {}
	}
	memoryTuner.active = true
	cacheLog.Printf("Memory limit: cache_mem in use + live heap + max(the rest of it, %d MB), set every %v (set GOMEMLIMIT to fix one)", tunerHeadroom>>20, tunerPeriod)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		samples := make([]metrics.Sample, len(tunerSamples))
		for i, name := range tunerSamples {
			samples[i].Name = name
		}
		tick := time.NewTicker(tunerPeriod)
		defer tick.Stop()
		// The first reading waits a period: at start the heap is small,
		// and the runtime's first metrics.Read sets up tables that the
		// start (issue 7: first response within 20 ms) need not wait for.
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(samples)
			v := func(i int) int64 { return int64(samples[i].Value.Uint64()) }
			live, total, released, objects, free := v(0), v(1), v(2), v(3), v(4)
			debug.SetMemoryLimit(tunedLimit(total-released-objects-free, live, mem.Bytes()))
		}
	}()
	return func() {
		close(done)
		<-finished
		debug.SetMemoryLimit(math.MaxInt64)
		memoryTuner.Lock()
		memoryTuner.active = false
		memoryTuner.Unlock()
	}
}

// tunedLimit is the memory limit for a runtime that uses nonHeap bytes
// besides heap objects (stacks, metadata, fragmentation), a heap with live
// bytes after the last collection, cache of them the memory tier's: the
// cache gets no headroom, the rest its own size, at least tunerHeadroom.
func tunedLimit(nonHeap, live, cache int64) int64 {
	other := max(live-cache, 0)
	return max(nonHeap, 0) + max(live, cache) + max(other, tunerHeadroom)
}
