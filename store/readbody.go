package store

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// maxEmptyReads is how many (0, nil) reads in a row readBody accepts
// before it gives up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// readBody reads r to EOF and returns the body in a slice whose capacity is
// its length, so that the slice's size is the memory it holds. A body of
// unknown size is collected in chunks from scratch (see [newScratch]) and
// then copied once; a body of known size is read straight into its slice.
//
// size is Meta.Size: when it is not negative the body must have exactly size
// bytes. limit is the largest body accepted: a larger size returns
// ErrTooLarge before anything is read, and a body of unknown size is read to
// at most limit+1 bytes before ErrTooLarge. ctx is checked before the first
// read, after every read and before returning a body, so a cancelled ctx
// never yields a body; a Read that blocks is not interrupted.
func readBody(ctx context.Context, r io.Reader, size, limit int64, scratch *sync.Pool) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if size > limit {
		return nil, ErrTooLarge
	}
	if size >= 0 {
		return readSized(ctx, r, size, scratch)
	}
	return readUnsized(ctx, r, limit, scratch)
}

// readSized reads a body announced as size bytes and checks that it ends
// exactly there.
func readSized(ctx context.Context, r io.Reader, size int64, scratch *sync.Pool) ([]byte, error) {
	buf := make([]byte, size)
	n, empty := 0, 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if err == io.EOF {
			if n < len(buf) {
				return nil, fmt.Errorf("body ended after %d bytes, Meta.Size is %d: %w", n, size, io.ErrUnexpectedEOF)
			}
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		if empty = countEmpty(m, empty); empty >= maxEmptyReads {
			return nil, fmt.Errorf("read body: %w", io.ErrNoProgress)
		}
	}
	// The body filled buf without reporting EOF: one more read must. It
	// goes to a scratch chunk, which costs no allocation.
	ch := scratch.Get().(*chunk)
	defer scratch.Put(ch)
	probe := ch[:1]
	for {
		m, err := r.Read(probe)
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if m > 0 {
			return nil, fmt.Errorf("body longer than Meta.Size %d", size)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		if empty = countEmpty(m, empty); empty >= maxEmptyReads {
			return nil, fmt.Errorf("read body: %w", io.ErrNoProgress)
		}
	}
}

// readUnsized reads a body of unknown size, of at most limit bytes, into
// scratch chunks and then into one slice of its exact length.
func readUnsized(ctx context.Context, r io.Reader, limit int64, scratch *sync.Pool) ([]byte, error) {
	c := chunks{pool: scratch}
	defer c.release()
	empty := 0
	for {
		// Room for one byte past limit tells a body of exactly limit bytes
		// from a longer one without reading further.
		m, err := c.readFrom(r, limit+1-c.n)
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if c.n > limit {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			return c.bytes(), nil
		}
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		if empty = countEmpty(m, empty); empty >= maxEmptyReads {
			return nil, fmt.Errorf("read body: %w", io.ErrNoProgress)
		}
	}
}

// countEmpty returns the number of empty reads in a row after a read of m
// bytes that followed empty such reads.
func countEmpty(m, empty int) int {
	if m > 0 {
		return 0
	}
	return empty + 1
}

// chunkSize is the size of the scratch chunks that hold a body of unknown
// size while it is read.
const chunkSize = 32 << 10

// chunk is a scratch buffer, pooled by pointer so that a Put to a
// [sync.Pool] does not allocate.
type chunk = [chunkSize]byte

// newScratch returns a pool of chunks.
func newScratch() *sync.Pool {
	return &sync.Pool{New: func() any { return new(chunk) }}
}

// chunks collects a body of unknown size in scratch chunks taken from
// pool, so that reading it allocates nothing but the final exact copy.
type chunks struct {
	pool *sync.Pool
	full []*chunk // the chunks before the last one, all full
	last *chunk   // the chunk being filled, or nil
	fill int      // the bytes used in last
	n    int64    // the total length
}

// readFrom does one Read from r into the free space of the last chunk, of
// at most max (> 0) bytes.
func (c *chunks) readFrom(r io.Reader, max int64) (int, error) {
	c.room()
	m, err := r.Read(c.last[c.fill:min(chunkSize, c.fill+int(min(max, chunkSize)))])
	c.fill += m
	c.n += int64(m)
	return m, err
}

// write appends p.
func (c *chunks) write(p []byte) {
	for len(p) > 0 {
		c.room()
		m := copy(c.last[c.fill:], p)
		c.fill += m
		c.n += int64(m)
		p = p[m:]
	}
}

// room makes sure the last chunk has free space.
func (c *chunks) room() {
	if c.last != nil && c.fill < chunkSize {
		return
	}
	if c.last != nil {
		c.full = append(c.full, c.last)
	}
	c.last, c.fill = c.pool.Get().(*chunk), 0
}

// bytes returns a copy of the body whose capacity is its length.
func (c *chunks) bytes() []byte {
	b := make([]byte, 0, c.n)
	for _, ch := range c.full {
		b = append(b, ch[:]...)
	}
	if c.last != nil {
		b = append(b, c.last[:c.fill]...)
	}
	return b
}

// release returns the chunks to the pool and empties c.
func (c *chunks) release() {
	for _, ch := range c.full {
		c.pool.Put(ch)
	}
	if c.last != nil {
		c.pool.Put(c.last)
	}
	*c = chunks{pool: c.pool}
}
