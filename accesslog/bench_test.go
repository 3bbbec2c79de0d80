package accesslog

import (
	"testing"
	"time"
)

func BenchmarkSquidFormat(b *testing.B) {
	f := Squid(FormatOptions{StripQueryTerms: true})
	e := sample()
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		dst = f.Append(dst[:0], &e)
	}
	b.SetBytes(int64(len(dst)))
}

// benchHeaderFormat is a custom format made mostly of header codes.
const benchHeaderFormat = `%>a [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" ` +
	`%{Host}>h %{Accept}>h %{Cookie:;sid}>h %{Cache-Control:max-age}<h %[{X-Quote}>h %#{X-Quote}>h %<h`

func BenchmarkFormats(b *testing.B) {
	opts := FormatOptions{StripQueryTerms: true, Location: time.FixedZone("CET", 3600)}
	timing, err := Compile(timingFormat, opts)
	if err != nil {
		b.Fatal(err)
	}
	headers, err := Compile(benchHeaderFormat, opts)
	if err != nil {
		b.Fatal(err)
	}
	allCodes, err := Compile(allCodesFormat, opts)
	if err != nil {
		b.Fatal(err)
	}
	benchmarks := []struct {
		name string
		f    Formatter
	}{
		{"squid", Squid(opts)},
		{"common", Common(opts)},
		{"combined", Combined(opts)},
		{"compiled-timing", timing},
		{"compiled-headers", headers},
		{"compiled-allcodes", allCodes},
	}
	e := sample()
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			dst := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				dst = bm.f.Append(dst[:0], &e)
			}
			b.SetBytes(int64(len(dst)))
		})
	}
}

func BenchmarkLoggerLog(b *testing.B) {
	w, _ := openTemp(b)
	l := New(Output{W: w, Format: Squid(FormatOptions{StripQueryTerms: true})})
	e := sample()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(&e)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkLoggerLogParallel(b *testing.B) {
	w, _ := openTemp(b)
	l := New(Output{W: w, Format: Squid(FormatOptions{StripQueryTerms: true})})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := sample()
		for pb.Next() {
			l.Log(&e)
		}
	})
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}
