package store

// Tests of the disk tier (Disk) and of Tiered over a real Disk. They are
// internal tests: some need the fan-out (paths), the index (to tell whether
// an object is indexed without touching its recency) or Tiered's promotion
// path. Helpers are prefixed dt so as not to clash with other test files.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

// dtOverhead is what Dir/cuttle holds on disk that the store does not count
// against MaxBytes: the directories Dir/cuttle and Dir/cuttle/tmp and the
// FORMAT file, one 4 KiB block each. Nothing else is allowed for.
const dtOverhead = 3 * 4096

// dtHeader is the Meta.Header of the test objects.
const dtHeader = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"

// dtLog collects a Disk's log lines.
type dtLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *dtLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// count returns the number of lines that contain substr.
func (l *dtLog) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func (l *dtLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// dtOpen opens a Disk that is closed at the end of the test and waits for
// its index.
func dtOpen(t testing.TB, opts DiskOptions) *Disk {
	t.Helper()
	d := dtOpenNoWait(t, opts)
	dtWaitReady(t, d)
	return d
}

// dtOpenNoWait opens a Disk that is closed at the end of the test.
func dtOpenNoWait(t testing.TB, opts DiskOptions) *Disk {
	t.Helper()
	d, err := OpenDisk(opts)
	if err != nil {
		t.Fatalf("OpenDisk(%+v) = %v, want nil", opts, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// dtCrashOpen opens a Disk and waits for its index, and never closes it:
// the test abandons it as a crashed process leaves its directory (no
// snapshot). It must not be used once another Disk is open on the
// directory.
func dtCrashOpen(t testing.TB, opts DiskOptions) *Disk {
	t.Helper()
	d, err := OpenDisk(opts)
	if err != nil {
		t.Fatalf("OpenDisk(%+v) = %v, want nil", opts, err)
	}
	dtWaitReady(t, d)
	return d
}

func dtWaitReady(t testing.TB, d *Disk) {
	t.Helper()
	select {
	case <-d.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("the disk index is not ready after 20 s")
	}
}

func dtIsReady(d *Disk) bool {
	select {
	case <-d.Ready():
		return true
	default:
		return false
	}
}

// dtPattern returns n pseudo-random bytes determined by key and ver.
func dtPattern(key string, ver uint64, n int) []byte {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], xxhash.Sum64String(key))
	binary.LittleEndian.PutUint64(seed[8:], ver)
	binary.LittleEndian.PutUint64(seed[16:], uint64(n))
	b := make([]byte, n)
	rand.NewChaCha8(seed).Read(b) //nolint:errcheck // never fails
	return b
}

var (
	dtStored  = time.Unix(1_700_000_000, 123_456_789)
	dtExpires = time.Unix(1_700_003_600, 987)
)

// dtMeta is the metadata of a test object of size bytes (-1: unknown).
func dtMeta(size int64) Meta {
	return Meta{Header: []byte(dtHeader), Size: size, Stored: dtStored, Expires: dtExpires}
}

// dtPut stores body under key, with its size known or not.
func dtPut(ctx context.Context, s Store, key string, body []byte, known bool) error {
	size := int64(len(body))
	if !known {
		size = -1
	}
	return s.Put(ctx, key, dtMeta(size), bytes.NewReader(body))
}

func dtMustPut(t testing.TB, s Store, key string, body []byte) {
	t.Helper()
	if err := dtPut(context.Background(), s, key, body, true); err != nil {
		t.Fatalf("Put(%q, %d bytes) = %v, want nil", key, len(body), err)
	}
}

// dtGetBody returns the whole body stored under key.
func dtGetBody(s Store, key string) ([]byte, error) {
	obj, err := s.Get(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer obj.Body.Close()
	if obj.Key != key {
		return nil, fmt.Errorf("Get(%q).Key = %q", key, obj.Key)
	}
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		return b, err
	}
	if int64(len(b)) != obj.Meta.Size {
		return b, fmt.Errorf("Get(%q): %d bytes, Meta.Size %d", key, len(b), obj.Meta.Size)
	}
	return b, nil
}

// dtMustGet checks that key holds want.
func dtMustGet(t testing.TB, s Store, key string, want []byte) {
	t.Helper()
	got, err := dtGetBody(s, key)
	if err != nil {
		t.Fatalf("Get(%q) = %v, want %d bytes", key, err, len(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %d bytes, differing from the %d stored", key, len(got), len(want))
	}
}

// dtMustMiss checks that key holds nothing.
func dtMustMiss(t testing.TB, s Store, key string) {
	t.Helper()
	obj, err := s.Get(context.Background(), key)
	if err == nil {
		obj.Body.Close()
		t.Fatalf("Get(%q) = an object of %d bytes, want ErrNotFound", key, obj.Meta.Size)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%q) = %v, want ErrNotFound", key, err)
	}
}

// dtPath is the file of key's object, computed from the documented layout
// (xxhash64 of the key; Dir/cuttle/%02X(h mod L1)/%02X(h/L1 mod L2)/%016x)
// rather than with Disk.paths.
func dtPath(d *Disk, key string) string {
	l1, l2 := uint64(d.opts.L1), uint64(d.opts.L2)
	if l1 == 0 {
		l1 = 16
	}
	if l2 == 0 {
		l2 = 256
	}
	h := xxhash.Sum64String(key)
	return filepath.Join(d.opts.Dir, "cuttle", fmt.Sprintf("%02X", h%l1), fmt.Sprintf("%02X", (h/l1)%l2), fmt.Sprintf("%016x", h))
}

// dtHas reports whether key is indexed, without touching its recency.
func dtHas(d *Disk, key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.index[hashDiskKey(key)]
	return ok
}

// dtUsage is the space Dir/cuttle takes: every file's size rounded up to 4
// KiB blocks plus a block per directory, Dir/cuttle included. Files that
// vanish during the walk are not counted.
func dtUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(filepath.Join(dir, "cuttle"), func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if de.IsDir() {
			n += 4096
			return nil
		}
		info, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		n += (info.Size() + 4095) / 4096 * 4096
		return nil
	})
	return n, err
}

// dtObjectFiles lists the object files under Dir/cuttle (not tmp).
func dtObjectFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dir, "cuttle")
	err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() && path == filepath.Join(root, "tmp") {
			return fs.SkipDir
		}
		if !de.IsDir() && len(de.Name()) == 16 && filepath.Dir(filepath.Dir(filepath.Dir(path))) == root {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dtTmpFiles lists what Dir/cuttle/tmp holds.
func dtTmpFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "cuttle", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// dtCheckAccounting checks, with no Put in progress, that Bytes is exactly
// what the files take, that Len is the number of object files, and that
// no temporary file is left.
func dtCheckAccounting(t testing.TB, d *Disk) {
	t.Helper()
	used, err := dtUsage(d.opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Bytes(), used-dtOverhead; got != want {
		t.Errorf("Bytes() = %d, want %d (the files and directories under cuttle/ less cuttle/, tmp/ and FORMAT)", got, want)
	}
	if got, want := d.Len(), len(dtObjectFiles(t, d.opts.Dir)); got != want {
		t.Errorf("Len() = %d, want %d (object files on disk)", got, want)
	}
	if tmp := dtTmpFiles(t, d.opts.Dir); len(tmp) != 0 {
		t.Errorf("cuttle/tmp holds %q, want nothing", tmp)
	}
}

// dtFlip XORs the byte at off of the file with mask.
func dtFlip(t testing.TB, path string, off int64, mask byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatalf("read %s at %d: %v", path, off, err)
	}
	b[0] ^= mask
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// dtGone checks that the file at path does not exist.
func dtGone(t testing.TB, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: %s still exists (stat: %v), want it removed", why, path, err)
	}
}

// dtTree describes every file and directory under dir (kind, size,
// mode, modification time and a hash of the content), to check that
// nothing changed.
func dtTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d %v", info.Mode(), info.Size(), info.ModTime().UnixNano())
		if !de.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %016x", xxhash.Sum64(b))
		}
		out[path] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dtSameTree(t testing.TB, before, after map[string]string, why string) {
	t.Helper()
	for p, d := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s: %s was removed", why, p)
		} else if a != d {
			t.Errorf("%s: %s changed: %s, was %s", why, p, a, d)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s was created", why, p)
		}
	}
}

// dtLayout is the layout of an object file as diskformat.go documents it,
// computed here independently.
type dtLayout struct{ keyLen, metaLen, n int64 }

const dtB = 64 << 10 // the body block size

func (l dtLayout) bodyOff() int64    { return 64 + l.keyLen + l.metaLen }
func (l dtLayout) blocks() int64     { return (l.n + dtB - 1) / dtB }
func (l dtLayout) trailerOff() int64 { return l.bodyOff() + l.n }
func (l dtLayout) size() int64       { return l.trailerOff() + 8*l.blocks() + 16 }

// region names the part of the file at off.
func (l dtLayout) region(off int64) string {
	switch {
	case off < 8:
		return "magic"
	case off < 12:
		return "version"
	case off < 48:
		return "header fields"
	case off < 56:
		return "header sum"
	case off < 64:
		return "reserved"
	case off < 64+l.keyLen:
		return "key"
	case off < l.bodyOff():
		return "meta"
	case off < l.trailerOff() && off < l.bodyOff()+dtB:
		return "first block"
	case off < l.trailerOff():
		return "later block"
	case off < l.trailerOff()+8*l.blocks():
		return "block sums"
	case off < l.size()-8:
		return "trailer sum"
	default:
		return "end magic"
	}
}

