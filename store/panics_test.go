package store

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDiskScanPanicRecovered is H10 for the disk tier: a panic in the
// index scan goroutine is recovered, logged through Logf and reported to
// OnPanic, and the process (the test) goes on; Close does not hang.
func TestDiskScanPanicRecovered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := dtCrashOpen(t, DiskOptions{Dir: dir, MaxBytes: 16 << 20})
	body := []byte("stored before the crash")
	if err := d.Put(context.Background(), "k", Meta{Size: int64(len(body))}, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var logged []string // protected by mu
	panics := make(chan any, 1)
	logf := func(format string, args ...any) {
		if strings.HasPrefix(format, "cache_dir %s: rebuilding") {
			panic("injected scan panic")
		}
		mu.Lock()
		logged = append(logged, format)
		mu.Unlock()
	}
	d2 := dtOpenNoWait(t, DiskOptions{Dir: dir, MaxBytes: 16 << 20, Logf: logf, OnPanic: func(v any) { panics <- v }})
	select {
	case v := <-panics:
		if v != "injected scan panic" {
			t.Errorf("OnPanic(%v), want the injected value", v)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("OnPanic was not called")
	}
	mu.Lock()
	if len(logged) != 1 || !strings.Contains(logged[0], "panic in") {
		t.Errorf("Logf formats = %q, want one panic report", logged)
	}
	mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- d2.Close() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Close hangs after a scan panic")
	}
}
