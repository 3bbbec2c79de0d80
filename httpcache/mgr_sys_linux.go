//go:build linux

package httpcache

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

// procInfo is what the cache manager's info and counters pages report of
// the process (Squid's squid_getrusage and fd table).
type procInfo struct {
	cpu         time.Duration // user and system CPU time
	maxRSSKB    int64         // largest resident set size, in KiB
	majorFaults int64         // page faults that needed I/O
	maxFD       int           // the soft limit on open files
	openFD      int           // file descriptors open now
	largestFD   int           // the highest of them
}

// readProcInfo reads the process's resource usage and its open file
// descriptors (from /proc/self/fd); what cannot be read stays 0.
func readProcInfo() procInfo {
	var p procInfo
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		p.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		p.maxRSSKB = int64(ru.Maxrss) // KiB on Linux; int32 on 32-bit platforms
		p.majorFaults = int64(ru.Majflt)
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		p.maxFD = int(min(lim.Cur, 1<<31-1))
	}
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return p
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return p
	}
	self := int(dir.Fd()) // the descriptor reading the list is not counted
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd == self {
			continue
		}
		p.openFD++
		p.largestFD = max(p.largestFD, fd)
	}
	return p
}

// fsInfo is the space and inodes of a file system, as statfs reports them.
type fsInfo struct {
	totalKB, freeKB    uint64
	inodes, freeInodes uint64
}

// fsUsage returns the usage of the file system holding path (Squid's
// storeDirGetUFSStats); false when it cannot be read.
func fsUsage(path string) (fsInfo, bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) != nil {
		return fsInfo{}, false
	}
	bs := uint64(st.Frsize)
	if bs == 0 {
		bs = uint64(st.Bsize)
	}
	return fsInfo{
		totalKB: st.Blocks * bs / 1024, freeKB: st.Bfree * bs / 1024,
		inodes: st.Files, freeInodes: st.Ffree,
	}, true
}
