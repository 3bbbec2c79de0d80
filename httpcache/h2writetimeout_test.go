package httpcache

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestH2WriteTimeout checks write_timeout on HTTP/2 streams
// (Options.WriteTimeout, reliability I3 "zero window"): a client that
// opens no flow-control window gets its stream reset once a write has
// waited write_timeout, while a response whose origin pauses longer than
// write_timeout between two parts reaches a client that reads: the time
// spent waiting for the origin is not a stalled write.
func TestH2WriteTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/pause" {
			io.WriteString(w, "first part\n")
			w.(http.Flusher).Flush()
			time.Sleep(3 * timeout)
			io.WriteString(w, "second part\n")
			return
		}
		w.Write([]byte(strings.Repeat("x", 64<<10)))
	}))
	t.Cleanup(origin.Close)
	port := origin.Listener.Addr().(*net.TCPAddr).Port
	h, err := New(Options{
		Store:        hfNewProxy(t, nil, hfNewClock(), nil, nil).h.opts.Store,
		Access:       hfAllowAll,
		Peers:        []Peer{{Name: "origin", Host: "127.0.0.1", Port: port}},
		WriteTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h.Port(Port{Vhost: true, Scheme: "https", ListenPort: 443}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	t.Run("slow origin", func(t *testing.T) {
		c := srv.Client()
		res, err := c.Get(srv.URL + "/pause")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil || string(body) != "first part\nsecond part\n" || res.ProtoMajor != 2 {
			t.Errorf("%s over %s: %q, %v; want both parts", res.Status, res.Proto, body, err)
		}
	})

	t.Run("zero window", func(t *testing.T) {
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		var block []byte
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "www.example.com"}, {":path", "/big"}} {
			block = append(block, hpackLiteral(f[0], f[1])...)
		}
		settings := binary.BigEndian.AppendUint16(nil, 0x4) // SETTINGS_INITIAL_WINDOW_SIZE
		settings = binary.BigEndian.AppendUint32(settings, 0)
		out := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
		out = append(out, h2Frame(0x4, 0, 0, settings)...)
		out = append(out, h2Frame(0x1, 0x5, 1, block)...) // END_STREAM|END_HEADERS
		if _, err := conn.Write(out); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		br := bufio.NewReader(conn)
		hdr := make([]byte, 9)
		for {
			if _, err := io.ReadFull(br, hdr); err != nil {
				t.Fatalf("no RST_STREAM for the stalled stream: %v", err)
			}
			n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
			payload := make([]byte, n)
			if _, err := io.ReadFull(br, payload); err != nil {
				t.Fatal(err)
			}
			typ, stream := hdr[3], binary.BigEndian.Uint32(hdr[5:])&0x7fffffff
			if typ == 0x4 && hdr[4]&0x1 == 0 {
				conn.Write(h2Frame(0x4, 0x1, 0, nil)) // SETTINGS ACK
			}
			if typ == 0x0 && n > 0 {
				t.Fatalf("DATA sent into a zero window")
			}
			if typ == 0x3 && stream == 1 {
				t.Logf("stream reset after %v (write_timeout %v), code %d", time.Since(start).Round(time.Millisecond), timeout, binary.BigEndian.Uint32(payload))
				if time.Since(start) < timeout {
					t.Errorf("reset after %v, before write_timeout %v", time.Since(start), timeout)
				}
				return
			}
		}
	})
}
