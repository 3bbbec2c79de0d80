package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// h2specBinary finds h2spec (go install github.com/summerwind/h2spec/cmd/h2spec,
// see .ci/run) on PATH or in GOPATH/bin. A missing h2spec fails the test
// in CI and skips it elsewhere.
func h2specBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for dir := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			p := filepath.Join(dir, "bin", "h2spec")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("h2spec not found on PATH or in GOPATH/bin; .ci/run installs it")
	}
	t.Skip("h2spec not installed (go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible)")
	return ""
}

// h2specReport is the part of h2spec's JUnit report (-j) that the test
// reads: one testsuite per section, one testcase per check.
type h2specReport struct {
	Suites []struct {
		Package string `xml:"package,attr"`
		Cases   []struct {
			Desc    string    `xml:"classname,attr"`
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// h2specResult is one h2spec run: each case by its ID (section/number, as
// h2spec numbers them: "http2/6.9.1/2"), with its description, and whether
// it passed. The report lists only the cases that ran, so the numbers
// hold for a run of whole sections.
type h2specResult struct {
	desc   map[string]string
	passed map[string]bool
}

func (r h2specResult) counts() (total, passed int) {
	for _, ok := range r.passed {
		total++
		if ok {
			passed++
		}
	}
	return total, passed
}

func (r h2specResult) failed() []string {
	var ids []string
	for id, ok := range r.passed {
		if !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// runH2spec runs h2spec over TLS against 127.0.0.1:port, for the given
// sections or cases (all when none), and reads its JUnit report.
func runH2spec(t *testing.T, bin string, port int, specs ...string) h2specResult {
	t.Helper()
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	args := append([]string{"-t", "-k", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-j", report}, specs...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	// h2spec exits 1 when a case fails; the report says which.
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("h2spec: %v\n%s", err, out)
	}
	data, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("h2spec wrote no report (%v): %v\n%s", err, rerr, out)
	}
	var rep h2specReport
	if err := xml.Unmarshal(data, &rep); err != nil {
		t.Fatalf("h2spec report: %v", err)
	}
	res := h2specResult{desc: make(map[string]string), passed: make(map[string]bool)}
	for _, s := range rep.Suites {
		for i, c := range s.Cases {
			if c.Skipped != nil {
				continue
			}
			id := fmt.Sprintf("%s/%d", s.Package, i+1)
			res.desc[id] = c.Desc
			res.passed[id] = c.Failure == nil && c.Error == nil
		}
	}
	if len(res.passed) == 0 {
		t.Fatalf("h2spec ran no case:\n%s", out)
	}
	return res
}

// h2specOrigin answers every request with a small cacheable page, so
// that h2spec's requests get DATA frames; the stdlib baseline serves the
// same handler itself.
func h2specOrigin() http.Handler {
	body := strings.Repeat("h2spec body\n", 100)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(body))
	})
}

// startTLSCuttle starts the cuttle binary bin with an https_port (a
// self-signed certificate made here) in front of origin, serving
// Prometheus metrics too; extra lines are appended to its squid.conf. It
// returns the https_port and the metrics address.
func startTLSCuttle(t *testing.T, bin, origin, extra string) (port int, metrics string, p *binaryProc) {
	t.Helper()
	dir := t.TempDir()
	c := newTestCert(t, dir, "h2", 1, false, "h2.test")
	originHost, originPort, _ := strings.Cut(strings.TrimPrefix(origin, "http://"), ":")
	port, metricsPort := freePort(t), freePort(t)
	conf := filepath.Join(dir, "squid.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`https_port 127.0.0.1:%d accel defaultsite=h2.test vhost tls-cert=%s tls-key=%s
cache_peer %s parent %s 0 no-query originserver name=origin
http_access allow localhost
http_access deny all
cache_mem 64 MB
visible_hostname h2.local
access_log none
cache_log %s
pid_filename %s
shutdown_lifetime 1 seconds
%s
%s
`, port, c.certFile, c.keyFile, originHost, originPort, filepath.Join(dir, "cache.log"), filepath.Join(dir, "cuttle.pid"), sameUser(t), extra)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	metrics = fmt.Sprintf("127.0.0.1:%d", metricsPort)
	p = startBinary(t, bin, nil, "-N", "-f", conf, "--metrics-addr", metrics)
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-p.exited:
			t.Fatalf("cuttle exited: %v\n%s", p.err, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuttle did not listen: %v\n%s", err, p.out.String())
		}
	}
	return port, metrics, p
}

// TestH2spec runs h2spec's whole HTTP/2 conformance suite against an
// https_port and against Go's own HTTP/2 server serving the same content,
// and checks that cuttle fails no case that the standard library passes
// (reliability I1). A case that cuttle alone failed is run again once, on
// its own, before it counts: h2spec's cases wait 2 s at most, which a
// loaded machine can miss.
func TestH2spec(t *testing.T) {
	h2spec := h2specBinary(t)
	bin, _ := buildCuttleBinary(t)

	std := httptest.NewUnstartedServer(h2specOrigin())
	std.EnableHTTP2 = true
	std.Config.ErrorLog = log.New(io.Discard, "", 0)
	std.StartTLS()
	defer std.Close()
	stdPort := std.Listener.Addr().(*net.TCPAddr).Port

	origin := httptest.NewServer(h2specOrigin())
	defer origin.Close()
	port, _, _ := startTLSCuttle(t, bin, origin.URL, "")

	base := runH2spec(t, h2spec, stdPort)
	got := runH2spec(t, h2spec, port)
	bt, bp := base.counts()
	ct, cp := got.counts()
	t.Logf("h2spec: Go %s stdlib server %d/%d passed, cuttle %d/%d passed", runtime.Version(), bp, bt, cp, ct)
	t.Logf("stdlib fails: %s", strings.Join(base.failed(), " "))
	t.Logf("cuttle fails: %s", strings.Join(got.failed(), " "))

	for id, ok := range base.passed {
		if !ok || got.passed[id] {
			continue
		}
		// Run alone, the case is the only one of its report.
		if again := runH2spec(t, h2spec, port, id); len(again.failed()) == 0 {
			t.Logf("%s (%s): failed once against cuttle, passed when run again", id, base.desc[id])
			continue
		}
		t.Errorf("%s (%s): passes against Go's HTTP/2 server, fails against cuttle", id, base.desc[id])
	}
	for id := range got.passed {
		if _, ok := base.passed[id]; !ok {
			t.Errorf("%s (%s): run against cuttle only", id, got.desc[id])
		}
	}
}
