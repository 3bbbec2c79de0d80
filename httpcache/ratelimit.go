package httpcache

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// RateLimiter is cuttle's request-rate limit per client, which Squid does
// not have (cuttle's --rate-limit and --rate-burst flags). Each client may
// send Rate requests a second on average and Burst at once; a request
// beyond that is answered 429 Too Many Requests (RFC 6585, Section 4) with
// Retry-After, and logged TCP_DENIED/429 with the error name
// ERR_TOO_MANY_REQUESTS, cuttle's own (%err_code, X-Squid-Error). The
// limit is checked before http_access and before the cache, so hits count.
//
// Clients are told apart by IPv4 address, and by the /64 prefix of an IPv6
// address, the block one host usually holds. Memory is bounded: at most
// MaxClients clients are followed. When that many are, the ones idle long
// enough to have a full burst again are forgotten (they lose nothing);
// if that frees too little, arbitrary clients are forgotten too, and start
// again with a full burst.
//
// A RateLimiter is safe for concurrent use; one serves the Handlers of
// successive configurations, so that a reload resets no client.
type RateLimiter struct {
	rate, burst float64
	maxClients  int
	now         func() time.Time

	mu      sync.Mutex // protects clients
	clients map[netip.Addr]bucket
}

// DefaultRateLimitClients is how many clients a RateLimiter follows at
// most unless told otherwise: about 6 MB.
const DefaultRateLimitClients = 1 << 16

// NewRateLimiter returns a limit of rate requests a second with bursts of
// burst requests per client; burst below 1 means max(1, rate). maxClients
// caps the clients followed (0: DefaultRateLimitClients) and now is the
// clock (nil: time.Now). rate must be positive.
func NewRateLimiter(rate float64, burst, maxClients int, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	if maxClients <= 0 {
		maxClients = DefaultRateLimitClients
	}
	b := float64(burst)
	if burst < 1 {
		b = math.Max(1, math.Floor(rate))
	}
	return &RateLimiter{rate: rate, burst: b, maxClients: maxClients, now: now, clients: make(map[netip.Addr]bucket)}
}

// rateKey is the client a request is counted for: the IPv4 address, or
// the /64 of an IPv6 address.
func rateKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// Allow counts one request of ip. It reports whether the request may
// proceed and, when it may not, how long until it would.
func (l *RateLimiter) Allow(ip netip.Addr) (bool, time.Duration) {
	key := rateKey(ip)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[key]
	if ok {
		b.refill(l.rate, l.burst, now)
	} else {
		if len(l.clients) >= l.maxClients {
			l.evict(now)
		}
		b = newBucket(l.burst, now)
	}
	if b.level >= 1 {
		b.level--
		l.clients[key] = b
		return true, 0
	}
	l.clients[key] = b
	return false, b.wait(1, l.rate)
}

// Len returns how many clients are followed.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// evict makes room for new clients: it forgets those whose bucket has
// refilled, then, if fewer than an eighth of the entries went, arbitrary
// ones down to seven eighths of the cap, so that the scan is rare. l.mu
// must be held.
func (l *RateLimiter) evict(now time.Time) {
	for k, b := range l.clients {
		b.refill(l.rate, l.burst, now)
		if b.level >= l.burst {
			delete(l.clients, k)
		}
	}
	keep := l.maxClients - max(l.maxClients/8, 1)
	for k := range l.clients {
		if len(l.clients) <= keep {
			break
		}
		delete(l.clients, k)
	}
}

// rateLimited answers 429 and returns true when tx's client is over the
// request rate (Options.RateLimit).
func (h *Handler) rateLimited(rw *countingWriter, tx *transaction) bool {
	if h.opts.RateLimit == nil {
		return false
	}
	ok, wait := h.opts.RateLimit.Allow(tx.clientIP)
	if ok {
		return false
	}
	tx.result = "TCP_DENIED"
	secs := max(int64(math.Ceil(wait.Seconds())), 1)
	rw.ResponseWriter = &retryAfterWriter{ResponseWriter: rw.ResponseWriter, value: []string{strconv.FormatInt(secs, 10)}}
	h.serveError(rw, tx, http.StatusTooManyRequests, "ERR_TOO_MANY_REQUESTS")
	return true
}

// retryAfterWriter adds Retry-After (RFC 9110, Section 10.2.3) to the
// header every time the header is asked for: the error page clears the
// header before filling it in, and countingWriter reads it again to count
// what is sent, Retry-After included.
type retryAfterWriter struct {
	http.ResponseWriter
	value []string
}

func (w *retryAfterWriter) Header() http.Header {
	h := w.ResponseWriter.Header()
	h["Retry-After"] = w.value
	return h
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *retryAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
