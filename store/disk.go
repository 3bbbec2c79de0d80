package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cespare/xxhash/v2"
)

// ErrTooSmall is returned by the disk tier's Put for a body below the
// directory's minimum object size (cache_dir min-size=,
// minimum_object_size). Nothing is stored.
var ErrTooSmall = errors.New("store: object too small")

// ErrNoSpace is returned by the disk tier's Put when the configured size
// cannot make room for the object, or the file system is full. Nothing is
// stored.
var ErrNoSpace = errors.New("store: no space for the object")

// ErrReadOnly is returned by Put of a read-only disk tier (cache_dir
// read-only, no-store).
var ErrReadOnly = errors.New("store: read-only cache directory")

// Refused reports whether err only says that a store declined an object
// (too large, too small, no space, read-only): an expected outcome that
// callers need not log.
func Refused(err error) bool {
	return errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTooSmall) ||
		errors.Is(err, ErrNoSpace) || errors.Is(err, ErrReadOnly)
}

// DiskOptions configures a [Disk]: one squid.conf cache_dir.
type DiskOptions struct {
	// Dir is the cache_dir path. cuttle keeps its files in Dir/cuttle.
	Dir string

	// MaxBytes is the cache_dir size: the most bytes the objects may take
	// on disk, counting every object file and fan-out directory in 4 KiB
	// blocks. Not counted, a fixed overhead: the cuttle and tmp
	// directories and the FORMAT file (12 KiB), and the index snapshot a
	// clean stop writes (32 bytes per object).
	MaxBytes int64

	// L1 and L2 are the fan-out of the object directories (the cache_dir
	// Level-1 and Level-2 numbers); 0 means Squid's 16 and 256.
	L1, L2 int

	// MinObjectSize and MaxObjectSize bound the bodies stored (min-size=,
	// max-size=, minimum_object_size, maximum_object_size); 0 means no
	// bound.
	MinObjectSize, MaxObjectSize int64

	// ReadOnly serves the objects already there and stores none
	// (cache_dir read-only and no-store).
	ReadOnly bool

	// LowWater and HighWater are cache_swap_low and cache_swap_high in
	// percent of MaxBytes; 0 means Squid's 90 and 95. Above HighWater the
	// least valuable objects are removed until usage is below LowWater.
	LowWater, HighWater int

	// Policy is cache_replacement_policy: "lru" (default), "heap LRU",
	// "heap GDSF" or "heap LFUDA".
	Policy string

	// Logf receives progress and fault messages (cache_log); nil discards
	// them.
	Logf func(format string, args ...any)

	// OnPanic is called with the value of a panic recovered in the disk
	// tier's own goroutines (the index scan), after it was logged through
	// Logf; nil ignores it. The process survives such a panic (reliability
	// checklist H10; panics.go).
	OnPanic func(v any)
}

// diskBlock is the allocation unit counted against MaxBytes.
const diskBlock = 4096

// roundBlock rounds n bytes up to whole 4 KiB blocks.
func roundBlock(n int64) int64 {
	return (n + diskBlock - 1) / diskBlock * diskBlock
}

// diskEntry is one indexed object.
type diskEntry struct {
	hash  uint64
	size  int64 // bytes counted on disk (whole blocks)
	body  int64 // body length, for size-aware policies
	refs  int64 // hits, for frequency-aware policies
	prio  float64
	gen   uint64 // the Disk's generation when the object was stored
	index int    // in the policy's heap or list
	elem  any    // the policy's handle
}

