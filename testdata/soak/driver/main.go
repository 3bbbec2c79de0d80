// Command driver is the soak test's load: it holds slowloris connections
// to cuttle, drives normal requests (a hot set, distinct URLs and a Vary
// explosion) for a while, and prints what cuttle's metrics endpoint says
// before and after. With -bust it pushes distinct URLs instead (bust.go).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	proxy := flag.String("proxy", "127.0.0.1:18080", "cuttle's http_port")
	metrics := flag.String("metrics", "127.0.0.1:18090", "cuttle's --metrics-addr")
	slow := flag.Int("slow", 1000, "slowloris connections to hold")
	workers := flag.Int("workers", 32, "concurrent normal clients")
	dur := flag.Duration("duration", 60*time.Second, "how long to drive load")
	bustN := flag.Int64("bust", 0, "cache-busting mode: send this many distinct URLs (random query strings) while a hot set is requested, instead of the slowloris soak")
	limit := flag.Duration("limit", 10*time.Minute, "cache-busting mode: stop after this long even if not all URLs went through")
	hot := flag.Int("hot", 200, "cache-busting mode: URLs in the hot set")
	hotEvery := flag.Int("hot-every", 5, "cache-busting mode: one request in this many is for the hot set")
	cacheDir := flag.String("cache-dir", "", "cache-busting mode: the cache_dir, to measure its disk usage")
	cacheDirMB := flag.Int64("cache-dir-mb", 0, "cache-busting mode: the cache_dir's size limit in MB")
	flag.Parse()
	if *bustN > 0 {
		exitBust(bustOptions{proxy: *proxy, metrics: *metrics, distinct: *bustN, workers: *workers, limit: *limit,
			hot: *hot, hotEvery: max(*hotEvery, 1), cacheDir: *cacheDir, cacheDirMB: *cacheDirMB})
	}

	before := scrape(*metrics)
	fmt.Printf("before: goroutines %s, RSS %s MiB\n", before["cuttle_goroutines"], mib(before["process_resident_memory_bytes"]))

	// Slowloris: each connection sends a partial header and one more line
	// every few seconds; one that cuttle closes is reopened.
	var held atomic.Int64
	var reopened atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range *slow {
		wg.Go(func() {
			for {
				c, err := net.Dial("tcp", *proxy)
				if err != nil {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
						continue
					}
				}
				held.Add(1)
				fmt.Fprintf(c, "GET /slow/%d HTTP/1.1\r\nHost: soak.local\r\n", i)
				tick := time.NewTicker(2 * time.Second)
				ok := true
				for ok {
					select {
					case <-stop:
						tick.Stop()
						c.Close()
						held.Add(-1)
						return
					case <-tick.C:
						_, err := io.WriteString(c, "X-Slow: 1\r\n")
						ok = err == nil
					}
				}
				tick.Stop()
				c.Close()
				held.Add(-1)
				reopened.Add(1)
			}
		})
	}

	tr := &http.Transport{MaxIdleConnsPerHost: *workers, MaxConnsPerHost: *workers}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var served, failed, distinct, vary atomic.Int64
	var minHeld atomic.Int64
	minHeld.Store(int64(*slow))
	end := time.Now().Add(*dur)
	var load sync.WaitGroup
	for w := range *workers {
		load.Go(func() {
			for n := 0; time.Now().Before(end); n++ {
				var req *http.Request
				switch n % 4 {
				case 0: // a hot set of 100 URLs
					req, _ = http.NewRequest("GET", fmt.Sprintf("http://%s/hot/%d", *proxy, n%100), nil)
				case 1, 2: // cache-busting: every URL once
					req, _ = http.NewRequest("GET", fmt.Sprintf("http://%s/bust/%d/%d", *proxy, w, n), nil)
					distinct.Add(1)
				case 3: // Vary explosion on one URL
					req, _ = http.NewRequest("GET", fmt.Sprintf("http://%s/vary/one", *proxy), nil)
					req.Header.Set("Accept-Language", "x-"+strconv.Itoa(w)+"-"+strconv.Itoa(n))
					vary.Add(1)
				}
				req.Host = "soak.local"
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				served.Add(1)
				if h := held.Load(); h < minHeld.Load() && time.Since(end.Add(-*dur)) > 5*time.Second {
					minHeld.Store(h)
				}
			}
		})
	}
	peakGor, peakRSS := 0.0, 0.0
	for time.Now().Before(end) {
		time.Sleep(2 * time.Second)
		m := scrape(*metrics)
		peakGor = max(peakGor, num(m["cuttle_goroutines"]))
		peakRSS = max(peakRSS, num(m["process_resident_memory_bytes"]))
	}
	load.Wait()
	during := scrape(*metrics)
	fmt.Printf("slowloris: %d connections held at the end of the load (at least %d after warm-up), %d reopened after cuttle closed them\n",
		held.Load(), minHeld.Load(), reopened.Load())
	close(stop)
	wg.Wait()
	fmt.Printf("normal requests: %d served (%.0f/s), %d errors; %d distinct URLs, %d Vary variants asked\n",
		served.Load(), float64(served.Load())/dur.Seconds(), failed.Load(), distinct.Load(), vary.Load())
	fmt.Printf("during: goroutines %s (peak %.0f), RSS %s MiB (peak %.1f MiB)\n",
		during["cuttle_goroutines"], peakGor, mib(during["process_resident_memory_bytes"]), peakRSS/(1<<20))
	tr.CloseIdleConnections()
	time.Sleep(3 * time.Second)
	after := scrape(*metrics)
	fmt.Printf("after: goroutines %s, RSS %s MiB\n", after["cuttle_goroutines"], mib(after["process_resident_memory_bytes"]))
	if failed.Load() > 0 {
		os.Exit(1)
	}
}

// scrape reads the samples of a Prometheus text page, keyed by name and
// labels as written.
func scrape(addr string) map[string]string {
	out := map[string]string{}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		return out
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			out[line[:i]] = line[i+1:]
		}
	}
	return out
}

func num(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

func mib(s string) string { return strconv.FormatFloat(num(s)/(1<<20), 'f', 1, 64) }
