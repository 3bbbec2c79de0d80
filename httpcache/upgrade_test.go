package httpcache

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUpgradeOffers checks how http_upgrade_request_protocols filters the
// client's offers, with the examples of Squid's documentation.
func TestUpgradeOffers(t *testing.T) {
	t.Parallel()
	all := []Term{{ACL: aclAll{}}}
	allow := Rule{Allow: true, Terms: all}
	deny := Rule{Allow: false, Terms: all}
	never := Rule{Allow: true, Terms: []Term{{ACL: aclAll{}, Not: true}}}
	tests := []struct {
		name    string
		rules   []UpgradeRule
		upgrade []string
		want    string
	}{
		{"no rules", nil, []string{"websocket"}, ""},
		{"named", []UpgradeRule{{"websocket", []Rule{allow}}}, []string{"websocket"}, "websocket"},
		{"case-sensitive", []UpgradeRule{{"WebSocket", []Rule{allow}}}, []string{"websocket"}, ""},
		{"never Foo, others ok", []UpgradeRule{{"Foo", []Rule{deny}}, {"OTHER", []Rule{allow}}}, []string{"Foo, Bar/2", "Baz"}, "Bar/2, Baz"},
		{"Bar but not Bar/1", []UpgradeRule{{"Bar/1", []Rule{deny}}, {"Bar", []Rule{allow}}, {"OTHER", []Rule{deny}}}, []string{"Bar/1, Bar/2, Bar, Qux"}, "Bar/2, Bar"},
		{"named rules shadow OTHER", []UpgradeRule{{"Bar/1", []Rule{allow}}, {"OTHER", []Rule{allow}}}, []string{"Bar/2"}, ""},
		{"no match drops", []UpgradeRule{{"Foo", []Rule{never}}}, []string{"Foo"}, ""},
		{"bad syntax drops all", []UpgradeRule{{"OTHER", []Rule{allow}}}, []string{"Foo, Ba r"}, ""},
		{"empty elements", []UpgradeRule{{"OTHER", []Rule{allow}}}, []string{" , Foo,,"}, "Foo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &Handler{opts: Options{UpgradeProtocols: tt.rules}}
			tx := &transaction{req: &http.Request{Header: http.Header{"Upgrade": tt.upgrade}}}
			if got := strings.Join(h.upgradeOffers(tx), ", "); got != tt.want {
				t.Errorf("upgradeOffers(%q) = %q, want %q", tt.upgrade, got, tt.want)
			}
		})
	}
}

// upgradeOrigin answers /ws with 101 and then echoes in upper case,
// /bad101 with a 101 lacking Connection: upgrade, and anything else with a
// plain 200; it records the Upgrade field of each request.
func upgradeOrigin(t *testing.T) (*origin, func() []string) {
	var seen []string
	o := hfNewOrigin(t, hfNewClock(), func(n int, rw http.ResponseWriter, req *http.Request) {
		seen = append(seen, req.Header.Get("Upgrade")+"|"+req.Header.Get("Connection"))
		switch req.URL.Path {
		case "/ws", "/bad101":
			if req.Header.Get("Upgrade") == "" {
				io.WriteString(rw, "no upgrade asked\n")
				return
			}
			conn, brw, err := http.NewResponseController(rw).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			if req.URL.Path == "/bad101" {
				io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
				return
			}
			io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhi ")
			buf := make([]byte, 512)
			for {
				n, err := brw.Read(buf)
				if n > 0 {
					conn.Write(bytes.ToUpper(buf[:n]))
				}
				if err != nil {
					return
				}
			}
		default:
			rw.Header().Set("Content-Length", "6")
			io.WriteString(rw, "plain\n")
		}
	})
	return o, func() []string {
		o.mu.Lock()
		defer o.mu.Unlock()
		return append([]string(nil), seen...)
	}
}

const wsRequest = "GET %s HTTP/1.1\r\nHost: www.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// TestUpgradeWebSocket checks the tunnel: with http_upgrade_request_protocols
// allowing WebSocket, the origin's 101 reaches the client and bytes flow
// both ways, logged TCP_TUNNEL as Squid does; without the directive the
// Upgrade field never reaches the origin (Squid 5's default).
func TestUpgradeWebSocket(t *testing.T) {
	t.Parallel()
	o, seen := upgradeOrigin(t)
	allowWS := []UpgradeRule{{"websocket", hfAllowAll}}
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) { opts.UpgradeProtocols = allowWS })

	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, strings.Replace(wsRequest, "%s", "/ws", 1))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 101 || res.Header.Get("Upgrade") != "websocket" || !strings.EqualFold(res.Header.Get("Connection"), "upgrade") {
		t.Fatalf("upgrade: %d %q; want 101 with Upgrade: websocket", res.StatusCode, res.Header)
	}
	io.WriteString(conn, "hello")
	got := make([]byte, len("hi HELLO"))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "hi HELLO" {
		t.Errorf("through the tunnel: %q, %v; want %q", got, err, "hi HELLO")
	}
	// Half-close: the origin ends its side in turn, and the client reads
	// the end of the tunnel.
	conn.(*net.TCPConn).CloseWrite()
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("end of the tunnel: %q, %v; want a clean end", rest, err)
	}
	if s := seen(); len(s) != 1 || !strings.HasPrefix(s[0], "websocket|") || !strings.Contains(strings.ToLower(s[0]), "upgrade") {
		t.Errorf("origin saw Upgrade|Connection %q, want websocket|Upgrade", s)
	}

	// The log line is written when the tunnel closes, after both sides.
	p2 := hfNewProxy(t, o, hfNewClock(), nil, nil)
	res2, body, _ := p2.do(t, strings.Replace(wsRequest, "%s", "/ws", 1))
	if res2.StatusCode != 200 || body != "no upgrade asked\n" {
		t.Errorf("without http_upgrade_request_protocols: %d %q, want 200 and no upgrade at the origin", res2.StatusCode, body)
	}
	var lines []string
	for range 250 { // the handler logs a moment after the tunnel's end
		if lines = p.logLines(t); len(lines) > 0 && lines[0] != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], " TCP_TUNNEL/200 ") {
		t.Errorf("access.log = %q, want one TCP_TUNNEL/200 line", lines)
	}
}

// TestUpgradeRefusedByOrigin checks that an origin answering an upgrade
// request with 200 gets no tunnel: the client's connection stays HTTP and
// its next request is parsed as one (websocket-smuggling research), and
// that a 101 without Connection: upgrade is a 502.
func TestUpgradeRefusedByOrigin(t *testing.T) {
	t.Parallel()
	o, _ := upgradeOrigin(t)
	p := hfNewProxy(t, o, hfNewClock(), nil, func(opts *Options) {
		opts.UpgradeProtocols = []UpgradeRule{{"websocket", hfAllowAll}}
	})
	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, strings.Replace(wsRequest, "%s", "/plain", 1))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(body) != "plain\n" {
		t.Fatalf("origin refusing the upgrade: %d %q, want its 200", res.StatusCode, body)
	}
	io.WriteString(conn, get("/page"))
	res, err = http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("next request on the same connection: %v %v, want an HTTP response", res, err)
	}
	res.Body.Close()

	res, _, _ = p.do(t, strings.Replace(wsRequest, "%s", "/bad101", 1))
	if res.StatusCode != 502 || res.Header.Get("X-Squid-Error") != "ERR_INVALID_RESP 0" {
		t.Errorf("101 without Connection: upgrade: %d %q, want 502 ERR_INVALID_RESP", res.StatusCode, res.Header.Get("X-Squid-Error"))
	}
}
