package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// newTestMemory returns a Memory that is closed at the end of the test.
func newTestMemory(t testing.TB, opts MemoryOptions) *Memory {
	t.Helper()
	m, err := NewMemory(opts)
	if err != nil {
		t.Fatalf("NewMemory(%+v) = %v, want nil", opts, err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestNewMemory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		opts          MemoryOptions
		wantMaxBytes  int64
		wantMaxObject int64
		wantErr       bool
	}{
		{"defaults", MemoryOptions{}, DefaultMemoryMaxBytes, DefaultMemoryMaxObjectSize, false},
		{"set", MemoryOptions{MaxBytes: 64 << 20, MaxObjectSize: 1 << 20}, 64 << 20, 1 << 20, false},
		{"object over budget", MemoryOptions{MaxBytes: 100 << 10}, 100 << 10, 100 << 10, false},
		{"tiny", MemoryOptions{MaxBytes: 1, MaxObjectSize: 1}, 1, 1, false},
		{"negative MaxBytes", MemoryOptions{MaxBytes: -1}, 0, 0, true},
		{"negative MaxObjectSize", MemoryOptions{MaxObjectSize: -1}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := NewMemory(tt.opts)
			if tt.wantErr {
				if err == nil {
					m.Close()
					t.Fatalf("NewMemory(%+v) = nil error, want an error", tt.opts)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewMemory(%+v) = %v, want nil", tt.opts, err)
			}
			defer m.Close()
			if got := m.MaxBytes(); got != tt.wantMaxBytes {
				t.Errorf("NewMemory(%+v).MaxBytes() = %d, want %d", tt.opts, got, tt.wantMaxBytes)
			}
			if got := m.MaxObjectSize(); got != tt.wantMaxObject {
				t.Errorf("NewMemory(%+v).MaxObjectSize() = %d, want %d", tt.opts, got, tt.wantMaxObject)
			}
			if got := m.Bytes(); got != 0 {
				t.Errorf("NewMemory(%+v).Bytes() = %d, want 0", tt.opts, got)
			}
		})
	}
}

func TestMemoryCost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		key    string
		header string
		body   int
		size   int64
	}{
		{"empty", "", "", 0, 0},
		{"small", "http://example.com/", "HTTP/1.1 200 OK\r\n\r\n", 100, 100},
		{"unknown size", "http://example.com/x", "h", 5000, -1},
		{"large", "k", strings.Repeat("h", 2000), 300 << 10, 300 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newTestMemory(t, MemoryOptions{MaxBytes: 4 << 20})
			meta := Meta{Header: []byte(tt.header), Size: tt.size}
			if err := m.Put(t.Context(), tt.key, meta, bytes.NewReader(make([]byte, tt.body))); err != nil {
				t.Fatalf("Put(%q) = %v, want nil", tt.key, err)
			}
			m.Wait()
			want := int64(tt.body+len(tt.header)+len(tt.key)) + EntryOverhead
			if got := m.Bytes(); got != want {
				t.Errorf("Bytes() after Put(%q) = %d, want %d", tt.key, got, want)
			}
			if err := m.Delete(t.Context(), tt.key); err != nil {
				t.Fatalf("Delete(%q) = %v, want nil", tt.key, err)
			}
			m.Wait()
			if got := m.Bytes(); got != 0 {
				t.Errorf("Bytes() after Delete(%q) = %d, want 0", tt.key, got)
			}
		})
	}
}

// sizedDecoded is a Meta.Decoded that says how much memory it holds.
type sizedDecoded int64

func (s sizedDecoded) MemSize() int64 { return int64(s) }

// TestMemoryCostDecoded checks that a Meta.Decoded implementing Sizer is
// charged to cache_mem, and that one that does not is not.
func TestMemoryCostDecoded(t *testing.T) {
	t.Parallel()
	m := newTestMemory(t, MemoryOptions{MaxBytes: 4 << 20})
	header := []byte("HTTP/1.1 200 OK\r\n\r\n")
	base := int64(100+len(header)+len("k")) + EntryOverhead
	for _, tt := range []struct {
		decoded any
		want    int64
	}{
		{nil, base},
		{"not a Sizer", base},
		{sizedDecoded(700), base + 700},
		{sizedDecoded(-5), base},
	} {
		if err := m.Put(t.Context(), "k", Meta{Header: header, Decoded: tt.decoded, Size: 100}, bytes.NewReader(make([]byte, 100))); err != nil {
			t.Fatal(err)
		}
		m.Wait()
		if got := m.Bytes(); got != tt.want {
			t.Errorf("Bytes() with Decoded %#v = %d, want %d", tt.decoded, got, tt.want)
		}
		obj, err := m.Get(t.Context(), "k")
		if err != nil {
			t.Fatal(err)
		}
		if obj.Meta.Decoded != tt.decoded {
			t.Errorf("Get: Decoded = %#v, want %#v", obj.Meta.Decoded, tt.decoded)
		}
	}
}

