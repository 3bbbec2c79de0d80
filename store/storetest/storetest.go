// Package storetest is a conformance suite for [store.Store]
// implementations: every tier runs the same tests through [Run].
//
// A store whose writes are applied asynchronously (the memory tier) has a
// Wait method; the suite calls it after every Put and Delete, and never
// sleeps.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"cuttle/store"
)

// Options describes the store under test to [RunWithOptions].
type Options struct {
	// MaxObjectSize is the store's object size limit: Put of a longer body
	// must return store.ErrTooLarge and store nothing. Zero means the store
	// has no limit the suite can reach; the size limit tests are skipped.
	// Other tests store bodies of up to 64 KiB (those over the limit are
	// skipped); the limit must be at least [MinMaxObjectSize].
	MaxObjectSize int64

	// KeepsDecoded reports whether the store hands Meta.Decoded back from
	// Get (the memory tier does). When false, Get may return nil or the
	// value given to Put.
	KeepsDecoded bool
}

// MinMaxObjectSize is the smallest [Options.MaxObjectSize] the suite
// accepts.
const MinMaxObjectSize = 8 << 10

// Run runs the conformance suite with zero [Options]. newStore is called
// once per subtest and returns an empty store; it registers any cleanup
// with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	RunWithOptions(t, Options{}, newStore)
}

// RunWithOptions runs the conformance suite against the stores newStore
// returns, which opts describes. Each check is a parallel subtest.
func RunWithOptions(t *testing.T, opts Options, newStore func(t *testing.T) store.Store) {
	t.Helper()
	if opts.MaxObjectSize < 0 || opts.MaxObjectSize > 0 && opts.MaxObjectSize < MinMaxObjectSize {
		t.Fatalf("storetest: Options.MaxObjectSize %d is below MinMaxObjectSize %d", opts.MaxObjectSize, MinMaxObjectSize)
	}
	s := suite{opts: opts, newStore: newStore}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"RoundTrip", s.testRoundTrip},
		{"NotFound", s.testNotFound},
		{"Delete", s.testDelete},
		{"Overwrite", s.testOverwrite},
		{"OverwriteUnsettled", s.testOverwriteUnsettled},
		{"DistinctKeys", s.testDistinctKeys},
		{"FailedPut", s.testFailedPut},
		{"SizeLimit", s.testSizeLimit},
		{"CallerBuffers", s.testCallerBuffers},
		{"ReaderOutlivesReplace", s.testReaderOutlivesReplace},
		{"Concurrent", s.testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t)
		})
	}
}

type suite struct {
	opts     Options
	newStore func(t *testing.T) store.Store
}

// fits reports whether a body of n bytes is within the store's limit.
func (s suite) fits(n int) bool {
	return s.opts.MaxObjectSize == 0 || int64(n) <= s.opts.MaxObjectSize
}

func (s suite) testRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		knownSize bool
		header    string
	}{
		{"empty", 0, true, "HTTP/1.1 204 No Content\r\n\r\n"},
		{"empty unknown size", 0, false, "HTTP/1.1 204 No Content\r\n\r\n"},
		{"one byte", 1, true, "h"},
		{"1000 bytes no header", 1000, true, ""},
		{"1000 bytes unknown size", 1000, false, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"},
		{"64KiB+3", 64<<10 + 3, true, "HTTP/1.1 200 OK\r\n\r\n"},
		{"64KiB+3 unknown size", 64<<10 + 3, false, "HTTP/1.1 200 OK\r\n\r\n"},
	}
	st := s.newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !s.fits(tt.size) {
				t.Skipf("body of %d bytes is over MaxObjectSize %d", tt.size, s.opts.MaxObjectSize)
			}
			key := "http://example.com/roundtrip/" + tt.name
			body := pattern(key, tt.size)
			stored, expires := storedAt(), expiresAt()
			meta := store.Meta{
				Header:  []byte(tt.header),
				Decoded: &decoded{tt.header},
				Size:    -1,
				Stored:  stored,
				Expires: expires,
			}
			if tt.knownSize {
				meta.Size = int64(tt.size)
			}
			put(t, st, key, meta, body)
			obj := get(t, st, key)
			got := readAll(t, obj)
			if obj.Key != key {
				t.Errorf("Get(%q).Key = %q, want %q", key, obj.Key, key)
			}
			if !bytes.Equal(got, body) {
				t.Errorf("Get(%q) body = %d bytes %.20q…, want %d bytes %.20q…", key, len(got), got, len(body), body)
			}
			if string(obj.Meta.Header) != tt.header {
				t.Errorf("Get(%q).Meta.Header = %q, want %q", key, obj.Meta.Header, tt.header)
			}
			if obj.Meta.Size != int64(tt.size) {
				t.Errorf("Get(%q).Meta.Size = %d, want %d", key, obj.Meta.Size, tt.size)
			}
			if !obj.Meta.Stored.Equal(stored) {
				t.Errorf("Get(%q).Meta.Stored = %v, want %v", key, obj.Meta.Stored, stored)
			}
			if !obj.Meta.Expires.Equal(expires) {
				t.Errorf("Get(%q).Meta.Expires = %v, want %v", key, obj.Meta.Expires, expires)
			}
			switch d := obj.Meta.Decoded; {
			case d == meta.Decoded:
			case d == nil && !s.opts.KeepsDecoded:
			default:
				t.Errorf("Get(%q).Meta.Decoded = %v, want %v", key, d, meta.Decoded)
			}
		})
	}
}

