package httpcache

import (
	"net/http"
	"regexp"
	"testing"
	"time"
)

func TestFreshnessLifetime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	patterns := []RefreshPattern{
		{Regexp: regexp.MustCompile(`\.css$`), Min: 10 * time.Minute, Percent: 50, Max: time.Hour},
		{Regexp: regexp.MustCompile(`.`), Min: 0, Percent: 20, Max: 72 * time.Hour},
	}
	tests := []struct {
		name         string
		status       int
		header       http.Header
		url          string
		want         time.Duration
		wantExplicit bool
	}{
		{"s-maxage beats max-age", 200, http.Header{"Cache-Control": {"max-age=10, s-maxage=20"}, "Date": {date}},
			"http://a/", 20 * time.Second, true},
		{"max-age beats Expires", 200, http.Header{"Cache-Control": {"max-age=10"}, "Date": {date},
			"Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, "http://a/", 10 * time.Second, true},
		{"Expires minus Date", 200, http.Header{"Date": {date}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}},
			"http://a/", time.Hour, true},
		{"Expires in the past", 200, http.Header{"Date": {date}, "Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}},
			"http://a/", 0, true},
		{"invalid Expires means stale", 200, http.Header{"Date": {date}, "Expires": {"0"}}, "http://a/", 0, true},
		{"heuristic from Last-Modified", 200, http.Header{"Date": {date},
			"Last-Modified": {now.Add(-10 * time.Hour).Format(http.TimeFormat)}}, "http://a/x", 2 * time.Hour, false},
		{"heuristic capped by max", 200, http.Header{"Date": {date},
			"Last-Modified": {now.Add(-1000 * time.Hour).Format(http.TimeFormat)}}, "http://a/a.css", time.Hour, false},
		{"heuristic min without Last-Modified", 200, http.Header{"Date": {date}}, "http://a/a.css", 10 * time.Minute, false},
		{"no heuristic for 302", 302, http.Header{"Date": {date},
			"Last-Modified": {now.Add(-10 * time.Hour).Format(http.TimeFormat)}}, "http://a/x", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := ParseCacheControl(tt.header)
			got, explicit := FreshnessLifetime(tt.status, tt.header, cc, MatchRefresh(tt.url, patterns), now)
			if got != tt.want || explicit != tt.wantExplicit {
				t.Errorf("FreshnessLifetime(%d, %v) = %v, %v, want %v, %v", tt.status, tt.header, got, explicit, tt.want, tt.wantExplicit)
			}
		})
	}
}

func TestFreshnessLifetimeDefaultPattern(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := http.Header{"Date": {now.Format(http.TimeFormat)}, "Last-Modified": {now.Add(-100 * time.Hour).Format(http.TimeFormat)}}
	// Squid's built-in rule when nothing matches: min 0, 20%, max 3 days.
	got, _ := FreshnessLifetime(200, h, ParseCacheControl(h), nil, now)
	if want := 20 * time.Hour; got != want {
		t.Errorf("FreshnessLifetime(no patterns) = %v, want %v", got, want)
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		header     http.Header
		req, res   time.Time
		now        time.Time
		wantAge    time.Duration
		wantInitAt time.Duration
	}{
		{"fresh from origin", http.Header{"Date": {base.Format(http.TimeFormat)}}, base, base, base.Add(5 * time.Second), 5 * time.Second, 0},
		{"Age header plus delay", http.Header{"Date": {base.Format(http.TimeFormat)}, "Age": {"30"}},
			base, base.Add(2 * time.Second), base.Add(2 * time.Second), 32 * time.Second, 32 * time.Second},
		{"apparent age from old Date", http.Header{"Date": {base.Add(-time.Minute).Format(http.TimeFormat)}},
			base, base, base, time.Minute, time.Minute},
		{"Date in the future", http.Header{"Date": {base.Add(time.Hour).Format(http.TimeFormat)}}, base, base, base, 0, 0},
		{"RFC 9111 5.1 invalid Age means stale", http.Header{"Date": {base.Format(http.TimeFormat)}, "Age": {"x"}},
			base, base, base, maxDelta * time.Second, maxDelta * time.Second},
		{"RFC 9111 5.1 Age list uses the first member", http.Header{"Date": {base.Format(http.TimeFormat)}, "Age": {"0,7200"}},
			base, base, base, 0, 0},
		{"RFC 9111 5.1 Age list of an old first member", http.Header{"Date": {base.Format(http.TimeFormat)}, "Age": {"7200, 0"}},
			base, base, base, 7200 * time.Second, 7200 * time.Second},
		{"RFC 9110 5.3 repeated Age lines mean stale", http.Header{"Date": {base.Format(http.TimeFormat)}, "Age": {"0", "0"}},
			base, base, base, maxDelta * time.Second, maxDelta * time.Second},
		{"RFC 9111 5.1 Age with a parameter means stale", http.Header{"Date": {base.Format(http.TimeFormat)}, "Age": {"7200;foo=1"}},
			base, base, base, maxDelta * time.Second, maxDelta * time.Second},
		{"RFC 9111 5.1 negative Age means stale", http.Header{"Date": {base.Format(http.TimeFormat)}, "Age": {"-7200"}},
			base, base, base, maxDelta * time.Second, maxDelta * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			init := InitialAge(tt.header, tt.req, tt.res)
			if init != tt.wantInitAt {
				t.Errorf("InitialAge() = %v, want %v", init, tt.wantInitAt)
			}
			if got := CurrentAge(init, tt.res, tt.now); got != tt.wantAge {
				t.Errorf("CurrentAge() = %v, want %v", got, tt.wantAge)
			}
		})
	}
}

