package prefault

import "syscall"

// madvPopulateRead is MADV_POPULATE_READ (Linux 5.14): populate the page
// tables of a range, reading, without the faults.
const madvPopulateRead = 22

func init() {
	go populate()
}

// populate maps every read-only mapping of the executable (code and
// constant data; the writable ones are the process's own copies).
func populate() {
	var exe [4096]byte
	n, err := syscall.Readlink("/proc/self/exe", exe[:])
	if err != nil || n <= 0 || n == len(exe) {
		return
	}
	fd, err := syscall.Open("/proc/self/maps", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer syscall.Close(fd)
	var buf [16 << 10]byte
	have := 0
	for {
		m, err := syscall.Read(fd, buf[have:])
		if err != nil || m <= 0 {
			return
		}
		have += m
		// Whole lines only; a partial last line waits for the next read.
		start := 0
		for i := 0; i < have; i++ {
			if buf[i] == '\n' {
				populateLine(buf[start:i], exe[:n])
				start = i + 1
			}
		}
		if start == 0 && have == len(buf) {
			return // a line longer than the buffer: not a maps file we know
		}
		have = copy(buf[:], buf[start:have])
	}
}

// populateLine populates the range of one line of /proc/self/maps when
// [readOnlyRange] accepts it.
func populateLine(line, exe []byte) {
	if start, end, ok := readOnlyRange(line, exe); ok {
		syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvPopulateRead) //nolint:errcheck // best effort
	}
}

// readOnlyRange parses a line of /proc/self/maps,
// "start-end perms offset dev inode path", and returns its range when path
// is exe and perms are r-x or r--.
func readOnlyRange(line, exe []byte) (start, end uintptr, ok bool) {
	if len(line) < len(exe) || string(line[len(line)-len(exe):]) != string(exe) {
		return 0, 0, false
	}
	start, i := hexPrefix(line, 0)
	if i == 0 || i >= len(line) || line[i] != '-' {
		return 0, 0, false
	}
	end, j := hexPrefix(line, i+1)
	if j == i+1 || j+3 >= len(line) || line[j] != ' ' || line[j+1] != 'r' || line[j+2] == 'w' || end <= start {
		return 0, 0, false
	}
	return start, end, true
}

// hexPrefix reads the hexadecimal number at line[i:] and returns it with
// the index after it.
func hexPrefix(line []byte, i int) (uintptr, int) {
	var v uintptr
	for ; i < len(line); i++ {
		c := line[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uintptr(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uintptr(c-'a'+10)
		default:
			return v, i
		}
	}
	return v, i
}
