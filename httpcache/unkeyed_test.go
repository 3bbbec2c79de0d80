package httpcache

import "testing"

// TestUnkeyedFieldsDropped is C1: fields that make origins build URLs and
// routes (X-Forwarded-Host and friends) never reach the origin, so a
// response they changed is never stored for clean requests; a
// request_header_access rule naming one lets it through, and
// request_header_add still adds it.
func TestUnkeyedFieldsDropped(t *testing.T) {
	t.Parallel()
	allowProto := func(opts *Options) {
		opts.Headers.RequestAccess = []HeaderAccess{{Name: "x-forwarded-proto", Rules: hfAllowAll}}
	}
	addProto := func(opts *Options) {
		opts.Headers.RequestAdd = []HeaderAdd{{Name: "X-Forwarded-Proto", Value: "https"}}
	}
	tests := []struct {
		name  string
		set   func(*Options)
		field string
		want  string // the body the origin answers
	}{
		{"C1 X-Forwarded-Host", nil, "X-Forwarded-Host: evil.example\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Forwarded-Scheme", nil, "X-Forwarded-Scheme: nothttps\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Forwarded-Proto", nil, "X-Forwarded-Proto: http\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Forwarded-Server", nil, "X-Forwarded-Server: evil\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Forwarded-Port", nil, "X-Forwarded-Port: 1337\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Forwarded-Prefix", nil, "X-Forwarded-Prefix: /evil\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Original-URL", nil, "X-Original-URL: /admin\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Rewrite-URL", nil, "X-Rewrite-URL: /admin\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Host", nil, "X-Host: evil.example\r\n", "target=/c1 host=www.example.com"},
		{"C1 X-Original-Host", nil, "X-Original-Host: evil.example\r\n", "target=/c1 host=www.example.com"},
		{"C1 Forwarded", nil, "Forwarded: host=evil.example;proto=http\r\n", "target=/c1 host=www.example.com"},
		{"C1 lower-case name", nil, "x-forwarded-host: evil.example\r\n", "target=/c1 host=www.example.com"},
		{"C1 allowed by request_header_access", allowProto, "X-Forwarded-Proto: https\r\n",
			"target=/c1 host=www.example.com X-Forwarded-Proto=https"},
		{"C1 request_header_add kept", addProto, "X-Forwarded-Proto: http\r\n",
			"target=/c1 host=www.example.com X-Forwarded-Proto=https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := hfNewOrigin(t, hfNewClock(), hkEcho)
			p := hfNewProxy(t, o, hfNewClock(), nil, tt.set)
			res, body, _ := p.do(t, get("/c1", tt.field))
			hfCheck(t, "request with "+tt.field, res, body, 200, tt.want)
			if xff := hfRequest(o, 0).Header.Get("X-Forwarded-For"); xff == "" {
				t.Errorf("X-Forwarded-For was dropped too")
			}
			res, body, _ = p.do(t, get("/c1"))
			hfCheck(t, "clean request", res, body, 200, tt.want, "X-Cache", "HIT from accel-test.local")
		})
	}
}