// positions returns the offsets to damage: every byte of the header, key,
// metadata, block sums, trailer sum and end magic; the first, second,
// middle and last byte of every body block; and every 4099th byte of the
// first block.
func (l dtLayout) positions() []int64 {
	var out []int64
	for o := int64(0); o < l.bodyOff(); o++ {
		out = append(out, o)
	}
	for i := int64(0); i < l.blocks(); i++ {
		s := l.bodyOff() + i*dtB
		e := min(s+dtB, l.trailerOff())
		for _, o := range []int64{s, s + 1, (s + e) / 2, e - 1} {
			if o >= s && o < e {
				out = append(out, o)
			}
		}
	}
	for o := l.bodyOff(); o < min(l.bodyOff()+dtB, l.trailerOff()); o += 4099 {
		out = append(out, o)
	}
	for o := l.trailerOff(); o < l.size(); o++ {
		out = append(out, o)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// representatives returns one offset in the middle of every region.
func (l dtLayout) representatives() []int64 {
	var out []int64
	seen := make(map[string]bool)
	pos := l.positions()
	for i, o := range pos {
		r := l.region(o)
		if seen[r] {
			continue
		}
		// The middle of the run of this region's positions.
		j := i
		for j+1 < len(pos) && l.region(pos[j+1]) == r {
			j++
		}
		seen[r] = true
		out = append(out, pos[(i+j)/2])
	}
	return out
}

// dtOutcome is how a Get of a damaged object ended.
type dtOutcome int

const (
	dtServed        dtOutcome = iota // the whole original body
	dtNotFound                       // Get: ErrNotFound
	dtCorruptAtGet                   // Get: ErrCorrupt
	dtCorruptAtRead                  // a Read: ErrCorrupt, after only right bytes
)

func (o dtOutcome) String() string {
	return [...]string{"served intact", "ErrNotFound at Get", "ErrCorrupt at Get", "ErrCorrupt at Read"}[o]
}

// dtGetChecked gets key and reads its body in odd-sized pieces, failing the
// test on any byte that differs from want, on metadata that differs, and
// on errors other than ErrNotFound and ErrCorrupt.
func dtGetChecked(t testing.TB, d *Disk, key string, want []byte) dtOutcome {
	t.Helper()
	obj, err := d.Get(context.Background(), key)
	switch {
	case errors.Is(err, ErrNotFound):
		return dtNotFound
	case errors.Is(err, ErrCorrupt):
		return dtCorruptAtGet
	case err != nil:
		t.Fatalf("Get(%q) = %v, want nil, ErrCorrupt or ErrNotFound", key, err)
	}
	defer obj.Body.Close()
	m := obj.Meta
	if obj.Key != key || string(m.Header) != dtHeader || m.Size != int64(len(want)) ||
		!m.Stored.Equal(dtStored) || !m.Expires.Equal(dtExpires) {
		t.Fatalf("Get(%q) served wrong metadata: key %q, %+v", key, obj.Key, m)
	}
	buf := make([]byte, 7001)
	off := 0
	for {
		n, err := obj.Body.Read(buf)
		if off+n > len(want) || !bytes.Equal(buf[:n], want[off:off+n]) {
			t.Fatalf("Get(%q): Read served a wrong byte in body bytes %d..%d", key, off, off+n)
		}
		off += n
		if err == io.EOF {
			break
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Get(%q): Read at %d = %v, want ErrCorrupt", key, off, err)
			}
			return dtCorruptAtRead
		}
	}
	if off != len(want) {
		t.Fatalf("Get(%q): body of %d bytes, want %d", key, off, len(want))
	}
	return dtServed
}

// TestDiskBitFlipNeverServed damages one byte of a stored object at a time,
// in every region of the file, and checks that no wrong byte is ever
// served, that every byte but the reserved header field is checked, that
// a body of up to one block is verified before its first byte, and that
// a damaged object is removed, file and all.
func TestDiskBitFlipNeverServed(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 1 << 10, 64 << 10, 64<<10 + 1, 300 << 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20}
			d := dtOpen(t, opts)
			key := fmt.Sprintf("http://example.com/bitflip/%d", n)
			body := dtPattern(key, 1, n)
			lay := dtLayout{int64(len(key)), int64(len(dtHeader)), int64(n)}
			path := dtPath(d, key)
			if _, p := d.paths(hashDiskKey(key)); p != path {
				t.Fatalf("paths() = %s, want the documented %s", p, path)
			}
			dirBlocks := int64(0) // the fan-out directories go with their last object

			check := func(off int64, got dtOutcome, how string) {
				t.Helper()
				region := lay.region(off)
				switch got {
				case dtServed:
					// The reserved field is the only part of the file
					// that no checksum covers; the body is intact.
					if region != "reserved" {
						t.Errorf("%s: byte %d (%s) damaged, object served: the damage went unnoticed", how, off, region)
					}
					return
				case dtCorruptAtRead:
					if n <= dtB {
						t.Errorf("%s: byte %d (%s) damaged: ErrCorrupt from Read, want from Get (a body of up to one block is verified whole before it is served)", how, off, region)
					}
					if region != "later block" {
						t.Errorf("%s: byte %d (%s) damaged: found only by Read, want by Get", how, off, region)
					}
				}
				dtMustMiss(t, d, key)
				dtGone(t, path, fmt.Sprintf("%s: byte %d (%s) damaged, %v", how, off, region, got))
				if d.Len() != 0 || d.Bytes() != dirBlocks {
					t.Errorf("%s: after the damaged object's removal Len() = %d, Bytes() = %d, want 0, %d", how, d.Len(), d.Bytes(), dirBlocks)
				}
			}

			// Damage found by a Get of the running store.
			positions := lay.positions()
			for i, off := range positions {
				dtMustPut(t, d, key, body)
				if i == 0 {
					if st, err := os.Stat(path); err != nil || st.Size() != lay.size() {
						t.Fatalf("object file %s: %v, size %d, want %d bytes", path, err, st.Size(), lay.size())
					}
				}
				dtFlip(t, path, off, byte(1)<<(i%8))
				check(off, dtGetChecked(t, d, key, body), "running")
			}

			// Damage done while the store was down: the index comes from
			// the snapshot or from a scan.
			for _, mode := range []string{"snapshot", "scan"} {
				for i, off := range lay.representatives() {
					dtMustPut(t, d, key, body)
					d.Close()
					if mode == "scan" {
						os.Remove(filepath.Join(opts.Dir, "cuttle", snapshotFile))
					}
					dtFlip(t, path, off, 0xff^byte(i))
					d = dtOpen(t, opts)
					if mode == "scan" && off < lay.bodyOff() && lay.region(off) != "reserved" {
						// The scan checks the header, key and metadata.
						dtGone(t, path, fmt.Sprintf("scan: byte %d (%s) damaged", off, lay.region(off)))
						if got := dtGetChecked(t, d, key, body); got != dtNotFound {
							t.Errorf("scan: byte %d (%s) damaged: Get %v, want ErrNotFound", off, lay.region(off), got)
						}
					}
					check(off, dtGetChecked(t, d, key, body), mode)
				}
			}
			t.Logf("%d-byte body, %d-byte file: %d positions damaged while running, %d after a restart", n, lay.size(), len(positions), 2*len(lay.representatives()))
		})
	}
}

// TestDiskTruncatedOrExtendedNeverServed cuts object files at every region
// and appends bytes to them: such files are never served, and are removed.
func TestDiskTruncatedOrExtendedNeverServed(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1000, 64<<10 + 1, 200 << 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20}
			d := dtOpen(t, opts)
			key := fmt.Sprintf("http://example.com/truncate/%d", n)
			body := dtPattern(key, 2, n)
			lay := dtLayout{int64(len(key)), int64(len(dtHeader)), int64(n)}
			path := dtPath(d, key)
			type damage struct {
				name string
				do   func() error
			}
			var damages []damage
			cuts := []int64{0, 1, 8, 63, 64, 64 + lay.keyLen, lay.bodyOff() - 1, lay.bodyOff(), lay.bodyOff() + 1,
				lay.bodyOff() + dtB, lay.trailerOff(), lay.trailerOff() + 1, lay.size() - 16, lay.size() - 9, lay.size() - 8, lay.size() - 1}
			for _, c := range cuts {
				if c < 0 || c >= lay.size() {
					continue
				}
				damages = append(damages, damage{fmt.Sprintf("cut at %d (%s)", c, lay.region(c)), func() error { return os.Truncate(path, c) }})
			}
			for _, extra := range [][]byte{{0}, []byte("x"), []byte(diskEndMagic), make([]byte, 4096)} {
				damages = append(damages, damage{fmt.Sprintf("%d bytes appended", len(extra)), func() error {
					f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
					if err != nil {
						return err
					}
					defer f.Close()
					_, err = f.Write(extra)
					return err
				}})
			}
			for _, dm := range damages {
				// While running.
				dtMustPut(t, d, key, body)
				if err := dm.do(); err != nil {
					t.Fatal(err)
				}
				if got := dtGetChecked(t, d, key, body); got != dtCorruptAtGet {
					t.Errorf("running, %s: Get %v, want ErrCorrupt at Get", dm.name, got)
				}
				dtMustMiss(t, d, key)
				dtGone(t, path, "running, "+dm.name)

				// After a crash: the scan removes the file.
				dtMustPut(t, d, key, body)
				d.Close()
				os.Remove(filepath.Join(opts.Dir, "cuttle", snapshotFile))
				if err := dm.do(); err != nil {
					t.Fatal(err)
				}
				d = dtOpen(t, opts)
				dtGone(t, path, "scan, "+dm.name)
				dtMustMiss(t, d, key)

				// After a clean shutdown: the snapshot indexes it; Get refuses it.
				dtMustPut(t, d, key, body)
				d.Close()
				if err := dm.do(); err != nil {
					t.Fatal(err)
				}
				d = dtOpen(t, opts)
				if got := dtGetChecked(t, d, key, body); got != dtCorruptAtGet && got != dtNotFound {
					t.Errorf("snapshot, %s: Get %v, want ErrCorrupt or ErrNotFound", dm.name, got)
				}
				dtMustMiss(t, d, key)
				dtGone(t, path, "snapshot, "+dm.name)
			}
			dtCheckAccounting(t, d)
		})
	}
}