// Disk is the disk tier: a [Store] of one file per object in a cache_dir,
// crash-safe (objects are written under a temporary name and renamed when
// complete; every byte is checksummed, see the format in diskformat.go) and
// bounded (the files never take more than MaxBytes).
//
// The index of the objects lives in memory, about 160 bytes per object. At
// start it is loaded in the background, as Squid rebuilds its store, from
// the snapshot a clean Close leaves or else by scanning the directory;
// objects not yet indexed are misses.
type Disk struct {
	opts    DiskOptions
	root    string // Dir/cuttle
	tmp     string
	logf    func(string, ...any)
	l1, l2  int
	low     int64
	high    int64
	noSpace rateLimit

	mu       sync.Mutex
	index    map[uint64]*diskEntry
	policy   diskPolicy
	used     int64          // blocks of indexed files, directories and reservations
	dirs     map[string]int // fan-out directories: what each holds (see enterDirLocked)
	closed   bool
	gen      uint64 // bumped by every change of the index
	scanning bool   // the index is incomplete: no snapshot may be written

	ready  chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ Store = (*Disk)(nil)

// OpenDisk opens (creating it unless read-only) the cache directory and
// starts loading its index. It refuses a directory that holds Squid's own
// store (swap.state, a rock database), which cuttle never overwrites or
// reads.
func OpenDisk(opts DiskOptions) (*Disk, error) {
	if opts.Dir == "" || opts.MaxBytes <= 0 {
		return nil, errors.New("store: disk tier needs a directory and a positive size")
	}
	if name, ok := SquidStore(opts.Dir); ok {
		return nil, fmt.Errorf("store: %s holds Squid's own cache (%s); cuttle does not use or overwrite it: give cuttle another cache_dir", opts.Dir, name)
	}
	d := &Disk{
		opts:  opts,
		root:  filepath.Join(opts.Dir, "cuttle"),
		logf:  opts.Logf,
		l1:    opts.L1,
		l2:    opts.L2,
		index: make(map[uint64]*diskEntry),
		dirs:  make(map[string]int),
		ready: make(chan struct{}),
	}
	d.tmp = filepath.Join(d.root, "tmp")
	if d.logf == nil {
		d.logf = func(string, ...any) {}
	}
	if d.l1 <= 0 {
		d.l1 = 16
	}
	if d.l2 <= 0 {
		d.l2 = 256
	}
	low, high := opts.LowWater, opts.HighWater
	if low <= 0 || low > 100 {
		low = 90
	}
	if high <= 0 || high > 100 {
		high = 95
	}
	low = min(low, high)
	d.low, d.high = opts.MaxBytes/100*int64(low), opts.MaxBytes/100*int64(high)
	var err error
	if d.policy, err = newDiskPolicy(opts.Policy); err != nil {
		return nil, err
	}
	if !opts.ReadOnly {
		if err := d.prepare(); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(d.root); err != nil {
		// Nothing to serve yet; a read-only tier stays empty.
		close(d.ready)
		return d, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.scanning = true
	d.wg.Add(1)
	go d.load(ctx)
	return d, nil
}

// load fills the index while the cache serves, so that a start never
// waits for it (about 50 ms per 100,000 objects from a snapshot on the
// project's VM, seconds by scanning): from the snapshot a clean Close
// left, or else by scanning the files. Ready is closed once the index is
// complete. A Close stops a scan, but waits for a snapshot to load, so
// that a quick restart after a clean one needs no scan either.
func (d *Disk) load(ctx context.Context) {
	defer d.wg.Done()
	defer d.recoverPanic("index load") // panics.go
	if d.loadSnapshot() {
		close(d.ready)
		return
	}
	if ctx.Err() == nil {
		d.scan(ctx)
	}
}

// SquidStore reports whether dir holds Squid's own store, and the file
// that shows it: swap.state (ufs, aufs, diskd) or a rock database.
func SquidStore(dir string) (string, bool) {
	for _, name := range []string{"swap.state", "swap.state.last-clean", "rock"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return name, true
		}
	}
	return "", false
}

// formatFile marks a directory as cuttle's, with its format version.
const formatFile = "FORMAT"

// prepare creates the directories and removes what an interrupted run
// left: temporary files, and all objects of another format version.
func (d *Disk) prepare() error {
	if err := os.MkdirAll(d.tmp, 0o750); err != nil {
		return fmt.Errorf("store: cache_dir %s: %w", d.opts.Dir, err)
	}
	if err := cleanDir(d.tmp); err != nil {
		return fmt.Errorf("store: cache_dir %s: %w", d.opts.Dir, err)
	}
	want := "cuttle disk store " + strconv.Itoa(diskVersion) + "\n"
	path := filepath.Join(d.root, formatFile)
	have, err := os.ReadFile(path)
	if err == nil && string(have) == want {
		return nil
	}
	if err == nil {
		d.logf("cache_dir %s: objects of another format (%q) discarded", d.opts.Dir, strings.TrimSpace(string(have)))
		if err := d.removeObjects(); err != nil {
			return fmt.Errorf("store: cache_dir %s: %w", d.opts.Dir, err)
		}
	}
	if err := os.WriteFile(path, []byte(want), 0o640); err != nil {
		return fmt.Errorf("store: cache_dir %s: %w", d.opts.Dir, err)
	}
	return nil
}

// Create makes the directories of a cache_dir and exits, as squid -z
// does; it is safe to run on an existing one.
func Create(opts DiskOptions) error {
	if name, ok := SquidStore(opts.Dir); ok {
		return fmt.Errorf("store: %s holds Squid's own cache (%s); cuttle does not use or overwrite it", opts.Dir, name)
	}
	d := &Disk{opts: opts, root: filepath.Join(opts.Dir, "cuttle"), logf: func(string, ...any) {}}
	d.tmp = filepath.Join(d.root, "tmp")
	return d.prepare()
}

func cleanDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name())) //nolint:errcheck // best effort
	}
	return nil
}

