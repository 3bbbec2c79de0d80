package store

import (
	"context"
	"errors"
	"io"
)

// Disks is a [Store] over several disk tiers (several cache_dir lines):
// each object goes to one of the directories that accept its size, chosen
// by the hash of its key, so that the directories share the objects.
type Disks struct {
	dirs []*Disk
}

var _ Store = (*Disks)(nil)

// NewDisks returns a Store over dirs, which it takes over: Close closes
// them. Writable directories are searched before read-only ones, whose
// copies may be older.
func NewDisks(dirs ...*Disk) *Disks {
	var rw, ro []*Disk
	for _, d := range dirs {
		if d.opts.ReadOnly {
			ro = append(ro, d)
		} else {
			rw = append(rw, d)
		}
	}
	return &Disks{dirs: append(rw, ro...)}
}

// Get returns the object from whichever directory holds it.
func (s *Disks) Get(ctx context.Context, key string) (*Object, error) {
	var corrupt bool
	for _, d := range s.dirs {
		obj, err := d.Get(ctx, key)
		switch {
		case err == nil:
			return obj, nil
		case errors.Is(err, ErrCorrupt):
			corrupt = true
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	if corrupt {
		return nil, ErrCorrupt
	}
	return nil, ErrNotFound
}

// Put stores the object in one directory that accepts its size (min-size=,
// max-size=, not read-only), picked by the key's hash, and removes it from
// the others. A body of unknown size goes to the directories that take any
// size (no min-size, the largest max-size), as Squid sends it only where
// it surely fits.
func (s *Disks) Put(ctx context.Context, key string, meta Meta, body io.Reader) error {
	var eligible []*Disk
	writable, tooSmall := false, false
	var widest int64 = -1 // the largest max-size of a writable directory; 0 is none
	for _, d := range s.dirs {
		if d.opts.ReadOnly {
			continue
		}
		writable = true
		if m := d.opts.MaxObjectSize; widest != 0 && (m == 0 || m > widest) {
			widest = m
		}
	}
	for _, d := range s.dirs {
		o := &d.opts
		switch {
		case o.ReadOnly:
		case meta.Size < 0 && (o.MinObjectSize > 0 || o.MaxObjectSize != widest):
		case meta.Size >= 0 && o.MaxObjectSize > 0 && meta.Size > o.MaxObjectSize:
		case meta.Size >= 0 && meta.Size < o.MinObjectSize:
			tooSmall = true
		default:
			eligible = append(eligible, d)
		}
	}
	if len(eligible) == 0 {
		s.Delete(ctx, key) //nolint:errcheck // never fails
		switch {
		case !writable:
			return ErrReadOnly
		case tooSmall:
			return ErrTooSmall
		}
		return ErrTooLarge
	}
	pick := eligible[hashDiskKey(key)%uint64(len(eligible))]
	for _, d := range s.dirs {
		if d != pick {
			d.Delete(ctx, key) //nolint:errcheck // never fails
		}
	}
	return pick.Put(ctx, key, meta, body)
}

// Holds reports whether some directory still holds the version of key
// that a Get returned as gen.
func (s *Disks) Holds(key string, gen uint64) bool {
	for _, d := range s.dirs {
		if d.Holds(key, gen) {
			return true
		}
	}
	return false
}

// Delete removes the object from every directory.
func (s *Disks) Delete(ctx context.Context, key string) error {
	for _, d := range s.dirs {
		d.Delete(ctx, key) //nolint:errcheck // never fails
	}
	return nil
}

// Close closes every directory, writing their index snapshots.
func (s *Disks) Close() error {
	var errs []error
	for _, d := range s.dirs {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// Bytes is the bytes counted on all directories.
func (s *Disks) Bytes() int64 {
	var n int64
	for _, d := range s.dirs {
		n += d.Bytes()
	}
	return n
}

// Len is the number of objects indexed in all directories.
func (s *Disks) Len() int {
	n := 0
	for _, d := range s.dirs {
		n += d.Len()
	}
	return n
}