// TestDiskOtherFormatVersionDiscarded checks that an object file of another
// format version (only the version field patched) is discarded, and that
// a FORMAT file of another version discards every object at open.
func TestDiskOtherFormatVersionDiscarded(t *testing.T) {
	t.Parallel()
	patch := func(t *testing.T, path string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var v [4]byte
		binary.LittleEndian.PutUint32(v[:], diskVersion+1)
		if _, err := f.WriteAt(v[:], 8); err != nil {
			t.Fatal(err)
		}
	}
	const key, other = "http://example.com/version/a", "http://example.com/version/b"
	body, otherBody := dtPattern(key, 1, 5000), dtPattern(other, 1, 70000)

	t.Run("file at open", func(t *testing.T) {
		t.Parallel()
		opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20}
		d := dtCrashOpen(t, opts)
		dtMustPut(t, d, key, body)
		dtMustPut(t, d, other, otherBody)
		path := dtPath(d, key)
		patch(t, path)
		d = dtOpen(t, opts) // no snapshot: scanned
		dtGone(t, path, "object file of another version, after the scan")
		dtMustMiss(t, d, key)
		dtMustGet(t, d, other, otherBody)
		dtCheckAccounting(t, d)
	})

	t.Run("file while running", func(t *testing.T) {
		t.Parallel()
		d := dtOpen(t, DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20})
		dtMustPut(t, d, key, body)
		path := dtPath(d, key)
		patch(t, path)
		if got := dtGetChecked(t, d, key, body); got == dtServed {
			t.Fatalf("object file of another version: served")
		}
		dtGone(t, path, "object file of another version, after Get")
		dtMustMiss(t, d, key)
	})

	t.Run("file after clean shutdown", func(t *testing.T) {
		t.Parallel()
		opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20}
		d := dtOpen(t, opts)
		dtMustPut(t, d, key, body)
		dtMustPut(t, d, other, otherBody)
		d.Close()
		path := dtPath(d, key)
		patch(t, path)
		d = dtOpen(t, opts)
		if got := dtGetChecked(t, d, key, body); got == dtServed {
			t.Fatalf("object file of another version: served")
		}
		dtGone(t, path, "object file of another version, after Get")
		dtMustMiss(t, d, key)
		dtMustGet(t, d, other, otherBody)
		dtCheckAccounting(t, d)
	})

	for _, format := range []string{"cuttle disk store 2\n", "cuttle disk store 0\n", "garbage"} {
		t.Run(fmt.Sprintf("FORMAT %q", format), func(t *testing.T) {
			t.Parallel()
			var lg dtLog
			opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20, Logf: lg.logf}
			d := dtOpen(t, opts)
			dtMustPut(t, d, key, body)
			dtMustPut(t, d, other, otherBody)
			d.Close()
			fpath := filepath.Join(opts.Dir, "cuttle", formatFile)
			if err := os.WriteFile(fpath, []byte(format), 0o640); err != nil {
				t.Fatal(err)
			}
			d = dtOpen(t, opts)
			dtMustMiss(t, d, key)
			dtMustMiss(t, d, other)
			if files := dtObjectFiles(t, opts.Dir); len(files) != 0 {
				t.Errorf("object files left after FORMAT %q: %q", format, files)
			}
			dtGone(t, filepath.Join(opts.Dir, "cuttle", snapshotFile), "snapshot of another format")
			if b, _ := os.ReadFile(fpath); string(b) != "cuttle disk store 1\n" {
				t.Errorf("FORMAT = %q after open, want %q", b, "cuttle disk store 1\n")
			}
			if d.Len() != 0 || d.Bytes() != 0 {
				t.Errorf("Len() = %d, Bytes() = %d, want 0, 0", d.Len(), d.Bytes())
			}
			if lg.count("another format") != 1 {
				t.Errorf("log does not say once that objects of another format were discarded:\n%s", &lg)
			}
			dtCheckAccounting(t, d)
			// The directory still works.
			dtMustPut(t, d, key, body)
			dtMustGet(t, d, key, body)
		})
	}
}

// TestDiskTempFilesRemovedAtOpen leaves files in Dir/cuttle/tmp as an
// interrupted run would: opening removes them.
func TestDiskTempFilesRemovedAtOpen(t *testing.T) {
	t.Parallel()
	for _, clean := range []bool{true, false} {
		t.Run(fmt.Sprintf("clean shutdown %v", clean), func(t *testing.T) {
			t.Parallel()
			opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20}
			var d *Disk
			if clean {
				d = dtOpen(t, opts)
			} else {
				d = dtCrashOpen(t, opts)
			}
			const key = "http://example.com/tmp"
			body := dtPattern(key, 1, 100000)
			dtMustPut(t, d, key, body)
			if clean {
				d.Close()
			}
			tmp := filepath.Join(opts.Dir, "cuttle", "tmp")
			for _, name := range []string{"put-123456", "index-99", "stray"} {
				if err := os.WriteFile(filepath.Join(tmp, name), make([]byte, 9000), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(tmp, "sub", "dir"), 0o750); err != nil {
				t.Fatal(err)
			}
			d = dtOpen(t, opts)
			if left := dtTmpFiles(t, opts.Dir); len(left) != 0 {
				t.Errorf("cuttle/tmp holds %q after open, want nothing", left)
			}
			dtMustGet(t, d, key, body)
			dtCheckAccounting(t, d)
		})
	}
}

// dtFailAfter yields n bytes of a pattern, then fails or calls hook.
type dtFailAfter struct {
	n    int
	err  error
	hook func()
	off  int
}

func (r *dtFailAfter) Read(p []byte) (int, error) {
	if r.off >= r.n {
		if r.hook != nil {
			r.hook()
			r.hook = nil
		}
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	k := min(len(p), r.n-r.off)
	for i := range p[:k] {
		p[i] = byte(r.off + i)
	}
	r.off += k
	return k, nil
}

// TestDiskFailedPutLeavesNothing checks that a Put whose body fails midway
// (read error, cancellation, wrong length) leaves no temporary file, no
// object (not even the one stored before under the key) and no bytes
// counted.
func TestDiskFailedPutLeavesNothing(t *testing.T) {
	t.Parallel()
	errBody := errors.New("body read failed")
	tests := []struct {
		name string
		size int64
		body func(cancel context.CancelFunc) io.Reader
	}{
		{"read error after 100 KiB", 300 << 10, func(context.CancelFunc) io.Reader { return &dtFailAfter{n: 100 << 10, err: errBody} }},
		{"read error after 100 KiB, unknown size", -1, func(context.CancelFunc) io.Reader { return &dtFailAfter{n: 100 << 10, err: errBody} }},
		{"read error at once", 10, func(context.CancelFunc) io.Reader { return &dtFailAfter{err: errBody} }},
		{"cancelled after 70 KiB", 300 << 10, func(c context.CancelFunc) io.Reader { return &dtFailAfter{n: 70 << 10, hook: c, err: errBody} }},
		{"cancelled, body then ends", -1, func(c context.CancelFunc) io.Reader { return &dtFailAfter{n: 70 << 10, hook: c} }},
		{"body shorter than its size", 300 << 10, func(context.CancelFunc) io.Reader { return &dtFailAfter{n: 200 << 10} }},
		{"body longer than its size", 100 << 10, func(context.CancelFunc) io.Reader { return &dtFailAfter{n: 200 << 10} }},
	}
	d := dtOpen(t, DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20})
	for i, tt := range tests {
		key := fmt.Sprintf("http://example.com/failed/%d", i)
		old := dtPattern(key, 1, 5000)
		dtMustPut(t, d, key, old)
		ctx, cancel := context.WithCancel(context.Background())
		err := d.Put(ctx, key, dtMeta(tt.size), tt.body(cancel))
		cancel()
		if err == nil {
			t.Errorf("%s: Put = nil, want an error", tt.name)
		}
		dtMustMiss(t, d, key)
		dtGone(t, dtPath(d, key), tt.name)
		if left := dtTmpFiles(t, d.opts.Dir); len(left) != 0 {
			t.Errorf("%s: cuttle/tmp holds %q, want nothing", tt.name, left)
		}
		// The old object's blocks and the reservation are given back; the
		// fan-out directories go with their last object.
		dtCheckAccounting(t, d)
	}
}