// removeObjects deletes every object directory and the snapshot.
func (d *Disk) removeObjects() error {
	ents, err := os.ReadDir(d.root)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() && e.Name() != "tmp" {
			if err := os.RemoveAll(filepath.Join(d.root, e.Name())); err != nil {
				return err
			}
		}
	}
	os.Remove(filepath.Join(d.root, snapshotFile)) //nolint:errcheck // may not exist
	return nil
}

// Ready is closed once the index is complete.
func (d *Disk) Ready() <-chan struct{} { return d.ready }

// paths returns the directory and file of the object with hash h:
// root/L1/L2/name, L1 and L2 in upper-case hexadecimal of at least two
// digits as in Squid's ufs layout, and name h in 16 lower-case ones.
func (d *Disk) paths(h uint64) (dir, file string) {
	b := d.appendDir(make([]byte, 0, len(d.root)+24), h)
	dir = string(b)
	b = append(b, filepath.Separator)
	return dir, string(appendHex(b, h, 16, false))
}

// dirOf returns the directory of the object with hash h (see paths).
func (d *Disk) dirOf(h uint64) string {
	var buf [256]byte
	return string(d.appendDir(buf[:0], h))
}

// appendDir appends the directory of the object with hash h to b. The
// root is clean (filepath.Join made it), so plain separators give what
// filepath.Join would.
func (d *Disk) appendDir(b []byte, h uint64) []byte {
	b = append(b, d.root...)
	b = append(b, filepath.Separator)
	b = appendHex(b, h%uint64(d.l1), 2, true)
	b = append(b, filepath.Separator)
	return appendHex(b, (h/uint64(d.l1))%uint64(d.l2), 2, true)
}

// appendHex appends v in hexadecimal, with leading zeros up to width
// digits (at most 16).
func appendHex(b []byte, v uint64, width int, upper bool) []byte {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	var tmp [16]byte
	i := len(tmp)
	for v != 0 || i > len(tmp)-width {
		i--
		tmp[i] = digits[v&15]
		v >>= 4
	}
	return append(b, tmp[i:]...)
}

func hashDiskKey(key string) uint64 { return xxhash.Sum64String(key) }

// Get returns the object stored under key, or ErrNotFound. An object that
// fails its checks is removed and reported as ErrCorrupt.
func (d *Disk) Get(ctx context.Context, key string) (*Object, error) {
	h := hashDiskKey(key)
	d.mu.Lock()
	e, ok := d.index[h]
	var gen uint64
	if ok {
		e.refs++
		d.policy.touch(e)
		gen = e.gen
	}
	d.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	_, path := d.paths(h)
	f, err := os.Open(path)
	if err != nil {
		d.forget(h, e)
		return nil, ErrNotFound
	}
	obj, err := openObject(f, key)
	if err != nil {
		f.Close()
		if errors.Is(err, ErrCorrupt) || errors.Is(err, errOtherVersion) {
			d.logf("cache_dir %s: %s: %v; removed", d.opts.Dir, path, err)
			d.remove(h, path)
			return nil, ErrCorrupt
		}
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound // another key with the same hash
		}
		return nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	b := obj.Body.(*diskBody)
	b.onCorrupt = func() { d.remove(h, path) }
	obj.gen = gen
	return obj, nil
}

// Holds reports whether the object stored under key is still the version
// a Get returned as gen: not replaced or removed since.
func (d *Disk) Holds(key string, gen uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.index[hashDiskKey(key)]
	return ok && e.gen == gen
}

// openObject reads and checks an object file's header, trailer and first
// block, and returns the object with its body positioned at the start.
func openObject(f *os.File, key string) (*Object, error) {
	var fixed [diskHeaderSize]byte
	if _, err := io.ReadFull(f, fixed[:]); err != nil {
		return nil, fmt.Errorf("%w: short header", ErrCorrupt)
	}
	h, err := decodeDiskHeader(fixed[:])
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() != h.fileSize() {
		return nil, fmt.Errorf("%w: %d bytes, header says %d", ErrCorrupt, st.Size(), h.fileSize())
	}
	km := make([]byte, int(h.keyLen)+int(h.metaLen))
	if _, err := io.ReadFull(f, km); err != nil {
		return nil, fmt.Errorf("%w: short header", ErrCorrupt)
	}
	if headerSum(fixed[:], string(km[:h.keyLen]), km[h.keyLen:]) != h.sum {
		return nil, fmt.Errorf("%w: header checksum", ErrCorrupt)
	}
	if string(km[:h.keyLen]) != key {
		return nil, ErrNotFound
	}
	n := h.blocks()
	trailer := make([]byte, 8*n+16)
	if _, err := f.ReadAt(trailer, h.trailerOffset()); err != nil {
		return nil, fmt.Errorf("%w: short trailer", ErrCorrupt)
	}
	sums := trailer[:8*n]
	if xxhash.Sum64(sums) != binary.LittleEndian.Uint64(trailer[8*n:]) || string(trailer[8*n+8:]) != diskEndMagic {
		return nil, fmt.Errorf("%w: trailer checksum", ErrCorrupt)
	}
	meta := Meta{Header: km[h.keyLen:], Size: int64(h.bodyLen)}
	if h.stored != 0 {
		meta.Stored = time.Unix(0, h.stored)
	}
	if h.expires != 0 {
		meta.Expires = time.Unix(0, h.expires)
	}
	b := &diskBody{f: f, hdr: h, sums: sums, cur: -1}
	if n > 0 {
		if err := b.load(0); err != nil {
			return nil, err
		}
	}
	return &Object{Key: key, Meta: meta, Body: b}, nil
}

