package httpcache

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestFieldTable(t *testing.T) {
	tab := &fieldTable{prefix: "c; hit; ttl="}
	for _, n := range []int64{0, 1, 59, 3599, 3600, 86400, -1, -3600} {
		got := tab.get(n)
		want := "c; hit; ttl=" + itoa(n)
		if len(got) != 1 || got[0] != want {
			t.Errorf("get(%d) = %q, want [%q]", n, got, want)
		}
		if cap(got) != 1 {
			t.Errorf("get(%d) has capacity %d: an append by a caller would write into the table", n, cap(got))
		}
	}
	// A filled slot is shared: the second call allocates nothing.
	tab.get(42)
	if a := testing.AllocsPerRun(100, func() { tab.get(42) }); a != 0 {
		t.Errorf("get of a filled slot: %v allocations", a)
	}
	if got := ageField(90 * time.Second); got[0] != "90" {
		t.Errorf("ageField(90s) = %q", got)
	}
	if got := ageField(2 * time.Hour); got[0] != "7200" {
		t.Errorf("ageField(2h) = %q", got)
	}
}

// TestFieldTableConcurrent fills the same slots from many goroutines at
// once (run with -race): every reader sees the right value.
func TestFieldTableConcurrent(t *testing.T) {
	tab := &fieldTable{prefix: "ttl="}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for n := int64(0); n < 200; n++ {
				if v := tab.get(n); v[0] != "ttl="+itoa(n) {
					t.Errorf("get(%d) = %q", n, v)
				}
			}
		})
	}
	wg.Wait()
}

func itoa(n int64) string { return fmt.Sprint(n) }
