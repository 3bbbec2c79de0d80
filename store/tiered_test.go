package store_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"cuttle/store"
)

const testMemLimit = 1 << 10

// newTestTiered returns a Tiered whose memory tier keeps bodies of up to
// testMemLimit bytes, over a fake disk tier unless noDisk.
func newTestTiered(t *testing.T, noDisk bool) (*store.Tiered, *store.Memory, *fakeDisk) {
	t.Helper()
	mem := newMemory(t, store.MemoryOptions{MaxBytes: 1 << 20, MaxObjectSize: testMemLimit})
	if noDisk {
		return store.NewTiered(mem, nil), mem, nil
	}
	disk := newFakeDisk(1 << 20)
	return store.NewTiered(mem, disk), mem, disk
}

// putTiered stores n bytes of b under key; size is Meta.Size.
func putTiered(t *testing.T, s *store.Tiered, key string, b byte, n int, size int64) error {
	t.Helper()
	err := s.Put(t.Context(), key, store.Meta{Size: size}, bytes.NewReader(bytes.Repeat([]byte{b}, n)))
	s.Wait()
	return err
}

// has reports whether st holds an object under key.
func has(t *testing.T, st store.Store, key string) bool {
	t.Helper()
	obj, err := st.Get(t.Context(), key)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%q) = %v, want nil or ErrNotFound", key, err)
		}
		return false
	}
	obj.Body.Close()
	return true
}

func TestTieredGetTier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		noDisk   bool
		n        int
		size     int64
		wantPut  error
		wantTier store.Tier
		wantErr  error
	}{
		{"small", false, 100, 100, nil, store.TierMemory, nil},
		{"at memory limit", false, testMemLimit, -1, nil, store.TierMemory, nil},
		{"large", false, 5000, 5000, nil, store.TierDisk, nil},
		{"large unknown size", false, 5000, -1, nil, store.TierDisk, nil},
		{"memory only small", true, 100, 100, nil, store.TierMemory, nil},
		{"memory only large", true, 5000, 5000, store.ErrTooLarge, store.TierNone, store.ErrNotFound},
		{"memory only large unknown size", true, 5000, -1, store.ErrTooLarge, store.TierNone, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, _ := newTestTiered(t, tt.noDisk)
			const key = "http://example.com/"
			if err := putTiered(t, s, key, 'x', tt.n, tt.size); !errors.Is(err, tt.wantPut) {
				t.Fatalf("Put(%q, %d bytes) = %v, want %v", key, tt.n, err, tt.wantPut)
			}
			obj, tier, err := s.GetTier(t.Context(), key)
			if tier != tt.wantTier || !errors.Is(err, tt.wantErr) {
				t.Fatalf("GetTier(%q) = %v, %v, want %v, %v", key, tier, err, tt.wantTier, tt.wantErr)
			}
			if err == nil {
				if got, _ := io.ReadAll(obj.Body); len(got) != tt.n {
					t.Errorf("GetTier(%q) body = %d bytes, want %d", key, len(got), tt.n)
				}
				obj.Body.Close()
			}
			const missing = "http://example.com/missing"
			if obj, tier, err := s.GetTier(t.Context(), missing); obj != nil || tier != store.TierNone || !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetTier(%q) = %v, %v, %v, want nil, none, ErrNotFound", missing, obj, tier, err)
			}
		})
	}
}

