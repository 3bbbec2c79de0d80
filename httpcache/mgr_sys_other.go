//go:build !linux

package httpcache

import "time"

// procInfo is what the cache manager's info and counters pages report of
// the process; outside Linux it is not read and stays 0.
type procInfo struct {
	cpu         time.Duration
	maxRSSKB    int64
	majorFaults int64
	maxFD       int
	openFD      int
	largestFD   int
}

func readProcInfo() procInfo { return procInfo{} }

// fsInfo is the space and inodes of a file system.
type fsInfo struct {
	totalKB, freeKB    uint64
	inodes, freeInodes uint64
}

// fsUsage is not implemented outside Linux: the lines are left out.
func fsUsage(string) (fsInfo, bool) { return fsInfo{}, false }
