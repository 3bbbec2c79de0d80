package accesslog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

const (
	// flushThreshold is how much buffered output makes Write flush
	// synchronously (Squid's access_log buffer-size= defaults to 64 KB).
	flushThreshold = 64 << 10

	// flushInterval is the longest a line waits in the buffer.
	flushInterval = time.Second

	// defaultMaxPending bounds the memory held while the file cannot be
	// written (disk full, file system gone): beyond it new lines are
	// dropped and counted, as Squid does with access_log on-error=drop.
	defaultMaxPending = 16 << 20
)

var _ io.Writer = (*Writer)(nil)

// ErrClosed is returned by the methods of a [Writer] that has been closed.
var ErrClosed = errors.New("accesslog: writer closed")

// A Writer appends complete lines to one log file: the place of a
// squid.conf access_log stdio:PATH line. Lines are buffered and written in
// the order they were given, never interleaved or split; the buffer is
// flushed at least once a second by a background goroutine, and at once
// when more than 64 KiB are pending. All methods are safe for concurrent
// use.
type Writer struct {
	path string
	std  bool // standard output or error: never closed or reopened

	stop chan struct{} // closed by Close to end the flush goroutine
	done chan struct{} // closed when the flush goroutine has returned

	// ioMu serializes writes to the file, so that buffers reach it in
	// order, and protects f and spare.
	ioMu  sync.Mutex
	f     *os.File
	sink  io.WriteCloser // instead of f: syslog (see OpenSyslog)
	spare []byte         // second buffer, swapped with buf at each flush

	maxPending int // defaultMaxPending; smaller in tests

	mu      sync.Mutex // protects buf, closed, failing and dropped
	buf     []byte
	closed  bool
	failing bool  // the last write to the file failed
	dropped int64 // lines dropped since the last Flush
}

// OpenFile opens path for appending, creating it with mode 0640 if needed,
// and starts its background flush. The parent directory must exist. The
// names "-" and "/dev/stdout" mean standard output and "/dev/stderr"
// standard error; those are written to but never closed.
func OpenFile(path string) (*Writer, error) {
	w := &Writer{
		path:       path,
		maxPending: defaultMaxPending,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		buf:        make([]byte, 0, flushThreshold+4096),
		spare:      make([]byte, 0, flushThreshold+4096),
	}
	switch path {
	case "-", "/dev/stdout":
		w.f, w.std = os.Stdout, true
	case "/dev/stderr":
		w.f, w.std = os.Stderr, true
	default:
		f, err := openAppend(path)
		if err != nil {
			return nil, err
		}
		w.f = f
	}
	go w.flushLoop()
	return w, nil
}

// openAppend opens path as a log file: write-only, appending, created
// 0640.
func openAppend(path string) (*os.File, error) {
	if path == "" {
		return nil, errors.New("accesslog: open: empty path")
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("accesslog: open %s: directory %s does not exist: %w", path, dir, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("accesslog: open %s: %w", path, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("accesslog: open %s: %s is not a directory", path, dir)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("accesslog: open %s: %w", path, err)
	}
	return f, nil
}

// Path returns the path the Writer was opened with.
func (w *Writer) Path() string { return w.path }

// Write buffers p, which should be one or more complete lines, and returns
// len(p). The bytes of one call are written contiguously. When more than
// 64 KiB are pending, Write writes them out before returning and reports a
// failure of that write; the lines stay buffered and are retried by the
// next flush. While the file keeps failing, Write only buffers and the
// background flush retries once a second. Write fails with [ErrClosed]
// after Close, and drops p with an error when 16 MiB are already pending.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return 0, ErrClosed
	}
	if len(w.buf)+len(p) > w.maxPending {
		w.dropped++
		w.mu.Unlock()
		return 0, fmt.Errorf("accesslog: write %s: %d bytes pending, line dropped", w.path, w.maxPending)
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= flushThreshold && !w.failing
	w.mu.Unlock()
	if full {
		w.ioMu.Lock()
		defer w.ioMu.Unlock()
		w.mu.Lock()
		full = len(w.buf) >= flushThreshold // another writer may have flushed
		w.mu.Unlock()
		if full {
			if err := w.flushLocked(); err != nil {
				return len(p), err
			}
		}
	}
	return len(p), nil
}

// flushLocked writes the buffered lines to the file. The caller holds
// ioMu. Lines that could not be written are put back in front of the
// buffer.
func (w *Writer) flushLocked() error {
	w.mu.Lock()
	data := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	if len(data) == 0 {
		w.spare = data
		return nil
	}
	var err error
	n := 0
	switch {
	case w.sink != nil:
		n, err = w.sink.Write(data)
	case w.f == nil:
		err = ErrClosed
	default:
		n, err = w.f.Write(data)
	}
	if err == nil {
		w.spare = data[:0]
		if cap(data) > 16*flushThreshold { // grown while the file was failing
			w.spare = make([]byte, 0, flushThreshold+4096)
		}
		w.mu.Lock()
		w.failing = false
		w.mu.Unlock()
		return nil
	}
	// Keep what was not written, ahead of what arrived meanwhile.
	w.mu.Lock()
	newer := w.buf
	w.buf = append(append(data[:0], data[n:]...), newer...)
	w.spare = newer[:0]
	w.failing = true
	w.mu.Unlock()
	return fmt.Errorf("accesslog: write %s: %w", w.path, err)
}

// flushLoop flushes the buffer every flushInterval until Close.
func (w *Writer) flushLoop() {
	defer close(w.done)
	tick := time.NewTicker(flushInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
			w.mu.Lock()
			pending := len(w.buf) > 0
			w.mu.Unlock()
			if pending {
				w.ioMu.Lock()
				w.flushLocked() // on failure the lines stay buffered for the next try
				w.ioMu.Unlock()
			}
		}
	}
}

