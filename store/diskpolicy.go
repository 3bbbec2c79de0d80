package store

import (
	"cmp"
	"container/heap"
	"container/list"
	"fmt"
	"slices"
	"strings"
)

// diskPolicy chooses which object the disk tier removes when it needs room
// (squid.conf cache_replacement_policy). Its methods run under the disk
// tier's lock.
type diskPolicy interface {
	add(e *diskEntry)
	touch(e *diskEntry)
	remove(e *diskEntry)
	victim() *diskEntry    // the object to remove next, nil if none
	evicted(e *diskEntry)  // e was removed to make room
	ordered() []*diskEntry // every entry, the most valuable last
}

// newDiskPolicy returns the policy named as in squid.conf: "lru" (and
// the empty string), "heap LRU", "heap GDSF" or "heap LFUDA".
func newDiskPolicy(name string) (diskPolicy, error) {
	switch strings.ToLower(strings.Join(strings.Fields(name), " ")) {
	case "", "lru":
		return &lruPolicy{l: list.New()}, nil
	case "heap lru":
		return &heapPolicy{kind: heapLRU}, nil
	case "heap gdsf":
		return &heapPolicy{kind: heapGDSF}, nil
	case "heap lfuda":
		return &heapPolicy{kind: heapLFUDA}, nil
	}
	return nil, fmt.Errorf("store: unknown cache_replacement_policy %q", name)
}

// lruPolicy removes the least recently used object (Squid's lru).
type lruPolicy struct{ l *list.List }

func (p *lruPolicy) add(e *diskEntry)   { e.elem = p.l.PushBack(e) }
func (p *lruPolicy) touch(e *diskEntry) { p.l.MoveToBack(e.elem.(*list.Element)) }
func (p *lruPolicy) remove(e *diskEntry) {
	p.l.Remove(e.elem.(*list.Element))
	e.elem = nil
}
func (p *lruPolicy) evicted(*diskEntry) {}

func (p *lruPolicy) victim() *diskEntry {
	if f := p.l.Front(); f != nil {
		return f.Value.(*diskEntry)
	}
	return nil
}

func (p *lruPolicy) ordered() []*diskEntry {
	out := make([]*diskEntry, 0, p.l.Len())
	for el := p.l.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*diskEntry))
	}
	return out
}

type heapKind uint8

const (
	heapLRU   heapKind = iota // priority: the time of the last use
	heapGDSF                  // Greedy-Dual Size Frequency: L + hits / size
	heapLFUDA                 // LFU with Dynamic Aging: L + hits
)

// heapPolicy keeps the entries in a min-heap of priority (Squid's heap
// replacement policies); the lowest priority goes first. L is the
// "inflation" of the aging policies: the priority of the last victim, so
// that objects once popular age out.
type heapPolicy struct {
	kind  heapKind
	h     entryHeap
	clock float64 // uses so far, the time of heap LRU
	l     float64
}

func (p *heapPolicy) priority(e *diskEntry) float64 {
	switch p.kind {
	case heapGDSF:
		return p.l + float64(max(e.refs, 1))/float64(max(e.body, 1))
	case heapLFUDA:
		return p.l + float64(max(e.refs, 1))
	}
	p.clock++
	return p.clock
}

func (p *heapPolicy) add(e *diskEntry) {
	e.prio = p.priority(e)
	heap.Push(&p.h, e)
}

func (p *heapPolicy) touch(e *diskEntry) {
	e.prio = p.priority(e)
	heap.Fix(&p.h, e.index)
}

func (p *heapPolicy) remove(e *diskEntry) {
	if e.index >= 0 && e.index < len(p.h) && p.h[e.index] == e {
		heap.Remove(&p.h, e.index)
	}
}

func (p *heapPolicy) victim() *diskEntry {
	if len(p.h) == 0 {
		return nil
	}
	return p.h[0]
}

func (p *heapPolicy) evicted(e *diskEntry) {
	if p.kind != heapLRU {
		p.l = e.prio
	}
}

func (p *heapPolicy) ordered() []*diskEntry {
	out := append([]*diskEntry(nil), p.h...)
	// Lowest priority first, so that a reload keeps the order.
	slices.SortStableFunc(out, func(a, b *diskEntry) int { return cmp.Compare(a.prio, b.prio) })
	return out
}

// entryHeap is a container/heap of entries by priority.
type entryHeap []*diskEntry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].prio < h[j].prio }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*diskEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}
