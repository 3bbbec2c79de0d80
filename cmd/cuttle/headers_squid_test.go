package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// headerSideConf is the squid.conf of the header differential test, with
// the header directives under test; mode is the forwarded_for value.
// Forwarded is named in request_header_access so that cuttle passes it on
// as Squid does (by default cuttle drops it: httpcache/unkeyed.go).
func headerSideConf(dir, name string, port, originPort int, mode string) string {
	return fmt.Sprintf(`http_port 127.0.0.1:%[3]d accel defaultsite=www.example.com vhost
cache_peer 127.0.0.1 parent %[4]d 0 no-query originserver name=origin
never_direct allow all
acl local src 127.0.0.1
acl trusted src 192.0.2.0/24
acl other src 10.0.0.0/8
acl indirect src 198.51.100.9
http_access deny indirect
http_access allow all
cache_mem 8 MB
visible_hostname side.local
forwarded_for %[5]s
follow_x_forwarded_for allow local
follow_x_forwarded_for allow trusted
request_header_access User-Agent allow other
request_header_replace User-Agent Replaced/1.0
request_header_access Referer deny other
request_header_access X-Custom deny all
request_header_access X-Keep allow all
request_header_access Forwarded allow all
request_header_access Other deny all
request_header_add X-Added "%%>a %%ru" all
request_header_add X-Never never other
reply_header_access Server deny all
reply_header_replace Server Hidden
reply_header_access X-Cache deny all
reply_header_add X-Reply plain
access_log stdio:%[1]s/%[2]s-access.log squid
cache_log %[1]s/%[2]s-cache.log
pid_filename %[1]s/%[2]s.pid
cache_store_log none
logfile_rotate 0
coredump_dir %[1]s
netdb_filename none
pinger_enable off
dns_nameservers 127.0.0.1
shutdown_lifetime 1 seconds
cache_effective_user proxy
icp_port 0
htcp_port 0
`, dir, name, port, originPort, mode)
}

// headerSideRequest is one request of the header differential test.
type headerSideRequest struct {
	path   string
	header []string
}

var headerSideRequests = []headerSideRequest{
	{"/a?q=1", []string{"User-Agent: curl/8", "Referer: http://r/", "X-Custom: 1", "X-Foo: bar",
		"X-Keep: k", "Cookie: c=1", "X-Forwarded-Host: evil", "Forwarded: host=evil",
		"X-Forwarded-For: 198.51.100.1, 192.0.2.5"}},
	{"/b", []string{"X-Forwarded-For: 192.0.2.1", "X-Forwarded-For: 192.0.2.2"}},
	{"/c", []string{"X-Forwarded-For: 198.51.100.9, 192.0.2.5"}}, // denied by its indirect client
	{"/d", []string{"X-Forwarded-For: 198.51.100.1, unknown, 192.0.2.6 ,, 192.0.2.5,"}},
	{"/e", nil},
}

// headerSideCompared are the fields compared: those the origin receives
// and those the client gets.
var (
	headerSideOriginFields = []string{"User-Agent", "Referer", "X-Custom", "X-Foo", "X-Keep", "Cookie",
		"X-Forwarded-Host", "Forwarded", "X-Forwarded-For", "X-Added", "X-Never"}
	headerSideClientFields = []string{"Server", "X-Cache", "X-Reply", "X-Origin"}
)