// TestTieredPlacement checks which tiers hold an object after a sequence of
// Puts of the same key.
func TestTieredPlacement(t *testing.T) {
	t.Parallel()
	errDisk := errors.New("disk full")
	type put struct {
		b       byte
		n       int
		size    int64
		diskErr error
	}
	tests := []struct {
		name     string
		puts     []put
		wantMem  bool
		wantDisk bool
		wantByte byte // the body's bytes, when an object is kept
	}{
		{"small in both", []put{{'a', 10, 10, nil}}, true, true, 'a'},
		{"large on disk only", []put{{'a', 5000, 5000, nil}}, false, true, 'a'},
		{"large unknown size on disk only", []put{{'a', 5000, -1, nil}}, false, true, 'a'},
		{"small then large", []put{{'a', 10, 10, nil}, {'b', 5000, 5000, nil}}, false, true, 'b'},
		{"small then large unknown size", []put{{'a', 10, 10, nil}, {'b', 5000, -1, nil}}, false, true, 'b'},
		{"large then small", []put{{'a', 5000, 5000, nil}, {'b', 10, 10, nil}}, true, true, 'b'},
		{"disk error", []put{{'a', 10, 10, errDisk}}, false, false, 0},
		{"small then disk error", []put{{'a', 10, 10, nil}, {'b', 10, 10, errDisk}}, false, false, 0},
		{"small then too large", []put{{'a', 10, 10, nil}, {'b', 2 << 20, -1, nil}}, false, false, 0},
		{"small then short body", []put{{'a', 10, 10, nil}, {'b', 10, 11, nil}}, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, mem, disk := newTestTiered(t, false)
			const key = "http://example.com/"
			for i, p := range tt.puts {
				disk.setFailPut(p.diskErr)
				err := putTiered(t, s, key, p.b, p.n, p.size)
				if last := i == len(tt.puts)-1; (err == nil) != (tt.wantDisk || !last) {
					t.Fatalf("Put #%d (%d bytes, Size %d) = %v, want error: %v", i, p.n, p.size, err, !tt.wantDisk && last)
				}
				if p.diskErr != nil && !errors.Is(err, p.diskErr) {
					t.Errorf("Put #%d = %v, want %v", i, err, p.diskErr)
				}
			}
			if got := has(t, mem, key); got != tt.wantMem {
				t.Errorf("memory holds %q = %v, want %v", key, got, tt.wantMem)
			}
			if got := has(t, disk, key); got != tt.wantDisk {
				t.Errorf("disk holds %q = %v, want %v", key, got, tt.wantDisk)
			}
			obj, err := s.Get(t.Context(), key)
			if !tt.wantDisk {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get(%q) = %v, want nil", key, err)
			}
			defer obj.Body.Close()
			if got, _ := io.ReadAll(obj.Body); len(got) == 0 || got[0] != tt.wantByte {
				t.Errorf("Get(%q) body = %.10q…, want %q…", key, got, tt.wantByte)
			}
		})
	}
}

// TestTieredNoPromotion checks the documented policy: a disk hit is not
// copied into memory.
func TestTieredNoPromotion(t *testing.T) {
	t.Parallel()
	s, mem, disk := newTestTiered(t, false)
	const key = "http://example.com/small"
	if err := putTiered(t, s, key, 'a', 10, 10); err != nil {
		t.Fatalf("Put(%q) = %v, want nil", key, err)
	}
	if err := mem.Delete(t.Context(), key); err != nil { // as if evicted
		t.Fatalf("Memory.Delete(%q) = %v, want nil", key, err)
	}
	for i := range 3 {
		obj, tier, err := s.GetTier(t.Context(), key)
		if err != nil || tier != store.TierDisk {
			t.Fatalf("GetTier(%q) #%d = %v, %v, want disk, nil", key, i, tier, err)
		}
		io.Copy(io.Discard, obj.Body)
		obj.Body.Close()
		s.Wait()
	}
	if has(t, mem, key) {
		t.Errorf("memory holds %q after disk hits = true, want false", key)
	}
	if disk.puts != 1 {
		t.Errorf("disk Puts = %d, want 1", disk.puts)
	}
}

func TestTieredDelete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		noDisk bool
		n      int
	}{
		{"both tiers", false, 10},
		{"disk only", false, 5000},
		{"memory only", true, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, mem, disk := newTestTiered(t, tt.noDisk)
			const key = "http://example.com/"
			if err := putTiered(t, s, key, 'a', tt.n, -1); err != nil {
				t.Fatalf("Put(%q) = %v, want nil", key, err)
			}
			if err := s.Delete(t.Context(), key); err != nil {
				t.Fatalf("Delete(%q) = %v, want nil", key, err)
			}
			s.Wait()
			if has(t, s, key) || has(t, mem, key) || disk != nil && has(t, disk, key) {
				t.Errorf("an object under %q after Delete, want none", key)
			}
		})
	}
}

func TestTierString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tier store.Tier
		want string
	}{
		{store.TierNone, "none"},
		{store.TierMemory, "memory"},
		{store.TierDisk, "disk"},
		{store.Tier(9), "none"},
	}
	for _, tt := range tests {
		if got := tt.tier.String(); got != tt.want {
			t.Errorf("Tier(%d).String() = %q, want %q", uint8(tt.tier), got, tt.want)
		}
	}
}