func TestMemoryTooLargeReadsNothingMore(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	tests := []struct {
		name    string
		body    int
		size    int64
		maxRead int64
	}{
		{"known size", 10 * limit, 10 * limit, 0},
		{"unknown size", 10 * limit, -1, limit + 1},
	}
	m := newTestMemory(t, MemoryOptions{MaxBytes: 1 << 20, MaxObjectSize: limit})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cr := &countingReader{r: bytes.NewReader(make([]byte, tt.body))}
			err := m.Put(t.Context(), tt.name, Meta{Size: tt.size}, cr)
			if err != ErrTooLarge {
				t.Errorf("Put(%d bytes, Size %d) = %v, want ErrTooLarge", tt.body, tt.size, err)
			}
			if cr.n > tt.maxRead {
				t.Errorf("Put(%d bytes, Size %d) read %d bytes, want at most %d", tt.body, tt.size, cr.n, tt.maxRead)
			}
		})
	}
}

func TestMemoryPutErrorText(t *testing.T) {
	t.Parallel()
	m := newTestMemory(t, MemoryOptions{MaxBytes: 1 << 20})
	tests := []struct {
		name string
		body io.Reader
		size int64
		want string
	}{
		{"short", strings.NewReader("abc"), 4, `store: put "k": body ended after 3 bytes, Meta.Size is 4: unexpected EOF`},
		{"long", strings.NewReader("abcde"), 4, `store: put "k": body longer than Meta.Size 4`},
		{"read", io.MultiReader(strings.NewReader("abc"), failing{}), -1, `store: put "k": read body: boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := m.Put(t.Context(), "k", Meta{Size: tt.size}, tt.body)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Put(%s) = %v, want %s", tt.name, err, tt.want)
			}
		})
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("boom") }

// TestMemoryKeyCollision forces every key onto one hash and checks that a
// Get never returns another key's object.
func TestMemoryKeyCollision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hash func(string) (uint64, uint64)
	}{
		{"same hash", func(string) (uint64, uint64) { return 42, 0 }},
		{"same hash and conflict", func(string) (uint64, uint64) { return 42, 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := newMemory(MemoryOptions{MaxBytes: 1 << 20}, tt.hash)
			if err != nil {
				t.Fatalf("newMemory = %v, want nil", err)
			}
			t.Cleanup(m.Close)
			ctx := t.Context()
			keys := []string{"http://example.com/a", "http://example.com/b"}

			// In turn: the second Put displaces the first object.
			for _, k := range keys {
				if err := m.Put(ctx, k, Meta{Size: -1}, strings.NewReader("body of "+k)); err != nil {
					t.Fatalf("Put(%q) = %v, want nil", k, err)
				}
				m.Wait()
			}
			if obj, err := m.Get(ctx, keys[0]); err != ErrNotFound {
				t.Errorf("Get(%q) = %v, %v, want ErrNotFound", keys[0], obj, err)
			}
			if obj, err := m.Get(ctx, keys[1]); err != nil || obj.Key != keys[1] {
				t.Errorf("Get(%q) = %v, %v, want the object of %q", keys[1], obj, err, keys[1])
			}

			// Concurrently: any hit is the requested key's object.
			var wg sync.WaitGroup
			errc := make(chan error, 2*len(keys))
			for _, k := range keys {
				wg.Go(func() {
					for range 500 {
						if err := m.Put(ctx, k, Meta{Size: -1}, strings.NewReader("body of "+k)); err != nil {
							errc <- fmt.Errorf("Put(%q) = %v, want nil", k, err)
							return
						}
					}
				})
				wg.Go(func() {
					for range 2000 {
						obj, err := m.Get(ctx, k)
						if err != nil {
							continue
						}
						b, _ := io.ReadAll(obj.Body)
						if obj.Key != k || string(b) != "body of "+k {
							errc <- fmt.Errorf("Get(%q) = key %q body %q, want the object of %q", k, obj.Key, b, k)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Error(err)
			}
			m.Wait()
			if n, _ := liveCost(m); m.Len() != n {
				t.Errorf("Len() = %d, want %d (the objects kept)", m.Len(), n)
			}
		})
	}
}

// liveCost returns the sum of the costs of the entries m holds, counted
// from ristretto's store map rather than from its policy.
func liveCost(m *Memory) (n int, cost int64) {
	m.cache.IterValues(func(e *entry) bool {
		n++
		cost += e.cost
		return false
	})
	return n, cost
}

// TestMemoryBudget fills the memory tier far beyond its budget and checks
// that the objects it keeps stay within it, and that ristretto's account
// (Bytes) matches the entries it holds.
func TestMemoryBudget(t *testing.T) {
	t.Parallel()
	const maxBytes = 1 << 20
	tests := []struct {
		name    string
		workers int
		puts    int // per worker
		keys    int // distinct keys
	}{
		{"serial distinct keys", 1, 4000, 4000},
		{"serial overwrites", 1, 4000, 100},
		{"concurrent distinct keys", 8, 500, 4000},
		{"concurrent overwrites", 8, 500, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newTestMemory(t, MemoryOptions{MaxBytes: maxBytes, MaxObjectSize: 64 << 10})
			ctx := t.Context()
			var wg sync.WaitGroup
			var putBytes [8]int64
			for w := range tt.workers {
				wg.Go(func() {
					for i := range tt.puts {
						n := w*tt.puts + i
						size := (n*7919)%(48<<10) + 1 // 1 byte to 48 KiB
						key := fmt.Sprintf("http://example.com/%d", n%tt.keys)
						meta := Meta{Header: make([]byte, n%300), Size: int64(size)}
						if n%3 == 0 {
							meta.Size = -1
						}
						if err := m.Put(ctx, key, meta, bytes.NewReader(make([]byte, size))); err != nil {
							t.Errorf("Put(%q, %d bytes) = %v, want nil", key, size, err)
							return
						}
						putBytes[w] += int64(size)
						if i%64 == 0 {
							m.Wait()
							if got := m.Bytes(); got > maxBytes {
								t.Errorf("Bytes() after %d Puts = %d, want <= %d", i+1, got, maxBytes)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			m.Wait()
			var total int64
			for _, b := range putBytes {
				total += b
			}
			if total < 10*maxBytes {
				t.Fatalf("the test put %d bytes, want at least %d", total, 10*maxBytes)
			}
			n, live := liveCost(m)
			if live > maxBytes {
				t.Errorf("sum of costs of the %d objects kept = %d, want <= %d", n, live, maxBytes)
			}
			if got := m.Bytes(); got != live {
				t.Errorf("Bytes() = %d, want %d (the %d objects kept)", got, live, n)
			}
			if got := m.Len(); got != n {
				t.Errorf("Len() = %d, want %d (the objects kept)", got, n)
			}
			if n == 0 {
				t.Errorf("objects kept = 0, want some")
			}
		})
	}
}

// writeCounter counts Write calls.
type writeCounter struct {
	calls, n int
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.calls++
	w.n += len(p)
	return len(p), nil
}

func TestMemoryBodyWriteTo(t *testing.T) {
	t.Parallel()
	m := newTestMemory(t, MemoryOptions{MaxBytes: 4 << 20})
	tests := []int{1, 1 << 10, 100 << 10}
	for _, size := range tests {
		key := fmt.Sprint(size)
		if err := m.Put(t.Context(), key, Meta{Size: int64(size)}, bytes.NewReader(make([]byte, size))); err != nil {
			t.Fatalf("Put(%q) = %v, want nil", key, err)
		}
		m.Wait()
		obj, err := m.Get(t.Context(), key)
		if err != nil {
			t.Fatalf("Get(%q) = %v, want nil", key, err)
		}
		var w writeCounter
		n, err := io.Copy(&w, obj.Body)
		if err != nil || n != int64(size) || w.calls != 1 {
			t.Errorf("io.Copy(Get(%q).Body) = %d, %v in %d Writes, want %d, nil in 1 Write", key, n, err, w.calls, size)
		}
	}
}

// maxGetAllocs is the number of allocations a memory hit makes: the
// Object and its Body reader share one. (ristretto adds one slice per 64
// Gets, which AllocsPerRun's integer average does not show.)
const maxGetAllocs = 1

// TestMemoryGetAllocs cannot be parallel: testing.AllocsPerRun panics in
// a parallel test, as the global malloc counter would count other tests.
func TestMemoryGetAllocs(t *testing.T) {
	m := newTestMemory(t, MemoryOptions{MaxBytes: 4 << 20})
	ctx := context.Background()
	const key = "http://example.com/allocs"
	if err := m.Put(ctx, key, Meta{Header: []byte("h"), Size: 1024}, bytes.NewReader(make([]byte, 1024))); err != nil {
		t.Fatalf("Put(%q) = %v, want nil", key, err)
	}
	m.Wait()
	tests := []struct {
		name string
		key  string
		want float64
	}{
		{"hit", key, maxGetAllocs},
		{"miss", "http://example.com/none", 0},
	}
	for _, tt := range tests {
		got := testing.AllocsPerRun(1000, func() {
			obj, err := m.Get(ctx, tt.key)
			if err == nil {
				obj.Body.Close()
			}
		})
		if got > tt.want {
			t.Errorf("allocations per Get(%q) = %v, want <= %v", tt.key, got, tt.want)
		}
	}
}

func TestMemoryLen(t *testing.T) {
	t.Parallel()
	type op struct {
		del  bool
		key  string
		body string
		size int64 // Meta.Size; -1 for unknown
	}
	put := func(key string) op { return op{key: key, body: "body of " + key, size: -1} }
	tests := []struct {
		name     string
		maxBytes int64
		ops      []op
		want     int
	}{
		{"empty", 1 << 20, nil, 0},
		{"puts", 1 << 20, []op{put("a"), put("b"), put("c")}, 3},
		{"overwrites", 1 << 20, []op{put("a"), put("a"), put("b"), put("a")}, 2},
		{"delete", 1 << 20, []op{put("a"), put("b"), {del: true, key: "a"}}, 1},
		{"delete missing", 1 << 20, []op{put("a"), {del: true, key: "x"}}, 1},
		{"delete then put", 1 << 20, []op{put("a"), {del: true, key: "a"}, put("a")}, 1},
		{"failed put removes", 1 << 20, []op{put("a"), {key: "a", body: "abc", size: 4}}, 0},
		{"too large", 1 << 20, []op{put("a"), {key: "a", body: strings.Repeat("x", 1<<20+1), size: -1}}, 0},
		// 900 bytes of body plus EntryOverhead exceed the 1,000-byte
		// budget: ristretto's policy declines the object.
		{"declined", 1000, []op{{key: "a", body: strings.Repeat("x", 900), size: 900}}, 0},
		// Each object costs more than half the budget: each Put evicts
		// the object before it.
		{"evicted", 1000, []op{
			{key: "a", body: strings.Repeat("x", 200), size: 200},
			{key: "b", body: strings.Repeat("x", 200), size: 200},
			{key: "c", body: strings.Repeat("x", 200), size: 200},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newTestMemory(t, MemoryOptions{MaxBytes: tt.maxBytes})
			ctx := t.Context()
			for _, o := range tt.ops {
				if o.del {
					m.Delete(ctx, o.key) //nolint:errcheck // never fails
					continue
				}
				m.Put(ctx, o.key, Meta{Size: o.size}, strings.NewReader(o.body)) //nolint:errcheck // some fail on purpose
			}
			m.Wait()
			if got := m.Len(); got != tt.want {
				t.Errorf("Len() = %d, want %d", got, tt.want)
			}
			if n, _ := liveCost(m); n != tt.want {
				t.Errorf("objects kept = %d, want %d", n, tt.want)
			}
			m.Close()
			if got := m.Len(); got != 0 {
				t.Errorf("Len() after Close = %d, want 0", got)
			}
		})
	}
}

func TestNumCounters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		maxBytes int64
		want     int64
	}{
		{1, minCounters},
		{256 << 10, minCounters},
		{1 << 20, 2_560},
		{8 << 20, 20_480},
		{64 << 20, 163_840},
		{100 << 20, 256_000},
		{256 << 20, maxCounters},
		{1 << 30, maxCounters},
		{1 << 40, maxCounters},
	}
	for _, tt := range tests {
		if got := numCounters(tt.maxBytes); got != tt.want {
			t.Errorf("numCounters(%d) = %d, want %d", tt.maxBytes, got, tt.want)
		}
	}
}

// TestNewMemoryFixedCost checks that what NewMemory allocates before any
// object is stored does not grow with the byte budget beyond the capped
// admission counters. It cannot be parallel: it reads the global
// allocation counter.
func TestNewMemoryFixedCost(t *testing.T) {
	const limit = 2 << 20 // 1 MiB of counters, 256 KiB of Set buffer, maps
	for _, maxBytes := range []int64{256 << 20, 1 << 30, 16 << 30} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := NewMemory(MemoryOptions{MaxBytes: maxBytes})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("NewMemory(MaxBytes %d) = %v, want nil", maxBytes, err)
		}
		m.Close()
		if got := after.TotalAlloc - before.TotalAlloc; got > limit {
			t.Errorf("NewMemory(MaxBytes %d) allocated %d bytes, want <= %d", maxBytes, got, limit)
		}
	}
}