// TestHeaderRulesSideBySideWithSquid gives Squid 5.7 and cuttle the same
// header directives, in each forwarded_for mode, sends both the same
// requests and compares what the origin received, what the client got and
// the client address in access.log.
func TestHeaderRulesSideBySideWithSquid(t *testing.T) {
	t.Parallel()
	bin := needSquid(t)
	for _, mode := range []string{"on", "off", "transparent", "truncate", "delete"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := squidDir(t, "cuttle-hdr-side-")
			var mu sync.Mutex
			seen := map[string]http.Header{} // protected by mu
			origin := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
				if strings.HasPrefix(req.URL.Path, "/squid-internal-") {
					http.NotFound(rw, req)
					return
				}
				mu.Lock()
				seen[req.URL.Path] = req.Header.Clone()
				mu.Unlock()
				h := rw.Header()
				h["Server"] = []string{"origin/1", "extra/2"}
				h.Set("X-Origin", "o")
				h.Set("Cache-Control", "no-store")
				io.WriteString(rw, "ok\n")
			}))
			t.Cleanup(origin.Close)
			originPort := origin.Listener.Addr().(*net.TCPAddr).Port

			squid := startHeaderSquid(t, bin, dir, originPort, mode)
			cuttle := startHeaderCuttle(t, dir, originPort, mode)
			ready := time.Now().Add(15 * time.Second)
			type result struct {
				status int
				origin http.Header
				client http.Header
			}
			results := map[string][]result{}
			for _, p := range []*sideProxy{squid, cuttle} {
				waitAccepting(t, p, ready)
				mu.Lock()
				clear(seen)
				mu.Unlock()
				client := &http.Client{Timeout: 5 * time.Second}
				for _, r := range headerSideRequests {
					req, _ := http.NewRequest("GET", p.base+r.path, nil)
					req.Host = sideHost
					req.Header["User-Agent"] = nil // Go's own is not sent
					for _, line := range r.header {
						k, v, _ := strings.Cut(line, ": ")
						req.Header.Add(k, v)
					}
					res, err := client.Do(req)
					if err != nil {
						t.Fatalf("%s %s: %v", p.name, r.path, err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					mu.Lock()
					got := result{status: res.StatusCode, origin: pick(seen[strings.SplitN(r.path, "?", 2)[0]], headerSideOriginFields),
						client: pick(res.Header, headerSideClientFields)}
					mu.Unlock()
					results[p.name] = append(results[p.name], got)
				}
				client.CloseIdleConnections()
				p.stop()
			}
			// Squid's answers that make the comparison worth something.
			sa := results["squid"][0]
			for k, want := range map[string]string{"User-Agent": "Replaced/1.0", "X-Keep": "k", "X-Foo": "",
				"Referer": "http://r/", "X-Added": "198.51.100.1 http://www.example.com/a?", "X-Never": ""} {
				if got := strings.Join(sa.origin[k], ","); got != want {
					t.Errorf("squid /a: origin %s = %q, want %q", k, got, want)
				}
			}
			if got := strings.Join(sa.client["Server"], ","); got != "Hidden,Hidden" {
				t.Errorf("squid /a: client Server = %q, want Hidden,Hidden", got)
			}
			if results["squid"][2].status != http.StatusForbidden {
				t.Errorf("squid /c: status %d, want 403", results["squid"][2].status)
			}
			for i, r := range headerSideRequests {
				s, c := results["squid"][i], results["cuttle"][i]
				if s.status != c.status {
					t.Errorf("%s: status squid %d, cuttle %d", r.path, s.status, c.status)
				}
				for _, k := range headerSideOriginFields {
					if sv, cv := s.origin[k], c.origin[k]; strings.Join(sv, "\n") != strings.Join(cv, "\n") {
						t.Errorf("%s: origin %s: squid %q, cuttle %q", r.path, k, sv, cv)
					}
				}
				for _, k := range headerSideClientFields {
					if sv, cv := s.client[k], c.client[k]; strings.Join(sv, "\n") != strings.Join(cv, "\n") {
						t.Errorf("%s: client %s: squid %q, cuttle %q", r.path, k, sv, cv)
					}
				}
			}
			// The client address of each line (%>a, the indirect client).
			sl, cl := logClients(t, squid.accessLog), logClients(t, cuttle.accessLog)
			if strings.Join(sl, " ") != strings.Join(cl, " ") {
				t.Errorf("access.log clients: squid %q, cuttle %q", sl, cl)
			}
		})
	}
}

// pick returns the fields names of h.
func pick(h http.Header, names []string) http.Header {
	out := http.Header{}
	for _, k := range names {
		if v, ok := h[k]; ok {
			out[k] = v
		}
	}
	return out
}

// logClients returns the %>a field of each line of an access.log.
func logClients(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 6 && !strings.Contains(f[6], "/squid-internal-") {
			out = append(out, f[2])
		}
	}
	return out
}

// startHeaderSquid starts Squid with headerSideConf and registers its
// stop; a service name per mode keeps the Squids' shared memory apart.
func startHeaderSquid(t *testing.T, bin, dir string, originPort int, mode string) *sideProxy {
	t.Helper()
	return startSquidWith(t, bin, dir, fmt.Sprintf("cuttlehdr%d%s", os.Getpid(), mode), headerConf(mode), originPort)
}

// startHeaderCuttle runs cuttle in-process with headerSideConf.
func startHeaderCuttle(t *testing.T, dir string, originPort int, mode string) *sideProxy {
	t.Helper()
	return startCuttleWith(t, dir, headerConf(mode), originPort)
}

// headerConf is headerSideConf for one forwarded_for mode.
func headerConf(mode string) func(dir, name string, port, originPort int) string {
	return func(dir, name string, port, originPort int) string {
		return headerSideConf(dir, name, port, originPort, mode)
	}
}