func (s suite) testNotFound(t *testing.T) {
	st := s.newStore(t)
	put(t, st, "http://example.com/present", meta(3), []byte("abc"))
	for _, key := range []string{"http://example.com/absent", "http://example.com/presen", "http://example.com/present/", ""} {
		missing(t, st, key)
	}
}

func (s suite) testDelete(t *testing.T) {
	st := s.newStore(t)
	ctx := t.Context()
	const key, other = "http://example.com/delete", "http://example.com/keep"
	put(t, st, key, meta(5), []byte("hello"))
	put(t, st, other, meta(5), []byte("world"))
	for range 2 { // deleting a missing object is no error
		if err := st.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q) = %v, want nil", key, err)
		}
		settle(st)
		missing(t, st, key)
	}
	if got := readAll(t, get(t, st, other)); string(got) != "world" {
		t.Errorf("Get(%q) body after Delete(%q) = %q, want %q", other, key, got, "world")
	}
}

func (s suite) testOverwrite(t *testing.T) {
	tests := []struct {
		name                      string
		first, second             int
		secondUnknown             bool
		firstHeader, secondHeader string
	}{
		{"grow", 10, 3000, false, "h1", "header two"},
		{"shrink", 3000, 10, false, "header one", ""},
		{"unknown size", 100, 200, true, "", "h2"},
		{"to empty", 100, 0, false, "h1", "h2"},
	}
	st := s.newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := "http://example.com/overwrite/" + tt.name
			put(t, st, key, store.Meta{Header: []byte(tt.firstHeader), Size: int64(tt.first)}, pattern("first", tt.first))
			want := pattern("second", tt.second)
			stored := storedAt()
			m := store.Meta{Header: []byte(tt.secondHeader), Size: int64(tt.second), Stored: stored}
			if tt.secondUnknown {
				m.Size = -1
			}
			put(t, st, key, m, want)
			obj := get(t, st, key)
			if got := readAll(t, obj); !bytes.Equal(got, want) {
				t.Errorf("Get(%q) body = %.20q… (%d bytes), want %.20q… (%d bytes)", key, got, len(got), want, len(want))
			}
			if string(obj.Meta.Header) != tt.secondHeader || obj.Meta.Size != int64(tt.second) || !obj.Meta.Stored.Equal(stored) {
				t.Errorf("Get(%q).Meta = %q size %d stored %v, want %q size %d stored %v",
					key, obj.Meta.Header, obj.Meta.Size, obj.Meta.Stored, tt.secondHeader, tt.second, stored)
			}
		})
	}
}

// testOverwriteUnsettled puts one key many times without waiting for the
// store to settle in between: the last Put wins.
func (s suite) testOverwriteUnsettled(t *testing.T) {
	tests := []struct {
		name string
		puts int
	}{
		{"two", 2},
		{"three", 3},
		{"many", 50},
	}
	st := s.newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := "http://example.com/unsettled/" + tt.name
			var last []byte
			for i := range tt.puts {
				last = fmt.Appendf(nil, "version %d %s", i, strings.Repeat("v", i*37%500))
				if err := st.Put(t.Context(), key, meta(int64(len(last))), bytes.NewReader(last)); err != nil {
					t.Fatalf("Put(%q) #%d = %v, want nil", key, i, err)
				}
			}
			settle(st)
			if got := readAll(t, get(t, st, key)); !bytes.Equal(got, last) {
				t.Errorf("Get(%q) after %d Puts = %.20q…, want the last %.20q…", key, tt.puts, got, last)
			}
		})
	}
}

