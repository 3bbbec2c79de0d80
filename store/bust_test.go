package store

import (
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestCacheBustingStaysWithinLimits is the cache-busting case of the
// reliability checklist (H7) in process: 50,000 distinct keys (random
// query strings, as a cache-busting client sends them) go through a
// memory tier of 1 MB and a cache_dir of 8 MB while a hot set of 50 keys
// is read all along, as the handler does (a miss is stored again). The
// tiers must stay within their limits, on disk too, the heap must not grow
// with the keys seen, and the hot set must keep being hit.
func TestCacheBustingStaysWithinLimits(t *testing.T) {
	const (
		keys     = 50_000
		memMax   = 1 << 20
		diskMax  = 8 << 20
		hot      = 50
		hotEvery = 100 // one hot-set pass per 100 distinct keys
	)
	n := keys
	if testing.Short() {
		n = keys / 10
	}
	dir := t.TempDir()
	mem := newTestMemory(t, MemoryOptions{MaxBytes: memMax})
	disk := dtOpen(t, DiskOptions{Dir: dir, MaxBytes: diskMax, L1: 4, L2: 4})
	tiered := NewTiered(mem, disk)
	ctx := t.Context()
	body := bytes.Repeat([]byte("b"), 512)
	header := []byte("HTTP/1.1 200 OK\r\nCache-Control: max-age=3600\r\nContent-Type: text/plain\r\n\r\n")
	put := func(key string) {
		if err := tiered.Put(ctx, key, Meta{Header: header, Size: int64(len(body)), Stored: time.Now()}, bytes.NewReader(body)); err != nil {
			t.Fatalf("Put(%q) = %v", key, err)
		}
	}
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	onDisk := func() int64 {
		var used int64
		filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if info, err := d.Info(); err == nil {
					used += info.Sys().(*syscall.Stat_t).Blocks * 512
				}
			}
			return nil
		})
		return used
	}
	hotKey := func(i int) string { return fmt.Sprintf("http://soak.local/hot/%d", i) }
	for i := range hot {
		put(hotKey(i))
	}
	var base, peakHeap int64
	var hotReqs, hotHits int
	check := func(i int) {
		if b := mem.Bytes(); b > memMax {
			t.Fatalf("after %d keys the memory tier charges %d bytes, over its %d", i, b, memMax)
		}
		if b := disk.Bytes(); b > diskMax {
			t.Fatalf("after %d keys the disk tier counts %d bytes, over its %d", i, b, diskMax)
		}
		// The files under the cache_dir, in the blocks they take; the
		// fixed overhead (format file, directories) is small.
		if used := onDisk(); used > diskMax+64<<10 {
			t.Fatalf("after %d keys the cache_dir's files take %d bytes, over its %d", i, used, diskMax)
		}
	}
	for i := range n {
		put(fmt.Sprintf("http://soak.local/bust?n=%d&r=%016x", i, uint64(i)*0x9e3779b97f4a7c15))
		if i%hotEvery == 0 {
			for j := range hot {
				hotReqs++
				obj, err := tiered.Get(ctx, hotKey(j))
				if err != nil {
					put(hotKey(j))
					continue
				}
				obj.Body.Close()
				hotHits++
			}
		}
		if i == n/10 {
			base = heap() // the tiers are full by now
		}
		if i%(n/10) == 0 && i > 0 {
			check(i)
			if i > n/10 {
				peakHeap = max(peakHeap, heap())
			}
		}
	}
	tiered.Wait()
	check(n)
	peakHeap = max(peakHeap, heap())
	t.Logf("%d distinct keys: memory %d objects %d bytes, disk %d objects %d bytes (%d on disk); heap %d KiB once full, at most %d KiB after; hot set hit ratio %.3f",
		n, mem.Len(), mem.Bytes(), disk.Len(), disk.Bytes(), onDisk(), base>>10, peakHeap>>10, float64(hotHits)/float64(hotReqs))
	// Every object on disk takes a 4 KiB block, so the disk holds at most
	// diskMax/4096 of them; the memory tier at most memMax/EntryOverhead.
	if disk.Len() > diskMax/diskBlock || mem.Len() > memMax/EntryOverhead {
		t.Errorf("object counts: memory %d, disk %d, want at most %d and %d", mem.Len(), disk.Len(), memMax/EntryOverhead, diskMax/diskBlock)
	}
	if grown := peakHeap - base; grown > 2<<20 {
		t.Errorf("heap grew by %d bytes from the first tenth of the keys to the end, want it flat (at most 2 MiB)", grown)
	}
	if ratio := float64(hotHits) / float64(hotReqs); ratio < 0.95 {
		t.Errorf("hot set hit ratio %.3f over %d reads, want at least 0.95", ratio, hotReqs)
	}
}
