package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cuttle/store"
)

// diskBenchSizes are the body sizes of the disk tier's Put and Get
// benchmarks: one small object, one body block (64 KiB), and large media.
var diskBenchSizes = []struct {
	name string
	size int64
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
	{"16MiB", 16 << 20},
	{"64MiB", 64 << 20},
}

// benchDiskMeta is metadata the size of a typical stored response header.
func benchDiskMeta(size int64) store.Meta {
	return store.Meta{
		Header:  bytes.Repeat([]byte("h"), 300),
		Size:    size,
		Stored:  time.Now(),
		Expires: time.Now().Add(time.Hour),
	}
}

// benchDiskBody is size bytes that do not compress to nothing, should the
// file system try.
func benchDiskBody(size int64) []byte {
	b := make([]byte, size)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// openBenchDisk opens a disk tier in a fresh temporary directory, large
// enough that nothing is evicted, and waits for its index.
func openBenchDisk(b *testing.B, maxBytes int64) *store.Disk {
	b.Helper()
	return newDisk(b, store.DiskOptions{Dir: b.TempDir(), MaxBytes: maxBytes})
}

// drainDiskBench reads a Get's body to the end and checks its length.
func drainDiskBench(b *testing.B, obj *store.Object, want int64) {
	b.Helper()
	n, err := io.Copy(io.Discard, obj.Body)
	obj.Body.Close()
	if err != nil || n != want {
		b.Fatalf("reading body of %s: %d bytes, %v; want %d bytes, nil", obj.Key, n, err, want)
	}
}

// BenchmarkDiskPut stores one object per iteration, each replacing the
// last under the same key, so that the directory does not grow.
func BenchmarkDiskPut(b *testing.B) {
	ctx := context.Background()
	for _, s := range diskBenchSizes {
		b.Run(s.name, func(b *testing.B) {
			d := openBenchDisk(b, 4*s.size+(64<<20))
			body := benchDiskBody(s.size)
			meta := benchDiskMeta(s.size)
			const key = "http://example.com/bench/put"
			b.ReportAllocs()
			b.SetBytes(s.size)
			for b.Loop() {
				if err := d.Put(ctx, key, meta, bytes.NewReader(body)); err != nil {
					b.Fatalf("Put(%d bytes) = %v, want nil", s.size, err)
				}
			}
		})
	}
}

// BenchmarkDiskGet reads one stored object whole per iteration: the
// header, trailer and every block checked.
func BenchmarkDiskGet(b *testing.B) {
	ctx := context.Background()
	for _, s := range diskBenchSizes {
		b.Run(s.name, func(b *testing.B) {
			d := openBenchDisk(b, 2*s.size+(64<<20))
			const key = "http://example.com/bench/get"
			if err := d.Put(ctx, key, benchDiskMeta(s.size), bytes.NewReader(benchDiskBody(s.size))); err != nil {
				b.Fatalf("Put(%d bytes) = %v, want nil", s.size, err)
			}
			b.ReportAllocs()
			b.SetBytes(s.size)
			for b.Loop() {
				obj, err := d.Get(ctx, key)
				if err != nil {
					b.Fatalf("Get = %v, want nil", err)
				}
				drainDiskBench(b, obj, s.size)
			}
		})
	}
}

// BenchmarkDiskTieredGet compares a hit served from the memory tier (an
// object promoted there by an earlier disk hit) with hits streamed from
// the disk tier (objects above maximum_object_size_in_memory).
func BenchmarkDiskTieredGet(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name     string
		size     int64
		memLimit int64
		want     store.Tier
	}{
		{"promoted/64KiB", 64 << 10, 1 << 20, store.TierMemory},
		{"disk-only/64KiB", 64 << 10, 8 << 10, store.TierDisk},
		{"disk-only/16MiB", 16 << 20, 1 << 20, store.TierDisk},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			mem := newMemory(b, store.MemoryOptions{MaxBytes: 64 << 20, MaxObjectSize: c.memLimit})
			disk := openBenchDisk(b, 2*c.size+(64<<20))
			t := store.NewTiered(mem, disk)
			const key = "http://example.com/bench/tiered"
			// Stored on disk only (not through the Tiered, which would
			// also keep it in memory), so that the first Get is a disk hit
			// that promotes it when it fits.
			if err := disk.Put(ctx, key, benchDiskMeta(c.size), bytes.NewReader(benchDiskBody(c.size))); err != nil {
				b.Fatalf("Put(%d bytes) = %v, want nil", c.size, err)
			}
			var tier store.Tier
			for range 100 {
				obj, got, err := t.GetTier(ctx, key)
				if err != nil {
					b.Fatalf("GetTier = %v, want nil", err)
				}
				drainDiskBench(b, obj, c.size)
				mem.Wait()
				if tier = got; tier == c.want {
					break
				}
			}
			if tier != c.want {
				b.Fatalf("GetTier served from %v, want %v", tier, c.want)
			}
			b.ReportAllocs()
			b.SetBytes(c.size)
			for b.Loop() {
				obj, err := t.Get(ctx, key)
				if err != nil {
					b.Fatalf("Get = %v, want nil", err)
				}
				drainDiskBench(b, obj, c.size)
			}
		})
	}
}