// Flush writes the buffered lines to the file. It reports a write failure,
// and lines dropped since the previous Flush because too much output was
// pending.
func (w *Writer) Flush() error {
	w.ioMu.Lock()
	defer w.ioMu.Unlock()
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return errors.Join(w.flushLocked(), w.takeDropped())
}

// takeDropped returns an error counting the lines dropped since the last
// call, or nil.
func (w *Writer) takeDropped() error {
	w.mu.Lock()
	n := w.dropped
	w.dropped = 0
	w.mu.Unlock()
	if n == 0 {
		return nil
	}
	return fmt.Errorf("accesslog: write %s: %d lines dropped while the file could not be written", w.path, n)
}

// Close flushes the buffered lines, stops the background flush and closes
// the file (standard output and error stay open). Writes after Close fail
// with [ErrClosed]; closing again does nothing and returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done

	w.ioMu.Lock()
	defer w.ioMu.Unlock()
	err := errors.Join(w.flushLocked(), w.takeDropped())
	if w.sink != nil {
		err = errors.Join(err, w.sink.Close())
		w.sink = nil
	}
	if !w.std && w.f != nil {
		if cerr := w.f.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("accesslog: close %s: %w", w.path, cerr))
		}
	}
	w.f = nil
	return err
}

// Reopen flushes the buffered lines, closes the file and opens the same
// path again, so that after an external rename (logrotate, squid -k rotate
// with logfile_rotate 0) new lines go to a new file. If the path cannot be
// opened the Writer keeps writing to the old file and Reopen returns the
// error. For standard output and error Reopen only flushes.
func (w *Writer) Reopen() error {
	w.ioMu.Lock()
	defer w.ioMu.Unlock()
	return w.reopenLocked(nil)
}

// Rotate implements squid -k rotate for a stdio log with logfile_rotate n:
// it renames PATH.(i-1) to PATH.i for i from n-1 down to 1, flushes, renames
// PATH to PATH.0 and reopens PATH. With n <= 0 it only reopens, leaving
// rotation to an external tool. Missing files are skipped. For standard
// output and error Rotate only flushes.
func (w *Writer) Rotate(n int) error {
	w.ioMu.Lock()
	defer w.ioMu.Unlock()
	if w.std || n <= 0 {
		return w.reopenLocked(nil)
	}
	var errs []error
	for i := n - 1; i >= 1; i-- {
		from, to := w.path+"."+strconv.Itoa(i-1), w.path+"."+strconv.Itoa(i)
		if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("accesslog: rotate %s: %w", w.path, err))
		}
	}
	return errors.Join(append(errs, w.reopenLocked(func() error {
		err := os.Rename(w.path, w.path+".0")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("accesslog: rotate %s: %w", w.path, err)
		}
		return nil
	}))...)
}

// reopenLocked flushes, runs between (if not nil) and reopens the file.
// The caller holds ioMu.
func (w *Writer) reopenLocked(between func() error) error {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return ErrClosed
	}
	err := w.flushLocked()
	if w.std {
		return err
	}
	if between != nil {
		if berr := between(); berr != nil {
			err = errors.Join(err, berr)
		}
	}
	f, oerr := openAppend(w.path)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	old := w.f
	w.f = f
	if old != nil {
		if cerr := old.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("accesslog: close %s: %w", w.path, cerr))
		}
	}
	return err
}
