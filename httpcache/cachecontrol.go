package httpcache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxDelta is the largest delta-seconds value kept; larger values saturate
// to it (RFC 9111, Section 1.2.2: 2^31 is "infinity" for caches).
const maxDelta = 1 << 31

// CacheControl holds the Cache-Control directives cuttle acts on
// (RFC 9111, Section 5.2). Durations are -1 when the directive is absent.
type CacheControl struct {
	MaxAge, SMaxAge, MaxStale, MinFresh time.Duration

	// MaxStaleAny is true for a bare max-stale (any staleness accepted).
	MaxStaleAny bool

	NoStore, NoCache, Private, Public, MustRevalidate, ProxyRevalidate bool
	OnlyIfCached, NoTransform, Immutable                               bool

	// MustUnderstand is the response directive of RFC 9111,
	// Section 5.2.2.3.
	MustUnderstand bool

	// StaleWhileRevalidate and StaleIfError are the directives of RFC 5861
	// (Sections 3 and 4), -1 when absent.
	StaleWhileRevalidate, StaleIfError time.Duration
}

// noDirectives is a CacheControl with no directive at all.
var noDirectives = CacheControl{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}

// ParseCacheControl parses every Cache-Control field in h. Directive names
// are case-insensitive; arguments may be tokens or quoted strings
// (RFC 9111, Section 5.2: no-cache="a, b"). When a directive repeats, the most
// restrictive value wins: the smallest max-age and s-maxage. An invalid
// delta-seconds argument makes the response stale (max-age treated as 0,
// RFC 9111, Section 4.2.1), and values beyond 2^31 saturate.
func ParseCacheControl(h http.Header) CacheControl {
	cc := noDirectives
	for _, field := range h.Values("Cache-Control") {
		parseCacheControlField(&cc, field)
	}
	return cc
}

func parseCacheControlField(cc *CacheControl, s string) {
	for s != "" {
		var name, arg string
		var hasArg bool
		name, arg, hasArg, s = nextDirective(s)
		if name == "" {
			continue
		}
		switch strings.ToLower(name) {
		case "max-age":
			cc.MaxAge = minDelta(cc.MaxAge, parseDelta(arg, hasArg))
		case "s-maxage":
			cc.SMaxAge = minDelta(cc.SMaxAge, parseDelta(arg, hasArg))
		case "max-stale":
			if !hasArg {
				cc.MaxStaleAny = true
			} else {
				cc.MaxStale = minDelta(cc.MaxStale, parseDelta(arg, hasArg))
			}
		case "min-fresh":
			d := parseDelta(arg, hasArg)
			if d > cc.MinFresh {
				cc.MinFresh = d
			}
		case "no-store":
			cc.NoStore = true
		case "no-cache":
			// A qualified no-cache="field" only forbids reusing the named
			// fields without revalidation; cuttle treats it as unqualified,
			// which is always safe (RFC 9111, Section 5.2.2.4).
			cc.NoCache = true
		case "private":
			cc.Private = true
		case "public":
			cc.Public = true
		case "must-revalidate":
			cc.MustRevalidate = true
		case "proxy-revalidate":
			cc.ProxyRevalidate = true
		case "only-if-cached":
			cc.OnlyIfCached = true
		case "no-transform":
			cc.NoTransform = true
		case "immutable":
			cc.Immutable = true
		case "must-understand":
			cc.MustUnderstand = true
		case "stale-while-revalidate":
			cc.StaleWhileRevalidate = minDelta(cc.StaleWhileRevalidate, parseDelta(arg, hasArg))
		case "stale-if-error":
			cc.StaleIfError = minDelta(cc.StaleIfError, parseDelta(arg, hasArg))
		}
	}
}

// nextDirective splits the first directive off a Cache-Control list,
// honouring quoted-string arguments that may contain commas.
func nextDirective(s string) (name, arg string, hasArg bool, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := strings.IndexAny(s, "=,")
	if i < 0 {
		return strings.TrimSpace(s), "", false, ""
	}
	name = strings.TrimSpace(s[:i])
	if s[i] == ',' {
		return name, "", false, s[i+1:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		j := 1
		for ; j < len(s); j++ {
			c := s[j]
			if c == '\\' && j+1 < len(s) {
				j++
				b.WriteByte(s[j])
				continue
			}
			if c == '"' {
				break
			}
			b.WriteByte(c)
		}
		rest = s[min(j+1, len(s)):]
		if k := strings.IndexByte(rest, ','); k >= 0 {
			rest = rest[k+1:]
		} else {
			rest = ""
		}
		return name, b.String(), true, rest
	}
	if k := strings.IndexByte(s, ','); k >= 0 {
		return name, strings.TrimSpace(s[:k]), true, s[k+1:]
	}
	return name, strings.TrimSpace(s), true, ""
}

// parseDelta parses delta-seconds (RFC 9111, Section 1.2.2). A missing or
// invalid argument yields 0, the most restrictive reading.
func parseDelta(arg string, ok bool) time.Duration {
	if !ok || arg == "" {
		return 0
	}
	for i := 0; i < len(arg); i++ {
		if arg[i] < '0' || arg[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseUint(arg, 10, 64)
	if err != nil || n > maxDelta {
		n = maxDelta
	}
	return time.Duration(n) * time.Second
}

// minDelta keeps the smaller of two deltas, -1 meaning absent.
func minDelta(cur, d time.Duration) time.Duration {
	if cur < 0 || d < cur {
		return d
	}
	return cur
}