func (s suite) testDistinctKeys(t *testing.T) {
	st := s.newStore(t)
	keys := []string{
		"",
		"a",
		"A",
		"a\x00",
		"\x00a",
		"GET http://example.com/",
		"GET http://example.com/?",
		"HEAD http://example.com/",
		"http://example.com/a b",
		"http://example.com/" + strings.Repeat("long/", 400),
		"http://example.com/ü",
	}
	for i, k := range keys {
		put(t, st, k, meta(-1), fmt.Appendf(nil, "body of key %d", i))
	}
	for i, k := range keys {
		obj := get(t, st, k)
		if obj.Key != k {
			t.Errorf("Get(%q).Key = %q, want %q", k, obj.Key, k)
		}
		if got, want := readAll(t, obj), fmt.Sprintf("body of key %d", i); string(got) != want {
			t.Errorf("Get(%q) body = %q, want %q", k, got, want)
		}
	}
}

func (s suite) testFailedPut(t *testing.T) {
	const n = 1000
	tests := []struct {
		name string
		size int64
		// body returns the reader given to Put and the ctx to pass.
		body func(ctx context.Context) (context.Context, io.Reader)
		// want is an error the Put's error must match (errors.Is), or nil
		// for any error.
		want error
	}{
		{
			name: "read error",
			size: n,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				return ctx, io.MultiReader(bytes.NewReader(pattern("x", n/2)), failingReader{})
			},
			want: errBoom,
		},
		{
			name: "read error unknown size",
			size: -1,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				return ctx, io.MultiReader(bytes.NewReader(pattern("x", n/2)), failingReader{})
			},
			want: errBoom,
		},
		{
			name: "read error with data",
			size: -1,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				return ctx, &dataErrReader{data: pattern("x", n)}
			},
			want: errBoom,
		},
		{
			name: "ctx cancelled before",
			size: n,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx, bytes.NewReader(pattern("x", n))
			},
			want: context.Canceled,
		},
		{
			name: "ctx cancelled during",
			size: n,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				ctx, cancel := context.WithCancel(ctx)
				return ctx, &cancellingReader{data: pattern("x", n), cancel: cancel}
			},
			want: context.Canceled,
		},
		{
			name: "ctx cancelled during unknown size",
			size: -1,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				ctx, cancel := context.WithCancel(ctx)
				return ctx, &cancellingReader{data: pattern("x", n), cancel: cancel}
			},
			want: context.Canceled,
		},
		{
			name: "shorter than Size",
			size: n,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				return ctx, bytes.NewReader(pattern("x", n-1))
			},
		},
		{
			name: "empty with Size",
			size: n,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				return ctx, bytes.NewReader(nil)
			},
		},
		{
			name: "longer than Size",
			size: n,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				return ctx, bytes.NewReader(pattern("x", n+1))
			},
		},
		{
			name: "longer than Size 0",
			size: 0,
			body: func(ctx context.Context) (context.Context, io.Reader) {
				return ctx, bytes.NewReader([]byte("x"))
			},
		},
	}
	st := s.newStore(t)
	for _, tt := range tests {
		for _, existing := range []bool{false, true} {
			name := tt.name
			if existing {
				name += " over existing"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				key := "http://example.com/failed/" + name
				if existing {
					put(t, st, key, meta(5), []byte("older"))
				}
				ctx, body := tt.body(t.Context())
				err := st.Put(ctx, key, meta(tt.size), body)
				settle(st)
				switch {
				case err == nil:
					t.Errorf("Put(%q) = nil, want an error", key)
				case tt.want != nil && !errors.Is(err, tt.want):
					t.Errorf("Put(%q) = %v, want %v", key, err, tt.want)
				case errors.Is(err, store.ErrTooLarge):
					t.Errorf("Put(%q) = %v, want an error other than ErrTooLarge", key, err)
				}
				missing(t, st, key)
			})
		}
	}
}

func (s suite) testSizeLimit(t *testing.T) {
	limit := s.opts.MaxObjectSize
	if limit == 0 {
		t.Skip("the store has no object size limit (Options.MaxObjectSize)")
	}
	tests := []struct {
		name    string
		n       int64 // body length
		size    int64 // Meta.Size
		wantErr error
	}{
		{"over known size", limit + 1, limit + 1, store.ErrTooLarge},
		{"over unknown size", limit + 1, -1, store.ErrTooLarge},
		{"far over unknown size", 2*limit + 10, -1, store.ErrTooLarge},
		{"Size over, body short", 1, limit + 1, nil},
		{"at limit known size", limit, limit, nil},
		{"at limit unknown size", limit, -1, nil},
	}
	st := s.newStore(t)
	for _, tt := range tests {
		for _, existing := range []bool{false, true} {
			name := tt.name
			if existing {
				name += " over existing"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				if tt.n == limit && limit > 16<<20 {
					t.Skipf("MaxObjectSize %d is too large to store in a test", limit)
				}
				key := "http://example.com/limit/" + name
				if existing {
					put(t, st, key, meta(5), []byte("older"))
				}
				err := st.Put(t.Context(), key, meta(tt.size), &patternReader{n: tt.n})
				settle(st)
				if tt.wantErr == nil && tt.n != tt.size && tt.size >= 0 {
					// A mismatched Size may be reported either way.
					if err == nil {
						t.Errorf("Put(%q, Size %d, %d bytes) = nil, want an error", key, tt.size, tt.n)
					}
					missing(t, st, key)
					return
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Put(%q, Size %d, %d bytes) = %v, want %v", key, tt.size, tt.n, err, tt.wantErr)
				}
				if tt.wantErr != nil {
					missing(t, st, key)
					return
				}
				if got := readAll(t, get(t, st, key)); !bytes.Equal(got, pattern("", int(tt.n))) {
					t.Errorf("Get(%q) body = %d bytes, want %d pattern bytes", key, len(got), tt.n)
				}
			})
		}
	}
}