var diskBlockPool = sync.Pool{New: func() any { b := make([]byte, diskBlockSize); return &b }}

// diskBody streams a stored body, checking each block before handing out
// any of its bytes. It is an io.ReadSeeker, so that ranges can be served
// from it.
type diskBody struct {
	f         *os.File
	hdr       diskHeader
	sums      []byte
	buf       *[]byte
	cur       int64 // the block in buf, -1 for none
	curLen    int
	off       int64 // read position in the body
	err       error
	onCorrupt func()
}

// load reads block i into the buffer and checks it.
func (b *diskBody) load(i int64) error {
	if b.buf == nil {
		b.buf = diskBlockPool.Get().(*[]byte)
	}
	start := i * int64(b.hdr.blockSize)
	n := min(int64(b.hdr.blockSize), int64(b.hdr.bodyLen)-start)
	p := (*b.buf)[:n]
	if _, err := b.f.ReadAt(p, b.hdr.bodyOffset()+start); err != nil {
		return fmt.Errorf("%w: short body", ErrCorrupt)
	}
	if xxhash.Sum64(p) != binary.LittleEndian.Uint64(b.sums[8*i:]) {
		return fmt.Errorf("%w: body block %d checksum", ErrCorrupt, i)
	}
	b.cur, b.curLen = i, int(n)
	return nil
}

func (b *diskBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.off >= int64(b.hdr.bodyLen) {
		return 0, io.EOF
	}
	i := b.off / int64(b.hdr.blockSize)
	if i != b.cur {
		if err := b.load(i); err != nil {
			b.err = err
			if b.onCorrupt != nil && errors.Is(err, ErrCorrupt) {
				b.onCorrupt()
			}
			return 0, err
		}
	}
	within := int(b.off - i*int64(b.hdr.blockSize))
	n := copy(p, (*b.buf)[within:b.curLen])
	b.off += int64(n)
	return n, nil
}

func (b *diskBody) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += int64(b.hdr.bodyLen)
	default:
		return 0, errors.New("store: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("store: negative position")
	}
	b.off = offset
	return offset, nil
}

func (b *diskBody) Close() error {
	if b.buf != nil {
		diskBlockPool.Put(b.buf)
		b.buf = nil
	}
	return b.f.Close()
}

// forget drops an index entry whose file is gone.
func (d *Disk) forget(h uint64, e *diskEntry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.index[h] == e {
		d.dropLocked(e)
	}
}

// remove drops the object with hash h from the index and, unless the
// directory is read-only, from the disk.
func (d *Disk) remove(h uint64, path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.opts.ReadOnly {
		os.Remove(path) //nolint:errcheck // gone already is fine
	}
	if e, ok := d.index[h]; ok {
		d.dropLocked(e)
	}
	d.gen++
}

// dropLocked removes an entry from the index; its file must be gone
// already (or be replaced), so that its directory can go when empty.
func (d *Disk) dropLocked(e *diskEntry) {
	delete(d.index, e.hash)
	d.policy.remove(e)
	d.used -= e.size
	dir, _ := d.paths(e.hash)
	d.leaveDirLocked(dir)
}

// Delete removes the object stored under key, if any. In a read-only
// directory it is only forgotten, so that it cannot hide a newer copy in
// another directory; its file stays.
func (d *Disk) Delete(ctx context.Context, key string) error {
	h := hashDiskKey(key)
	_, path := d.paths(h)
	d.remove(h, path)
	return nil
}

// reserve counts n more bytes against MaxBytes, evicting objects to make
// room. It fails when even an empty cache could not hold them.
func (d *Disk) reserve(n int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.used+n > d.opts.MaxBytes {
		if !d.evictOneLocked() {
			return ErrNoSpace
		}
	}
	d.used += n
	return nil
}

func (d *Disk) release(n int64) {
	d.mu.Lock()
	d.used -= n
	d.mu.Unlock()
}

// evictOneLocked removes the policy's victim; false when there is none.
func (d *Disk) evictOneLocked() bool {
	e := d.policy.victim()
	if e == nil {
		return false
	}
	_, path := d.paths(e.hash)
	os.Remove(path) //nolint:errcheck // best effort
	d.dropLocked(e)
	d.policy.evicted(e)
	d.gen++
	return true
}

