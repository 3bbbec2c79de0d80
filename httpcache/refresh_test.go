package httpcache

import (
	"net/http"
	"regexp"
	"testing"
	"time"
)

// refreshNow is the fixed clock of these tests.
var refreshNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// refreshHTTPDate formats refreshNow+d as an HTTP-date.
func refreshHTTPDate(d time.Duration) string {
	return refreshNow.Add(d).Format(http.TimeFormat)
}

func TestRefreshFreshnessLifetime(t *testing.T) {
	t.Parallel()
	const (
		s    = time.Second
		hour = time.Hour
	)
	date := refreshHTTPDate(0)
	tests := []struct {
		name         string
		status       int
		header       http.Header
		rp           *RefreshPattern
		want         time.Duration
		wantExplicit bool
	}{
		// override-expire.
		{"squid.conf refresh_pattern override-expire raises max-age=10 to min", 200,
			http.Header{"Date": {date}, "Cache-Control": {"max-age=10"}},
			&RefreshPattern{Min: hour, Max: 2 * hour, Percent: 20, OverrideExpire: true}, hour, true},
		{"squid.conf refresh_pattern override-expire raises a short Expires to min", 200,
			http.Header{"Date": {date}, "Expires": {refreshHTTPDate(10 * s)}},
			&RefreshPattern{Min: hour, Max: 2 * hour, Percent: 20, OverrideExpire: true}, hour, true},
		{"squid.conf refresh_pattern override-expire raises s-maxage to min", 200,
			http.Header{"Date": {date}, "Cache-Control": {"s-maxage=10, max-age=7200"}},
			&RefreshPattern{Min: hour, Max: 2 * hour, Percent: 20, OverrideExpire: true}, hour, true},
		{"squid.conf refresh_pattern override-expire keeps a longer max-age", 200,
			http.Header{"Date": {date}, "Cache-Control": {"max-age=7200"}},
			&RefreshPattern{Min: hour, Max: 3 * hour, Percent: 20, OverrideExpire: true}, 2 * hour, true},
		{"squid.conf refresh_pattern override-expire keeps a longer Expires", 200,
			http.Header{"Date": {date}, "Expires": {refreshHTTPDate(2 * hour)}},
			&RefreshPattern{Min: hour, Max: 3 * hour, Percent: 20, OverrideExpire: true}, 2 * hour, true},
		{"squid.conf refresh_pattern override-expire does not cap an explicit lifetime at max", 200,
			http.Header{"Date": {date}, "Cache-Control": {"max-age=86400"}},
			&RefreshPattern{Min: hour, Max: 2 * hour, Percent: 20, OverrideExpire: true}, 24 * hour, true},
		{"RFC 9111 4.2.1 without override-expire the explicit lifetime stands", 200,
			http.Header{"Date": {date}, "Cache-Control": {"max-age=10"}},
			&RefreshPattern{Min: hour, Max: 2 * hour, Percent: 20}, 10 * s, true},
		{"RFC 9111 4.2.1 explicit lifetime is not capped by max", 200,
			http.Header{"Date": {date}, "Cache-Control": {"max-age=86400"}},
			&RefreshPattern{Max: hour, Percent: 20}, 24 * hour, true},

		// override-lastmod and the LM-factor.
		{"squid.conf refresh_pattern override-lastmod raises the LM-factor lifetime to min", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-10 * hour)}},
			&RefreshPattern{Min: 3 * hour, Max: 24 * hour, Percent: 20, OverrideLastmod: true}, 3 * hour, false},
		{"squid.conf refresh_pattern override-lastmod keeps a longer LM-factor lifetime", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-100 * hour)}},
			&RefreshPattern{Min: 3 * hour, Max: 24 * hour, Percent: 20, OverrideLastmod: true}, 20 * hour, false},
		{"squid.conf refresh_pattern min does not apply to the LM-factor without override-lastmod", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-10 * hour)}},
			&RefreshPattern{Min: 3 * hour, Max: 24 * hour, Percent: 20}, 2 * hour, false},
		{"squid.conf refresh_pattern override-lastmod does not touch an explicit lifetime", 200,
			http.Header{"Date": {date}, "Cache-Control": {"max-age=10"}, "Last-Modified": {refreshHTTPDate(-10 * hour)}},
			&RefreshPattern{Min: 3 * hour, Max: 24 * hour, Percent: 20, OverrideLastmod: true}, 10 * s, true},
		{"squid.conf refresh_pattern max caps the LM-factor", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-1000 * hour)}},
			&RefreshPattern{Max: 24 * hour, Percent: 20}, 24 * hour, false},
		{"squid.conf refresh_pattern percent over 100", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-10 * hour)}},
			&RefreshPattern{Max: 1000 * hour, Percent: 500}, 50 * hour, false},
		{"squid.conf refresh_pattern max caps the LM-factor of an ancient Last-Modified", 200,
			http.Header{"Date": {date}, "Last-Modified": {"Thu, 01 Jan 1970 00:00:00 GMT"}},
			&RefreshPattern{Max: 24 * hour, Percent: 20}, 24 * hour, false},
		{"squid.conf refresh_pattern LM-factor of a Last-Modified twenty years old", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshNow.AddDate(-20, 0, 0).Format(http.TimeFormat)}},
			&RefreshPattern{Max: 24 * hour, Percent: 20}, 24 * hour, false},
		{"squid.conf refresh_pattern Last-Modified after Date falls back to min", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(hour)}},
			&RefreshPattern{Min: 10 * time.Minute, Max: hour, Percent: 20}, 10 * time.Minute, false},
		{"squid.conf refresh_pattern no Last-Modified gives min", 200,
			http.Header{"Date": {date}},
			&RefreshPattern{Min: 10 * time.Minute, Max: hour, Percent: 20}, 10 * time.Minute, false},
		{"squid.conf refresh_pattern no Last-Modified gives min capped by max", 200,
			http.Header{"Date": {date}},
			&RefreshPattern{Min: 2 * hour, Max: hour, Percent: 20}, hour, false},

		// Squid's built-in rule (nil).
		{"squid.conf refresh_pattern default rule is 20% of Date minus Last-Modified", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-10 * hour)}}, nil, 2 * hour, false},
		{"squid.conf refresh_pattern default rule caps at 3 days", 200,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-1000 * hour)}}, nil, 72 * hour, false},
		{"squid.conf refresh_pattern default rule caps an ancient Last-Modified at 3 days", 200,
			http.Header{"Date": {date}, "Last-Modified": {"Thu, 01 Jan 1970 00:00:00 GMT"}}, nil, 72 * hour, false},
		{"squid.conf refresh_pattern default rule has min 0", 200,
			http.Header{"Date": {date}}, nil, 0, false},

		// Explicit expiration that cannot be trusted.
		{"RFC 9111 4.2.1 repeated Expires lines mean stale", 200,
			http.Header{"Date": {date}, "Expires": {refreshHTTPDate(hour), refreshHTTPDate(2 * hour)}},
			&RefreshPattern{Min: hour, Max: 2 * hour, Percent: 20}, 0, true},
		{"RFC 9111 5.3 invalid Expires means stale", 200,
			http.Header{"Date": {date}, "Expires": {"0"}, "Last-Modified": {refreshHTTPDate(-10 * hour)}}, nil, 0, true},
		{"RFC 9111 5.3 empty Expires means stale", 200,
			http.Header{"Date": {date}, "Expires": {""}}, nil, 0, true},
		{"RFC 9111 5.3 Expires in the past means stale", 200,
			http.Header{"Date": {date}, "Expires": {refreshHTTPDate(-hour)}}, nil, 0, true},
		{"RFC 9111 5.2.2.1 max-age beats an invalid Expires", 200,
			http.Header{"Date": {date}, "Expires": {"never"}, "Cache-Control": {"max-age=60"}}, nil, 60 * s, true},
		{"RFC 9110 6.6.1 missing Date uses the response time", 200,
			http.Header{"Expires": {refreshHTTPDate(hour)}}, nil, hour, true},

		// Which responses get a heuristic (RFC 9111, Section 4.2.2).
		{"RFC 9111 4.2.2 no heuristic for a 302", 302,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-10 * hour)}}, nil, 0, false},
		{"RFC 9111 4.2.2 public allows a heuristic for a 302", 302,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-10 * hour)}, "Cache-Control": {"public"}}, nil, 2 * hour, false},
		{"RFC 9110 15.1 404 is heuristically cacheable", 404,
			http.Header{"Date": {date}, "Last-Modified": {refreshHTTPDate(-10 * hour)}}, nil, 2 * hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := ParseCacheControl(tt.header)
			got, explicit := FreshnessLifetime(tt.status, tt.header, cc, tt.rp, refreshNow)
			if got != tt.want || explicit != tt.wantExplicit {
				t.Errorf("FreshnessLifetime(%d, %v, rp %+v) = %v, %v, want %v, %v",
					tt.status, tt.header, tt.rp, got, explicit, tt.want, tt.wantExplicit)
			}
		})
	}
}

