package httpcache

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// pathString renders a selection as "HIER/name ..." for comparisons.
func pathString(path []hop) string {
	var b strings.Builder
	for i, h := range path {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h.hier + "/" + h.peer.Name)
	}
	return b.String()
}

// named returns peers named a, b, c ... with weight 1, changed by set.
func named(n int, set func(i int, p *Peer)) []Peer {
	peers := make([]Peer, n)
	for i := range peers {
		peers[i] = Peer{Name: string(rune('a' + i)), Weight: 1}
		if set != nil {
			set(i, &peers[i])
		}
	}
	return peers
}

func allUsable(n int) []bool {
	u := make([]bool, n)
	for i := range u {
		u[i] = true
	}
	return u
}

func ones(n int) []int64 {
	rr := make([]int64, n)
	for i := range rr {
		rr[i] = 1
	}
	return rr
}

func TestSelectParents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		peers  []Peer
		usable []bool
		facts  selectFacts
		want   string
	}{
		{name: "first up in config order, the others as fall-backs",
			peers: named(3, nil), usable: []bool{false, true, true},
			want: "FIRSTUP_PARENT/b ANY_OLD_PARENT/c"},
		{name: "no usable peer", peers: named(2, nil), usable: []bool{false, false}, want: ""},
		{name: "a usable default peer is first up, as in Squid",
			peers: named(2, func(i int, p *Peer) { p.Default = i == 0 }), usable: allUsable(2),
			want: "FIRSTUP_PARENT/a ANY_OLD_PARENT/b"},
		{name: "round-robin before first up",
			peers: named(3, func(i int, p *Peer) { p.RoundRobin = i > 0 }), usable: allUsable(3),
			want: "ROUNDROBIN_PARENT/c ANY_OLD_PARENT/a ANY_OLD_PARENT/b"},
		{name: "weighted-round-robin is logged ROUNDROBIN_PARENT",
			peers: named(2, func(i int, p *Peer) { p.WeightedRoundRobin = i == 0 }), usable: allUsable(2),
			want: "ROUNDROBIN_PARENT/a ANY_OLD_PARENT/b"},
		{name: "carp before round-robin",
			peers: named(2, func(i int, p *Peer) { p.RoundRobin = i == 0; p.CARP = i == 1 }), usable: allUsable(2),
			facts: selectFacts{url: "http://www.example.com/"},
			want:  "CARP/b ANY_OLD_PARENT/a"},
		{name: "sourcehash before carp",
			peers: named(2, func(i int, p *Peer) { p.CARP = i == 0; p.SourceHash = i == 1 }), usable: allUsable(2),
			facts: selectFacts{url: "http://www.example.com/", client: "192.0.2.1"},
			want:  "SOURCEHASH_PARENT/b ANY_OLD_PARENT/a"},
		{name: "userhash before carp",
			peers: named(2, func(i int, p *Peer) { p.CARP = i == 0; p.UserHash = i == 1 }), usable: allUsable(2),
			facts: selectFacts{url: "http://www.example.com/", user: "alice"},
			want:  "USERHASH_PARENT/b ANY_OLD_PARENT/a"},
		{name: "userhash needs a user",
			peers: named(2, func(i int, p *Peer) { p.UserHash = i == 1 }), usable: allUsable(2),
			facts: selectFacts{url: "http://www.example.com/"},
			want:  "FIRSTUP_PARENT/a ANY_OLD_PARENT/b"},
		{name: "an unusable hash peer is skipped",
			peers: named(2, func(i int, p *Peer) { p.SourceHash = true }), usable: []bool{true, false},
			facts: selectFacts{client: "192.0.2.1"},
			want:  "SOURCEHASH_PARENT/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := len(tt.peers)
			hg := newHashGroups(tt.peers)
			got := pathString(selectParents(tt.peers, tt.usable, ones(n), make([]int64, n), &hg, tt.facts))
			if got != tt.want {
				t.Errorf("selectParents = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRoundRobinSpread checks Squid's getRoundRobinParent: equal peers
// alternate (the later one first), and weight= biases the counts.
func TestRoundRobinSpread(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		weights []int
		picks   int
		order   string // the first picks, when checked
		want    []int
	}{
		{name: "equal", weights: []int{1, 1}, picks: 6, order: "babab", want: []int{3, 3}},
		{name: "three equal", weights: []int{1, 1, 1}, picks: 9, want: []int{3, 3, 3}},
		{name: "weight 1:3", weights: []int{1, 3}, picks: 400, want: []int{100, 300}},
		{name: "weight 2:1:1", weights: []int{2, 1, 1}, picks: 400, want: []int{200, 100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			peers := named(len(tt.weights), func(i int, p *Peer) { p.RoundRobin = true; p.Weight = tt.weights[i] })
			usable, rr := allUsable(len(peers)), ones(len(peers))
			got := make([]int, len(peers))
			var order strings.Builder
			for range tt.picks {
				i := roundRobin(peers, usable, rr)
				got[i]++
				order.WriteString(peers[i].Name)
			}
			if tt.order != "" && !strings.HasPrefix(order.String(), tt.order) {
				t.Errorf("order %q, want it to start with %q", order.String(), tt.order)
			}
			for i := range got {
				if math.Abs(float64(got[i]-tt.want[i])) > 1 {
					t.Errorf("picks %v, want %v", got, tt.want)
					break
				}
			}
		})
	}
}

// TestWeightedRoundRobin checks that the faster peer (response time over
// weight) gets more requests, and that without times it alternates.
func TestWeightedRoundRobin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rtt     []int64
		weights []int
		want    []int
	}{
		{name: "no times", rtt: []int64{0, 0}, weights: []int{1, 1}, want: []int{50, 50}},
		{name: "one four times faster", rtt: []int64{40, 10}, weights: []int{1, 1}, want: []int{20, 80}},
		{name: "weight makes up for time", rtt: []int64{40, 10}, weights: []int{4, 1}, want: []int{50, 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			peers := named(2, func(i int, p *Peer) { p.WeightedRoundRobin = true; p.Weight = tt.weights[i] })
			rr := ones(2)
			got := make([]int, 2)
			for range 100 {
				got[weightedRoundRobin(peers, allUsable(2), rr, tt.rtt)]++
			}
			if math.Abs(float64(got[0]-tt.want[0])) > 2 {
				t.Errorf("picks %v, want about %v", got, tt.want)
			}
		})
	}
}

// TestHashes pins Squid's hash function (signed chars, as on x86) to
// vectors computed independently.
func TestHashes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		key      uint32
		peerHash uint32
	}{
		{"a", 0x61, 0xf4c82f93},
		{"origin1", 0x9faa065b, 0x6843bbcd},
		{"caf\xe9", 0xd8886393, 0xf244d740},
	}
	for _, tt := range tests {
		if got := hashString(0, tt.name); got != tt.key {
			t.Errorf("hashString(%q) = %#x, want %#x", tt.name, got, tt.key)
		}
		if got := peerHash(tt.name); got != tt.peerHash {
			t.Errorf("peerHash(%q) = %#x, want %#x", tt.name, got, tt.peerHash)
		}
	}
}

