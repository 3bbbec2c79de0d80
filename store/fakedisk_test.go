package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"cuttle/store"
)

// fakeDisk stands in for the disk tier: a map that follows the Store
// contract, with a size limit and an injectable Put failure. It drops
// Meta.Decoded, as a persisting tier does.
type fakeDisk struct {
	limit int64

	mu      sync.Mutex // protects objects, failPut and puts
	objects map[string]fakeObject
	failPut error
	puts    int
}

type fakeObject struct {
	meta store.Meta
	body []byte
}

var _ store.Store = (*fakeDisk)(nil)

func newFakeDisk(limit int64) *fakeDisk {
	return &fakeDisk{limit: limit, objects: make(map[string]fakeObject)}
}

func (d *fakeDisk) Get(ctx context.Context, key string) (*store.Object, error) {
	d.mu.Lock()
	o, ok := d.objects[key]
	d.mu.Unlock()
	if !ok {
		return nil, store.ErrNotFound
	}
	return &store.Object{Key: key, Meta: o.meta, Body: io.NopCloser(bytes.NewReader(o.body))}, nil
}

func (d *fakeDisk) Put(ctx context.Context, key string, meta store.Meta, body io.Reader) error {
	d.mu.Lock()
	d.puts++
	failPut := d.failPut
	d.mu.Unlock()
	b, err := d.read(ctx, meta.Size, body)
	if err == nil {
		err = failPut
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		delete(d.objects, key)
		if err == store.ErrTooLarge {
			return err
		}
		return fmt.Errorf("fakedisk: put %q: %w", key, err)
	}
	meta.Header = bytes.Clone(meta.Header)
	meta.Decoded = nil
	meta.Size = int64(len(b))
	d.objects[key] = fakeObject{meta: meta, body: b}
	return nil
}

func (d *fakeDisk) read(ctx context.Context, size int64, body io.Reader) ([]byte, error) {
	if size > d.limit {
		return nil, store.ErrTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(body, d.limit+1))
	switch {
	case err != nil:
		return nil, err
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case int64(len(b)) > d.limit:
		return nil, store.ErrTooLarge
	case size >= 0 && int64(len(b)) != size:
		return nil, fmt.Errorf("body is %d bytes, Meta.Size is %d", len(b), size)
	}
	return b, nil
}

func (d *fakeDisk) Delete(ctx context.Context, key string) error {
	d.mu.Lock()
	delete(d.objects, key)
	d.mu.Unlock()
	return nil
}

func (d *fakeDisk) setFailPut(err error) {
	d.mu.Lock()
	d.failPut = err
	d.mu.Unlock()
}