// trimLocked evicts down to the low-water mark once usage passes the high
// one (cache_swap_low, cache_swap_high).
func (d *Disk) trimLocked() {
	if d.used <= d.high {
		return
	}
	for d.used > d.low && d.evictOneLocked() {
	}
}

// Put streams body into a temporary file and, when it is complete and
// within the limits, renames it into place and indexes it.
func (d *Disk) Put(ctx context.Context, key string, meta Meta, body io.Reader) error {
	if d.opts.ReadOnly {
		return ErrReadOnly
	}
	if meta.Size >= 0 && d.opts.MaxObjectSize > 0 && meta.Size > d.opts.MaxObjectSize ||
		len(key) > maxDiskKey || len(meta.Header) > maxDiskMeta {
		d.Delete(ctx, key) //nolint:errcheck // never fails
		return ErrTooLarge
	}
	if meta.Size >= 0 && meta.Size < d.opts.MinObjectSize {
		d.Delete(ctx, key) //nolint:errcheck // never fails
		return ErrTooSmall
	}
	h := hashDiskKey(key)
	w := &diskWriter{d: d}
	err := w.start(key, meta)
	if err == nil {
		err = w.copyBody(ctx, body, meta.Size)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = w.commit(h, key, meta)
	}
	if err != nil {
		w.abort()
		// A failed Put leaves no object under the key, not even an older
		// one (the Store contract).
		_, path := d.paths(h)
		d.remove(h, path)
	}
	return err
}

// diskWriter is one Put in progress.
type diskWriter struct {
	d        *Disk
	f        *os.File
	reserved int64 // bytes counted against MaxBytes for the temporary file
	written  int64 // bytes of the file so far
	sums     []byte
	n        int64 // body bytes
	hdr      diskHeader
	done     bool
}

// grow reserves room for the file to reach size bytes.
func (w *diskWriter) grow(size int64) error {
	need := roundBlock(size) - w.reserved
	if need <= 0 {
		return nil
	}
	if err := w.d.reserve(need); err != nil {
		return err
	}
	w.reserved += need
	return nil
}

func (w *diskWriter) start(key string, meta Meta) error {
	size := int64(diskHeaderSize + len(key) + len(meta.Header))
	if meta.Size >= 0 {
		size = diskFileSize(len(key), len(meta.Header), meta.Size)
	}
	if err := w.grow(size); err != nil {
		return err
	}
	f, err := os.CreateTemp(w.d.tmp, "put-*")
	if err != nil {
		return w.d.fault("create", err)
	}
	w.f = f
	// The header is written last, when the body length is known; the
	// space for it is skipped now.
	if _, err := f.Seek(int64(diskHeaderSize), io.SeekStart); err != nil {
		return w.d.fault("write", err)
	}
	if err := w.write([]byte(key)); err != nil {
		return err
	}
	if err := w.write(meta.Header); err != nil {
		return err
	}
	w.written += diskHeaderSize
	return nil
}

func (w *diskWriter) write(p []byte) error {
	if err := w.grow(w.written + int64(len(p)) + diskHeaderSize); err != nil {
		return err
	}
	if _, err := w.f.Write(p); err != nil {
		return w.d.fault("write", err)
	}
	w.written += int64(len(p))
	return nil
}

// copyBody writes the body block by block with its sums.
func (w *diskWriter) copyBody(ctx context.Context, body io.Reader, size int64) error {
	bp := diskBlockPool.Get().(*[]byte)
	defer diskBlockPool.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(body, buf)
		if n > 0 {
			w.n += int64(n)
			if size >= 0 && w.n > size {
				return fmt.Errorf("store: body longer than its %d bytes", size)
			}
			if max := w.d.opts.MaxObjectSize; max > 0 && w.n > max {
				return ErrTooLarge
			}
			if err := w.write(buf[:n]); err != nil {
				return err
			}
			w.sums = binary.LittleEndian.AppendUint64(w.sums, xxhash.Sum64(buf[:n]))
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			if size >= 0 && w.n != size {
				return fmt.Errorf("store: body of %d bytes, want %d", w.n, size)
			}
			if w.n < w.d.opts.MinObjectSize {
				return ErrTooSmall
			}
			return nil
		case err != nil:
			return err
		}
	}
}

