package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// emptyReader returns (0, nil) forever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 10000
	body := bytes.Repeat([]byte("0123456789"), 700) // 7000 bytes
	errBoom := errors.New("boom")
	tests := []struct {
		name     string
		r        func() io.Reader
		size     int64
		want     []byte // the body, when err is nil
		wantErr  error  // matched with errors.Is; nil with want nil means any error
		maxRead  int64  // when >= 0, at most this many bytes may be read
		canceled bool   // ctx is cancelled before the call
	}{
		{name: "known size", r: func() io.Reader { return bytes.NewReader(body) }, size: 7000, want: body, maxRead: -1},
		{name: "known size, one byte reads", r: func() io.Reader { return iotest.OneByteReader(bytes.NewReader(body)) }, size: 7000, want: body, maxRead: -1},
		{name: "known size, EOF with data", r: func() io.Reader { return iotest.DataErrReader(bytes.NewReader(body)) }, size: 7000, want: body, maxRead: -1},
		{name: "known size, half reads", r: func() io.Reader { return iotest.HalfReader(bytes.NewReader(body)) }, size: 7000, want: body, maxRead: -1},
		{name: "unknown size", r: func() io.Reader { return bytes.NewReader(body) }, size: -1, want: body, maxRead: -1},
		{name: "unknown size, one byte reads", r: func() io.Reader { return iotest.OneByteReader(bytes.NewReader(body)) }, size: -1, want: body, maxRead: -1},
		{name: "unknown size, EOF with data", r: func() io.Reader { return iotest.DataErrReader(bytes.NewReader(body)) }, size: -1, want: body, maxRead: -1},
		{name: "empty known", r: func() io.Reader { return strings.NewReader("") }, size: 0, want: []byte{}, maxRead: -1},
		{name: "empty unknown", r: func() io.Reader { return strings.NewReader("") }, size: -1, want: []byte{}, maxRead: -1},
		{name: "at limit known", r: func() io.Reader { return bytes.NewReader(make([]byte, limit)) }, size: limit, want: make([]byte, limit), maxRead: -1},
		{name: "at limit unknown", r: func() io.Reader { return bytes.NewReader(make([]byte, limit)) }, size: -1, want: make([]byte, limit), maxRead: -1},
		{name: "over limit known reads nothing", r: func() io.Reader { return bytes.NewReader(make([]byte, limit+1)) }, size: limit + 1, wantErr: ErrTooLarge, maxRead: 0},
		{name: "over limit unknown reads limit+1", r: func() io.Reader { return bytes.NewReader(make([]byte, 5*limit)) }, size: -1, wantErr: ErrTooLarge, maxRead: limit + 1},
		{name: "shorter than size", r: func() io.Reader { return bytes.NewReader(body) }, size: 7001, wantErr: io.ErrUnexpectedEOF, maxRead: -1},
		{name: "longer than size", r: func() io.Reader { return bytes.NewReader(body) }, size: 6999, maxRead: 7000},
		{name: "longer than size 0", r: func() io.Reader { return strings.NewReader("x") }, size: 0, maxRead: 1},
		{name: "read error known", r: func() io.Reader { return io.MultiReader(bytes.NewReader(body[:10]), iotest.ErrReader(errBoom)) }, size: 7000, wantErr: errBoom, maxRead: -1},
		{name: "read error unknown", r: func() io.Reader { return io.MultiReader(bytes.NewReader(body[:10]), iotest.ErrReader(errBoom)) }, size: -1, wantErr: errBoom, maxRead: -1},
		{name: "read error in probe", r: func() io.Reader { return io.MultiReader(bytes.NewReader(body), iotest.ErrReader(errBoom)) }, size: 7000, wantErr: errBoom, maxRead: -1},
		{name: "timeout", r: func() io.Reader { return iotest.TimeoutReader(bytes.NewReader(body)) }, size: -1, wantErr: iotest.ErrTimeout, maxRead: -1},
		{name: "no progress known", r: func() io.Reader { return emptyReader{} }, size: 10, wantErr: io.ErrNoProgress, maxRead: -1},
		{name: "no progress unknown", r: func() io.Reader { return emptyReader{} }, size: -1, wantErr: io.ErrNoProgress, maxRead: -1},
		{name: "no progress in probe", r: func() io.Reader { return io.MultiReader(bytes.NewReader(body), emptyReader{}) }, size: 7000, wantErr: io.ErrNoProgress, maxRead: -1},
		{name: "cancelled", r: func() io.Reader { return bytes.NewReader(body) }, size: 7000, wantErr: context.Canceled, maxRead: 0, canceled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.canceled {
				cancel()
			}
			cr := &countingReader{r: tt.r()}
			got, err := readBody(ctx, cr, tt.size, limit, newScratch())
			switch {
			case tt.want != nil:
				if err != nil || !bytes.Equal(got, tt.want) {
					t.Fatalf("readBody(%s, size %d) = %d bytes, %v, want %d bytes, nil", tt.name, tt.size, len(got), err, len(tt.want))
				}
				if cap(got) != len(got) {
					t.Errorf("readBody(%s, size %d) cap = %d, want len %d", tt.name, tt.size, cap(got), len(got))
				}
			case err == nil:
				t.Errorf("readBody(%s, size %d) = %d bytes, nil, want an error", tt.name, tt.size, len(got))
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("readBody(%s, size %d) = %v, want %v", tt.name, tt.size, err, tt.wantErr)
			case got != nil:
				t.Errorf("readBody(%s, size %d) = %d bytes with error %v, want nil", tt.name, tt.size, len(got), err)
			}
			if tt.maxRead >= 0 && cr.n > tt.maxRead {
				t.Errorf("readBody(%s, size %d) read %d bytes, want at most %d", tt.name, tt.size, cr.n, tt.maxRead)
			}
		})
	}
}

func TestChunks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		writes []int // lengths of successive writes
	}{
		{"nothing", nil},
		{"empty write", []int{0}},
		{"small", []int{10, 20}},
		{"one chunk", []int{chunkSize}},
		{"across chunks", []int{chunkSize - 1, 2, chunkSize}},
		{"large write", []int{3*chunkSize + 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want []byte
			for i, n := range tt.writes {
				want = append(want, bytes.Repeat([]byte{byte('a' + i)}, n)...)
			}
			for _, viaRead := range []bool{false, true} {
				c := chunks{pool: newScratch()}
				if viaRead {
					r := bytes.NewReader(want)
					for {
						if _, err := c.readFrom(r, 1<<30); err == io.EOF {
							break
						}
					}
				} else {
					for i, n := range tt.writes {
						c.write(bytes.Repeat([]byte{byte('a' + i)}, n))
					}
				}
				got := c.bytes()
				if !bytes.Equal(got, want) || cap(got) != len(got) || c.n != int64(len(want)) {
					t.Errorf("chunks (read %v) after writes %v = %d bytes (cap %d, n %d), want %d bytes", viaRead, tt.writes, len(got), cap(got), c.n, len(want))
				}
				c.release()
				if c.n != 0 || c.last != nil || len(c.full) != 0 {
					t.Errorf("chunks after release = n %d, %d chunks, want empty", c.n, len(c.full))
				}
			}
		})
	}
}
