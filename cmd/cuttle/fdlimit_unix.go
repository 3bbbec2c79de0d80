//go:build unix

package main

import "syscall"

// raiseFDLimit applies squid.conf max_filedescriptors: the soft limit of
// open files is set to want (raising the hard limit too when the process
// may), or to the hard limit when want is above it and cannot be had.
// With want 0 (the directive absent) the limit stays what it is (Go has
// already raised the soft limit to the hard one at start). It returns the
// limit in force and, when want could not be had, why.
func raiseFDLimit(want int) (int, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if want <= 0 || uint64(want) == rl.Cur {
		return int(rl.Cur), nil
	}
	next := rl
	next.Cur = uint64(want)
	if next.Cur > next.Max {
		next.Max = next.Cur
	}
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next)
	if err != nil && next.Max != rl.Max {
		// Not allowed to raise the hard limit: go as far as it allows.
		next.Cur, next.Max = rl.Max, rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next) != nil {
			next = rl
		}
	}
	return int(next.Cur), err
}
