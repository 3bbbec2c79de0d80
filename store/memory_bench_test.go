package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"cuttle/store"
)

func BenchmarkMemoryGet(b *testing.B) {
	const size = 1 << 10
	ctx := context.Background()
	m := newMemory(b, store.MemoryOptions{MaxBytes: 64 << 20})
	const key = "GET http://example.com/static/app.css"
	meta := store.Meta{Header: make([]byte, 300), Size: size}
	if err := m.Put(ctx, key, meta, bytes.NewReader(make([]byte, size))); err != nil {
		b.Fatalf("Put(%q) = %v, want nil", key, err)
	}
	// Fill the cache as a server's would be: with a tiny live heap, the
	// garbage collector would run every few thousand Gets and dominate.
	fill := make([]byte, 16<<10)
	for i := range 2048 {
		k := fmt.Sprintf("GET http://example.com/fill/%d", i)
		if err := m.Put(ctx, k, store.Meta{Size: -1}, bytes.NewReader(fill)); err != nil {
			b.Fatalf("Put(%q) = %v, want nil", k, err)
		}
	}
	m.Wait()
	if m.Bytes() < 24<<20 {
		b.Fatalf("Bytes() after filling = %d, want >= %d", m.Bytes(), 24<<20)
	}
	get := func() {
		obj, err := m.Get(ctx, key)
		if err != nil {
			b.Fatalf("Get(%q) = %v, want nil", key, err)
		}
		if _, err := io.Copy(io.Discard, obj.Body); err != nil {
			b.Fatalf("io.Copy(Get(%q).Body) = %v, want nil", key, err)
		}
		obj.Body.Close()
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			get()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get()
			}
		})
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Get(ctx, "GET http://example.com/missing"); err == nil {
				b.Fatal("Get(missing) = nil error, want ErrNotFound")
			}
		}
	})
}

func BenchmarkMemoryPut(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		for _, known := range []bool{true, false} {
			name := fmt.Sprintf("%dKiB", size>>10)
			if !known {
				name += "/unknown_size"
			}
			b.Run(name, func(b *testing.B) {
				m := newMemory(b, store.MemoryOptions{MaxBytes: 256 << 20, MaxObjectSize: 1 << 20})
				body := make([]byte, size)
				keys := make([]string, 64)
				for i := range keys {
					keys[i] = fmt.Sprintf("GET http://example.com/object/%d", i)
				}
				meta := store.Meta{Header: make([]byte, 300), Size: int64(size)}
				if !known {
					meta.Size = -1
				}
				r := bytes.NewReader(body)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				i := 0
				for b.Loop() {
					r.Reset(body)
					if err := m.Put(ctx, keys[i%len(keys)], meta, r); err != nil {
						b.Fatalf("Put = %v, want nil", err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkMemoryEntryOverhead reports the live heap that an object costs
// beyond its body, header and key bytes, to check store.EntryOverhead
// against ("heap-B/entry"). Benchmarks run one at a time, so the heap
// figures are this benchmark's own. 60,000 and 118,000 entries are just
// after ristretto's maps have grown, when the overhead is highest.
func BenchmarkMemoryEntryOverhead(b *testing.B) {
	for _, n := range []int{50_000, 60_000, 118_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("%08d", i)
			}
			var perEntry float64
			for b.Loop() {
				m, err := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 30})
				if err != nil {
					b.Fatal(err)
				}
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				for i, k := range keys {
					if err := m.Put(ctx, k, store.Meta{Size: 0}, bytes.NewReader(nil)); err != nil {
						b.Fatal(err)
					}
					if i%1024 == 0 {
						m.Wait()
					}
				}
				m.Wait()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				perEntry = float64(ms.HeapAlloc-before) / float64(n)
				m.Close()
			}
			b.ReportMetric(perEntry, "heap-B/entry")
			b.ReportMetric(store.EntryOverhead, "charged-B/entry")
		})
	}
}