// commit writes the trailer and the header and renames the file into
// place.
func (w *diskWriter) commit(h uint64, key string, meta Meta) error {
	d := w.d
	trailer := binary.LittleEndian.AppendUint64(w.sums, xxhash.Sum64(w.sums))
	trailer = append(trailer, diskEndMagic...)
	if err := w.write(trailer); err != nil {
		return err
	}
	w.hdr = diskHeader{
		version:   diskVersion,
		keyLen:    uint32(len(key)),
		metaLen:   uint32(len(meta.Header)),
		blockSize: diskBlockSize,
		bodyLen:   uint64(w.n),
	}
	if !meta.Stored.IsZero() {
		w.hdr.stored = meta.Stored.UnixNano()
	}
	if !meta.Expires.IsZero() {
		w.hdr.expires = meta.Expires.UnixNano()
	}
	var fixed [diskHeaderSize]byte
	w.hdr.encode(fixed[:], key, meta.Header)
	if _, err := w.f.WriteAt(fixed[:], 0); err != nil {
		return d.fault("write", err)
	}
	if err := w.f.Close(); err != nil {
		return d.fault("write", err)
	}
	dir, path := d.paths(h)
	size := roundBlock(w.written)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("store: disk tier closed")
	}
	// The directories are made under the lock, so that eviction cannot
	// remove them between their creation and the rename.
	if err := d.enterDirLocked(dir); err != nil {
		return err
	}
	if err := os.Rename(w.f.Name(), path); err != nil {
		d.leaveDirLocked(dir)
		return d.fault("rename", err)
	}
	w.done = true
	// The reservation becomes the entry's size; a replaced object's
	// blocks are given back.
	d.used += size - w.reserved
	if old, ok := d.index[h]; ok {
		d.dropLocked(old)
	}
	d.gen++
	e := &diskEntry{hash: h, size: size, body: w.n, refs: 1, gen: nextGen()}
	d.index[h] = e
	d.policy.add(e)
	d.trimLocked()
	return nil
}

// abort removes the temporary file of a Put that did not commit.
func (w *diskWriter) abort() {
	if w.done {
		return
	}
	if w.f != nil {
		w.f.Close()
		os.Remove(w.f.Name()) //nolint:errcheck // best effort
	}
	if w.reserved > 0 {
		w.d.release(w.reserved)
	}
}

// The fan-out directories are created when an object first needs them
// and removed when their last object goes, and each takes one 4 KiB block
// of MaxBytes while it exists. d.dirs counts what each holds: objects for
// a second-level directory, second-level directories for a first-level
// one.

// enterDirLocked makes sure the second-level directory dir and its parent
// exist, evicting objects to make room for their blocks, and counts one
// more object in dir.
func (d *Disk) enterDirLocked(dir string) error {
	parent := filepath.Dir(dir)
	for {
		var need int64
		if _, ok := d.dirs[dir]; !ok {
			need += diskBlock
			if _, ok := d.dirs[parent]; !ok {
				need += diskBlock
			}
		}
		if d.used+need <= d.opts.MaxBytes {
			break
		}
		if !d.evictOneLocked() {
			return ErrNoSpace
		}
	}
	if _, ok := d.dirs[dir]; !ok {
		if _, ok := d.dirs[parent]; !ok {
			if err := os.Mkdir(parent, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
				return d.fault("mkdir", err)
			}
			d.dirs[parent] = 0
			d.used += diskBlock
		}
		if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			d.leaveParentLocked(parent)
			return d.fault("mkdir", err)
		}
		d.dirs[dir] = 0
		d.dirs[parent]++
		d.used += diskBlock
	}
	d.dirs[dir]++
	return nil
}

// leaveDirLocked counts one object less in dir and removes dir (and then
// maybe its parent) when it is empty.
func (d *Disk) leaveDirLocked(dir string) {
	n, ok := d.dirs[dir]
	if !ok {
		return
	}
	if n > 1 {
		d.dirs[dir] = n - 1
		return
	}
	d.dirs[dir] = 0
	if d.opts.ReadOnly || os.Remove(dir) != nil {
		return // kept (and still counted): read-only, or not empty
	}
	delete(d.dirs, dir)
	d.used -= diskBlock
	d.leaveParentLocked(filepath.Dir(dir))
}

// leaveParentLocked counts one second-level directory less in a
// first-level one and removes it when it is empty.
func (d *Disk) leaveParentLocked(parent string) {
	n, ok := d.dirs[parent]
	if !ok {
		return
	}
	if n > 1 {
		d.dirs[parent] = n - 1
		return
	}
	d.dirs[parent] = 0
	if d.opts.ReadOnly || os.Remove(parent) != nil {
		return
	}
	delete(d.dirs, parent)
	d.used -= diskBlock
}

// diskGen numbers the stored versions of objects across every disk tier
// of the process, so that a version can be recognised in any of them.
var diskGen atomic.Uint64

func nextGen() uint64 { return diskGen.Add(1) }

// fault turns a file system error into the error Put returns; a full disk
// is ErrNoSpace, logged at most once a minute.
func (d *Disk) fault(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		if d.noSpace.allow(time.Minute) {
			d.logf("cache_dir %s: file system full; objects are not stored until space frees: %v", d.opts.Dir, err)
		}
		return ErrNoSpace
	}
	return fmt.Errorf("store: %s in %s: %w", op, d.opts.Dir, err)
}

