package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDebugServer checks the profile endpoints that `go tool pprof` reads.
func TestDebugServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(serveDebug))
	defer srv.Close()
	get := func(path string) (int, http.Header, []byte) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, res.Header, body
	}
	gzipMagic := []byte{0x1f, 0x8b}

	code, _, body := get("/debug/pprof/")
	if code != 200 || !strings.Contains(string(body), `href="heap?debug=1"`) || !strings.Contains(string(body), `href="goroutine?debug=1"`) {
		t.Errorf("index: %d %s", code, body)
	}
	code, h, body := get("/debug/pprof/goroutine?debug=1")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !strings.Contains(string(body), "goroutine profile: total") {
		t.Errorf("goroutine?debug=1: %d %q %.80s", code, h.Get("Content-Type"), body)
	}
	for _, p := range []string{"/debug/pprof/heap", "/debug/pprof/heap?gc=1", "/debug/pprof/allocs", "/debug/pprof/profile?seconds=1"} {
		code, _, body = get(p)
		if code != 200 || !bytes.HasPrefix(body, gzipMagic) {
			t.Errorf("%s: %d, %d bytes, want a gzipped profile", p, code, len(body))
		}
	}
	code, _, body = get("/debug/pprof/trace?seconds=1")
	if code != 200 || !bytes.HasPrefix(body, []byte("go 1.")) {
		t.Errorf("trace: %d %.20q", code, body)
	}
	code, _, body = get("/debug/pprof/cmdline")
	if code != 200 || len(body) == 0 {
		t.Errorf("cmdline: %d %q", code, body)
	}
	for path, want := range map[string]int{
		"/debug/pprof/nosuch":            404,
		"/debug/pprof/profile?seconds=0": 400,
		"/debug/pprof/profile?seconds=x": 400,
		"/debug/pprof/trace?seconds=301": 400,
		"/debug/pprof/heap?debug=x":      400,
		"/other":                         404,
	} {
		if code, _, _ := get(path); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
}