func TestRefreshMatch(t *testing.T) {
	t.Parallel()
	patterns := []RefreshPattern{
		{Regexp: regexp.MustCompile(`\.css$`), Min: time.Minute, Percent: 50, Max: time.Hour},
		{Regexp: regexp.MustCompile(`^http://a/static/`), Min: time.Hour, Percent: 90, Max: 24 * time.Hour},
		{Regexp: regexp.MustCompile(`(?i)\.JPG$`), Min: 2 * time.Hour, Percent: 10, Max: 48 * time.Hour},
	}
	tests := []struct {
		name     string
		url      string
		patterns []RefreshPattern
		want     *RefreshPattern
	}{
		{"squid.conf refresh_pattern first match wins", "http://a/static/site.css", patterns, &patterns[0]},
		{"squid.conf refresh_pattern later pattern when the first does not match", "http://a/static/app.js", patterns, &patterns[1]},
		{"squid.conf refresh_pattern -i matches case-insensitively", "http://a/img/photo.jpg", patterns, &patterns[2]},
		{"squid.conf refresh_pattern default rule when none matches", "http://a/index.html", patterns, &defaultRefresh},
		{"squid.conf refresh_pattern default rule without patterns", "http://a/site.css", nil, &defaultRefresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MatchRefresh(tt.url, tt.patterns); got != tt.want {
				t.Errorf("MatchRefresh(%q) = %+v, want %+v", tt.url, got, tt.want)
			}
		})
	}
	t.Run("squid.conf refresh_pattern default rule is min 0, 20%, max 3 days", func(t *testing.T) {
		t.Parallel()
		got := MatchRefresh("http://a/", nil)
		if got.Regexp != nil || got.Min != 0 || got.Percent != 20 || got.Max != 72*time.Hour ||
			got.OverrideExpire || got.OverrideLastmod || got.ReloadIntoIMS || got.IgnoreReload ||
			got.IgnoreNoStore || got.IgnorePrivate || got.RefreshIMS || got.StoreStale || got.MaxStale != 0 {
			t.Errorf("MatchRefresh(no patterns) = %+v, want min 0, 20%%, max 72h and no options", got)
		}
	})
}