// TestDiskSnapshotLoadedAfterClose checks the clean restart: Close writes
// the snapshot, the next open loads it in the background (Ready once
// loaded, same accounting, objects served, no scan) and removes it.
func TestDiskSnapshotLoadedAfterClose(t *testing.T) {
	t.Parallel()
	var lg dtLog
	opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 32 << 20, Logf: lg.logf}
	d := dtOpen(t, opts)
	bodies := make(map[string][]byte)
	for i := range 50 {
		key := fmt.Sprintf("http://example.com/snapshot/%d", i)
		bodies[key] = dtPattern(key, 1, i*3001)
		dtMustPut(t, d, key, bodies[key])
	}
	bytesBefore, lenBefore := d.Bytes(), d.Len()
	if err := d.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	snap := filepath.Join(opts.Dir, "cuttle", snapshotFile)
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("no snapshot after Close: %v", err)
	}
	scans := lg.count("rebuilding")
	d, err := OpenDisk(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	dtWaitReady(t, d)
	dtGone(t, snap, "snapshot after it was loaded")
	if lg.count("rebuilding") != scans || lg.count("50 objects from the index snapshot") != 1 {
		t.Errorf("the index was scanned, want loaded from the snapshot:\n%s", &lg)
	}
	if d.Bytes() != bytesBefore || d.Len() != lenBefore {
		t.Errorf("after reopen Bytes() = %d, Len() = %d, want %d, %d", d.Bytes(), d.Len(), bytesBefore, lenBefore)
	}
	for key, body := range bodies {
		dtMustGet(t, d, key, body)
	}
	dtCheckAccounting(t, d)
}

// dtGatedLog returns a Logf that blocks the index scan at its start until
// release is called, and a channel closed when the scan reached it.
func dtGatedLog(t testing.TB, lg *dtLog) (logf func(string, ...any), reached <-chan struct{}, release func()) {
	return dtGatedLogAt(t, lg, "rebuilding the index")
}

// dtGatedLogAt is dtGatedLog for the first log line that contains at.
func dtGatedLogAt(t testing.TB, lg *dtLog, at string) (logf func(string, ...any), reached <-chan struct{}, release func()) {
	gate, hit := make(chan struct{}), make(chan struct{})
	var once, hitOnce sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the Disk's Close, which waits for the scan
	logf = func(format string, args ...any) {
		lg.logf(format, args...)
		if strings.Contains(format, at) {
			hitOnce.Do(func() { close(hit) })
			<-gate
		}
	}
	return logf, hit, release
}

// TestDiskScanAfterCrash checks the restart without a snapshot: the index
// is rebuilt in the background, objects not yet indexed are misses, Puts
// work meanwhile, and once Ready is closed every object is served and
// counted.
func TestDiskScanAfterCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d1 := dtCrashOpen(t, DiskOptions{Dir: dir, MaxBytes: 32 << 20})
	bodies := make(map[string][]byte)
	for i := range 40 {
		key := fmt.Sprintf("http://example.com/crash/%d", i)
		bodies[key] = dtPattern(key, 1, i*4999)
		dtMustPut(t, d1, key, bodies[key])
	}
	// d1 is abandoned: no Close, no snapshot.

	var lg dtLog
	logf, reached, release := dtGatedLog(t, &lg)
	d := dtOpenNoWait(t, DiskOptions{Dir: dir, MaxBytes: 32 << 20, Logf: logf})
	<-reached
	if dtIsReady(d) {
		t.Fatal("Ready closed before the scan ran")
	}
	for key := range bodies {
		dtMustMiss(t, d, key) // not indexed yet: a miss
	}
	// A Put during the scan replaces the older file, and the scan keeps it.
	const replaced, added = "http://example.com/crash/7", "http://example.com/crash/new"
	bodies[replaced] = dtPattern(replaced, 2, 12345)
	bodies[added] = dtPattern(added, 2, 777)
	dtMustPut(t, d, replaced, bodies[replaced])
	dtMustPut(t, d, added, bodies[added])
	dtMustGet(t, d, replaced, bodies[replaced])
	release()
	dtWaitReady(t, d)
	if lg.count("index ready") != 1 {
		t.Errorf("log does not report the end of the scan:\n%s", &lg)
	}
	for key, body := range bodies {
		dtMustGet(t, d, key, body)
	}
	if d.Len() != len(bodies) {
		t.Errorf("Len() = %d, want %d", d.Len(), len(bodies))
	}
	dtCheckAccounting(t, d)
}

// TestDiskDamagedSnapshotScans checks that a damaged or truncated snapshot
// is not used: the index is scanned instead, and the objects are served.
func TestDiskDamagedSnapshotScans(t *testing.T) {
	t.Parallel()
	damages := map[string]func(t *testing.T, path string){
		"byte flipped": func(t *testing.T, path string) {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			dtFlip(t, path, st.Size()/2, 0x10)
		},
		"truncated": func(t *testing.T, path string) {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()-5); err != nil {
				t.Fatal(err)
			}
		},
		"one record dropped": func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b = slices.Delete(b, len(snapshotMagic), len(snapshotMagic)+32)
			if err := os.WriteFile(path, b, 0o640); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var lg dtLog
			opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 32 << 20, Logf: lg.logf}
			d := dtOpen(t, opts)
			bodies := make(map[string][]byte)
			for i := range 20 {
				key := fmt.Sprintf("http://example.com/damaged-snapshot/%d", i)
				bodies[key] = dtPattern(key, 1, i*1000)
				dtMustPut(t, d, key, bodies[key])
			}
			d.Close()
			snap := filepath.Join(opts.Dir, "cuttle", snapshotFile)
			damage(t, snap)
			scans := lg.count("rebuilding the index")
			d = dtOpen(t, opts)
			if lg.count("rebuilding the index") != scans+1 || lg.count("index snapshot") == 0 || lg.count("from the index snapshot") != 0 {
				t.Errorf("a damaged snapshot did not lead to a scan:\n%s", &lg)
			}
			dtGone(t, snap, "damaged snapshot")
			for key, body := range bodies {
				dtMustGet(t, d, key, body)
			}
			if d.Len() != len(bodies) {
				t.Errorf("Len() = %d, want %d", d.Len(), len(bodies))
			}
			dtCheckAccounting(t, d)
		})
	}
}

// TestDiskSnapshotRemovedAtLoad checks that the snapshot does not outlive
// the start that loaded it: a crash afterwards leads to a scan, which
// finds the objects stored since too.
func TestDiskSnapshotRemovedAtLoad(t *testing.T) {
	t.Parallel()
	var lg dtLog
	opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 32 << 20, Logf: lg.logf}
	d := dtOpen(t, opts)
	const k1, k2, k3 = "http://example.com/a", "http://example.com/b", "http://example.com/c"
	b1, b2, b3 := dtPattern(k1, 1, 100), dtPattern(k2, 1, 70000), dtPattern(k3, 1, 3)
	dtMustPut(t, d, k1, b1)
	dtMustPut(t, d, k2, b2)
	d.Close()

	d = dtCrashOpen(t, opts) // loads the snapshot, then crashes
	if lg.count("from the index snapshot") != 1 {
		t.Fatalf("snapshot not loaded:\n%s", &lg)
	}
	dtGone(t, filepath.Join(opts.Dir, "cuttle", snapshotFile), "snapshot after it was loaded")
	dtMustPut(t, d, k3, b3)
	if err := d.Delete(context.Background(), k1); err != nil {
		t.Fatal(err)
	}

	scans := lg.count("rebuilding the index")
	d = dtOpen(t, opts)
	if lg.count("rebuilding the index") != scans+1 {
		t.Errorf("after a crash that followed a snapshot load, the index was not scanned:\n%s", &lg)
	}
	dtMustMiss(t, d, k1)
	dtMustGet(t, d, k2, b2)
	dtMustGet(t, d, k3, b3)
	dtCheckAccounting(t, d)
}

