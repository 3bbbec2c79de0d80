//go:build race

package httpcache

// rvRace reports whether the race detector is on: the Vary explosion test
// then sends fewer requests.
const rvRace = true
