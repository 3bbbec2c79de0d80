package httpcache

import (
	"math"
	"math/bits"
	"slices"
)

// Peer selection as Squid's peer_select.cc, neighbors.cc, carp.cc,
// peer_sourcehash.cc and peer_userhash.cc do it for parents (squid.conf
// cache_peer round-robin, weighted-round-robin, carp, sourcehash,
// userhash, default, weight=). The functions here are pure: they see the
// peers, which of them may take the request, their counters and the facts
// of the request, and return the destinations in the order they are tried.

// hop is one destination of a request: a peer, or the origin itself when
// going direct, with the hierarchy code access.log gives it (%Sh).
type hop struct {
	peer *Peer
	hier string
}

// selectFacts are the facts of a request that selection hashes: the URL
// (carp), the client's address (sourcehash) and the user name (userhash).
type selectFacts struct {
	url, client, user string
}

// selectParents returns the peers a request goes to, best first (Squid's
// selectSomeParent then selectAllParents):
//
//  1. one peer picked by the first method that yields one: sourcehash
//     (SOURCEHASH_PARENT), userhash (USERHASH_PARENT), carp (CARP),
//     round-robin (ROUNDROBIN_PARENT), weighted-round-robin
//     (ROUNDROBIN_PARENT), the first usable peer in configuration order
//     (FIRSTUP_PARENT), the first usable default peer (DEFAULT_PARENT);
//  2. every other usable peer in configuration order (ANY_OLD_PARENT), to
//     fall back on when the first cannot be reached;
//  3. the first usable default peer (DEFAULT_PARENT), when not listed yet.
//
// usable[i] tells whether peers[i] may take the request (alive, allowed
// by cache_peer_access, below max-conn=). rr holds the round-robin
// counters and is updated for the peer round-robin picks; rtt holds the
// peers' average response times in milliseconds (weighted-round-robin).
// As in Squid, a default peer that is usable is also first up, so step 1
// names it FIRSTUP_PARENT unless an earlier peer is usable.
func selectParents(peers []Peer, usable []bool, rr, rtt []int64, hg *hashGroups, f selectFacts) []hop {
	path := make([]hop, 0, len(peers)+1)
	add := func(i int, hier string) {
		for _, h := range path {
			if h.peer == &peers[i] {
				return
			}
		}
		path = append(path, hop{peer: &peers[i], hier: hier})
	}
	switch {
	case f.client != "" && pick(add, hashSelect(hg.source, usable, f.client), "SOURCEHASH_PARENT"):
	case f.user != "" && pick(add, hashSelect(hg.user, usable, f.user), "USERHASH_PARENT"):
	case pick(add, carpSelect(hg.carp, usable, f.url), "CARP"):
	case pick(add, roundRobin(peers, usable, rr), "ROUNDROBIN_PARENT"):
	case pick(add, weightedRoundRobin(peers, usable, rr, rtt), "ROUNDROBIN_PARENT"):
	case pick(add, firstUp(peers, usable, false), "FIRSTUP_PARENT"):
	case pick(add, firstUp(peers, usable, true), "DEFAULT_PARENT"):
	}
	for i := range peers {
		if usable[i] {
			add(i, "ANY_OLD_PARENT")
		}
	}
	if i := firstUp(peers, usable, true); i >= 0 {
		add(i, "DEFAULT_PARENT")
	}
	return path
}

// pick adds peer i with the hierarchy code hier, and reports whether there
// was one (i >= 0).
func pick(add func(int, string), i int, hier string) bool {
	if i < 0 {
		return false
	}
	add(i, hier)
	return true
}

// firstUp returns the first usable peer in configuration order, or with
// onlyDefault the first usable default peer; -1 if there is none.
func firstUp(peers []Peer, usable []bool, onlyDefault bool) int {
	for i := range peers {
		if usable[i] && (!onlyDefault || peers[i].Default) {
			return i
		}
	}
	return -1
}

// roundRobin returns the usable round-robin peer that has served the
// fewest requests for its weight= (Squid's getRoundRobinParent: on a tie
// the later peer wins) and counts the request; -1 if there is none.
func roundRobin(peers []Peer, usable []bool, rr []int64) int {
	q := -1
	for i := range peers {
		p := &peers[i]
		if !p.RoundRobin || !usable[i] {
			continue
		}
		if q >= 0 {
			wq, wp := max(peers[q].Weight, 1), max(p.Weight, 1)
			if wq == wp {
				if rr[q] < rr[i] {
					continue
				}
			} else if float64(rr[q])/float64(wq) < float64(rr[i])/float64(wp) {
				continue
			}
		}
		q = i
	}
	if q >= 0 {
		rr[q]++
	}
	return q
}