// TestDiskSizeNeverExceedsMaxBytes fills a 4 MiB cache_dir with three times
// as much, from several goroutines, and samples every 2 ms both Bytes()
// and the space the files really take.
func TestDiskSizeNeverExceedsMaxBytes(t *testing.T) {
	t.Parallel()
	const (
		maxBytes = 4 << 20
		fill     = 13 << 20 // over 3 times maxBytes
		workers  = 4
		maxBody  = 300 << 10
	)
	dir := t.TempDir()
	d := dtOpen(t, DiskOptions{Dir: dir, MaxBytes: maxBytes, LowWater: 90, HighWater: 95})
	low, high := int64(maxBytes/100*90), int64(maxBytes/100*95)

	// The sizes: many small, many up to one block, some large; known and
	// unknown.
	rng := rand.New(rand.NewPCG(1, 2))
	var sizes []int
	for total := 0; total < fill; {
		var n int
		switch r := rng.IntN(10); {
		case r < 4:
			n = rng.IntN(4 << 10)
		case r < 8:
			n = rng.IntN(64<<10 + 2)
		default:
			n = 64<<10 + rng.IntN(maxBody-64<<10+1)
		}
		sizes = append(sizes, n)
		total += n
	}

	stop := make(chan struct{})
	var samples, maxUsed, maxReal int64
	var sampler sync.WaitGroup
	var failed atomic.Bool
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			// The walk is done under the store's lock, so that it sees
			// one state: no object is stored, evicted or reserved while
			// it runs (a temporary file still grows, within its
			// reservation). Without it, a file counted before its
			// eviction and the file written after it would both be
			// counted.
			d.mu.Lock()
			real, err := dtUsage(dir)
			used := d.used
			d.mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			samples++
			maxUsed, maxReal = max(maxUsed, used), max(maxReal, real)
			if (used > maxBytes || real-dtOverhead > maxBytes || real-dtOverhead > used) && !failed.Swap(true) {
				t.Errorf("sample %d: Bytes() = %d, on disk %d + %d uncounted; want both at most MaxBytes %d, and the disk at most Bytes()",
					samples, used, real-dtOverhead, dtOverhead, maxBytes)
			}
		}
	})

	work := make(chan int)
	var writers sync.WaitGroup
	var puts, refused atomic.Int64
	for w := range workers {
		writers.Go(func() {
			for i := range work {
				key := fmt.Sprintf("http://example.com/fill/%d", i)
				body := dtPattern(key, 1, sizes[i])
				err := dtPut(context.Background(), d, key, body, (i+w)%3 != 0)
				puts.Add(1)
				if err != nil {
					refused.Add(1)
					t.Errorf("Put(%q, %d bytes) = %v, want nil", key, len(body), err)
				}
			}
		})
	}
	for i := range sizes {
		work <- i
	}
	close(work)
	writers.Wait()
	time.Sleep(10 * time.Millisecond) // a last sample or two of the final state
	close(stop)
	sampler.Wait()

	used := d.Bytes()
	real, err := dtUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d Puts of %d objects, %d samples: max Bytes() %d, max on disk %d (+%d uncounted); final %d in %d objects (low %d, high %d)",
		puts.Load(), len(sizes), samples, maxUsed, maxReal-dtOverhead, dtOverhead, used, d.Len(), low, high)
	if samples < 2 {
		t.Errorf("only %d samples taken", samples)
	}
	if used > high || real-dtOverhead > high {
		t.Errorf("after filling, Bytes() = %d, on disk %d; want at most the high-water mark %d", used, real-dtOverhead, high)
	}
	if largest := roundBlock(diskFileSize(64, len(dtHeader), maxBody)); used <= low-largest {
		t.Errorf("after filling, Bytes() = %d: below the low-water mark %d by more than the largest object", used, low)
	}
	dtCheckAccounting(t, d)
	// What is left is intact.
	for i := len(sizes) - 1; i >= len(sizes)-20; i-- {
		key := fmt.Sprintf("http://example.com/fill/%d", i)
		if got, err := dtGetBody(d, key); err == nil && !bytes.Equal(got, dtPattern(key, 1, sizes[i])) {
			t.Errorf("Get(%q): wrong body", key)
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v", key, err)
		}
	}
}

// TestDiskSmallCacheDirKeepsStoring fills a small cache_dir (4 MiB, the
// default fan-out of 16 × 256 directories) with many one-block objects:
// old objects must make room for new ones, so that every Put succeeds
// and the cache keeps holding objects. The fan-out directories are
// counted against MaxBytes and never removed, so they must not end up
// taking all of it.
func TestDiskSmallCacheDirKeepsStoring(t *testing.T) {
	t.Parallel()
	d := dtOpen(t, DiskOptions{Dir: t.TempDir(), MaxBytes: 4 << 20})
	var refused int
	var firstErr error
	const puts = 2000
	for i := range puts {
		key := fmt.Sprintf("http://example.com/small-dir/%d", i)
		if err := dtPut(context.Background(), d, key, []byte("x"), true); err != nil {
			refused++
			if firstErr == nil {
				firstErr = fmt.Errorf("Put #%d: %w", i, err)
			}
		}
	}
	last := fmt.Sprintf("http://example.com/small-dir/%d", puts-1)
	_, lastErr := dtGetBody(d, last)
	d.mu.Lock()
	dirs := len(d.dirs)
	d.mu.Unlock()
	t.Logf("%d Puts of 1-byte objects: %d refused (first: %v); %d objects kept, %d fan-out directories counted, Bytes() %d of %d",
		puts, refused, firstErr, d.Len(), dirs, d.Bytes(), d.opts.MaxBytes)
	if refused > 0 || lastErr != nil || d.Len() < 100 {
		t.Errorf("%d of %d Puts refused (first: %v), the last object: %v, %d objects kept; want every Put to succeed and hundreds of objects kept (%d directories take %d bytes of %d)",
			refused, puts, firstErr, lastErr, d.Len(), dirs, int64(dirs)*diskBlock, d.opts.MaxBytes)
	}
}

// dtPolicyDisk returns a Disk of 25 blocks: its two fan-out directories
// (L1 = L2 = 1) and 23 blocks of objects; the water marks are at 100 % so
// that only Puts evict, one object per block needed.
func dtPolicyDisk(t *testing.T, dir, policy string) *Disk {
	return dtOpen(t, DiskOptions{Dir: dir, MaxBytes: 25 * 4096, L1: 1, L2: 1, LowWater: 100, HighWater: 100, Policy: policy})
}

// dtPolicyPut stores a body of n zero bytes under name.
func dtPolicyPut(t *testing.T, d *Disk, name string, n int) {
	t.Helper()
	if err := d.Put(context.Background(), name, Meta{Size: int64(n)}, bytes.NewReader(make([]byte, n))); err != nil {
		t.Fatalf("Put(%q, %d bytes) = %v", name, n, err)
	}
}

func dtTouch(t *testing.T, d *Disk, name string, times int) {
	t.Helper()
	for range times {
		if _, err := dtGetBody(d, name); err != nil {
			t.Fatalf("Get(%q) = %v", name, err)
		}
	}
}

// dtIndexed returns which of names are indexed.
func dtIndexed(d *Disk, names []string) (in, out []string) {
	for _, n := range names {
		if dtHas(d, n) {
			in = append(in, n)
		} else {
			out = append(out, n)
		}
	}
	return in, out
}

func dtNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}

// TestDiskLRUEvictsLeastRecentlyUsed checks lru and heap LRU: the least
// recently used object goes first, and a Get makes an object recent; the
// order survives a restart (snapshot).
func TestDiskLRUEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"", "lru", "LRU", "heap LRU"} {
		for _, restart := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q restart %v", policy, restart), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				d := dtPolicyDisk(t, dir, policy)
				old := dtNames("o", 23)
				for _, k := range old {
					dtPolicyPut(t, d, k, 100)
				}
				if d.Bytes() != d.opts.MaxBytes {
					t.Fatalf("Bytes() = %d, want the disk full at %d", d.Bytes(), d.opts.MaxBytes)
				}
				dtTouch(t, d, "o00", 1)
				if restart {
					d.Close()
					d = dtPolicyDisk(t, dir, policy)
				}
				dtPolicyPut(t, d, "n00", 100)
				dtPolicyPut(t, d, "n01", 100)
				in, out := dtIndexed(d, old)
				if !slices.Equal(out, []string{"o01", "o02"}) {
					t.Errorf("evicted %q, want [o01 o02] (o00 was used after them); kept %q", out, in)
				}
				if !dtHas(d, "n00") || !dtHas(d, "n01") {
					t.Errorf("the new objects were not kept")
				}
				for _, k := range out {
					dtGone(t, filepath.Join(dir, "cuttle", "00", "00", fmt.Sprintf("%016x", hashDiskKey(k))), "evicted "+k)
				}
				dtCheckAccounting(t, d)
			})
		}
	}
}

// TestDiskLFUDAKeepsFrequentlyUsed checks heap LFUDA: objects used often
// outlive objects used once, even more recently; lru, in the same run,
// evicts them.
func TestDiskLFUDAKeepsFrequentlyUsed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		policy  string
		hotKept bool
	}{{"heap LFUDA", true}, {"Heap  lfuda", true}, {"lru", false}} {
		t.Run(tt.policy, func(t *testing.T) {
			t.Parallel()
			d := dtPolicyDisk(t, t.TempDir(), tt.policy)
			old := dtNames("o", 23)
			for _, k := range old {
				dtPolicyPut(t, d, k, 100)
			}
			hot, cold := old[:5], old[5:]
			for _, k := range hot {
				dtTouch(t, d, k, 5)
			}
			for _, k := range cold {
				dtTouch(t, d, k, 1) // used more recently than the hot ones
			}
			added := dtNames("n", 18)
			for _, k := range added {
				dtPolicyPut(t, d, k, 100)
			}
			hotIn, _ := dtIndexed(d, hot)
			coldIn, _ := dtIndexed(d, cold)
			addedIn, _ := dtIndexed(d, added)
			if tt.hotKept {
				if len(hotIn) != len(hot) || len(coldIn) != 0 || len(addedIn) != len(added) {
					t.Errorf("kept hot %q, cold %q, new %q; want all 5 hot, no cold, all 18 new", hotIn, coldIn, addedIn)
				}
			} else if len(hotIn) != 0 {
				t.Errorf("lru kept the hot objects %q used least recently: the test does not tell the policies apart", hotIn)
			}
			dtCheckAccounting(t, d)
		})
	}
}

