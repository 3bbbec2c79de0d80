package httpcache

import (
	"net/http"
	"testing"
	"time"
)

func TestNotModified(t *testing.T) {
	t.Parallel()
	lm := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	stored := http.Header{"Etag": {`"abc"`}, "Last-Modified": {lm.Format(http.TimeFormat)}}
	tests := []struct {
		name    string
		method  string
		req     http.Header
		stored  http.Header
		wantOK  bool
		wantINM bool
	}{
		{"RFC 9110 13.1.2 If-None-Match strong", "GET", http.Header{"If-None-Match": {`"abc"`}}, stored, true, true},
		{"RFC 9110 8.8.3.2 weak comparison", "GET", http.Header{"If-None-Match": {`W/"abc"`}}, stored, true, true},
		{"RFC 9110 13.1.2 list", "GET", http.Header{"If-None-Match": {`"x", "abc"`}}, stored, true, true},
		{"RFC 9110 13.1.2 comma in tag", "GET", http.Header{"If-None-Match": {`"a,b", "abc"`}}, stored, true, true},
		{"RFC 9110 13.1.2 star", "GET", http.Header{"If-None-Match": {"*"}}, stored, true, true},
		{"RFC 9110 13.1.2 no match", "GET", http.Header{"If-None-Match": {`"zzz"`}}, stored, false, true},
		{"RFC 9110 13.2.2 INM beats IMS", "GET", http.Header{"If-None-Match": {`"zzz"`},
			"If-Modified-Since": {lm.Add(time.Hour).Format(http.TimeFormat)}}, stored, false, true},
		{"RFC 9110 13.1.3 IMS later", "GET", http.Header{"If-Modified-Since": {lm.Add(time.Hour).Format(http.TimeFormat)}}, stored, true, false},
		{"RFC 9110 13.1.3 IMS equal", "GET", http.Header{"If-Modified-Since": {lm.Format(http.TimeFormat)}}, stored, true, false},
		{"RFC 9110 13.1.3 IMS earlier", "GET", http.Header{"If-Modified-Since": {lm.Add(-time.Hour).Format(http.TimeFormat)}}, stored, false, false},
		{"RFC 9110 13.1.3 invalid IMS ignored", "GET", http.Header{"If-Modified-Since": {"yesterday"}}, stored, false, false},
		{"RFC 9111 4.3.2 Date stands in", "GET", http.Header{"If-Modified-Since": {lm.Format(http.TimeFormat)}},
			http.Header{"Date": {lm.Add(-time.Minute).Format(http.TimeFormat)}}, true, false},
		{"RFC 9110 13.1.2 POST never", "POST", http.Header{"If-None-Match": {"*"}}, stored, false, false},
		{"no condition", "GET", http.Header{}, stored, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := &http.Request{Method: tt.method, Header: tt.req}
			ok, inm := notModified(req, tt.stored, lm)
			if ok != tt.wantOK || inm != tt.wantINM {
				t.Errorf("notModified(%v) = %v, %v, want %v, %v", tt.req, ok, inm, tt.wantOK, tt.wantINM)
			}
		})
	}
}