func TestLoadMultipliers(t *testing.T) {
	t.Parallel()
	for _, k := range []int{1, 2, 5} {
		factors := make([]float64, k)
		for i := range factors {
			factors[i] = 1 / float64(k)
		}
		for i, x := range loadMultipliers(factors) {
			if math.Abs(x-1) > 1e-9 {
				t.Errorf("loadMultipliers(%d equal) [%d] = %v, want 1", k, i, x)
			}
		}
	}
}

// TestHashSpread checks that carp and sourcehash keep a key on one peer,
// give each peer its weight's share of the keys, and move only the keys
// of a peer that becomes unusable.
func TestHashSpread(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		weights []int
		carp    bool
	}{
		{name: "carp equal", weights: []int{1, 1, 1}, carp: true},
		{name: "carp 1:3", weights: []int{1, 3}, carp: true},
		{name: "sourcehash equal", weights: []int{1, 1}},
		{name: "sourcehash 1:2:1", weights: []int{1, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			peers := named(len(tt.weights), func(i int, p *Peer) {
				p.Name = fmt.Sprintf("origin%d", i+1)
				p.Weight = tt.weights[i]
				p.CARP, p.SourceHash = tt.carp, !tt.carp
			})
			hg := newHashGroups(peers)
			sel := func(usable []bool, key string) int {
				if tt.carp {
					return carpSelect(hg.carp, usable, "http://www.example.com/"+key)
				}
				return hashSelect(hg.source, usable, key)
			}
			total := 0
			for _, w := range tt.weights {
				total += w
			}
			const keys = 6000
			got := make([]int, len(peers))
			first := make([]int, keys)
			all := allUsable(len(peers))
			for k := range keys {
				key := fmt.Sprintf("10.%d.%d.%d", k/65536, k/256%256, k%256)
				first[k] = sel(all, key)
				if again := sel(all, key); again != first[k] {
					t.Fatalf("key %s went to %d, then %d", key, first[k], again)
				}
				got[first[k]]++
			}
			// Squid's hash spreads address strings less evenly than URLs:
			// allow a tenth of the keys either way.
			for i, w := range tt.weights {
				want := float64(keys) * float64(w) / float64(total)
				if math.Abs(float64(got[i])-want) > 0.1*keys {
					t.Errorf("peer %d got %d of %d keys, want about %.0f", i, got[i], keys, want)
				}
			}
			// Without the first peer, only its keys move.
			some := allUsable(len(peers))
			some[0] = false
			for k := range keys {
				key := fmt.Sprintf("10.%d.%d.%d", k/65536, k/256%256, k%256)
				if now := sel(some, key); first[k] != 0 && now != first[k] || now == 0 {
					t.Fatalf("key %s moved from %d to %d", key, first[k], now)
				}
			}
		})
	}
}
