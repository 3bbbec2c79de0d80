package httpcache

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// RefreshPattern is one squid.conf refresh_pattern line: the heuristic
// freshness rule for responses without explicit expiration whose URL matches
// Regexp (RFC 9111, Section 4.2.2 leaves the heuristic to the cache), and the
// options that bend the rules for those URLs.
type RefreshPattern struct {
	// Regexp is matched against the absolute URL; the first match wins.
	Regexp *regexp.Regexp

	// Min is how long an object without Last-Modified stays fresh; Max caps
	// every heuristic lifetime.
	Min, Max time.Duration

	// Percent is the LM-factor: an object stays fresh for Percent percent of
	// the time between its Last-Modified and Date.
	Percent int

	// OverrideExpire keeps an object fresh for at least Min even when the
	// origin gave a shorter explicit lifetime; OverrideLastmod does the same
	// for the Last-Modified heuristic (both violate RFC 9111 on purpose).
	OverrideExpire, OverrideLastmod bool

	// ReloadIntoIMS turns a client's reload (no-cache, Pragma: no-cache)
	// into a revalidation of the stored object; IgnoreReload ignores the
	// reload altogether.
	ReloadIntoIMS, IgnoreReload bool

	// IgnoreNoStore and IgnorePrivate store responses marked no-store or
	// private (an explicit opt-in of the admin; never the default).
	IgnoreNoStore, IgnorePrivate bool

	// RefreshIMS sends a client's conditional request for a fresh object on
	// to the origin instead of answering it from the cache.
	RefreshIMS bool

	// StoreStale stores responses that are stale on arrival and cannot be
	// revalidated; they are fetched again on use but can be served when the
	// origin fails.
	StoreStale bool

	// MaxStale, when positive, replaces max_stale for these URLs: how stale
	// an object may be to be served when the origin fails.
	MaxStale time.Duration
}

// defaultRefresh is what Squid uses when no refresh_pattern matches:
// min 0, 20%, max 3 days.
var defaultRefresh = RefreshPattern{Percent: 20, Max: 72 * time.Hour}

// MatchRefresh returns the first pattern matching url, or Squid's built-in
// rule (min 0, 20%, max 3 days) when none does (squid.conf refresh_pattern).
func MatchRefresh(url string, patterns []RefreshPattern) *RefreshPattern {
	for i := range patterns {
		if patterns[i].Regexp.MatchString(url) {
			return &patterns[i]
		}
	}
	return &defaultRefresh
}

// heuristicStatus lists the status codes that are heuristically cacheable
// (RFC 9110, Section 15.1).
func heuristicStatus(code int) bool {
	switch code {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// FreshnessLifetime returns how long a response stays fresh
// (RFC 9111, Section 4.2.1) and whether that came from the response itself
// rather than a heuristic. s-maxage beats max-age, which beats Expires minus
// Date; an Expires that does not parse means already expired. Without any of
// them the refresh_pattern rp decides (Section 4.2.2; nil means Squid's
// default rule), and only for heuristically cacheable statuses or public
// responses. responseTime stands in for a missing or invalid Date.
//
// rp's override-expire raises an explicit lifetime to its min, and
// override-lastmod the Last-Modified heuristic (squid.conf refresh_pattern).
func FreshnessLifetime(status int, h http.Header, cc CacheControl, rp *RefreshPattern, responseTime time.Time) (lifetime time.Duration, explicit bool) {
	if rp == nil {
		rp = &defaultRefresh
	}
	if lifetime, explicit = explicitLifetime(h, cc, responseTime); explicit {
		if rp.OverrideExpire {
			lifetime = max(lifetime, rp.Min)
		}
		return lifetime, true
	}
	if !heuristicStatus(status) && !cc.Public {
		return 0, false
	}
	date := dateValue(h, responseTime)
	if lm, err := http.ParseTime(h.Get("Last-Modified")); err == nil && lm.Before(date) {
		lifetime = lmFactor(date.Sub(lm), rp.Percent, rp.Max)
		if rp.OverrideLastmod {
			lifetime = max(lifetime, rp.Min)
		}
		return lifetime, false
	}
	return min(rp.Min, rp.Max), false
}

// lmFactor returns percent percent of age, at most maxLife, without
// overflowing for ancient Last-Modified dates or large percentages.
func lmFactor(age time.Duration, percent int, maxLife time.Duration) time.Duration {
	if percent <= 0 || age <= 0 {
		return 0
	}
	p := time.Duration(percent)
	if age/100 > maxLife/p {
		return maxLife
	}
	return min(age/100*p, maxLife)
}

// explicitLifetime returns the freshness lifetime the response states
// itself (RFC 9111, Section 4.2.1), and false when it states none. An
// Expires that is empty, repeated or not a date means already expired.
func explicitLifetime(h http.Header, cc CacheControl, responseTime time.Time) (time.Duration, bool) {
	switch {
	case cc.SMaxAge >= 0:
		return cc.SMaxAge, true
	case cc.MaxAge >= 0:
		return cc.MaxAge, true
	}
	exp, ok := h["Expires"]
	if !ok {
		return 0, false
	}
	if len(exp) != 1 {
		return 0, true
	}
	t, err := http.ParseTime(exp[0])
	if err != nil {
		return 0, true
	}
	return max(t.Sub(dateValue(h, responseTime)), 0), true
}

// dateValue returns the response's Date, or fallback when it is missing or
// invalid (RFC 9110, Section 6.6.1).
func dateValue(h http.Header, fallback time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return fallback
}

// InitialAge returns corrected_initial_age (RFC 9111, Section 4.2.3) for a
// response requested at requestTime and received at responseTime:
//
//	apparent_age = max(0, response_time - date_value)
//	corrected_age_value = age_value + (response_time - request_time)
//	corrected_initial_age = max(apparent_age, corrected_age_value)
func InitialAge(h http.Header, requestTime, responseTime time.Time) time.Duration {
	apparent := max(responseTime.Sub(dateValue(h, responseTime)), 0)
	ageValue := ageHeaderValue(h)
	corrected := ageValue + max(responseTime.Sub(requestTime), 0)
	return max(apparent, corrected)
}

// ageHeaderValue returns age_value (RFC 9111, Section 5.1). Age is a
// singleton field: when its one field line holds a list, the first member
// counts and the rest is discarded, as Section 5.1 asks. Several field lines,
// or a first member that is not a non-negative integer (a sign, a fraction, a
// parameter), cannot be trusted, so the response counts as already stale:
// the safe reading.
func ageHeaderValue(h http.Header) time.Duration {
	vs := h["Age"]
	switch {
	case len(vs) == 0:
		return 0
	case len(vs) > 1:
		return maxDelta * time.Second
	}
	v := vs[0]
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimRight(v, " \t")
	if v == "" {
		return maxDelta * time.Second
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < '0' || c > '9' {
			return maxDelta * time.Second
		}
	}
	return parseDelta(v, true)
}

// CurrentAge returns current_age (RFC 9111, Section 4.2.3):
// corrected_initial_age + (now - response_time).
func CurrentAge(initialAge time.Duration, responseTime, now time.Time) time.Duration {
	return initialAge + max(now.Sub(responseTime), 0)
}

// ageFields holds the Age values of the first hour (see fieldTable).
var ageFields fieldTable

// ageField returns the Age field value for d (RFC 9111, Section 5.1:
// whole seconds).
func ageField(d time.Duration) []string {
	return ageFields.get(int64(d / time.Second))
}