// TestDiskGDSFKeepsSmallPopular checks heap GDSF: among objects used
// equally often, a large one goes before small ones, even when it was used
// more recently; heap LRU, in the same run, evicts small ones.
func TestDiskGDSFKeepsSmallPopular(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		policy    string
		smallKept bool
	}{{"heap GDSF", true}, {"HEAP gdsf", true}, {"heap LRU", false}} {
		t.Run(tt.policy, func(t *testing.T) {
			t.Parallel()
			d := dtPolicyDisk(t, t.TempDir(), tt.policy)
			small, large := dtNames("s", 5), dtNames("g", 3)
			for _, k := range small {
				dtPolicyPut(t, d, k, 100) // 1 block
			}
			for _, k := range large {
				dtPolicyPut(t, d, k, 20000) // 5 blocks
			}
			if want := int64(2+5+15) * 4096; d.Bytes() != want {
				t.Fatalf("Bytes() = %d, want %d", d.Bytes(), want)
			}
			for _, k := range small {
				dtTouch(t, d, k, 3)
			}
			for _, k := range large {
				dtTouch(t, d, k, 3)
			}
			dtPolicyPut(t, d, "x", 20000) // needs 5 blocks, 3 are free
			smallIn, _ := dtIndexed(d, small)
			largeIn, _ := dtIndexed(d, large)
			if tt.smallKept {
				if len(smallIn) != len(small) || len(largeIn) != len(large)-1 || !dtHas(d, "x") {
					t.Errorf("kept small %q, large %q, new %v; want all small, 2 large and the new one", smallIn, largeIn, dtHas(d, "x"))
				}
			} else if len(smallIn) == len(small) {
				t.Errorf("heap LRU kept every small object: the test does not tell the policies apart")
			}
			dtCheckAccounting(t, d)
		})
	}
}

// TestDiskUnknownPolicy checks that an unknown cache_replacement_policy
// fails OpenDisk before anything is created.
func TestDiskUnknownPolicy(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"heap FIFO", "lfu", "heap", "heapLRU"} {
		dir := filepath.Join(t.TempDir(), "cache")
		d, err := OpenDisk(DiskOptions{Dir: dir, MaxBytes: 1 << 20, Policy: policy})
		if err == nil {
			d.Close()
			t.Errorf("OpenDisk(Policy %q) = nil error, want one", policy)
			continue
		}
		if !strings.Contains(err.Error(), policy) {
			t.Errorf("OpenDisk(Policy %q) = %v, want the error to name the policy", policy, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("OpenDisk(Policy %q) failed but created %s", policy, dir)
		}
	}
}

// TestDiskObjectSizeBounds checks min-size and max-size, with the size
// known and unknown: the bounds themselves are accepted, beyond them Put
// fails with ErrTooSmall or ErrTooLarge, and nothing is stored (the older
// object under the key is removed too).
func TestDiskObjectSizeBounds(t *testing.T) {
	t.Parallel()
	const minSize, maxSize = 100, 100000
	d := dtOpen(t, DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20, MinObjectSize: minSize, MaxObjectSize: maxSize})
	for _, known := range []bool{true, false} {
		for _, tt := range []struct {
			n    int
			want error
		}{
			{0, ErrTooSmall}, {1, ErrTooSmall}, {minSize - 1, ErrTooSmall}, {minSize, nil},
			{70000, nil}, {maxSize, nil}, {maxSize + 1, ErrTooLarge}, {300 << 10, ErrTooLarge},
		} {
			key := fmt.Sprintf("http://example.com/bounds/%v/%d", known, tt.n)
			old := dtPattern(key, 1, 5000)
			dtMustPut(t, d, key, old)
			body := dtPattern(key, 2, tt.n)
			err := dtPut(context.Background(), d, key, body, known)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Put(%d bytes, size known %v) = %v, want %v", tt.n, known, err, tt.want)
				continue
			}
			if tt.want == nil {
				dtMustGet(t, d, key, body)
				continue
			}
			if !Refused(err) {
				t.Errorf("Refused(%v) = false, want true", err)
			}
			dtMustMiss(t, d, key)
			dtGone(t, dtPath(d, key), fmt.Sprintf("refused Put of %d bytes", tt.n))
			// The old object's blocks are given back (and its directories,
			// when it was the last in them): what is counted is what is on
			// disk.
			dtCheckAccounting(t, d)
		}
	}
	dtCheckAccounting(t, d)
}

// TestDiskReadOnly checks a read-only cache_dir: Put is refused with
// ErrReadOnly, existing objects are served, after a clean shutdown or a
// crash, and nothing in the directory is changed, not even by a Get that
// finds damage.
func TestDiskReadOnly(t *testing.T) {
	t.Parallel()
	for _, clean := range []bool{true, false} {
		t.Run(fmt.Sprintf("clean shutdown %v", clean), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var w *Disk
			if clean {
				w = dtOpen(t, DiskOptions{Dir: dir, MaxBytes: 16 << 20})
			} else {
				w = dtCrashOpen(t, DiskOptions{Dir: dir, MaxBytes: 16 << 20})
			}
			const key, damaged, late = "http://example.com/ro", "http://example.com/ro/damaged", "http://example.com/ro/late"
			body, dbody := dtPattern(key, 1, 100000), dtPattern(damaged, 1, 200)
			dtMustPut(t, w, key, body)
			dtMustPut(t, w, damaged, dbody)
			if clean {
				w.Close()
			}
			dtFlip(t, dtPath(w, damaged), 64+int64(len(damaged))+int64(len(dtHeader))+10, 1)
			before := dtTree(t, dir)

			d := dtOpen(t, DiskOptions{Dir: dir, MaxBytes: 16 << 20, ReadOnly: true})
			dtMustGet(t, d, key, body)
			err := dtPut(context.Background(), d, late, []byte("x"), true)
			if !errors.Is(err, ErrReadOnly) || !Refused(err) {
				t.Errorf("Put on a read-only disk = %v, want ErrReadOnly", err)
			}
			if err := dtPut(context.Background(), d, key, []byte("new"), true); !errors.Is(err, ErrReadOnly) {
				t.Errorf("Put replacing an object on a read-only disk = %v, want ErrReadOnly", err)
			}
			dtMustGet(t, d, key, body)
			dtMustMiss(t, d, late)
			if got := dtGetChecked(t, d, damaged, dbody); got != dtCorruptAtGet {
				t.Errorf("damaged object on a read-only disk: %v, want ErrCorrupt at Get", got)
			}
			d.Close()
			dtSameTree(t, before, dtTree(t, dir), "read-only disk")
		})
	}
	t.Run("no directory", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "absent")
		d := dtOpen(t, DiskOptions{Dir: dir, MaxBytes: 16 << 20, ReadOnly: true})
		dtMustMiss(t, d, "http://example.com/")
		if err := dtPut(context.Background(), d, "k", []byte("x"), true); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Put = %v, want ErrReadOnly", err)
		}
		d.Close()
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a read-only disk created %s", dir)
		}
	})
}

// TestDiskRefusesSquidStore checks that a directory holding Squid's own
// store (swap.state, swap.state.last-clean, a rock database) is refused by
// OpenDisk and Create, with a message that names the file, and left as it
// was.
func TestDiskRefusesSquidStore(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"swap.state", "swap.state.last-clean", "rock"} {
		for _, readOnly := range []bool{false, true} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, name), []byte("squid data"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "00", "00"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "00", "00", "00000001"), []byte("squid object"), 0o640); err != nil {
				t.Fatal(err)
			}
			before := dtTree(t, dir)
			opts := DiskOptions{Dir: dir, MaxBytes: 16 << 20, ReadOnly: readOnly}
			d, err := OpenDisk(opts)
			if err == nil {
				d.Close()
				t.Errorf("OpenDisk of a directory with %s (read-only %v) = nil error, want one", name, readOnly)
			} else if !strings.Contains(err.Error(), name) {
				t.Errorf("OpenDisk of a directory with %s = %v, want the error to name %s", name, err, name)
			}
			if !readOnly {
				if err := Create(opts); err == nil {
					t.Errorf("Create of a directory with %s = nil, want an error", name)
				} else if !strings.Contains(err.Error(), name) {
					t.Errorf("Create of a directory with %s = %v, want the error to name %s", name, err, name)
				}
			}
			dtSameTree(t, before, dtTree(t, dir), "directory with "+name)
		}
	}
}

// TestDiskHashCollisionScanChecksKeyHash moves an object's file to where
// another key's object would be: the scan does not index it under that
// key, and neither key is served.
func TestDiskHashCollisionScanChecksKeyHash(t *testing.T) {
	t.Parallel()
	opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20}
	d := dtCrashOpen(t, opts)
	const a, b = "http://example.com/collide/a", "http://example.com/collide/b"
	body := dtPattern(a, 1, 1000)
	dtMustPut(t, d, a, body)
	pa, pb := dtPath(d, a), dtPath(d, b)
	if _, err := os.Stat(pa); err != nil {
		t.Fatalf("object file not at the documented path: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(pb), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(pa, pb); err != nil {
		t.Fatal(err)
	}
	d = dtOpen(t, opts) // scans
	dtMustMiss(t, d, b)
	dtMustMiss(t, d, a)
	if dtHas(d, b) {
		t.Errorf("the scan indexed a file whose key does not hash to its name")
	}
	dtGone(t, pb, "file under another key's hash")
	dtCheckAccounting(t, d)
}

// TestDiskGetOtherFullKeyNotFound puts another key's (valid) file where a
// key's object is: Get compares the full key and misses.
func TestDiskGetOtherFullKeyNotFound(t *testing.T) {
	t.Parallel()
	d := dtOpen(t, DiskOptions{Dir: t.TempDir(), MaxBytes: 16 << 20})
	const a, b = "http://example.com/full-key/a", "http://example.com/full-key/b"
	dtMustPut(t, d, a, dtPattern(a, 1, 1000))
	dtMustPut(t, d, b, dtPattern(b, 1, 2000))
	data, err := os.ReadFile(dtPath(d, a))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dtPath(d, b), data, 0o640); err != nil {
		t.Fatal(err)
	}
	obj, err := d.Get(context.Background(), b)
	if err == nil {
		obj.Body.Close()
		t.Fatalf("Get(%q) served the object of %q", b, obj.Key)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(%q) = %v, want ErrNotFound", b, err)
	}
}