// weightedRoundRobin returns the usable weighted-round-robin peer with the
// lowest counter (on a tie the later one) and adds its response time
// divided by its weight (at least 1) to the counter, as Squid's
// getWeightedRoundRobinParent does with ICP round-trip times; cuttle
// measures the time to the response headers instead, as accelerator peers
// answer no ICP. Counters past a million start again from 0.
func weightedRoundRobin(peers []Peer, usable []bool, rr, rtt []int64) int {
	q := -1
	for i := range peers {
		if !peers[i].WeightedRoundRobin || !usable[i] {
			continue
		}
		if q >= 0 && rr[q] < rr[i] {
			continue
		}
		q = i
	}
	if q < 0 {
		return -1
	}
	if rr[q] > 1_000_000 {
		for i := range peers {
			if peers[i].WeightedRoundRobin {
				rr[i] = 0
			}
		}
	}
	rr[q] += max(rtt[q]/int64(max(peers[q].Weight, 1)), 1)
	return q
}

// hashMember is a peer in a carp, sourcehash or userhash table: the hash
// of its name and its load multiplier.
type hashMember struct {
	idx  int
	hash uint32
	mult float64
}

// hashGroups holds the tables of the peers with carp, sourcehash and
// userhash, each sorted by weight as Squid sorts them.
type hashGroups struct {
	carp, source, user []hashMember
}

// newHashGroups builds the carp, sourcehash and userhash tables.
func newHashGroups(peers []Peer) hashGroups {
	build := func(in func(*Peer) bool) []hashMember {
		var m []hashMember
		total := 0
		for i := range peers {
			if in(&peers[i]) {
				m = append(m, hashMember{idx: i, hash: peerHash(peers[i].Name)})
				total += max(peers[i].Weight, 1)
			}
		}
		slices.SortStableFunc(m, func(a, b hashMember) int {
			return max(peers[a.idx].Weight, 1) - max(peers[b.idx].Weight, 1)
		})
		factors := make([]float64, len(m))
		for k := range m {
			factors[k] = float64(max(peers[m[k].idx].Weight, 1)) / float64(total)
			if math.Floor(factors[k]*1000) == 0 {
				factors[k] = 0
			}
		}
		for k, x := range loadMultipliers(factors) {
			m[k].mult = x
		}
		return m
	}
	return hashGroups{
		carp:   build(func(p *Peer) bool { return p.CARP }),
		source: build(func(p *Peer) bool { return p.SourceHash }),
		user:   build(func(p *Peer) bool { return p.UserHash }),
	}
}

// loadMultipliers turns load factors (shares of the requests, in
// ascending order, summing to 1) into the multipliers that give each
// member that share of the highest scores (the CARP draft,
// draft-vinod-carp-v1-03, section 3.3, as Squid computes it):
//
//	X_1 = (K·P_1)^(1/K)
//	X_k = ( (K-k+1)·(P_k - P_{k-1}) / (X_1·…·X_{k-1}) + X_{k-1}^(K-k+1) )^(1/(K-k+1))
func loadMultipliers(factors []float64) []float64 {
	out := make([]float64, len(factors))
	k := float64(len(factors))
	product, prevX, prevP := 1.0, 0.0, 0.0
	for i, p := range factors {
		rest := k - float64(i)
		x := rest*(p-prevP)/product + math.Pow(prevX, rest)
		x = math.Pow(x, 1/rest)
		out[i] = x
		product *= x
		prevX, prevP = x, p
	}
	return out
}

// hashString adds the bytes of s to the hash h as Squid does for CARP,
// sourcehash and userhash keys: h += rotl(h, 19) + c, with each byte taken
// as a signed char (Squid's x86 builds).
func hashString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h += bits.RotateLeft32(h, 19) + uint32(int32(int8(s[i])))
	}
	return h
}

// peerHash is the hash of a peer's name in CARP, sourcehash and userhash.
func peerHash(name string) uint32 {
	h := hashString(0, name)
	h += h * 0x62531965
	return bits.RotateLeft32(h, 21)
}

// score is a member's score for a key hash: the combined hash times the
// member's load multiplier.
func (m *hashMember) score(key uint32) float64 {
	c := key ^ m.hash
	c += c * 0x62531965
	return float64(bits.RotateLeft32(c, 21)) * m.mult
}

// hashSelect returns the usable member with the highest score for key
// (sourcehash: the client's address; userhash: the user name), or -1.
func hashSelect(members []hashMember, usable []bool, key string) int {
	k := hashString(0, key)
	best, high := -1, 0.0
	for i := range members {
		if s := members[i].score(k); s > high && usable[members[i].idx] {
			best, high = members[i].idx, s
		}
	}
	return best
}

// carpSelect returns the usable carp member with the highest score for
// the URL, or -1. Squid's carp.cc goes on hashing the URL into the same
// key for each member in turn instead of starting afresh; cuttle does the
// same, so that in a farm of cuttle and Squid front ends a URL goes to
// the same parent from each.
func carpSelect(members []hashMember, usable []bool, url string) int {
	var k uint32
	best, high := -1, 0.0
	for i := range members {
		k = hashString(k, url)
		if s := members[i].score(k); s > high && usable[members[i].idx] {
			best, high = members[i].idx, s
		}
	}
	return best
}