func (s suite) testCallerBuffers(t *testing.T) {
	st := s.newStore(t)
	const key = "http://example.com/buffers"
	header := []byte("header")
	body := []byte("body bytes")
	put(t, st, key, store.Meta{Header: header, Size: -1}, body)
	copy(header, "XXXXXX")
	copy(body, "XXXXXXXXXX")
	obj := get(t, st, key)
	if got := string(obj.Meta.Header); got != "header" {
		t.Errorf("Get(%q).Meta.Header after the caller reused its buffer = %q, want %q", key, got, "header")
	}
	if got := string(readAll(t, obj)); got != "body bytes" {
		t.Errorf("Get(%q) body after the caller reused its buffer = %q, want %q", key, got, "body bytes")
	}
}

func (s suite) testReaderOutlivesReplace(t *testing.T) {
	st := s.newStore(t)
	const key = "http://example.com/outlive"
	first := pattern("first", 5000)
	put(t, st, key, meta(int64(len(first))), first)
	obj1 := get(t, st, key)
	obj2 := get(t, st, key)
	defer obj2.Body.Close()
	// Start reading one of them before the object changes.
	head := make([]byte, 10)
	if _, err := io.ReadFull(obj2.Body, head); err != nil {
		t.Fatalf("Get(%q).Body.Read = %v, want nil", key, err)
	}
	put(t, st, key, meta(6), []byte("second"))
	if got := readAll(t, obj1); !bytes.Equal(got, first) {
		t.Errorf("body of Get(%q) after overwrite = %.20q… (%d bytes), want the first object %.20q… (%d bytes)", key, got, len(got), first, len(first))
	}
	if err := st.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete(%q) = %v, want nil", key, err)
	}
	settle(st)
	rest, err := io.ReadAll(obj2.Body)
	if got := append(head, rest...); err != nil || !bytes.Equal(got, first) {
		t.Errorf("body of Get(%q) after Delete = %.20q… (%d bytes), %v, want the first object (%d bytes), nil", key, got, len(got), err, len(first))
	}
}

func (s suite) testConcurrent(t *testing.T) {
	st := s.newStore(t)
	const (
		workers = 8
		rounds  = 200
	)
	keys := []string{"http://example.com/c0", "http://example.com/c1", "http://example.com/c2", "http://example.com/c3"}
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			ctx := t.Context()
			for i := range rounds {
				key := keys[(w+i)%len(keys)]
				switch i % 7 {
				case 0, 3:
					// Bodies of each key all start with the key, so that a
					// body read under another key stands out.
					body := fmt.Appendf(nil, "%s|%d|%d|%s", key, w, i, strings.Repeat("z", (w*131+i*17)%3000))
					size := int64(len(body))
					if i%2 == 0 {
						size = -1
					}
					if err := st.Put(ctx, key, meta(size), bytes.NewReader(body)); err != nil {
						errc <- fmt.Errorf("Put(%q) = %v, want nil", key, err)
						return
					}
				case 5:
					if err := st.Delete(ctx, key); err != nil {
						errc <- fmt.Errorf("Delete(%q) = %v, want nil", key, err)
						return
					}
				default:
					obj, err := st.Get(ctx, key)
					if errors.Is(err, store.ErrNotFound) {
						continue
					}
					if err != nil {
						errc <- fmt.Errorf("Get(%q) = %v, want nil or ErrNotFound", key, err)
						return
					}
					body, err := io.ReadAll(obj.Body)
					obj.Body.Close()
					switch {
					case err != nil:
						errc <- fmt.Errorf("Get(%q).Body read = %v, want nil", key, err)
						return
					case obj.Key != key || !bytes.HasPrefix(body, []byte(key+"|")):
						errc <- fmt.Errorf("Get(%q) = key %q body %.40q, want the object of %q", key, obj.Key, body, key)
						return
					case int64(len(body)) != obj.Meta.Size:
						errc <- fmt.Errorf("Get(%q) body = %d bytes, want Meta.Size %d", key, len(body), obj.Meta.Size)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}
