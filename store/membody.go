package store

import "bytes"

// memObject is what a memory hit hands out: the Object and the reader of
// its Body in one allocation. obj.Body points at body.
type memObject struct {
	obj  Object
	body memBody
}

// memBody reads a stored body. The bytes are shared with the cache entry
// and with every other reader of it; nothing writes to them after Put.
//
// Through the embedded [bytes.Reader] it is an [io.WriterTo] (so [io.Copy]
// hands the whole body to the destination in one Write), an [io.Seeker]
// and an [io.ReaderAt].
type memBody struct {
	bytes.Reader
}

// Close does nothing: the stored bytes belong to the cache, not the reader.
// It always returns nil.
func (*memBody) Close() error { return nil }

// newMemObject returns the Object for a hit on e.
func newMemObject(e *entry) *Object {
	m := &memObject{obj: Object{Key: e.key, Meta: e.meta}}
	m.body.Reset(e.body)
	m.obj.Body = &m.body
	return &m.obj
}
