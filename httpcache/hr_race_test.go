//go:build race

package httpcache

// hrRace reports whether the race detector is on: the Vary explosion test
// then sends fewer requests.
const hrRace = true