// TestDiskFullFileSystem runs a Disk whose MaxBytes is far above the space
// of its file system (a 1 MiB tmpfs): Puts that do not fit fail with
// ErrNoSpace and leave nothing, the fault is logged once, not per Put,
// and Puts work again once space is freed.
func TestDiskFullFileSystem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot mount a 1 MiB tmpfs on %s: %v: %s", dir, err, bytes.TrimSpace(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	var lg dtLog
	d := dtOpen(t, DiskOptions{Dir: dir, MaxBytes: 64 << 20, Logf: lg.logf})
	const full = "file system full"
	var stored []string
	bodies := make(map[string][]byte)
	var failed []string
	for i := range 30 {
		key := fmt.Sprintf("http://example.com/full/%d", i)
		body := dtPattern(key, 1, 100<<10)
		err := dtPut(context.Background(), d, key, body, i%2 == 0)
		switch {
		case err == nil:
			stored = append(stored, key)
			bodies[key] = body
		case errors.Is(err, ErrNoSpace) && Refused(err):
			failed = append(failed, key)
		default:
			t.Fatalf("Put(%q) = %v, want nil or ErrNoSpace", key, err)
		}
	}
	t.Logf("%d objects of 100 KiB stored, %d refused", len(stored), len(failed))
	if len(stored) < 5 || len(failed) < 15 {
		t.Fatalf("%d stored, %d refused: want the 1 MiB file system to fill after a few", len(stored), len(failed))
	}
	if n := lg.count(full); n != 1 {
		t.Errorf("%q logged %d times for %d refused Puts, want once:\n%s", full, n, len(failed), &lg)
	}
	for _, key := range failed {
		dtMustMiss(t, d, key)
	}
	for _, key := range stored {
		dtMustGet(t, d, key, bodies[key])
	}
	dtCheckAccounting(t, d) // no temporary or partial file

	// Free space: Puts succeed again.
	for _, key := range stored[:3] {
		if err := d.Delete(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		dtMustMiss(t, d, key)
	}
	again := failed[0]
	body := dtPattern(again, 1, 100<<10)
	if err := dtPut(context.Background(), d, again, body, false); err != nil {
		t.Fatalf("Put after freeing space = %v, want nil", err)
	}
	dtMustGet(t, d, again, body)
	dtCheckAccounting(t, d)
}

// dtTiered returns a Tiered whose memory tier keeps bodies of up to 64 KiB,
// over a real Disk.
func dtTiered(t *testing.T) (*Tiered, *Memory, *Disk) {
	mem := newTestMemory(t, MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: 64 << 10})
	d := dtOpen(t, DiskOptions{Dir: t.TempDir(), MaxBytes: 64 << 20})
	return NewTiered(mem, d), mem, d
}

func dtMemHolds(t *testing.T, mem *Memory, key string) []byte {
	t.Helper()
	mem.Wait()
	obj, err := mem.Get(context.Background(), key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	return b
}

// TestTieredDiskPromotion checks that a disk hit that fits the memory tier
// is promoted (the next Get is a memory hit), and that a larger one is
// served from disk and never held in memory.
func TestTieredDiskPromotion(t *testing.T) {
	t.Parallel()
	ts, mem, d := dtTiered(t)
	ctx := context.Background()
	for _, tt := range []struct {
		n        int
		promoted bool
	}{{0, true}, {1000, true}, {64 << 10, true}, {64<<10 + 1, false}, {300 << 10, false}} {
		key := fmt.Sprintf("http://example.com/promote/%d", tt.n)
		body := dtPattern(key, 1, tt.n)
		dtMustPut(t, d, key, body) // on disk only
		for i, want := range []Tier{TierDisk, TierDisk} {
			if tt.promoted && i == 1 {
				want = TierMemory
			}
			obj, tier, err := ts.GetTier(ctx, key)
			if err != nil {
				t.Fatalf("GetTier(%q) = %v", key, err)
			}
			got, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("GetTier(%q) #%d: body of %d bytes (%v), want the %d stored", key, i+1, len(got), err, len(body))
			}
			if tier != want {
				t.Errorf("GetTier(%q) of %d bytes #%d from %v, want %v", key, tt.n, i+1, tier, want)
			}
			ts.Wait()
		}
		if m := dtMemHolds(t, mem, key); tt.promoted != (m != nil) || m != nil && !bytes.Equal(m, body) {
			t.Errorf("%d bytes: memory holds %d bytes, want promoted %v", tt.n, len(m), tt.promoted)
		}
	}
}

// TestTieredDiskPromotionNeverStale runs the promotion of an older disk
// version after a Put or Delete of the key, as a Get racing with them
// would: the old body never gets into memory.
func TestTieredDiskPromotionNeverStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, ts *Tiered, key string) []byte // returns the new body, nil if none
	}{
		{"nothing changed", nil},
		{"replaced, fits memory", func(t *testing.T, ts *Tiered, key string) []byte {
			b := dtPattern(key, 2, 3000)
			dtMustPut(t, ts, key, b)
			return b
		}},
		{"replaced, disk only", func(t *testing.T, ts *Tiered, key string) []byte {
			b := dtPattern(key, 2, 100<<10)
			dtMustPut(t, ts, key, b)
			return b
		}},
		{"replaced by the same bytes, unknown size", func(t *testing.T, ts *Tiered, key string) []byte {
			b := dtPattern(key, 1, 2000)
			if err := dtPut(ctx, ts, key, b, false); err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"deleted", func(t *testing.T, ts *Tiered, key string) []byte {
			if err := ts.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{"failed Put", func(t *testing.T, ts *Tiered, key string) []byte {
			ts.Put(ctx, key, dtMeta(5000), &dtFailAfter{n: 100, err: errors.New("boom")}) //nolint:errcheck // fails
			return nil
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, mem, d := dtTiered(t)
			key := "http://example.com/stale/" + tt.name
			old := dtPattern(key, 1, 2000)
			dtMustPut(t, d, key, old)
			obj, err := d.Get(ctx, key) // the Get of a promotion, before its read
			if err != nil {
				t.Fatal(err)
			}
			want := old
			if tt.change != nil {
				want = tt.change(t, ts, key)
			}
			got, tier, err := ts.promote(key, obj, d)
			if err != nil || tier != TierDisk {
				t.Fatalf("promote = %v, %v", tier, err)
			}
			if b, _ := io.ReadAll(got.Body); !bytes.Equal(b, old) {
				t.Errorf("promote returned %d bytes, want the %d it read", len(b), len(old))
			}
			ts.Wait()
			m := dtMemHolds(t, mem, key)
			switch {
			case tt.change == nil && !bytes.Equal(m, old):
				t.Errorf("unchanged object not promoted: memory holds %d bytes", len(m))
			case tt.change != nil && m != nil && !bytes.Equal(m, want):
				t.Errorf("memory holds %d bytes, not the current version (%d bytes)", len(m), len(want))
			}
			if want == nil {
				dtMustMiss(t, ts, key)
			} else {
				dtMustGet(t, ts, key, want)
			}
		})
	}
}

// TestTieredDiskPromotionRace runs Gets that promote a disk object
// concurrently with Puts of a new version and Deletes: the final state is
// always the last write's.
func TestTieredDiskPromotionRace(t *testing.T) {
	t.Parallel()
	ts, mem, d := dtTiered(t)
	ctx := context.Background()
	for round := range 150 {
		key := fmt.Sprintf("http://example.com/race/%d", round%10)
		v1, v2 := dtPattern(key, uint64(2*round), 1000+round), dtPattern(key, uint64(2*round+1), 2000+round%3*40000)
		dtMustPut(t, d, key, v1)
		mem.Delete(ctx, key) //nolint:errcheck // never fails
		mem.Wait()
		deleting := round%5 == 4
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				obj, err := ts.Get(ctx, key)
				if err == nil {
					b, err := io.ReadAll(obj.Body)
					obj.Body.Close()
					if err != nil || !bytes.Equal(b, v1) && !bytes.Equal(b, v2) {
						t.Errorf("round %d: Get served %d bytes (%v), neither version", round, len(b), err)
					}
				} else if !errors.Is(err, ErrNotFound) {
					t.Errorf("round %d: Get = %v", round, err)
				}
			})
		}
		wg.Go(func() {
			if deleting {
				ts.Delete(ctx, key) //nolint:errcheck // never fails
				return
			}
			if err := dtPut(ctx, ts, key, v2, round%2 == 0); err != nil {
				t.Errorf("round %d: Put = %v", round, err)
			}
		})
		wg.Wait()
		ts.Wait()
		if deleting {
			if m := dtMemHolds(t, mem, key); m != nil {
				t.Fatalf("round %d: memory holds %d bytes of a deleted object", round, len(m))
			}
			dtMustMiss(t, ts, key)
			continue
		}
		if m := dtMemHolds(t, mem, key); m != nil && !bytes.Equal(m, v2) {
			t.Fatalf("round %d: memory holds a stale body (%d bytes; v1 %v)", round, len(m), bytes.Equal(m, v1))
		}
		dtMustGet(t, ts, key, v2)
	}
}

