//go:build !unix

package main

// raiseFDLimit does nothing where there is no RLIMIT_NOFILE: no limit is
// known (0), so client connections are not capped.
func raiseFDLimit(want int) (int, error) { return 0, nil }
