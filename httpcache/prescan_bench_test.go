package httpcache

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPrescanKeepAlive compares a kept-alive GET served by net/http
// on a plain listener and on one wrapped by PrescanListener (loopback,
// a handler that writes 2 bytes): the difference is the pre-scan's cost.
func BenchmarkPrescanKeepAlive(b *testing.B) {
	h := fuzzHandler(b)
	for _, bc := range []struct {
		name    string
		prescan bool
	}{{"plain", false}, {"prescan", true}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
				io.WriteString(rw, "ok")
			}))
			if bc.prescan {
				srv.Listener = PrescanListener(srv.Listener, func() *Handler { return h })
			}
			srv.Start()
			defer srv.Close()
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET /static/a.css HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n\r\n")
			br := bufio.NewReader(c)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
}

// BenchmarkPrescanScan measures the scanner alone over a typical browser
// request head.
func BenchmarkPrescanScan(b *testing.B) {
	head := []byte("GET /static/app.js?v=1 HTTP/1.1\r\nHost: www.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
		"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Referer: https://www.example.com/\r\nConnection: keep-alive\r\nCookie: a=b; c=d\r\n\r\n")
	var s scanner
	s.reset(RequestLimits{})
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		for pos := 0; pos < len(head); {
			k, ev := s.scan(head[pos:])
			pos += k
			if ev == evReject {
				b.Fatal(s.reject)
			}
		}
	}
}
