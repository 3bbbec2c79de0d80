package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// The disk tier keeps one file per object. Format version 1, all integers
// little-endian:
//
//	offset  size  field
//	0       8     magic "cuttleob"
//	8       4     format version (1)
//	12      4     key length K
//	16      4     metadata length M
//	20      4     body block size B (64 KiB)
//	24      8     body length N
//	32      8     Meta.Stored, Unix nanoseconds (0: zero time)
//	40      8     Meta.Expires, Unix nanoseconds (0: zero time)
//	48      8     xxhash64 of bytes 0..47 and 56..63, the key and the metadata
//	56      8     reserved, 0
//	64      K     the full key
//	64+K    M     Meta.Header
//	64+K+M  N     the body
//	...     8×n   xxhash64 of each B-byte block of the body, n = ceil(N/B)
//	...     8     xxhash64 of those n sums
//	...     8     end magic "cuttle.\n"
//
// So every byte of the file is covered by a checksum: the header and key
// and metadata by the header sum, the body block by block, and the block
// sums by the trailer sum. The file's length must be exactly what the
// header announces, which catches truncation.
//
// How bodies are verified: Get reads and checks the header, the trailer
// and the first body block before it returns, so an object that fails in
// them is never served at all (a miss: Squid's TCP_SWAPFAIL_MISS). Every
// later block is checked before any of its bytes are handed out; a block
// that fails ends the body with ErrCorrupt, which makes the HTTP handler
// abort the response, so the client sees a truncated message and never a
// wrong byte. A body of up to one block (64 KiB) is therefore verified
// whole before its first byte is served.

const (
	diskMagic      = "cuttleob"
	diskEndMagic   = "cuttle.\n"
	diskVersion    = 1
	diskHeaderSize = 64
	diskBlockSize  = 64 << 10

	// maxDiskKey and maxDiskMeta bound what a file header may announce,
	// so that a damaged length never makes Get allocate much.
	maxDiskKey  = 64 << 10
	maxDiskMeta = 4 << 20
)

// ErrCorrupt is returned by the disk tier's Get, or by a body's Read, when
// a stored object fails its checksums or is not what its header says. The
// object has then been removed.
var ErrCorrupt = errors.New("store: stored object is corrupt")

// diskHeader is the fixed part of an object file.
type diskHeader struct {
	version         uint32
	keyLen, metaLen uint32
	blockSize       uint32
	bodyLen         uint64
	stored, expires int64
	sum             uint64
}

// encode writes the fixed header into b (diskHeaderSize bytes) with sum
// computed over it, the key and the metadata.
func (h *diskHeader) encode(b []byte, key string, meta []byte) {
	copy(b, diskMagic)
	binary.LittleEndian.PutUint32(b[8:], h.version)
	binary.LittleEndian.PutUint32(b[12:], h.keyLen)
	binary.LittleEndian.PutUint32(b[16:], h.metaLen)
	binary.LittleEndian.PutUint32(b[20:], h.blockSize)
	binary.LittleEndian.PutUint64(b[24:], h.bodyLen)
	binary.LittleEndian.PutUint64(b[32:], uint64(h.stored))
	binary.LittleEndian.PutUint64(b[40:], uint64(h.expires))
	binary.LittleEndian.PutUint64(b[56:], 0)
	h.sum = headerSum(b, key, meta)
	binary.LittleEndian.PutUint64(b[48:], h.sum)
}

// headerSum is the checksum of a fixed header (all of it but the sum
// itself), the key and the metadata.
func headerSum(fixed []byte, key string, meta []byte) uint64 {
	d := xxhash.New()
	d.Write(fixed[:48])
	d.Write(fixed[56:diskHeaderSize])
	d.WriteString(key)
	d.Write(meta)
	return d.Sum64()
}

// errOtherVersion marks a file written in another format version. Such a
// file is discarded like a damaged one (a store of another version is
// normally discarded whole at open, by its FORMAT file).
var errOtherVersion = errors.New("store: object file of another format version")

// decodeDiskHeader parses the fixed header. It checks the magic, the
// version and the bounds, not the sum (which needs the key and metadata).
func decodeDiskHeader(b []byte) (diskHeader, error) {
	var h diskHeader
	if len(b) < diskHeaderSize || string(b[:8]) != diskMagic {
		return h, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	h.version = binary.LittleEndian.Uint32(b[8:])
	if h.version != diskVersion {
		return h, errOtherVersion
	}
	h.keyLen = binary.LittleEndian.Uint32(b[12:])
	h.metaLen = binary.LittleEndian.Uint32(b[16:])
	h.blockSize = binary.LittleEndian.Uint32(b[20:])
	h.bodyLen = binary.LittleEndian.Uint64(b[24:])
	h.stored = int64(binary.LittleEndian.Uint64(b[32:]))
	h.expires = int64(binary.LittleEndian.Uint64(b[40:]))
	h.sum = binary.LittleEndian.Uint64(b[48:])
	if h.keyLen > maxDiskKey || h.metaLen > maxDiskMeta || h.blockSize != diskBlockSize || h.bodyLen > 1<<50 {
		return h, fmt.Errorf("%w: header out of bounds", ErrCorrupt)
	}
	return h, nil
}

// blocks is the number of body blocks.
func (h *diskHeader) blocks() int64 {
	return int64((h.bodyLen + uint64(h.blockSize) - 1) / uint64(h.blockSize))
}

// bodyOffset is where the body starts in the file.
func (h *diskHeader) bodyOffset() int64 {
	return diskHeaderSize + int64(h.keyLen) + int64(h.metaLen)
}

// trailerOffset is where the block sums start.
func (h *diskHeader) trailerOffset() int64 {
	return h.bodyOffset() + int64(h.bodyLen)
}

// fileSize is the exact length of a well-formed file with this header.
func (h *diskHeader) fileSize() int64 {
	return h.trailerOffset() + 8*h.blocks() + 16
}

// diskFileSize is the length of the file of an object.
func diskFileSize(keyLen, metaLen int, bodyLen int64) int64 {
	h := diskHeader{keyLen: uint32(keyLen), metaLen: uint32(metaLen), blockSize: diskBlockSize, bodyLen: uint64(bodyLen)}
	return h.fileSize()
}
