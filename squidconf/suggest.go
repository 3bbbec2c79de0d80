package squidconf

import (
	"fmt"
	"strings"
)

// unknownDirective is the error for a directive name Squid does not know,
// with the closest known name when there is one close enough:
// "unrecognized directive 'cache_memory'; did you mean 'cache_mem'?".
func unknownDirective(name string) error {
	if s := suggestDirective(name); s != "" {
		return fmt.Errorf("unrecognized directive '%s'; did you mean '%s'?", name, s)
	}
	return fmt.Errorf("unrecognized directive '%s'", name)
}

// suggestDirective returns the known directive name closest to name, or
// "" if none is close. Names are compared in lower case by edit distance
// (insertions, deletions, substitutions and swaps of neighbours); a name
// is close when the distance is at most a third of the longer name's
// length (at least 1, at most 4), or when one name starts with the other
// and the shorter has at least 5 characters ("maximum_object" suggests
// maximum_object_size). Ties go to the alphabetically first name. There
// is no suggestion when the closest name is obsolete or removed.
func suggestDirective(name string) string {
	if name == "" || len(name) > 64 {
		return ""
	}
	lower := strings.ToLower(name)
	best, bestDist := "", -1
	for _, e := range knownDirectives {
		cand := e.name
		d := editDistance(lower, cand)
		if !closeEnough(lower, cand, d) {
			continue
		}
		if bestDist < 0 || d < bestDist || d == bestDist && cand < best {
			best, bestDist = cand, d
		}
	}
	if _, info, _ := lookupDirective(best); info.status == statusObsolete || info.status == statusRemoved {
		// A misspelt obsolete name: suggesting it would not help.
		return ""
	}
	return best
}

// closeEnough reports whether a name at edit distance d from cand is
// close enough to suggest cand.
func closeEnough(name, cand string, d int) bool {
	limit := min(max(max(len(name), len(cand))/3, 1), 4)
	if d <= limit {
		return true
	}
	short, long := name, cand
	if len(short) > len(long) {
		short, long = long, short
	}
	return len(short) >= 5 && strings.HasPrefix(long, short)
}

// editDistance is the optimal string alignment distance between a and b:
// the number of single-byte insertions, deletions, substitutions and
// swaps of adjacent bytes that turn a into b.
func editDistance(a, b string) int {
	// Three rows of the dynamic programming table: i-2, i-1 and i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