func TestStorable(t *testing.T) {
	t.Parallel()
	get := func(h http.Header) *http.Request {
		req, _ := http.NewRequest("GET", "http://a/", nil)
		if h != nil {
			req.Header = h
		}
		return req
	}
	post, _ := http.NewRequest("POST", "http://a/", nil)
	tests := []struct {
		name   string
		req    *http.Request
		status int
		res    http.Header
		want   bool
	}{
		{"plain max-age", get(nil), 200, http.Header{"Cache-Control": {"max-age=60"}}, true},
		{"POST", post, 200, http.Header{"Cache-Control": {"max-age=60"}}, false},
		{"no-store", get(nil), 200, http.Header{"Cache-Control": {"max-age=60, no-store"}}, false},
		{"private", get(nil), 200, http.Header{"Cache-Control": {"private, max-age=60"}}, false},
		{"no-cache", get(nil), 200, http.Header{"Cache-Control": {"no-cache, max-age=60"}}, false},
		{"request no-store", get(http.Header{"Cache-Control": {"no-store"}}), 200, http.Header{"Cache-Control": {"max-age=60"}}, false},
		{"Authorization", get(http.Header{"Authorization": {"Basic eDp5"}}), 200, http.Header{"Cache-Control": {"max-age=60"}}, false},
		{"Authorization with public", get(http.Header{"Authorization": {"Basic eDp5"}}), 200, http.Header{"Cache-Control": {"public, max-age=60"}}, true},
		{"Authorization with s-maxage", get(http.Header{"Authorization": {"Basic eDp5"}}), 200, http.Header{"Cache-Control": {"s-maxage=60"}}, true},
		{"206", get(nil), 206, http.Header{"Cache-Control": {"max-age=60"}}, false},
		{"304", get(nil), 304, http.Header{"Cache-Control": {"max-age=60"}}, false},
		{"Vary star", get(nil), 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, false},
		{"Vary list", get(nil), 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept-Encoding"}}, true},
		{"RFC 9111 5.2.2.3 must-understand unknown status", get(nil), 599, http.Header{"Cache-Control": {"max-age=60, must-understand"}}, false},
		{"RFC 9111 5.2.2.3 must-understand beats no-store", get(nil), 200, http.Header{"Cache-Control": {"max-age=60, must-understand, no-store"}}, true},
		{"RFC 9111 5.2.2.3 no-store alone", get(nil), 200, http.Header{"Cache-Control": {"max-age=60, no-store"}}, false},
		{"Set-Cookie", get(nil), 200, http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"s=1"}}, false},
		{"stale on arrival", get(nil), 200, http.Header{"Cache-Control": {"max-age=0"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := ParseCacheControl(tt.res)
			life, _ := FreshnessLifetime(tt.status, tt.res, cc, nil, time.Now())
			if got := Storable(tt.req, tt.status, tt.res, cc, life, nil); got != tt.want {
				t.Errorf("Storable(%s, %d, %v) = %v, want %v", tt.req.Method, tt.status, tt.res, got, tt.want)
			}
		})
	}
}

func TestAgeField(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{0, "0"}, {1500 * time.Millisecond, "1"}, {59 * time.Minute, "3540"}, {3599 * time.Second, "3599"}, {2 * time.Hour, "7200"}, {-time.Second, "-1"}} {
		if got := ageField(tt.d); len(got) != 1 || got[0] != tt.want {
			t.Errorf("ageField(%v) = %q, want [%s]", tt.d, got, tt.want)
		}
	}
}
