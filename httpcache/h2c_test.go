package httpcache

import (
	"strings"
	"testing"
)

// TestH2CNeverForwarded checks that neither form of cleartext HTTP/2 gets
// through: the connection preface (h2c with prior knowledge, RFC 9113,
// Section 3.3) is refused like CONNECT, and an Upgrade: h2c request is
// answered in HTTP/1.1 without Upgrade or HTTP2-Settings reaching the
// origin (RFC 7540, Section 3.2).
func TestH2CNeverForwarded(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := newProxy(t, o, []Rule{{Allow: true, Terms: []Term{{ACL: aclAll{}}}}})

	res, _, _ := p.do(t, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	if res.StatusCode != 501 || res.Header.Get("X-Squid-Error") != "ERR_UNSUP_REQ 0" || o.count() != 0 {
		t.Errorf("PRI * HTTP/2.0: %d %q, %d origin requests, want 501 ERR_UNSUP_REQ and none", res.StatusCode, res.Header.Get("X-Squid-Error"), o.count())
	}

	res, _, _ = p.do(t, "GET /up HTTP/1.1\r\nHost: www.example.com\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n")
	if res.StatusCode != 200 || res.ProtoMajor != 1 || o.count() != 1 {
		t.Fatalf("Upgrade: h2c: %s %d, %d origin requests, want HTTP/1.1 200 and one", res.Proto, res.StatusCode, o.count())
	}
	for name := range o.last().Header {
		if n := strings.ToLower(name); n == "upgrade" || n == "http2-settings" || n == "connection" {
			t.Errorf("Upgrade: h2c: the origin received %s", name)
		}
	}
}