// rateLimit allows one event per interval.
type rateLimit struct {
	mu   sync.Mutex
	last time.Time
}

func (r *rateLimit) allow(every time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.last) < every {
		return false
	}
	r.last = now
	return true
}

// Bytes returns the bytes counted against MaxBytes: indexed files,
// directories and the reservations of Puts in progress, in 4 KiB blocks.
func (d *Disk) Bytes() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used
}

// Len returns the number of indexed objects.
func (d *Disk) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.index)
}

// Generation returns a number that changes whenever an object is stored,
// replaced or removed.
func (d *Disk) Generation() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gen
}

// Close stops the index rebuild and, when the index is complete, writes
// the snapshot that makes the next start fast.
func (d *Disk) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.opts.ReadOnly || d.scanning {
		return nil
	}
	return d.writeSnapshotLocked()
}

// snapshotFile is the index a clean shutdown leaves.
const snapshotFile = "index.snapshot"

const snapshotMagic = "cuttle-index 1\n"

// writeSnapshotLocked writes the index: hash, size, body length and hits
// of each object, then an xxhash64 of all of it.
func (d *Disk) writeSnapshotLocked() error {
	path := filepath.Join(d.root, snapshotFile)
	f, err := os.CreateTemp(d.tmp, "index-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) //nolint:errcheck // renamed on success
	bw := bufio.NewWriter(f)
	sum := xxhash.New()
	out := io.MultiWriter(bw, sum)
	io.WriteString(out, snapshotMagic) //nolint:errcheck // checked at Flush
	var rec [32]byte
	for _, e := range d.policy.ordered() {
		binary.LittleEndian.PutUint64(rec[0:], e.hash)
		binary.LittleEndian.PutUint64(rec[8:], uint64(e.size))
		binary.LittleEndian.PutUint64(rec[16:], uint64(e.body))
		binary.LittleEndian.PutUint64(rec[24:], uint64(e.refs))
		out.Write(rec[:]) //nolint:errcheck // checked at Flush
	}
	binary.LittleEndian.PutUint64(rec[:8], sum.Sum64())
	bw.Write(rec[:8]) //nolint:errcheck // checked at Flush
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// snapshotBatch is how many snapshot records loadSnapshot indexes under
// one hold of the lock, so that requests are not held up for long.
const snapshotBatch = 4096

// loadSnapshot reads the snapshot of a clean shutdown, if there is one,
// and removes it: after a crash the next start must scan. It reports
// whether the index was loaded.
func (d *Disk) loadSnapshot() bool {
	path := filepath.Join(d.root, snapshotFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	if !d.opts.ReadOnly {
		os.Remove(path) //nolint:errcheck // a stale snapshot must not survive
	}
	if len(b) < len(snapshotMagic)+8 || string(b[:len(snapshotMagic)]) != snapshotMagic ||
		(len(b)-len(snapshotMagic)-8)%32 != 0 {
		d.logf("cache_dir %s: index snapshot unreadable; scanning", d.opts.Dir)
		return false
	}
	body := b[:len(b)-8]
	if xxhash.Sum64(body) != binary.LittleEndian.Uint64(b[len(b)-8:]) {
		d.logf("cache_dir %s: index snapshot damaged; scanning", d.opts.Dir)
		return false
	}
	start := time.Now()
	d.logf("cache_dir %s: loading the index snapshot (%d objects)", d.opts.Dir, (len(body)-len(snapshotMagic))/32)
	for recs := body[len(snapshotMagic):]; len(recs) > 0; {
		batch := recs[:min(len(recs), 32*snapshotBatch)]
		recs = recs[len(batch):]
		d.mu.Lock()
		for i := 0; i+32 <= len(batch); i += 32 {
			e := &diskEntry{
				hash: binary.LittleEndian.Uint64(batch[i:]),
				size: int64(binary.LittleEndian.Uint64(batch[i+8:])),
				body: int64(binary.LittleEndian.Uint64(batch[i+16:])),
				refs: int64(binary.LittleEndian.Uint64(batch[i+24:])),
			}
			// An object stored (or removed) since the start is newer than
			// the snapshot: a Put indexed it, or Get forgets a record
			// whose file a Delete removed.
			if _, dup := d.index[e.hash]; dup || e.size <= 0 {
				continue
			}
			e.gen = nextGen()
			d.index[e.hash] = e
			d.used += e.size
			d.policy.add(e)
			d.countDirLocked(d.dirOf(e.hash))
		}
		d.mu.Unlock()
	}
	d.mu.Lock()
	d.scanning = false
	d.trimLocked()
	n := len(d.index)
	d.mu.Unlock()
	d.logf("cache_dir %s: %d objects from the index snapshot in %.3f s", d.opts.Dir, n, time.Since(start).Seconds())
	return true
}

// countDirLocked counts one more object in a second-level directory that
// exists on disk (and its parent, when first seen).
func (d *Disk) countDirLocked(dir string) {
	if _, ok := d.dirs[dir]; !ok {
		parent := filepath.Dir(dir)
		if _, ok := d.dirs[parent]; !ok {
			d.dirs[parent] = 0
			d.used += diskBlock
		}
		d.dirs[parent]++
		d.dirs[dir] = 0
		d.used += diskBlock
	}
	d.dirs[dir]++
}

// scan rebuilds the index from the files, while the cache serves.
func (d *Disk) scan(ctx context.Context) {
	defer d.recoverPanic("index scan") // panics.go
	start := time.Now()
	d.logf("cache_dir %s: rebuilding the index by scanning (no clean snapshot)", d.opts.Dir)
	var found, bad int
	var seenDirs []string
	last := time.Now()
	err := filepath.WalkDir(d.root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable subtree: skip it
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if de.IsDir() {
			switch {
			case path == d.root:
			case path == d.tmp:
				return fs.SkipDir
			default:
				// Counted when an object is indexed in it; checked for
				// emptiness at the end.
				seenDirs = append(seenDirs, path)
			}
			return nil
		}
		h, err := strconv.ParseUint(de.Name(), 16, 64)
		if err != nil || len(de.Name()) != 16 {
			return nil // FORMAT, the snapshot, foreign files
		}
		if d.indexFileSafe(path, h) {
			found++
		} else {
			bad++
		}
		if time.Since(last) >= time.Second {
			last = time.Now()
			d.logf("cache_dir %s: %d objects indexed so far", d.opts.Dir, found)
		}
		return nil
	})
	d.mu.Lock()
	d.scanning = err != nil
	if err == nil && !d.opts.ReadOnly {
		// Directories left empty (by a crash, or by a fan-out that
		// changed) would take blocks nobody counts: remove them,
		// deepest first; rmdir leaves any that are not empty.
		for i := len(seenDirs) - 1; i >= 0; i-- {
			if _, counted := d.dirs[seenDirs[i]]; !counted {
				os.Remove(seenDirs[i]) //nolint:errcheck // not empty: kept
			}
		}
	}
	d.trimLocked()
	d.mu.Unlock()
	if err != nil {
		return
	}
	d.logf("cache_dir %s: index ready: %d objects, %d damaged files removed, in %.2f s",
		d.opts.Dir, found, bad, time.Since(start).Seconds())
	close(d.ready)
}

// indexFile checks one file's header and length and indexes it. A file
// that fails is removed.
func (d *Disk) indexFile(path string, h uint64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	ok, body, size := checkHeader(f, h)
	if !ok {
		if !d.opts.ReadOnly {
			os.Remove(path) //nolint:errcheck // best effort
		}
		return false
	}
	f.Close()
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.index[h]; ok {
		return true // stored since the scan began
	}
	dir, want := d.paths(h)
	switch {
	case path == want:
		d.countDirLocked(dir)
	case d.opts.ReadOnly:
		return false // misplaced (another fan-out) and cannot be moved
	default:
		// Written with another fan-out (L1, L2): move it into place.
		if err := d.enterDirLocked(dir); err != nil {
			os.Remove(path) //nolint:errcheck // best effort
			return false
		}
		if err := os.Rename(path, want); err != nil {
			d.leaveDirLocked(dir)
			os.Remove(path) //nolint:errcheck // best effort
			return false
		}
	}
	e := &diskEntry{hash: h, size: roundBlock(size), body: body, gen: nextGen()}
	d.index[h] = e
	d.used += e.size
	d.policy.add(e)
	// A cache_dir made smaller than what it holds shrinks as it is read.
	for d.used > d.opts.MaxBytes && d.evictOneLocked() {
	}
	return true
}

// checkHeader reads a file's fixed header, key and metadata, and checks
// the header sum, the key's hash and the file's length.
func checkHeader(f *os.File, h uint64) (ok bool, body, size int64) {
	var fixed [diskHeaderSize]byte
	if _, err := io.ReadFull(f, fixed[:]); err != nil {
		return false, 0, 0
	}
	hdr, err := decodeDiskHeader(fixed[:])
	if err != nil {
		return false, 0, 0
	}
	st, err := f.Stat()
	if err != nil || st.Size() != hdr.fileSize() {
		return false, 0, 0
	}
	km := make([]byte, int(hdr.keyLen)+int(hdr.metaLen))
	if _, err := io.ReadFull(f, km); err != nil {
		return false, 0, 0
	}
	key := string(km[:hdr.keyLen])
	if headerSum(fixed[:], key, km[hdr.keyLen:]) != hdr.sum || hashDiskKey(key) != h {
		return false, 0, 0
	}
	return true, int64(hdr.bodyLen), st.Size()
}
