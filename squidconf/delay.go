package squidconf

import (
	"strconv"
	"strings"
)

// DelayPool is one delay pool (squid.conf delay_pools): its delay_class,
// delay_parameters and delay_access lines.
type DelayPool struct {
	// Pos is the delay_class line; zero when the pool has none.
	Pos Pos

	// Class is the pool class, 1 to 5; 0 when no delay_class line set it
	// (the pool is then unused).
	Class int

	// Rates are the delay_parameters buckets of the class in order:
	// aggregate (class 1), aggregate and individual (2), aggregate,
	// network and individual (3), the same and user (4), tag (5). Empty
	// when no delay_parameters line was given (after the delay_class).
	Rates []DelayRate

	// Access holds the delay_access rules of the pool in order.
	Access []AccessRule
}

// DelayRate is one restore/max pair of delay_parameters.
type DelayRate struct {
	// Restore is the refill rate in bytes per second and Max the bucket
	// size in bytes; both are -1 for no limit ("-1/-1" or "none").
	Restore, Max int64
}

// delayClassBuckets is how many restore/max pairs each delay class takes
// (index: class).
var delayClassBuckets = [...]int{0, 1, 2, 3, 4, 1}

// parseDelayPools parses "delay_pools N": it declares pools 1 to N and
// discards the pools declared before, as Squid does.
func (p *parser) parseDelayPools(d *directive) {
	n, ok := p.parseUShort(d, "number of delay pools")
	if !ok {
		return
	}
	for _, pool := range p.cfg.DelayPools {
		if pool.Class != 0 || len(pool.Access) > 0 {
			p.warn(d, "delay_pools again: the %d pools declared above and their settings are discarded", len(p.cfg.DelayPools))
			break
		}
	}
	p.cfg.DelayPools = make([]DelayPool, n)
}

// delayPool reads the pool number of a delay_* line. Squid ignores the
// line, with a message, when the pool is not in 1 to delay_pools.
func (p *parser) delayPool(d *directive) (*DelayPool, bool) {
	n, ok := p.parseUShort(d, "delay pool")
	if !ok {
		return nil, false
	}
	if n < 1 || n > len(p.cfg.DelayPools) {
		p.warn(d, "ignoring pool %d not in 1 .. %d (set delay_pools first)", n, len(p.cfg.DelayPools))
		return nil, false
	}
	return &p.cfg.DelayPools[n-1], true
}

// parseDelayClass parses "delay_class pool class". A class outside 1 to
// 5 makes Squid ignore the line; a new class replaces the pool's buckets.
func (p *parser) parseDelayClass(d *directive) {
	pool, ok := p.delayPool(d)
	if !ok {
		return
	}
	class, ok := p.parseUShort(d, "delay class")
	if !ok {
		return
	}
	if class < 1 || class > 5 {
		p.warn(d, "ignoring class %d not in 1 .. 5", class)
		return
	}
	if pool.Class != 0 {
		p.warn(d, "the pool already has class %d (%s); this line replaces it and its delay_parameters", pool.Class, pool.Pos)
	}
	pool.Pos, pool.Class, pool.Rates = d.pos, class, nil
}

// parseDelayParameters parses "delay_parameters pool restore/max ...",
// one pair for each bucket of the pool's class.
func (p *parser) parseDelayParameters(d *directive) {
	pool, ok := p.delayPool(d)
	if !ok {
		return
	}
	if pool.Class == 0 {
		p.warn(d, "ignoring the rates of a pool without delay_class")
		return
	}
	want := delayClassBuckets[pool.Class]
	rates := make([]DelayRate, 0, want)
	for range want {
		tok, ok := d.sc.next()
		if !ok {
			p.errorf(d, "a class %d pool takes %d restore/max pairs, got %d", pool.Class, want, len(rates))
			return
		}
		r, clean, ok := parseDelayRate(tok)
		if !ok {
			p.errorf(d, "invalid delay rate '%s': expecting restore/max or 'none'", tok)
			return
		}
		if !clean {
			p.warn(d, "delay rate '%s' is read as %d/%d", tok, r.Restore, r.Max)
		}
		rates = append(rates, r)
	}
	if extra := d.sc.remaining(); len(extra) > 0 {
		p.warn(d, "a class %d pool takes %d restore/max pairs; ignoring %s", pool.Class, want, strings.Join(extra, " "))
	}
	pool.Rates = rates
}

// parseDelayRate parses a restore/max pair as Squid's DelaySpec::parse
// does: "none" or anything starting with '-' is no limit (-1/-1); Squid
// reads the max with strtoll, ignoring what follows its digits, which
// clean reports.
func parseDelayRate(tok string) (r DelayRate, clean, ok bool) {
	if tok == "none" || strings.HasPrefix(tok, "-") {
		return DelayRate{Restore: -1, Max: -1}, true, true
	}
	restore, maxBytes, ok := strings.Cut(tok, "/")
	if !ok {
		return DelayRate{}, false, false
	}
	n, err := strconv.ParseInt(restore, 10, 32)
	if err != nil {
		return DelayRate{}, false, false
	}
	end := 0
	if end < len(maxBytes) && (maxBytes[end] == '+' || maxBytes[end] == '-') {
		end++
	}
	digits := end
	for end < len(maxBytes) && maxBytes[end] >= '0' && maxBytes[end] <= '9' {
		end++
	}
	if end == digits {
		return DelayRate{}, false, false
	}
	m, err := strconv.ParseInt(maxBytes[:end], 10, 64)
	if err != nil {
		return DelayRate{}, false, false
	}
	return DelayRate{Restore: n, Max: m}, end == len(maxBytes), true
}

// parseDelayAccess parses "delay_access pool allow|deny acl ...".
func (p *parser) parseDelayAccess(d *directive) {
	pool, ok := p.delayPool(d)
	if !ok {
		return
	}
	p.parseAccessList(d, &pool.Access)
}

// parseDelayInitialBucketLevel parses delay_initial_bucket_level, the
// percentage of their size the buckets start with.
func (p *parser) parseDelayInitialBucketLevel(d *directive) {
	n, ok := p.parseUShort(d, "percentage")
	if !ok {
		return
	}
	if n > 100 {
		p.warn(d, "%d is not a percentage (0-100)", n)
	}
	p.cfg.DelayInitialBucketLevel = n
}
