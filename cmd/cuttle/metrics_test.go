package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cuttle/httpcache"
)

// metricsLog collects what startMetricsServer logs.
type metricsLog struct {
	mu    sync.Mutex
	lines []string // protected by mu
}

func (l *metricsLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *metricsLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// TestStartMetricsServer starts the metrics server on a free loopback
// port, finds the address it logs, scrapes it and stops it.
func TestStartMetricsServer(t *testing.T) {
	t.Parallel()
	stats := httpcache.NewStats(nil)
	stats.Reloaded(true)
	tiers := func() []httpcache.TierInfo {
		return []httpcache.TierInfo{{Tier: "memory", Objects: 2, Bytes: 4096, MaxBytes: 1 << 20}}
	}
	var logs metricsLog
	stop, err := startMetricsServer("127.0.0.1:0", httpcache.MetricsHandler(stats, tiers, new(httpcache.ConnTable)), logs.logf)
	if err != nil {
		t.Fatalf("startMetricsServer: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	lines := logs.all()
	if len(lines) != 1 {
		t.Fatalf("logged %q, want one line", lines)
	}
	m := regexp.MustCompile(`^Prometheus metrics at http://(127\.0\.0\.1:[1-9][0-9]*)/metrics$`).FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("logged %q, want \"Prometheus metrics at http://127.0.0.1:PORT/metrics\"", lines[0])
	}
	url := "http://" + m[1] + "/metrics"

	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != httpcache.MetricsContentType {
		t.Errorf("GET %s: %d, Content-Type %q; want 200, %q", url, res.StatusCode, res.Header.Get("Content-Type"), httpcache.MetricsContentType)
	}
	for _, want := range []string{
		"\n" + `cuttle_reloads_total{outcome="ok"} 1` + "\n",
		"\n" + `cuttle_store_objects{tier="memory"} 2` + "\n",
		"\ncuttle_client_connections 0\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
	if res, err := client.Get("http://" + m[1] + "/"); err != nil || res.StatusCode != 404 {
		t.Errorf("GET /: %v, %v; want 404", res, err)
	} else {
		res.Body.Close()
	}

	stop()
	stopped = true
	if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
		c.Close()
		t.Errorf("metrics server still accepts connections after stop")
	}
	if lines := logs.all(); len(lines) != 1 {
		t.Errorf("logged %q after a clean stop, want only the address", lines)
	}
}

// TestStartMetricsServerErrors: an address that cannot be listened on is
// an error, and nothing is logged.
func TestStartMetricsServerErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // the subtests run after this function returns
	tests := []struct {
		name, addr string
	}{
		{"in use", busy.Addr().String()},
		{"bad port", "127.0.0.1:99999"},
		{"no port", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs metricsLog
			stop, err := startMetricsServer(tt.addr, httpcache.MetricsHandler(httpcache.NewStats(nil), nil, nil), logs.logf)
			if err == nil {
				stop()
				t.Fatalf("startMetricsServer(%q) = nil error, want one", tt.addr)
			}
			if stop != nil || len(logs.all()) != 0 {
				t.Errorf("startMetricsServer(%q) failed but returned a stop func or logged %q", tt.addr, logs.all())
			}
		})
	}
}
