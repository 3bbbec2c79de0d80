package store

import (
	"context"
	"errors"
	"io"
)

// Tier names the tier that served a [Tiered.GetTier] hit. httpcache logs a
// memory hit as TCP_MEM_HIT and a disk hit as TCP_HIT.
type Tier uint8

const (
	// TierNone is returned with an error: no tier served the object.
	TierNone Tier = iota
	// TierMemory is the memory tier ([Memory]).
	TierMemory
	// TierDisk is the disk tier (cache_dir).
	TierDisk
)

// String returns "none", "memory" or "disk".
func (t Tier) String() string {
	switch t {
	case TierMemory:
		return "memory"
	case TierDisk:
		return "disk"
	default:
		return "none"
	}
}

// Tiered is a [Store] over the memory tier and an optional disk tier.
//
// Get looks in memory first, then on disk. A disk hit that fits the memory
// tier is promoted into it (see promote); a larger one streams from disk
// and is never held whole in memory.
//
// Put streams the body once. Without a disk tier it is the memory tier's
// Put. With one, the body goes to the disk tier and, while it fits the
// memory tier's object size limit, is kept in a buffer of at most that
// size; when the disk tier has committed the object, the buffered copy goes
// to memory. A body larger than the memory limit is on disk only. A body
// the disk tier declines without fault (too small for it, no space,
// read-only) is kept in memory when it fits there.
//
// After a failed Put neither tier holds an object under the key.
//
// A Tiered does not own its tiers: closing them is the caller's task.
type Tiered struct {
	mem  *Memory
	disk Store
}

var _ Store = (*Tiered)(nil)

// NewTiered returns a Store over mem and disk. disk may be nil: the store is
// then memory only, and Put of a body over the memory limit returns
// [ErrTooLarge].
func NewTiered(mem *Memory, disk Store) *Tiered {
	return &Tiered{mem: mem, disk: disk}
}

// Get returns the object stored under key, from memory or else from disk,
// or ErrNotFound.
func (t *Tiered) Get(ctx context.Context, key string) (*Object, error) {
	obj, _, err := t.GetTier(ctx, key)
	return obj, err
}

// GetTier is Get that also reports which tier served the object. It returns
// TierNone with every error.
func (t *Tiered) GetTier(ctx context.Context, key string) (*Object, Tier, error) {
	obj, err := t.mem.Get(ctx, key)
	if err == nil {
		return obj, TierMemory, nil
	}
	if t.disk == nil {
		return nil, TierNone, err
	}
	obj, err = t.disk.Get(ctx, key)
	if err != nil {
		return nil, TierNone, err
	}
	if p, ok := t.disk.(holder); ok && obj.Meta.Size <= t.mem.maxObject {
		return t.promote(key, obj, p)
	}
	return obj, TierDisk, nil
}

// holder is a disk tier that can tell whether a version it returned is
// still the stored one ([Disk] and [Disks] can).
type holder interface {
	Holds(key string, gen uint64) bool
}

// promote copies a disk hit that fits the memory tier into memory and
// returns it from there (still reported as a disk hit). The body is read
// and checked whole first; the copy is kept only if the disk still holds
// that version when it is stored, under the key's memory lock, which
// Puts and Deletes take too, so a promotion never brings back an older or
// deleted object.
func (t *Tiered) promote(key string, obj *Object, p holder) (*Object, Tier, error) {
	defer obj.Body.Close()
	body, err := io.ReadAll(io.LimitReader(obj.Body, obj.Meta.Size+1))
	if err != nil {
		return nil, TierNone, err
	}
	if int64(len(body)) != obj.Meta.Size {
		return nil, TierNone, ErrCorrupt
	}
	meta := obj.Meta
	meta.Header = clone(meta.Header)
	meta.Decoded = nil
	gen := obj.gen
	t.mem.setIf(key, meta, body, func() bool { return p.Holds(key, gen) })
	e := &entry{key: key, meta: meta, body: body}
	return newMemObject(e), TierDisk, nil
}

// Put stores body under key in the tiers it fits, reading it once. Its
// errors are the disk tier's when there is one, else the memory tier's.
func (t *Tiered) Put(ctx context.Context, key string, meta Meta, body io.Reader) error {
	if t.disk == nil {
		return t.mem.Put(ctx, key, meta, body)
	}
	if meta.Size > t.mem.maxObject {
		err := t.disk.Put(ctx, key, meta, body)
		// Any copy in memory is older than the one on disk, or the Put failed.
		t.mem.Delete(ctx, key)
		return err
	}
	c := &capture{r: body, limit: t.mem.maxObject, ch: chunks{pool: t.mem.scratch}}
	defer c.ch.release()
	if meta.Size >= 0 {
		c.sized = make([]byte, 0, meta.Size)
	}
	err := t.disk.Put(ctx, key, meta, c)
	if err != nil && Refused(err) && !errors.Is(err, ErrTooLarge) && !c.over && ctx.Err() == nil {
		// The disk declined the object (min-size=, no space, read-only):
		// it can still live in memory. Read the rest of it, if any.
		if !c.eof {
			_, rerr := io.Copy(io.Discard, c)
			c.eof = c.eof && rerr == nil
		}
		if _, ok := c.body(meta.Size); ok {
			err = nil
		}
	}
	b, ok := c.body(meta.Size)
	if err != nil || !ok {
		t.mem.Delete(ctx, key)
		return err
	}
	t.mem.set(key, meta, b)
	// The disk already serves the object; wait until memory does too, so
	// that the next request is a memory hit, as in Squid, and not a disk
	// hit that promotes it again.
	t.mem.Wait()
	return nil
}

// Delete removes the object stored under key from both tiers: the disk
// first, so that a promotion racing with it cannot bring it back (see
// promote).
func (t *Tiered) Delete(ctx context.Context, key string) error {
	var err error
	if t.disk != nil {
		err = t.disk.Delete(ctx, key)
	}
	return errors.Join(err, t.mem.Delete(ctx, key))
}

// Wait waits for the memory tier's buffered writes (see [Memory.Wait]) and
// for the disk tier's, if it has a Wait method.
func (t *Tiered) Wait() {
	t.mem.Wait()
	if w, ok := t.disk.(interface{ Wait() }); ok {
		w.Wait()
	}
}

// capture passes a body through to the disk tier and keeps a copy of it
// while the copy stays within limit bytes.
type capture struct {
	r     io.Reader
	limit int64
	sized []byte // the copy of a body of known size; its capacity is the size
	ch    chunks // the copy of a body of unknown size
	n     int64  // the bytes read
	over  bool   // the body outgrew limit or its size; the copy stopped
	eof   bool   // r returned io.EOF
}

// Read reads from the body and keeps what it read.
func (c *capture) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case n == 0 || c.over:
	case c.n > c.limit || c.sized != nil && c.n > int64(cap(c.sized)):
		c.over, c.sized = true, nil
		c.ch.release()
	case c.sized != nil:
		c.sized = append(c.sized, p[:n]...)
	default:
		c.ch.write(p[:n])
	}
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

// body returns the copy of the whole body, whose capacity is its length,
// and reports whether there is one: whether the body was read to EOF
// within the limit and, when size is not negative, has size bytes.
func (c *capture) body(size int64) ([]byte, bool) {
	switch {
	case !c.eof || c.over:
		return nil, false
	case size >= 0:
		return c.sized, int64(len(c.sized)) == size
	default:
		return c.ch.bytes(), true
	}
}
