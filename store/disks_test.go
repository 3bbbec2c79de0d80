package store

// Tests of Disks, several cache_dirs sharing the objects. They use the
// helpers of disk_test.go (prefixed dt) and, for the promotion across
// directories, Tiered's promotion path.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// dsOpen opens n writable Disks and a Disks over them.
func dsOpen(t *testing.T, opts ...DiskOptions) (*Disks, []*Disk) {
	t.Helper()
	var dirs []*Disk
	for _, o := range opts {
		if o.Dir == "" {
			o.Dir = t.TempDir()
		}
		if o.MaxBytes == 0 {
			o.MaxBytes = 32 << 20
		}
		dirs = append(dirs, dtOpen(t, o))
	}
	return NewDisks(dirs...), dirs
}

// dsWhere returns the indexes of the dirs that hold key.
func dsWhere(dirs []*Disk, key string) []int {
	var out []int
	for i, d := range dirs {
		if dtHas(d, key) {
			out = append(out, i)
		}
	}
	return out
}

// dsReadOnlyDir returns a directory holding the objects of bodies, written
// by a Disk that was then closed.
func dsReadOnlyDir(t *testing.T, bodies map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	w := dtOpen(t, DiskOptions{Dir: dir, MaxBytes: 32 << 20})
	for k, b := range bodies {
		dtMustPut(t, w, k, b)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDisksSpreadByHash checks that objects are spread over the
// directories by the hash of their key, each in exactly one.
func TestDisksSpreadByHash(t *testing.T) {
	t.Parallel()
	ds, dirs := dsOpen(t, DiskOptions{}, DiskOptions{}, DiskOptions{})
	bodies := make(map[string][]byte)
	for i := range 90 {
		key := fmt.Sprintf("http://example.com/spread/%d", i)
		bodies[key] = dtPattern(key, 1, i*701)
		dtMustPut(t, ds, key, bodies[key])
	}
	for key, body := range bodies {
		where := dsWhere(dirs, key)
		if want := int(hashDiskKey(key) % 3); len(where) != 1 || where[0] != want {
			t.Errorf("%q is in directories %v, want only %d (its hash mod 3)", key, where, want)
		}
		dtMustGet(t, ds, key, body)
	}
	total := 0
	for i, d := range dirs {
		if d.Len() == 0 {
			t.Errorf("directory %d got no object of 90", i)
		}
		total += d.Len()
		dtCheckAccounting(t, d)
	}
	if total != 90 || ds.Len() != 90 {
		t.Errorf("%d objects in the directories, Len() = %d, want 90", total, ds.Len())
	}
	if ds.Bytes() != dirs[0].Bytes()+dirs[1].Bytes()+dirs[2].Bytes() {
		t.Errorf("Bytes() = %d, not the sum of the directories'", ds.Bytes())
	}
}

// TestDisksSizeRouting checks min-size and max-size: each object goes to a
// directory that accepts its size, and only there.
func TestDisksSizeRouting(t *testing.T) {
	t.Parallel()
	ds, dirs := dsOpen(t,
		DiskOptions{MaxObjectSize: 1000},                          // 0: small
		DiskOptions{MinObjectSize: 1001, MaxObjectSize: 100000},   // 1: medium
		DiskOptions{MinObjectSize: 100001},                        // 2: large
		DiskOptions{MaxObjectSize: 1000},                          // 3: small
		DiskOptions{MinObjectSize: 1001, MaxObjectSize: 100000},   // 4: medium
		DiskOptions{MinObjectSize: 100001, MaxObjectSize: 400000}, // 5: large
	)
	accepts := func(i int, n int64) bool {
		o := dirs[i].opts
		return n >= o.MinObjectSize && (o.MaxObjectSize == 0 || n <= o.MaxObjectSize)
	}
	used := make(map[int]bool)
	for i, n := range []int{0, 1, 999, 1000, 1001, 5000, 99999, 100000, 100001, 200000, 300000, 400000, 500000, 10, 20, 3000, 4000, 150000, 250000} {
		key := fmt.Sprintf("http://example.com/route/%d/%d", i, n)
		body := dtPattern(key, 1, n)
		dtMustPut(t, ds, key, body)
		where := dsWhere(dirs, key)
		if len(where) != 1 || !accepts(where[0], int64(n)) {
			t.Errorf("%d-byte object stored in directories %v, want exactly one that accepts its size", n, where)
			continue
		}
		used[where[0]] = true
		dtMustGet(t, ds, key, body)
	}
	if len(used) != len(dirs) {
		t.Errorf("only directories %v received objects, want all %d", used, len(dirs))
	}

	// No directory accepts the size: refused, nothing stored.
	ds2, dirs2 := dsOpen(t, DiskOptions{MaxObjectSize: 1000}, DiskOptions{MinObjectSize: 100001})
	const key = "http://example.com/route/none"
	dtMustPut(t, ds2, key, []byte("old"))
	if err := dtPut(context.Background(), ds2, key, dtPattern(key, 1, 5000), true); !Refused(err) {
		t.Errorf("Put of a size no directory accepts = %v, want a refusal", err)
	}
	if where := dsWhere(dirs2, key); len(where) != 0 {
		t.Errorf("refused object left in directories %v", where)
	}
	dtMustMiss(t, ds2, key)
}

// TestDisksUnknownSizeRouting stores bodies of unknown size: they must
// land in a directory that can accept them, not be refused by a
// directory's min-size or max-size while another directory takes any
// size (Squid sends an object of unknown size only to a cache_dir without
// size limits).
func TestDisksUnknownSizeRouting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		limited DiskOptions
		n       int
	}{
		{"max-size", DiskOptions{MaxObjectSize: 1000}, 10 << 10},
		{"min-size", DiskOptions{MinObjectSize: 1000}, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ds, dirs := dsOpen(t, tt.limited, DiskOptions{})
			var refused []string
			for i := range 20 {
				key := fmt.Sprintf("http://example.com/unknown-size/%d", i)
				body := dtPattern(key, 1, tt.n)
				if err := dtPut(context.Background(), ds, key, body, false); err != nil {
					refused = append(refused, fmt.Sprintf("%s (hash mod 2 = %d): %v", key, hashDiskKey(key)%2, err))
					continue
				}
				dtMustGet(t, ds, key, body)
				if where := dsWhere(dirs, key); len(where) != 1 || where[0] != 1 {
					t.Errorf("%q in directories %v, want only 1", key, where)
				}
			}
			if len(refused) > 0 {
				t.Errorf("%d of 20 bodies of unknown size (%d bytes) refused though directory 1 takes any size:\n%v", len(refused), tt.n, refused)
			}
		})
	}
}

