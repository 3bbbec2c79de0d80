package store

import "runtime/debug"

// The disk tier's index scan runs in its own goroutine, where a panic
// would end the process: nothing above it can recover it. A panic there
// is recovered, logged with its stack through Logf and reported to
// DiskOptions.OnPanic (the process counts it), and the scan goes on with
// the next file; a file whose check panicked is left alone, not indexed.

// recovered reports a recovered panic value v from what.
func (d *Disk) recovered(what string, v any) {
	d.logf("cache_dir %s: panic in %s: %v\n%s", d.opts.Dir, what, v, debug.Stack())
	if d.opts.OnPanic != nil {
		d.opts.OnPanic(v)
	}
}

// recoverPanic, deferred at the top of a goroutine, recovers a panic in
// it and reports it.
func (d *Disk) recoverPanic(what string) {
	if v := recover(); v != nil {
		d.recovered(what, v)
	}
}

// indexFileSafe is indexFile that survives a panic: the file is then not
// indexed (and not removed).
func (d *Disk) indexFileSafe(path string, h uint64) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			d.recovered("index scan of "+path, v)
			ok = false
		}
	}()
	return d.indexFile(path, h)
}
