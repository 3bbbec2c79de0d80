package httpcache

import (
	"net/http"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		name   string
		fields []string
		want   CacheControl
	}{
		{"empty", nil, CacheControl{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"max-age", []string{"max-age=60"}, CacheControl{MaxAge: 60 * s, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"case-insensitive names", []string{"Max-Age=5, S-MAXAGE=7, PUBLIC"},
			CacheControl{MaxAge: 5 * s, SMaxAge: 7 * s, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1, Public: true}},
		{"duplicates take the smallest", []string{"max-age=60, max-age=10", "max-age=30"},
			CacheControl{MaxAge: 10 * s, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"invalid delta is zero", []string{"max-age=abc"}, CacheControl{MaxAge: 0, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"negative delta is zero", []string{"max-age=-5"}, CacheControl{MaxAge: 0, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"overflow saturates", []string{"max-age=99999999999999999999"},
			CacheControl{MaxAge: maxDelta * s, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"quoted max-age", []string{`max-age="30"`}, CacheControl{MaxAge: 30 * s, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"quoted list with commas", []string{`no-cache="set-cookie, x-a", max-age=3`},
			CacheControl{MaxAge: 3 * s, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1, NoCache: true}},
		{"flags", []string{"no-store, private, must-revalidate, proxy-revalidate, only-if-cached, no-transform, immutable, must-understand"},
			CacheControl{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1, NoStore: true, Private: true,
				MustRevalidate: true, ProxyRevalidate: true, OnlyIfCached: true, NoTransform: true, Immutable: true,
				MustUnderstand: true}},
		{"max-stale bare", []string{"max-stale"}, CacheControl{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1, MaxStaleAny: true}},
		{"max-stale and min-fresh", []string{"max-stale=5, min-fresh=2, min-fresh=9"},
			CacheControl{MaxAge: -1, SMaxAge: -1, MaxStale: 5 * s, MinFresh: 9 * s, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{"garbage", []string{",,, =, ==x, \"unterminated"}, CacheControl{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Cache-Control": tt.fields}
			if got := ParseCacheControl(h); got != tt.want {
				t.Errorf("ParseCacheControl(%q) = %+v, want %+v", tt.fields, got, tt.want)
			}
		})
	}
}

func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=1", `no-cache="a, b", s-maxage=2`, `"`, "=,=", "max-age=\"1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cc := ParseCacheControl(http.Header{"Cache-Control": {s}})
		if cc.MaxAge < -1 || cc.SMaxAge < -1 || cc.MaxAge > maxDelta*time.Second {
			t.Fatalf("ParseCacheControl(%q) = %+v: out of range", s, cc)
		}
	})
}