// TestDisksReadOnlyNeverReceivesPuts checks that a read-only directory
// serves its objects and never receives a Put, and is left unchanged.
func TestDisksReadOnlyNeverReceivesPuts(t *testing.T) {
	t.Parallel()
	old := map[string][]byte{}
	for i := range 10 {
		key := fmt.Sprintf("http://example.com/ro-old/%d", i)
		old[key] = dtPattern(key, 1, i*3000)
	}
	roDir := dsReadOnlyDir(t, old)
	before := dtTree(t, roDir)
	ds, dirs := dsOpen(t, DiskOptions{Dir: roDir, ReadOnly: true}, DiskOptions{}, DiskOptions{})
	for key, body := range old {
		dtMustGet(t, ds, key, body)
	}
	for i := range 40 {
		key := fmt.Sprintf("http://example.com/ro-new/%d", i)
		body := dtPattern(key, 1, i*1000)
		dtMustPut(t, ds, key, body)
		if where := dsWhere(dirs, key); len(where) != 1 || where[0] == 0 {
			t.Errorf("%q stored in directories %v, want one writable (1 or 2)", key, where)
		}
		dtMustGet(t, ds, key, body)
	}
	if dirs[0].Len() != len(old) || dirs[1].Len() == 0 || dirs[2].Len() == 0 {
		t.Errorf("Len() of the directories: %d, %d, %d; want %d, >0, >0", dirs[0].Len(), dirs[1].Len(), dirs[2].Len(), len(old))
	}
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
	dtSameTree(t, before, dtTree(t, roDir), "read-only directory")
}

