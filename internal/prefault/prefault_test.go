//go:build linux

package prefault

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// textMapping returns the address range of the test binary's code mapping
// and its resident kilobytes, from /proc/self/smaps.
func textMapping(t *testing.T) (start, end uintptr, rssKB int) {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 6 && strings.Contains(fields[0], "-") {
			in = fields[5] == exe && fields[1] == "r-xp"
			if in {
				lo, hi, _ := strings.Cut(fields[0], "-")
				s, _ := strconv.ParseUint(lo, 16, 64)
				e, _ := strconv.ParseUint(hi, 16, 64)
				start, end = uintptr(s), uintptr(e)
			}
			continue
		}
		if in && fields[0] == "Rss:" {
			rssKB, _ = strconv.Atoi(fields[1])
			return start, end, rssKB
		}
	}
	t.Fatalf("no r-xp mapping of %s in /proc/self/smaps", exe)
	return 0, 0, 0
}

// TestPopulate unmaps the test binary's code pages (they fault back in as
// needed), runs populate, and checks that the whole code mapping is
// resident again.
func TestPopulate(t *testing.T) {
	start, end, _ := textMapping(t)
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_DONTNEED); errno != 0 {
		t.Fatalf("madvise(MADV_DONTNEED): %v", errno)
	}
	_, _, before := textMapping(t)
	populate()
	_, _, after := textMapping(t)
	sizeKB := int(end-start) >> 10
	t.Logf("code mapping %d KB: %d KB resident after MADV_DONTNEED, %d KB after populate", sizeKB, before, after)
	if after < sizeKB*95/100 {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, 4096, madvPopulateRead); errno == syscall.EINVAL {
			t.Fatalf("this kernel has no MADV_POPULATE_READ (Linux 5.14); populate cannot help here")
		}
		t.Errorf("%d of %d KB of code resident after populate, want all of it", after, sizeKB)
	}
}

func TestReadOnlyRange(t *testing.T) {
	exe := []byte("/usr/bin/cuttle")
	for _, tt := range []struct {
		line       string
		start, end uintptr
		ok         bool
	}{
		{"00400000-00866000 r-xp 00000000 fe:00 12 /usr/bin/cuttle", 0x400000, 0x866000, true},
		{"00866000-00cf5000 r--p 00466000 fe:00 12 /usr/bin/cuttle", 0x866000, 0xcf5000, true},
		{"b6f21000-b6f23000 r--p 00000000 fe:00 247026 /usr/bin/cuttle", 0xb6f21000, 0xb6f23000, true},
		{"00cf5000-00d57000 rw-p 008f5000 fe:00 12 /usr/bin/cuttle", 0, 0, false},
		{"00400000-00866000 r-xp 00000000 fe:00 12 /usr/bin/other", 0, 0, false},
		{"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ", 0, 0, false},
		{"zz-00866000 r-xp 00000000 fe:00 12 /usr/bin/cuttle", 0, 0, false},
		{"00400000- r-xp 00000000 fe:00 12 /usr/bin/cuttle", 0, 0, false},
		{"00866000-00400000 r-xp 00000000 fe:00 12 /usr/bin/cuttle", 0, 0, false},
		{"00400000-00866000", 0, 0, false},
		{"/usr/bin/cuttle", 0, 0, false},
		{"", 0, 0, false},
	} {
		start, end, ok := readOnlyRange([]byte(tt.line), exe)
		if ok != tt.ok || start != tt.start || end != tt.end {
			t.Errorf("readOnlyRange(%q) = %#x, %#x, %v; want %#x, %#x, %v", tt.line, start, end, ok, tt.start, tt.end, tt.ok)
		}
	}
}
