package store_test

import (
	"testing"

	"cuttle/store"
	"cuttle/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	const (
		memLimit  = 256 << 10
		diskLimit = 1 << 20
	)
	tests := []struct {
		name     string
		opts     storetest.Options
		newStore func(t *testing.T) store.Store
	}{
		{
			name: "Memory",
			opts: storetest.Options{MaxObjectSize: memLimit, KeepsDecoded: true},
			newStore: func(t *testing.T) store.Store {
				return newMemory(t, store.MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: memLimit})
			},
		},
		{
			name: "Tiered memory only",
			opts: storetest.Options{MaxObjectSize: memLimit, KeepsDecoded: true},
			newStore: func(t *testing.T) store.Store {
				return store.NewTiered(newMemory(t, store.MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: memLimit}), nil)
			},
		},
		{
			// The memory limit is below some of the suite's bodies, so that
			// both Put paths (memory and disk, disk only) run.
			name: "Tiered memory and disk",
			opts: storetest.Options{MaxObjectSize: diskLimit},
			newStore: func(t *testing.T) store.Store {
				mem := newMemory(t, store.MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: 2 << 10})
				return store.NewTiered(mem, newFakeDisk(diskLimit))
			},
		},
		{
			name: "Disk",
			opts: storetest.Options{MaxObjectSize: diskLimit},
			newStore: func(t *testing.T) store.Store {
				return newDisk(t, store.DiskOptions{Dir: t.TempDir(), MaxBytes: 64 << 20, MaxObjectSize: diskLimit})
			},
		},
		{
			name: "Tiered memory and real disk",
			opts: storetest.Options{MaxObjectSize: diskLimit},
			newStore: func(t *testing.T) store.Store {
				mem := newMemory(t, store.MemoryOptions{MaxBytes: 16 << 20, MaxObjectSize: 2 << 10})
				return store.NewTiered(mem, newDisk(t, store.DiskOptions{Dir: t.TempDir(), MaxBytes: 64 << 20, MaxObjectSize: diskLimit}))
			},
		},
		{
			name: "fake disk",
			opts: storetest.Options{MaxObjectSize: diskLimit},
			newStore: func(t *testing.T) store.Store {
				return newFakeDisk(diskLimit)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.RunWithOptions(t, tt.opts, tt.newStore)
		})
	}
}

// TestRun checks that Run, without options, passes on a memory tier whose
// limit the suite does not know.
func TestRun(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return newMemory(t, store.MemoryOptions{MaxBytes: 16 << 20})
	})
}

// newMemory returns a Memory that is closed at the end of the test.
func newMemory(t testing.TB, opts store.MemoryOptions) *store.Memory {
	t.Helper()
	m, err := store.NewMemory(opts)
	if err != nil {
		t.Fatalf("NewMemory(%+v) = %v, want nil", opts, err)
	}
	t.Cleanup(m.Close)
	return m
}

// newDisk returns a Disk that is closed at the end of the test, with its
// index ready.
func newDisk(t testing.TB, opts store.DiskOptions) *store.Disk {
	t.Helper()
	d, err := store.OpenDisk(opts)
	if err != nil {
		t.Fatalf("OpenDisk(%+v) = %v, want nil", opts, err)
	}
	t.Cleanup(func() { d.Close() })
	<-d.Ready()
	return d
}
