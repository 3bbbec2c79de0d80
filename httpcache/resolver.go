package httpcache

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Resolver answers the DNS questions of the acl types that need them:
// the reverse lookups of srcdomain and srcdom_regex (the client's name)
// and of dstdomain and dstdom_regex for a URL that names its host by
// address, and the forward lookups of dst. Answers, failures included, are
// cached for a while, as Squid's ipcache and fqdncache do, and each lookup
// gives up after a timeout, so that a slow DNS server delays a request by
// at most that much. The methods are safe for concurrent use; one Resolver
// can serve the ACLs of successive configurations.
type Resolver struct {
	opts ResolverOptions

	mu      sync.Mutex // protects entries
	entries map[string]*dnsEntry
}

// ResolverOptions configures a [Resolver]. Zero values take the
// documented defaults.
type ResolverOptions struct {
	// TTL is how long an answer is kept; default 5 minutes (Go's resolver
	// does not tell the record's own TTL).
	TTL time.Duration

	// NegativeTTL is how long a failed lookup is remembered; default one
	// minute, Squid's negative_dns_ttl.
	NegativeTTL time.Duration

	// Timeout bounds each lookup; default 5 seconds.
	Timeout time.Duration

	// MaxEntries bounds the cache; default 10000. When it is full, the
	// expired entries are dropped, and if that is not enough, all of them.
	MaxEntries int

	// LookupAddr and LookupNetIP replace net.DefaultResolver's methods
	// (for tests).
	LookupAddr  func(ctx context.Context, addr string) ([]string, error)
	LookupNetIP func(ctx context.Context, host string) ([]netip.Addr, error)

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// dnsEntry is one cached answer; ready is closed once it is filled in.
type dnsEntry struct {
	ready   chan struct{}
	names   []string
	addrs   []netip.Addr
	expires time.Time
}

// NewResolver returns a Resolver with opts.
func NewResolver(opts ResolverOptions) *Resolver {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.LookupAddr == nil {
		opts.LookupAddr = net.DefaultResolver.LookupAddr
	}
	if opts.LookupNetIP == nil {
		opts.LookupNetIP = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Resolver{opts: opts, entries: make(map[string]*dnsEntry)}
}

// Name returns the first name a reverse lookup of ip gives, without the
// final dot, lower-cased; "" when there is none.
func (r *Resolver) Name(ctx context.Context, ip netip.Addr) string {
	e := r.lookup(ctx, "ptr:"+ip.Unmap().String(), func(ctx context.Context, e *dnsEntry) bool {
		names, err := r.opts.LookupAddr(ctx, ip.Unmap().String())
		if err != nil || len(names) == 0 {
			return false
		}
		e.names = []string{strings.ToLower(strings.TrimSuffix(names[0], "."))}
		return true
	})
	if len(e.names) == 0 {
		return ""
	}
	return e.names[0]
}

// Addrs returns the addresses of host, nil when it does not resolve.
func (r *Resolver) Addrs(ctx context.Context, host string) []netip.Addr {
	e := r.lookup(ctx, "a:"+strings.ToLower(host), func(ctx context.Context, e *dnsEntry) bool {
		addrs, err := r.opts.LookupNetIP(ctx, host)
		if err != nil || len(addrs) == 0 {
			return false
		}
		for i, a := range addrs {
			addrs[i] = a.Unmap()
		}
		e.addrs = addrs
		return true
	})
	return e.addrs
}

// lookup returns the cached entry for key, filling it with fill when it
// is missing or expired. Concurrent callers share one lookup.
func (r *Resolver) lookup(ctx context.Context, key string, fill func(context.Context, *dnsEntry) bool) *dnsEntry {
	now := r.opts.Now()
	r.mu.Lock()
	e := r.entries[key]
	if e != nil {
		select {
		case <-e.ready:
			if now.Before(e.expires) {
				r.mu.Unlock()
				return e
			}
			e = nil // expired: look it up again
		default:
		}
	}
	if e == nil {
		if len(r.entries) >= r.opts.MaxEntries {
			r.evictLocked(now)
		}
		e = &dnsEntry{ready: make(chan struct{})}
		r.entries[key] = e
		r.mu.Unlock()
		// The lookup outlives a client that goes away: its answer is
		// shared.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Timeout)
		ok := fill(lctx, e)
		cancel()
		e.expires = r.opts.Now().Add(r.opts.NegativeTTL)
		if ok {
			e.expires = r.opts.Now().Add(r.opts.TTL)
		}
		close(e.ready)
		return e
	}
	r.mu.Unlock()
	select {
	case <-e.ready:
		return e
	case <-ctx.Done():
		return &dnsEntry{}
	}
}

// evictLocked drops the expired entries, or all of them when none has
// expired. r.mu is held.
func (r *Resolver) evictLocked(now time.Time) {
	n := len(r.entries)
	for k, e := range r.entries {
		select {
		case <-e.ready:
			if !now.Before(e.expires) {
				delete(r.entries, k)
			}
		default:
		}
	}
	if len(r.entries) == n {
		clear(r.entries)
	}
}
