package httpcache

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestCachedRoundTrip(t *testing.T) {
	t.Parallel()
	c := &cached{
		status:       200,
		header:       http.Header{"Content-Type": {"text/css"}, "Set-Thing": {"a", "b"}, "Vary": {"Accept-Encoding"}},
		requestTime:  time.Unix(1795627647, 1000),
		responseTime: time.Unix(1795627647, 5000),
		initialAge:   3 * time.Second,
		lifetime:     time.Hour,
		varyNames:    []string{"Accept-Encoding"},
		varyValues:   []string{"gzip, br"},
	}
	c.headerBytes = hitFieldsSize(c.header)
	got, err := unmarshalCached(c.marshal())
	if err != nil {
		t.Fatalf("unmarshalCached(marshal()) error: %v", err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("unmarshalCached(marshal(c)) = %+v, want %+v", got, c)
	}
}

func TestUnmarshalCachedBad(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "garbage", cachedMagic, cachedMagic + "x y\n", cachedMagic + "200 1 2 3 4\nvary X\n\n",
		cachedMagic + "200 1 2 3 4\n"} {
		if _, err := unmarshalCached([]byte(in)); err == nil {
			t.Errorf("unmarshalCached(%q) = nil error, want error", in)
		}
	}
}

func TestVaryMatches(t *testing.T) {
	t.Parallel()
	c := &cached{varyNames: []string{"Accept-Encoding"}, varyValues: []string{"gzip"}}
	tests := []struct {
		h    http.Header
		want bool
	}{
		{http.Header{"Accept-Encoding": {"gzip"}}, true},
		{http.Header{"Accept-Encoding": {" gzip "}}, true},
		{http.Header{"Accept-Encoding": {"br"}}, false},
		{http.Header{}, false},
	}
	for _, tt := range tests {
		req := &http.Request{Header: tt.h}
		if got := c.varyMatches(req); got != tt.want {
			t.Errorf("varyMatches(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}