// TestDisksReadOnlyCopyNeverShadowsNewerPut stores a new version of an
// object that a read-only directory holds, then deletes it: Get must
// return the new version, then nothing, never the read-only directory's
// older copy.
func TestDisksReadOnlyCopyNeverShadowsNewerPut(t *testing.T) {
	t.Parallel()
	const key = "http://example.com/ro-shadow"
	v1 := dtPattern(key, 1, 5000)
	roDir := dsReadOnlyDir(t, map[string][]byte{key: v1})
	ds, _ := dsOpen(t, DiskOptions{Dir: roDir, ReadOnly: true}, DiskOptions{})
	dtMustGet(t, ds, key, v1)
	v2 := dtPattern(key, 2, 6000)
	dtMustPut(t, ds, key, v2)
	if got, err := dtGetBody(ds, key); err != nil || !bytes.Equal(got, v2) {
		t.Errorf("Get after Put of a new version = %d bytes (%v), want the new version (the old one: %v)", len(got), err, bytes.Equal(got, v1))
	}
	if err := ds.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if got, err := dtGetBody(ds, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %d bytes (%v), want ErrNotFound (the old version: %v)", len(got), err, bytes.Equal(got, v1))
	}
}

// TestDisksAllReadOnlyRefusedAsReadOnly checks a Disks whose directories
// are all read-only (one cache_dir with no-store): Put fails with
// ErrReadOnly, and Tiered, as documented for a read-only disk tier, keeps
// the object in memory.
func TestDisksAllReadOnlyRefusedAsReadOnly(t *testing.T) {
	t.Parallel()
	roDir := dsReadOnlyDir(t, nil)
	ds, _ := dsOpen(t, DiskOptions{Dir: roDir, ReadOnly: true})
	const key = "http://example.com/all-ro"
	body := dtPattern(key, 1, 500)
	if err := dtPut(context.Background(), ds, key, body, true); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Put on Disks of read-only directories = %v, want ErrReadOnly", err)
	}
	mem := newTestMemory(t, MemoryOptions{MaxBytes: 1 << 20, MaxObjectSize: 64 << 10})
	ts := NewTiered(mem, ds)
	if err := dtPut(context.Background(), ts, key, body, true); err != nil {
		t.Errorf("Tiered.Put over read-only Disks = %v, want nil (kept in memory)", err)
	}
	ts.Wait()
	if m := dtMemHolds(t, mem, key); !bytes.Equal(m, body) {
		t.Errorf("memory holds %d bytes, want the %d-byte object (the disk tier declined it as read-only)", len(m), len(body))
	}
}

// TestDisksDeleteRemovesFromAll checks that Delete removes the object from
// every directory, and that Put removes copies from the directories it
// does not pick.
func TestDisksDeleteRemovesFromAll(t *testing.T) {
	t.Parallel()
	ds, dirs := dsOpen(t, DiskOptions{}, DiskOptions{}, DiskOptions{})
	const key = "http://example.com/everywhere"
	for i, d := range dirs { // stale copies, as a change of configuration leaves
		dtMustPut(t, d, key, dtPattern(key, uint64(i), 1000))
	}
	if err := ds.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if where := dsWhere(dirs, key); len(where) != 0 {
		t.Errorf("after Delete the object is still in directories %v", where)
	}
	for _, d := range dirs {
		dtGone(t, dtPath(d, key), "Delete")
	}
	dtMustMiss(t, ds, key)

	for i, d := range dirs {
		dtMustPut(t, d, key, dtPattern(key, uint64(i), 1000))
	}
	body := dtPattern(key, 9, 2000)
	dtMustPut(t, ds, key, body)
	if where, want := dsWhere(dirs, key), int(hashDiskKey(key)%3); len(where) != 1 || where[0] != want {
		t.Errorf("after Put the object is in directories %v, want only %d", where, want)
	}
	dtMustGet(t, ds, key, body)
	for _, d := range dirs {
		dtCheckAccounting(t, d)
	}
}

// TestDisksCorrupt checks that a damaged object in one directory is
// reported as ErrCorrupt, then gone.
func TestDisksCorrupt(t *testing.T) {
	t.Parallel()
	ds, dirs := dsOpen(t, DiskOptions{}, DiskOptions{})
	const key = "http://example.com/disks-corrupt"
	dtMustPut(t, ds, key, dtPattern(key, 1, 3000))
	d := dirs[hashDiskKey(key)%2]
	dtFlip(t, dtPath(d, key), 64+int64(len(key)+len(dtHeader))+100, 4)
	if _, err := ds.Get(context.Background(), key); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of a damaged object = %v, want ErrCorrupt", err)
	}
	dtMustMiss(t, ds, key)
}

