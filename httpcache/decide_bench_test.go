package httpcache

import (
	"net/http"
	"testing"
	"time"
)

// Sinks keep the benchmarked results alive so that the compiler cannot
// drop the work.
var (
	benchActionSink   hitAction
	benchDirSink      requestDirectives
	benchCCSink       CacheControl
	benchDurationSink time.Duration
	benchStringSink   string
)

// BenchmarkDecideHit measures the hit decision for a fresh stored response
// (no response directives needed) and for a stale one, whose
// Cache-Control is parsed lazily as serveHit does.
func BenchmarkDecideHit(b *testing.B) {
	resHeader := http.Header{"Cache-Control": {"max-age=3600, stale-while-revalidate=60"}}
	resCC := func() CacheControl { return ParseCacheControl(resHeader) }
	for _, bc := range []struct {
		name     string
		age      time.Duration
		lifetime time.Duration
		want     hitAction
	}{
		{"fresh", 10 * time.Second, time.Hour, useStored},
		{"stale", time.Hour + 30*time.Second, time.Hour, useStaleRefresh},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rd := parseRequestDirectives(http.Header{"Accept": {"*/*"}})
			if got := decideHit(&rd, &defaultRefresh, bc.age, bc.lifetime, resCC); got != bc.want {
				b.Fatalf("decideHit = %d, want %d", got, bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				benchActionSink = decideHit(&rd, &defaultRefresh, bc.age, bc.lifetime, resCC)
			}
		})
	}
}

// BenchmarkParseRequestDirectives measures reading the request fields that
// decide the use of stored responses, for a request without them and for
// a browser's reload-style revalidation.
func BenchmarkParseRequestDirectives(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    http.Header
	}{
		{"none", http.Header{
			"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
			"Accept-Encoding": {"gzip, deflate, br"},
			"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		}},
		{"browser-max-age-0", http.Header{
			"Accept":            {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
			"Accept-Encoding":   {"gzip, deflate, br"},
			"Cache-Control":     {"max-age=0"},
			"If-Modified-Since": {"Sun, 01 Jun 2025 12:00:00 GMT"},
			"User-Agent":        {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchDirSink = parseRequestDirectives(bc.h)
			}
			if bc.name == "browser-max-age-0" && (benchDirSink.cc.MaxAge != 0 || !benchDirSink.conditional) {
				b.Fatalf("parseRequestDirectives = %+v", benchDirSink)
			}
		})
	}
}

// BenchmarkParseCacheControl measures parsing a typical origin
// Cache-Control field.
func BenchmarkParseCacheControl(b *testing.B) {
	h := http.Header{"Cache-Control": {"public, max-age=3600, s-maxage=600, stale-while-revalidate=30, stale-if-error=86400"}}
	b.ReportAllocs()
	for b.Loop() {
		benchCCSink = ParseCacheControl(h)
	}
	if benchCCSink.SMaxAge != 600*time.Second || !benchCCSink.Public {
		b.Fatalf("ParseCacheControl = %+v", benchCCSink)
	}
}

// BenchmarkFreshnessLifetime measures the lifetime of a response with
// max-age and of one left to the Last-Modified heuristic.
func BenchmarkFreshnessLifetime(b *testing.B) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"max-age", http.Header{
			"Cache-Control": {"public, max-age=3600"},
			"Date":          {now.Format(http.TimeFormat)},
			"Content-Type":  {"text/css"},
		}, time.Hour},
		{"heuristic", http.Header{
			"Date":          {now.Format(http.TimeFormat)},
			"Last-Modified": {now.Add(-10 * time.Hour).Format(http.TimeFormat)},
			"Content-Type":  {"text/css"},
		}, 2 * time.Hour},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cc := ParseCacheControl(bc.h)
			if got, _ := FreshnessLifetime(200, bc.h, cc, nil, now); got != bc.want {
				b.Fatalf("FreshnessLifetime = %v, want %v", got, bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				benchDurationSink, _ = FreshnessLifetime(200, bc.h, cc, nil, now)
			}
		})
	}
}

// BenchmarkVaryValue measures normalising a request's value of a Vary
// field: a single token (the fast path) and a list that needs whitespace
// removed, case folded and members sorted.
func BenchmarkVaryValue(b *testing.B) {
	for _, bc := range []struct {
		name, value, want string
	}{
		{"token", "gzip", "gzip"},
		{"list", "GZIP, deflate ;q=0.5,  br", "br,deflate;q=0.5,gzip"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := http.Header{"Accept-Encoding": {bc.value}}
			if got := varyValue(h, "Accept-Encoding"); got != bc.want {
				b.Fatalf("varyValue(%q) = %q, want %q", bc.value, got, bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				benchStringSink = varyValue(h, "Accept-Encoding")
			}
		})
	}
}

// BenchmarkVariantKey measures building the secondary key of a response
// varying on Accept-Encoding and Accept-Language.
func BenchmarkVariantKey(b *testing.B) {
	const url = "http://www.example.com/static/app.css?v=42"
	names := []string{"Accept-Encoding", "Accept-Language"}
	h := http.Header{
		"Accept":          {"text/css,*/*;q=0.1"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-US,en;q=0.5"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
	}
	b.ReportAllocs()
	for b.Loop() {
		benchStringSink = variantKey(url, names, h)
	}
	if want := url + "\x00Accept-Encoding=br,deflate,gzip\x00Accept-Language=en-us,en;q=0.5"; benchStringSink != want {
		b.Fatalf("variantKey = %q, want %q", benchStringSink, want)
	}
}