// diskRebuildObjects is how many objects BenchmarkDiskRebuild indexes; the
// issue's targets are per 100,000 (testdata/bench/disk-rebuild.sh measures
// those on the whole program).
const diskRebuildObjects = 10_000

// BenchmarkDiskRebuild times how long a restart takes until the index is
// ready: from the snapshot a clean Close leaves, and by scanning the
// files, as after kill -9 (the snapshot is removed first). The files are
// in the page cache, as they are after a process crash.
func BenchmarkDiskRebuild(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	opts := store.DiskOptions{Dir: dir, MaxBytes: 1 << 30}
	d, err := store.OpenDisk(opts)
	if err != nil {
		b.Fatalf("OpenDisk = %v, want nil", err)
	}
	<-d.Ready()
	body := benchDiskBody(512)
	for i := range diskRebuildObjects {
		meta := benchDiskMeta(int64(len(body)))
		key := fmt.Sprintf("http://example.com/rebuild/%d", i)
		if err := d.Put(ctx, key, meta, bytes.NewReader(body)); err != nil {
			b.Fatalf("Put(%s) = %v, want nil", key, err)
		}
	}
	if err := d.Close(); err != nil {
		b.Fatalf("Close = %v, want nil", err)
	}
	snapshot := filepath.Join(dir, "cuttle", "index.snapshot")

	reopen := func(b *testing.B, scan bool) {
		var spent time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if scan {
				if err := os.Remove(snapshot); err != nil && !errors.Is(err, os.ErrNotExist) {
					b.Fatal(err)
				}
			} else if _, err := os.Stat(snapshot); err != nil {
				b.Fatalf("no snapshot before a clean reopen: %v", err)
			}
			b.StartTimer()
			start := time.Now()
			d, err := store.OpenDisk(opts)
			if err != nil {
				b.Fatalf("OpenDisk = %v, want nil", err)
			}
			<-d.Ready()
			spent += time.Since(start)
			b.StopTimer()
			if n := d.Len(); n != diskRebuildObjects {
				b.Fatalf("Len after reopen = %d, want %d", n, diskRebuildObjects)
			}
			// Close writes the snapshot that the next clean reopen reads.
			if err := d.Close(); err != nil {
				b.Fatalf("Close = %v, want nil", err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(diskRebuildObjects)*float64(b.N)/spent.Seconds(), "objects/s")
		b.ReportMetric(spent.Seconds()/float64(b.N)*100_000/diskRebuildObjects, "s/100k-objects")
	}
	b.Run("snapshot", func(b *testing.B) { reopen(b, false) })
	b.Run("scan", func(b *testing.B) { reopen(b, true) })
}