// TestTieredDiskDelete checks that Tiered.Delete removes the object from
// both tiers.
func TestTieredDiskDelete(t *testing.T) {
	t.Parallel()
	ts, mem, d := dtTiered(t)
	ctx := context.Background()
	for _, n := range []int{10, 64 << 10, 100 << 10} {
		key := fmt.Sprintf("http://example.com/delete/%d", n)
		body := dtPattern(key, 1, n)
		dtMustPut(t, ts, key, body)
		dtMustGet(t, ts, key, body) // promotes, if it fits
		ts.Wait()
		if err := ts.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		ts.Wait()
		dtMustMiss(t, ts, key)
		dtMustMiss(t, mem, key)
		dtMustMiss(t, d, key)
		dtGone(t, dtPath(d, key), "deleted object")
	}
	dtCheckAccounting(t, d)
}

// dtVersioned is a test object's header: its version and length, from
// which its body follows.
func dtVersioned(ver uint64, n int) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nX-Version: %d\r\nX-Length: %d\r\n\r\n", ver, n)
}

// dtConcurrent runs workers goroutines of ops random Puts, Gets and Deletes
// each on 40 keys, and checks every body served byte for byte against the
// version its header names.
func dtConcurrent(t *testing.T, s Store, workers, ops int, seed uint64) {
	t.Helper()
	sizes := []int{0, 1, 100, 4096, 64 << 10, 64<<10 + 1, 150000}
	var wg sync.WaitGroup
	var gets, hits, putsN, dels atomic.Int64
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			buf := make([]byte, 1+rng.IntN(70000))
			for range ops {
				key := fmt.Sprintf("http://example.com/concurrent/%d", rng.IntN(40))
				switch r := rng.IntN(20); {
				case r < 9:
					ver, n := rng.Uint64(), sizes[rng.IntN(len(sizes))]
					meta := Meta{Header: dtVersioned(ver, n), Size: int64(n)}
					if rng.IntN(3) == 0 {
						meta.Size = -1
					}
					putsN.Add(1)
					if err := s.Put(context.Background(), key, meta, bytes.NewReader(dtPattern(key, ver, n))); err != nil {
						t.Errorf("Put(%q, %d bytes) = %v", key, n, err)
					}
				case r < 18:
					gets.Add(1)
					obj, err := s.Get(context.Background(), key)
					if errors.Is(err, ErrNotFound) {
						continue
					}
					if err != nil {
						t.Errorf("Get(%q) = %v", key, err)
						continue
					}
					hits.Add(1)
					var ver uint64
					var n int
					if _, err := fmt.Sscanf(string(obj.Meta.Header), "HTTP/1.1 200 OK\r\nX-Version: %d\r\nX-Length: %d\r\n", &ver, &n); err != nil || obj.Key != key || obj.Meta.Size != int64(n) {
						t.Errorf("Get(%q): key %q, header %q, size %d", key, obj.Key, obj.Meta.Header, obj.Meta.Size)
						obj.Body.Close()
						continue
					}
					want := dtPattern(key, ver, n)
					off := 0
					for {
						k, err := obj.Body.Read(buf[:1+rng.IntN(len(buf))])
						if off+k > n || !bytes.Equal(buf[:k], want[off:off+k]) {
							t.Errorf("Get(%q): wrong bytes at %d..%d of version %d", key, off, off+k, ver)
							break
						}
						off += k
						if err == io.EOF {
							if off != n {
								t.Errorf("Get(%q): %d bytes, want %d", key, off, n)
							}
							break
						}
						if err != nil {
							t.Errorf("Get(%q): Read = %v", key, err)
							break
						}
					}
					obj.Body.Close()
				default:
					dels.Add(1)
					if err := s.Delete(context.Background(), key); err != nil {
						t.Errorf("Delete(%q) = %v", key, err)
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d Puts, %d Gets (%d hits), %d Deletes", putsN.Load(), gets.Load(), hits.Load(), dels.Load())
}

// TestDiskConcurrentPutGetDelete runs Puts, Gets and Deletes of random keys
// from many goroutines on a Disk small enough to evict, checking every
// body byte for byte, then the accounting.
func TestDiskConcurrentPutGetDelete(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"lru", "heap GDSF"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			d := dtOpen(t, DiskOptions{Dir: t.TempDir(), MaxBytes: 2 << 20, L1: 4, L2: 4, Policy: policy})
			dtConcurrent(t, d, 8, 200, 42)
			dtCheckAccounting(t, d)
			if d.Bytes() > d.opts.MaxBytes {
				t.Errorf("Bytes() = %d over MaxBytes", d.Bytes())
			}
		})
	}
}

// TestTieredDiskConcurrent is TestDiskConcurrentPutGetDelete through a
// Tiered over a Disk.
func TestTieredDiskConcurrent(t *testing.T) {
	t.Parallel()
	mem := newTestMemory(t, MemoryOptions{MaxBytes: 1 << 20, MaxObjectSize: 64 << 10})
	d := dtOpen(t, DiskOptions{Dir: t.TempDir(), MaxBytes: 2 << 20, L1: 4, L2: 4})
	dtConcurrent(t, NewTiered(mem, d), 8, 200, 43)
	dtCheckAccounting(t, d)
}

// TestDiskPaths checks the file layout against its definition: the
// cache_dir's L1 and L2 directory numbers in upper-case hexadecimal of at
// least two digits (Squid's ufs names), then the hash in 16 lower-case
// digits, for fan-outs from 1 up to past 255.
func TestDiskPaths(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	hashes := []uint64{0, 1, 15, 16, 255, 256, 1<<63 - 1, 1 << 63, ^uint64(0)}
	for range 200 {
		hashes = append(hashes, rng.Uint64())
	}
	for _, fan := range [][2]int{{16, 256}, {1, 1}, {64, 64}, {300, 4096}} {
		d := &Disk{root: filepath.Join(t.TempDir(), "cuttle"), l1: fan[0], l2: fan[1]}
		for _, h := range hashes {
			a, b := h%uint64(fan[0]), (h/uint64(fan[0]))%uint64(fan[1])
			wantDir := filepath.Join(d.root, fmt.Sprintf("%02X", a), fmt.Sprintf("%02X", b))
			wantFile := filepath.Join(wantDir, fmt.Sprintf("%016x", h))
			dir, file := d.paths(h)
			if dir != wantDir || file != wantFile || d.dirOf(h) != wantDir {
				t.Fatalf("L1 %d, L2 %d, hash %x: paths = %q, %q, dirOf = %q; want %q, %q",
					fan[0], fan[1], h, dir, file, d.dirOf(h), wantDir, wantFile)
			}
		}
	}
}

// TestDiskSnapshotLoadInBackground checks the clean restart while its
// snapshot loads: OpenDisk returns before the index is loaded (a start
// never waits for it), objects not yet indexed are misses, a Put meanwhile
// wins over the snapshot's older record and a Delete meanwhile stays
// deleted; a Close before the load ends waits for it and writes the
// snapshot again, so that the next start needs no scan either.
func TestDiskSnapshotLoadInBackground(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := DiskOptions{Dir: t.TempDir(), MaxBytes: 32 << 20}
	d := dtOpen(t, opts)
	bodies := make(map[string][]byte)
	for i := range 30 {
		key := fmt.Sprintf("http://example.com/background/%d", i)
		bodies[key] = dtPattern(key, 1, 1000+i*997)
		dtMustPut(t, d, key, bodies[key])
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	reopenHeld := func() (*Disk, *dtLog, func()) {
		t.Helper()
		lg := new(dtLog)
		logf, reached, release := dtGatedLogAt(t, lg, "loading the index snapshot")
		o := opts
		o.Logf = logf
		d := dtOpenNoWait(t, o)
		<-reached
		return d, lg, release
	}

	d, lg, release := reopenHeld()
	if dtIsReady(d) {
		t.Fatal("Ready before the snapshot was loaded")
	}
	for key := range bodies {
		dtMustMiss(t, d, key) // not indexed yet
	}
	const replaced, deleted = "http://example.com/background/3", "http://example.com/background/5"
	bodies[replaced] = dtPattern(replaced, 2, 4321)
	dtMustPut(t, d, replaced, bodies[replaced])
	if err := d.Delete(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	delete(bodies, deleted)
	release()
	dtWaitReady(t, d)
	if lg.count("30 objects from the index snapshot") != 1 || lg.count("rebuilding") != 0 {
		t.Errorf("want the snapshot loaded, not a scan:\n%v", lg.lines)
	}
	dtMustMiss(t, d, deleted)
	for key, body := range bodies {
		dtMustGet(t, d, key, body)
	}
	dtCheckAccounting(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// Closed while the snapshot loads: Close waits for the load.
	d, _, release = reopenHeld()
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close = %v before the snapshot was loaded", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	var again dtLog
	o := opts
	o.Logf = again.logf
	d = dtOpen(t, o)
	if again.count(fmt.Sprintf("%d objects from the index snapshot", len(bodies))) != 1 || again.count("rebuilding") != 0 {
		t.Errorf("want the snapshot written by the Close loaded, not a scan:\n%v", again.lines)
	}
	dtMustMiss(t, d, deleted)
	for key, body := range bodies {
		dtMustGet(t, d, key, body)
	}
	dtCheckAccounting(t, d)
}