func TestStorableRefreshPattern(t *testing.T) {
	t.Parallel()
	date := refreshHTTPDate(0)
	request := func(method string, h http.Header) *http.Request {
		req, err := http.NewRequest(method, "http://a/", nil)
		if err != nil {
			panic(err)
		}
		if h != nil {
			req.Header = h
		}
		return req
	}
	auth := http.Header{"Authorization": {"Basic eDp5"}}
	all := &RefreshPattern{IgnoreNoStore: true, IgnorePrivate: true, StoreStale: true}
	tests := []struct {
		name   string
		method string
		req    http.Header
		status int
		res    http.Header
		rp     *RefreshPattern
		want   bool
	}{
		{"RFC 9111 5.2.2.5 no-store refused", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=60, no-store"}}, nil, false},
		{"squid.conf refresh_pattern ignore-no-store stores no-store", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=60, no-store"}}, &RefreshPattern{IgnoreNoStore: true}, true},
		{"squid.conf refresh_pattern ignore-no-store keeps the request's no-store", "GET", http.Header{"Cache-Control": {"no-store"}}, 200,
			http.Header{"Cache-Control": {"max-age=60"}}, &RefreshPattern{IgnoreNoStore: true}, false},
		{"squid.conf refresh_pattern ignore-no-store does not ignore private", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=60, private"}}, &RefreshPattern{IgnoreNoStore: true}, false},
		{"RFC 9111 5.2.2.7 private refused", "GET", nil, 200,
			http.Header{"Cache-Control": {"private, max-age=60"}}, nil, false},
		{"squid.conf refresh_pattern ignore-private stores private", "GET", nil, 200,
			http.Header{"Cache-Control": {"private, max-age=60"}}, &RefreshPattern{IgnorePrivate: true}, true},
		{"squid.conf refresh_pattern ignore-private does not ignore no-store", "GET", nil, 200,
			http.Header{"Cache-Control": {"no-store, max-age=60"}}, &RefreshPattern{IgnorePrivate: true}, false},
		{"RFC 9111 4.3 stale on arrival without validator refused", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=0"}}, nil, false},
		{"squid.conf refresh_pattern store-stale stores a stale response without validator", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=0"}}, &RefreshPattern{StoreStale: true}, true},
		{"squid.conf refresh_pattern store-stale stores an expired Expires", "GET", nil, 200,
			http.Header{"Expires": {refreshHTTPDate(-time.Hour)}}, &RefreshPattern{StoreStale: true}, true},
		{"RFC 9111 4.3 stale on arrival with a validator stored", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=0"}, "Etag": {`"v1"`}}, nil, true},
		{"RFC 9111 5.2.2.4 no-cache without validator refused", "GET", nil, 200,
			http.Header{"Cache-Control": {"no-cache, max-age=60"}}, nil, false},
		{"RFC 9111 5.2.2.4 no-cache with a validator stored", "GET", nil, 200,
			http.Header{"Cache-Control": {"no-cache, max-age=60"}, "Last-Modified": {refreshHTTPDate(-time.Hour)}}, nil, true},
		{"cuttle README Set-Cookie never stored", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"s=1"}}, nil, false},
		{"cuttle README Set-Cookie never stored, even with every refresh_pattern option", "GET", nil, 200,
			http.Header{"Cache-Control": {"public, max-age=60"}, "Set-Cookie": {"s=1"}}, all, false},
		{"RFC 9111 3.5 Authorization refused without explicit permission", "GET", auth, 200,
			http.Header{"Cache-Control": {"max-age=60"}}, nil, false},
		{"RFC 9111 3.5 Authorization with public", "GET", auth, 200,
			http.Header{"Cache-Control": {"public, max-age=60"}}, nil, true},
		{"RFC 9111 3.5 Authorization with s-maxage", "GET", auth, 200,
			http.Header{"Cache-Control": {"s-maxage=60"}}, nil, true},
		{"RFC 9111 3.5 Authorization with must-revalidate", "GET", auth, 200,
			http.Header{"Cache-Control": {"must-revalidate, max-age=60"}}, nil, true},
		{"RFC 9111 3.5 Authorization with proxy-revalidate alone refused", "GET", auth, 200,
			http.Header{"Cache-Control": {"proxy-revalidate, max-age=60"}}, nil, false},
		{"RFC 9111 5.2.2.3 must-understand with an unknown status refused", "GET", nil, 299,
			http.Header{"Cache-Control": {"max-age=60, must-understand, no-store"}}, nil, false},
		{"RFC 9111 5.2.2.3 must-understand with an unknown status refused, even with ignore-no-store", "GET", nil, 599,
			http.Header{"Cache-Control": {"max-age=60, must-understand"}}, all, false},
		{"RFC 9111 5.2.2.3 must-understand with a known status overrides no-store", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=60, must-understand, no-store"}}, nil, true},
		{"RFC 9111 4.1 Vary: * refused", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, nil, false},
		{"RFC 9111 4.1 Vary list containing * refused, even with store-stale", "GET", nil, 200,
			http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept-Encoding, *"}}, all, false},
		{"RFC 9111 3 POST refused, even with every refresh_pattern option", "POST", nil, 200,
			http.Header{"Cache-Control": {"max-age=60"}}, all, false},
		{"RFC 9111 3 206 refused", "GET", nil, 206,
			http.Header{"Cache-Control": {"max-age=60"}}, all, false},
		{"RFC 9111 3 interim 1xx refused", "GET", nil, 103,
			http.Header{"Cache-Control": {"max-age=60"}}, all, false},
		{"RFC 9111 3 302 with max-age stored", "GET", nil, 302,
			http.Header{"Cache-Control": {"max-age=60"}, "Location": {"http://a/b"}}, nil, true},
		{"RFC 9111 3 302 with only a validator refused (no explicit freshness, not heuristically cacheable)", "GET", nil, 302,
			http.Header{"Etag": {`"v1"`}, "Location": {"http://a/b"}}, nil, false},
		{"RFC 9111 3 307 with only a validator refused (no explicit freshness, not heuristically cacheable)", "GET", nil, 307,
			http.Header{"Last-Modified": {refreshHTTPDate(-time.Hour)}, "Location": {"http://a/b"}}, nil, false},
		{"RFC 9111 3 200 with only a validator stored (heuristically cacheable)", "GET", nil, 200,
			http.Header{"Etag": {`"v1"`}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := tt.res.Clone()
			res.Set("Date", date)
			cc := ParseCacheControl(res)
			life, _ := FreshnessLifetime(tt.status, res, cc, tt.rp, refreshNow)
			req := request(tt.method, tt.req)
			if got := Storable(req, tt.status, res, cc, life, tt.rp); got != tt.want {
				t.Errorf("Storable(%s %v, %d, %v, lifetime %v, rp %+v) = %v, want %v",
					tt.method, tt.req, tt.status, res, life, tt.rp, got, tt.want)
			}
		})
	}
}

func TestAgeHeaderValue(t *testing.T) {
	t.Parallel()
	const (
		s     = time.Second
		stale = maxDelta * time.Second
	)
	tests := []struct {
		name string
		age  []string
		want time.Duration
	}{
		{"RFC 9111 5.1 no Age is zero", nil, 0},
		{"RFC 9111 5.1 Age zero", []string{"0"}, 0},
		{"RFC 9111 5.1 Age in seconds", []string{"60"}, 60 * s},
		{"RFC 9111 5.1 Age with leading zeros", []string{"007"}, 7 * s},
		{"RFC 9111 5.1 first member of a one-line list (0,7200)", []string{"0,7200"}, 0},
		{"RFC 9111 5.1 first member of a one-line list (7200, 0)", []string{"7200, 0"}, 7200 * s},
		{"RFC 9111 5.1 first member with whitespace before the comma", []string{"7200 ,0"}, 7200 * s},
		{"RFC 9111 5.1 one-line list of zeros", []string{"0, 0"}, 0},
		{"RFC 9110 5.3 repeated Age lines mean stale (0 then 7200)", []string{"0", "7200"}, stale},
		{"RFC 9110 5.3 repeated Age lines mean stale (7200 then 0)", []string{"7200", "0"}, stale},
		{"RFC 9110 5.3 repeated identical Age lines mean stale", []string{"0", "0"}, stale},
		{"RFC 9111 5.1 non-numeric Age means stale", []string{"abc"}, stale},
		{"RFC 9111 5.1 negative Age means stale", []string{"-7200"}, stale},
		{"RFC 9111 5.1 signed Age means stale", []string{"+5"}, stale},
		{"RFC 9111 5.1 float Age means stale", []string{"7200.0"}, stale},
		{"RFC 9111 5.1 exponent Age means stale", []string{"1e3"}, stale},
		{"RFC 9111 5.1 Age with a parameter means stale", []string{"7200;foo=1"}, stale},
		{"RFC 9111 5.1 Age with a parameter on a zero means stale", []string{"0;foo=1"}, stale},
		{"RFC 9111 5.1 empty Age means stale", []string{""}, stale},
		{"RFC 9111 5.1 invalid first member means stale", []string{"x, 0"}, stale},
		{"RFC 9111 1.2.2 Age of 2^31 kept", []string{"2147483648"}, stale},
		{"RFC 9111 1.2.2 Age just below 2^31 kept", []string{"2147483647"}, 2147483647 * s},
		{"RFC 9111 1.2.2 Age beyond 2^31 saturates", []string{"2147483649"}, stale},
		{"RFC 9111 1.2.2 Age beyond 64 bits saturates", []string{"99999999999999999999999"}, stale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Date": {refreshHTTPDate(0)}}
			if tt.age != nil {
				h["Age"] = tt.age
			}
			if got := ageHeaderValue(h); got != tt.want {
				t.Errorf("ageHeaderValue(Age %q) = %v, want %v", tt.age, got, tt.want)
			}
			// With Date, request and response at the same instant,
			// corrected_initial_age is age_value (RFC 9111, Section 4.2.3).
			if got := InitialAge(h, refreshNow, refreshNow); got != tt.want {
				t.Errorf("InitialAge(Age %q) = %v, want %v", tt.age, got, tt.want)
			}
		})
	}
}

func TestAgeInitialAndCurrent(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		name        string
		header      http.Header
		req, res    time.Time
		now         time.Time
		wantInitial time.Duration
		wantCurrent time.Duration
	}{
		{"RFC 9111 4.2.3 apparent age beats a smaller corrected age",
			http.Header{"Date": {refreshHTTPDate(-60 * s)}, "Age": {"10"}},
			refreshNow, refreshNow, refreshNow, 60 * s, 60 * s},
		{"RFC 9111 4.2.3 corrected age adds the response delay",
			http.Header{"Date": {refreshHTTPDate(0)}, "Age": {"30"}},
			refreshNow.Add(-5 * s), refreshNow, refreshNow.Add(10 * s), 35 * s, 45 * s},
		{"RFC 9111 4.2.3 Date in the future gives no apparent age",
			http.Header{"Date": {refreshHTTPDate(time.Hour)}},
			refreshNow, refreshNow, refreshNow, 0, 0},
		{"RFC 9110 6.6.1 missing Date gives no apparent age",
			http.Header{"Age": {"30"}},
			refreshNow.Add(-2 * s), refreshNow, refreshNow, 32 * s, 32 * s},
		{"RFC 9110 6.6.1 invalid Date gives no apparent age",
			http.Header{"Date": {"yesterday"}},
			refreshNow, refreshNow, refreshNow.Add(7 * s), 0, 7 * s},
		{"RFC 9111 4.2.3 response before request adds no delay",
			http.Header{"Date": {refreshHTTPDate(0)}, "Age": {"30"}},
			refreshNow.Add(5 * s), refreshNow, refreshNow, 30 * s, 30 * s},
		{"RFC 9111 4.2.3 current age never goes back when the clock does",
			http.Header{"Date": {refreshHTTPDate(0)}, "Age": {"30"}},
			refreshNow, refreshNow, refreshNow.Add(-time.Hour), 30 * s, 30 * s},
		{"RFC 9111 4.2.3 saturated Age stays stale",
			http.Header{"Date": {refreshHTTPDate(0)}, "Age": {"99999999999999999999"}},
			refreshNow.Add(-s), refreshNow, refreshNow.Add(s), maxDelta*s + s, maxDelta*s + 2*s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			initial := InitialAge(tt.header, tt.req, tt.res)
			if initial != tt.wantInitial {
				t.Errorf("InitialAge(%v) = %v, want %v", tt.header, initial, tt.wantInitial)
			}
			if got := CurrentAge(initial, tt.res, tt.now); got != tt.wantCurrent {
				t.Errorf("CurrentAge(%v, %v, %v) = %v, want %v", initial, tt.res, tt.now, got, tt.wantCurrent)
			}
		})
	}
}