// TestDisksCloseWritesSnapshots checks that Close writes the snapshot of
// every directory, so that each reopens at once with its objects.
func TestDisksCloseWritesSnapshots(t *testing.T) {
	t.Parallel()
	opts := []DiskOptions{
		{Dir: t.TempDir(), MaxBytes: 32 << 20},
		{Dir: t.TempDir(), MaxBytes: 32 << 20},
		{Dir: t.TempDir(), MaxBytes: 32 << 20},
	}
	ds, dirs := dsOpen(t, opts...)
	bodies := make(map[string][]byte)
	for i := range 30 {
		key := fmt.Sprintf("http://example.com/close/%d", i)
		bodies[key] = dtPattern(key, 1, i*2000)
		dtMustPut(t, ds, key, bodies[key])
	}
	var lens []int
	for _, d := range dirs {
		lens = append(lens, d.Len())
	}
	if err := ds.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	var reopened []*Disk
	for i, o := range opts {
		if _, err := os.Stat(filepath.Join(o.Dir, "cuttle", snapshotFile)); err != nil {
			t.Errorf("directory %d: no snapshot after Close: %v", i, err)
		}
		d, err := OpenDisk(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		dtWaitReady(t, d)
		if d.Len() != lens[i] {
			t.Errorf("directory %d: Len() = %d after reopen, want %d", i, d.Len(), lens[i])
		}
		reopened = append(reopened, d)
	}
	ds = NewDisks(reopened...)
	for key, body := range bodies {
		dtMustGet(t, ds, key, body)
	}
}

// TestTieredDisksPromotionNeverStaleAcrossDirs replaces an object with a
// version that size routing sends to another directory while a promotion
// of the old version is in flight: the old body must not get into memory,
// whatever the generation numbers of the two directories.
func TestTieredDisksPromotionNeverStaleAcrossDirs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, newSize := range []int{2000, 100 << 10} { // fits memory; disk only
		t.Run(fmt.Sprint(newSize), func(t *testing.T) {
			t.Parallel()
			ds, dirs := dsOpen(t, DiskOptions{MaxObjectSize: 1000}, DiskOptions{MinObjectSize: 1001})
			mem := newTestMemory(t, MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: 64 << 10})
			ts := NewTiered(mem, ds)
			const key = "http://example.com/promote-across"
			// Other activity in directory 0 (Deletes here; evictions,
			// Puts or removals of damaged objects do the same).
			for i := range 5 {
				dirs[0].Delete(ctx, fmt.Sprint("http://example.com/other/", i)) //nolint:errcheck // never fails
			}
			v1 := dtPattern(key, 1, 500)
			dtMustPut(t, ds, key, v1) // directory 0
			obj, err := ds.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			// Activity in directory 1 until its next change is numbered
			// as the version read from directory 0: each Disk counts its
			// own changes.
			for i := 0; dirs[1].Generation()+1 < obj.gen; i++ {
				dirs[1].Delete(ctx, fmt.Sprint("http://example.com/other/", i)) //nolint:errcheck // never fails
			}
			v2 := dtPattern(key, 2, newSize)
			dtMustPut(t, ts, key, v2) // directory 1
			if where := dsWhere(dirs, key); len(where) != 1 || where[0] != 1 {
				t.Fatalf("new version in directories %v, want 1", where)
			}
			if _, _, err := ts.promote(key, obj, ds); err != nil {
				t.Fatal(err)
			}
			ts.Wait()
			if m := dtMemHolds(t, mem, key); m != nil && !bytes.Equal(m, v2) {
				t.Errorf("memory holds the old version (%d bytes; old %v), want the new one or nothing", len(m), bytes.Equal(m, v1))
			}
			if got, err := dtGetBody(ts, key); err != nil || !bytes.Equal(got, v2) {
				t.Errorf("Get = %d bytes (%v), want the new version of %d bytes (got the old: %v)", len(got), err, len(v2), bytes.Equal(got, v1))
			}
		})
	}
}

// TestDisksConcurrent runs concurrent Puts, Gets and Deletes through Disks
// of three directories, checking every body byte for byte.
func TestDisksConcurrent(t *testing.T) {
	t.Parallel()
	ds, dirs := dsOpen(t,
		DiskOptions{MaxBytes: 2 << 20, L1: 2, L2: 2},
		DiskOptions{MaxBytes: 2 << 20, L1: 2, L2: 2, Policy: "heap LFUDA"},
		DiskOptions{MaxBytes: 2 << 20, L1: 2, L2: 2, Policy: "heap LRU"},
	)
	dtConcurrent(t, ds, 8, 200, 44)
	for _, d := range dirs {
		dtCheckAccounting(t, d)
	}
}
