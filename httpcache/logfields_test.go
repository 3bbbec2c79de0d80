package httpcache

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"cuttle/accesslog"
)

// TestLogSizesAndPeerFields checks the access.log fields the handler fills
// for logformat codes beyond the native ones: the reply header size (%<sh)
// against the total sent (%<st) and the body, the request sizes (%>sh,
// %>st), the origin's status and port (%<Hs, %<p) and the error page
// (%err_code).
func TestLogSizesAndPeerFields(t *testing.T) {
	t.Parallel()
	c := hfNewClock()
	o := hfNewOrigin(t, c, hfStatic("max-age=60", "0123456789"))
	path := filepath.Join(t.TempDir(), "custom.log")
	w, err := accesslog.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	format, err := accesslog.Compile(`%<sh %<st %>sh %>st %<Hs %<p %err_code %ru`, accesslog.FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logger := accesslog.New(accesslog.Output{W: w, Format: format})
	t.Cleanup(func() { logger.Close() })
	p := hfNewProxy(t, o, c, nil, func(opts *Options) {
		opts.Log = logger
		opts.Access = []Rule{{Allow: false, Terms: []Term{{ACL: mustACL(t, "dstdomain", "evil.example.org")}}}, {Allow: true}}
	})
	miss := get("/sizes")
	_, body, sent := p.do(t, miss)
	_, _, deniedSent := p.do(t, "GET /x HTTP/1.1\r\nHost: evil.example.org\r\n\r\n")
	if err := logger.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("log = %q, want 2 lines", lines)
	}
	port := strconv.Itoa(o.Listener.Addr().(*net.TCPAddr).Port)
	f := strings.Fields(lines[0])
	sh, _ := strconv.Atoi(f[0])
	if f[1] != strconv.FormatInt(sent, 10) || int64(sh)+int64(len(body)) != sent {
		t.Errorf("miss: %%<sh %s, %%<st %s; want %%<st = %d sent and %%<sh = %%<st - %d body bytes", f[0], f[1], sent, len(body))
	}
	if f[2] != strconv.Itoa(len(miss)) || f[3] != f[2] {
		t.Errorf("miss: %%>sh %s, %%>st %s; want the %d bytes of the request", f[2], f[3], len(miss))
	}
	if f[4] != "200" || f[5] != port || f[6] != "-" {
		t.Errorf("miss: %%<Hs %s, %%<p %s, %%err_code %s; want 200, %s, -", f[4], f[5], f[6], port)
	}
	f = strings.Fields(lines[1])
	if f[1] != strconv.FormatInt(deniedSent, 10) || f[4] != "-" || f[5] != "-" || f[6] != "ERR_ACCESS_DENIED" {
		t.Errorf("denied: %q; want %%<st %d, no peer fields, ERR_ACCESS_DENIED", lines[1], deniedSent)
	}
}
