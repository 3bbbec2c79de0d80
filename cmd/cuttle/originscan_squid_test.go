package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// malformedConf is the squid.conf of the malformed-origin comparison.
func malformedConf(dir, name string, port, originPort int) string {
	return fmt.Sprintf(`http_port 127.0.0.1:%[3]d accel defaultsite=www.example.com vhost
cache_peer 127.0.0.1 parent %[4]d 0 no-query originserver name=origin
http_access allow localhost
http_access deny all
cache_mem 8 MB
visible_hostname malformed.local
`, dir, name, port, originPort) + sideFiles(dir, name)
}

// malformedReplies are answers that http-cache-tests' origin (npm
// http-cache-tests 0.4.5) sends, byte for byte but for the ids: status
// 999, its mark for "the cache did not send the conditional request I
// expected" (RFC 9110, Section 15: valid status codes are 100..599), and
// a transfer coding nobody can decode (RFC 9112, Section 6.1).
var malformedReplies = map[string]string{
	"/999": "HTTP/1.1 999 unknown\r\nServer-Base-Url: /test/e5443188\r\nServer-Request-Count: 2\r\n" +
		"Client-Request-Count: 2\r\nServer-Now: 1795658217577\r\nCapability-Seen: \r\n" +
		"Date: Thu, 26 Nov 2026 01:56:57 GMT\r\nSet-Cookie: a=c\r\nCache-Control: max-age=2\r\n" +
		"ETag: \"AVQLGBWRMHCXSNI\"\r\nContent-Type: text/plain\r\nRequest-Numbers: 1 2\r\n" +
		"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 8\r\n\r\ne5443188",
	"/te": "HTTP/1.1 200 OK\r\nServer-Base-Url: /test/4fd49a9c\r\nDate: Thu, 26 Nov 2026 01:56:54 GMT\r\n" +
		"Transfer-Encoding: ARIZQHYPGXOFWNE\r\nCache-Control: max-age=3600\r\nContent-Type: text/plain\r\n" +
		"Request-Numbers: 1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n4fd49a9c",
}

// countingOrigin is a raw TCP origin that answers the paths of
// malformedReplies with their bytes and /warm... with a small uncacheable
// 200 once warm of them have arrived (so that each came on a connection of
// its own), and counts the requests per path.
type countingOrigin struct {
	ln   net.Listener
	warm int

	mu     sync.Mutex
	counts map[string]int
	warmed int // requests for /warm... so far
	open   []net.Conn
	all    chan struct{} // closed when warm requests have arrived
}

func newCountingOrigin(t *testing.T, warm int) *countingOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &countingOrigin{ln: ln, warm: warm, counts: map[string]int{}, all: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		o.mu.Lock()
		for _, c := range o.open {
			c.Close()
		}
		o.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.mu.Lock()
			o.open = append(o.open, c)
			o.mu.Unlock()
			wg.Go(func() { o.serve(c) })
		}
	})
	return o
}

func (o *countingOrigin) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body) //nolint:errcheck // nothing to read
		path := req.URL.Path
		o.mu.Lock()
		o.counts[path]++
		if strings.HasPrefix(path, "/warm") {
			if o.warmed++; o.warmed == o.warm {
				close(o.all)
			}
		}
		o.mu.Unlock()
		raw, bad := malformedReplies[path]
		switch {
		case bad:
		case strings.HasPrefix(path, "/warm"):
			select {
			case <-o.all:
			case <-time.After(10 * time.Second):
			}
			raw = "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 2\r\n\r\nok"
		default: // such as Squid's store digest
			raw = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		}
		if _, err := io.WriteString(c, raw); err != nil {
			return
		}
	}
}

func (o *countingOrigin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[path]
}

// TestMalformedOriginWithSquid gives Debian's Squid and cuttle the answers
// of http-cache-tests' origin that cuttle refuses (RFC 9110, Section 15;
// RFC 9112, Section 6.1), each after a burst of requests has left several
// idle connections to the origin: both answer 502 ERR_INVALID_RESP, and
// both ask the origin once.
func TestMalformedOriginWithSquid(t *testing.T) {
	t.Parallel()
	bin := needSquid(t)
	dir := squidDir(t, "cuttle-malformed-")
	const warm = 6
	origins := map[string]*countingOrigin{"squid": newCountingOrigin(t, warm), "cuttle": newCountingOrigin(t, warm)}
	port := func(name string) int { return origins[name].ln.Addr().(*net.TCPAddr).Port }
	squid := startSquidWith(t, bin, dir, fmt.Sprintf("cuttlemal%d", os.Getpid()), malformedConf, port("squid"))
	cuttle := startCuttleWith(t, dir, malformedConf, port("cuttle"))
	deadline := time.Now().Add(30 * time.Second)
	waitAccepting(t, squid, deadline)
	waitAccepting(t, cuttle, deadline)

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, p := range []*sideProxy{squid, cuttle} {
		var wg sync.WaitGroup
		for i := range warm {
			wg.Go(func() {
				res, err := client.Get(p.base + "/warm" + strconv.Itoa(i))
				if err != nil {
					t.Errorf("%s: warm-up %d: %v", p.name, i, err)
					return
				}
				io.Copy(io.Discard, res.Body) //nolint:errcheck // only the status matters
				res.Body.Close()
			})
		}
		wg.Wait()
		for _, path := range []string{"/999", "/te"} {
			res, err := client.Get(p.base + path)
			if err != nil {
				t.Errorf("%s: GET %s: %v", p.name, path, err)
				continue
			}
			io.Copy(io.Discard, res.Body) //nolint:errcheck // only the header matters
			res.Body.Close()
			if res.StatusCode != 502 || res.Header.Get("X-Squid-Error") != "ERR_INVALID_RESP 0" {
				t.Errorf("%s: GET %s: %d %q, want 502 ERR_INVALID_RESP", p.name, path, res.StatusCode, res.Header.Get("X-Squid-Error"))
			}
			if n := origins[p.name].count(path); n != 1 {
				t.Errorf("%s: GET %s asked the origin %d times, want once", p.name, path, n)
			}
		}
	}
}
