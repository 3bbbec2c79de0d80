package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"cuttle/store"
)

// storedAt and expiresAt are the times in the Meta the suite stores. They
// have nanoseconds, which a store must keep.
func storedAt() time.Time {
	return time.Date(2025, time.November, 25, 18, 38, 7, 123456789, time.UTC)
}

func expiresAt() time.Time {
	return storedAt().Add(90 * time.Minute)
}

// decoded stands for a caller's parsed form of Meta.Header.
type decoded struct{ header string }

// errBoom is the failure of a failing body reader.
var errBoom = errors.New("storetest: boom")

// put stores body under key and lets the store settle; it fails the test
// on an error.
func put(t *testing.T, st store.Store, key string, m store.Meta, body []byte) {
	t.Helper()
	if err := st.Put(t.Context(), key, m, bytes.NewReader(body)); err != nil {
		t.Fatalf("Put(%q, %d bytes) = %v, want nil", key, len(body), err)
	}
	settle(st)
}

// get returns the object stored under key, closing its body at the end of
// the test; it fails the test on an error.
func get(t *testing.T, st store.Store, key string) *store.Object {
	t.Helper()
	obj, err := st.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) = %v, want nil", key, err)
	}
	t.Cleanup(func() { obj.Body.Close() })
	return obj
}

// missing checks that no object is stored under key.
func missing(t *testing.T, st store.Store, key string) {
	t.Helper()
	obj, err := st.Get(t.Context(), key)
	if err == nil {
		obj.Body.Close()
		t.Errorf("Get(%q) = an object of %d bytes, want ErrNotFound", key, obj.Meta.Size)
		return
	}
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
	}
}

// readAll reads and closes obj's body.
func readAll(t *testing.T, obj *store.Object) []byte {
	t.Helper()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatalf("reading body of %q = %v, want nil", obj.Key, err)
	}
	if err := obj.Body.Close(); err != nil {
		t.Errorf("closing body of %q = %v, want nil", obj.Key, err)
	}
	return b
}

// settle waits for the store's buffered writes, if it buffers them.
func settle(st store.Store) {
	if w, ok := st.(interface{ Wait() }); ok {
		w.Wait()
	}
}

// meta returns a Meta with the given Size and fixed times.
func meta(size int64) store.Meta {
	return store.Meta{Header: []byte("hdr"), Size: size, Stored: storedAt(), Expires: expiresAt()}
}

// pattern returns n bytes that start with prefix and go on with a pattern
// that differs with the position, so that a shifted or foreign body shows.
func pattern(prefix string, n int) []byte {
	b := make([]byte, n)
	i := copy(b, prefix)
	for ; i < n; i++ {
		b[i] = patternByte(int64(i))
	}
	return b
}

func patternByte(i int64) byte {
	return byte('a' + i%23 + i/23%3)
}

// patternReader returns n pattern bytes (as pattern("", n)) without holding
// them.
type patternReader struct {
	n, off int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = patternByte(r.off + int64(i))
	}
	r.off += int64(len(p))
	return len(p), nil
}

// failingReader fails every Read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errBoom }

// dataErrReader returns all its data together with errBoom.
type dataErrReader struct {
	data []byte
}

func (r *dataErrReader) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, errBoom
}

// cancellingReader cancels its context during the first Read, and goes on
// returning its data.
type cancellingReader struct {
	data   []byte
	cancel context.CancelFunc
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	r.cancel()
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data[:min(len(r.data), 100)])
	r.data = r.data[n:]
	return n, nil
}
