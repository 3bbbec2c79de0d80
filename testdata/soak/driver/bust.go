package main

import (
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bustOptions configure the cache-busting run (reliability checklist H7).
type bustOptions struct {
	proxy, metrics string
	distinct       int64         // distinct URLs to send
	workers        int           // concurrent clients
	limit          time.Duration // stop then even if distinct is not reached
	hot            int           // URLs in the hot set
	hotEvery       int           // one request in hotEvery is for the hot set
	cacheDir       string        // the cache_dir, for its disk usage
	cacheDirMB     int64         // its size limit in MiB (cache_dir's Mbytes)
}

// hotStats counts the hot set's requests and hits (X-Cache: HIT).
type hotStats struct{ reqs, hits atomic.Int64 }

func (h *hotStats) ratio() float64 {
	r := h.reqs.Load()
	if r == 0 {
		return 0
	}
	return float64(h.hits.Load()) / float64(r)
}

// bust sends o.distinct distinct URLs (random query strings) through
// cuttle while o.workers clients also request a hot set, and reports
// cuttle's memory, goroutines, store objects and bytes, the disk usage of
// the cache_dir and the hot set's hit ratio before, during and after.
// It returns false if requests failed or the million did not go through.
func bust(o bustOptions) bool {
	tr := &http.Transport{MaxIdleConnsPerHost: o.workers, MaxConnsPerHost: o.workers}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	var failed atomic.Int64
	fetch := func(path string) (hit, ok bool) {
		req, _ := http.NewRequest("GET", "http://"+o.proxy+path, nil)
		req.Host = "soak.local"
		res, err := client.Do(req)
		if err != nil {
			failed.Add(1)
			return false, false
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			failed.Add(1)
			return false, false
		}
		return strings.HasPrefix(res.Header.Get("X-Cache"), "HIT"), true
	}
	hotPass := func(st *hotStats) {
		for i := range o.hot {
			hit, ok := fetch(fmt.Sprintf("/hot/%d", i))
			if ok {
				st.reqs.Add(1)
				if hit {
					st.hits.Add(1)
				}
			}
		}
	}

	start := scrape(o.metrics)
	fmt.Printf("start: goroutines %s, RSS %s MiB\n", start["cuttle_goroutines"], mib(start["process_resident_memory_bytes"]))
	// Before: the hot set is fetched twice (misses, then hits).
	var warm, before hotStats
	hotPass(&warm)
	hotPass(&before)
	fmt.Printf("before: hot set of %d URLs, hit ratio %.3f on its second pass\n", o.hot, before.ratio())

	var sent, served atomic.Int64
	var during, window hotStats
	var windowMu sync.Mutex
	t0 := time.Now()
	end := t0.Add(o.limit)
	var wg sync.WaitGroup
	for w := range o.workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(t0.UnixNano())))
			for n := 0; time.Now().Before(end); n++ {
				if n%o.hotEvery == 0 {
					hit, ok := fetch(fmt.Sprintf("/hot/%d", r.IntN(o.hot)))
					if ok {
						windowMu.Lock()
						during.reqs.Add(1)
						window.reqs.Add(1)
						if hit {
							during.hits.Add(1)
							window.hits.Add(1)
						}
						windowMu.Unlock()
					}
					continue
				}
				i := sent.Add(1)
				if i > o.distinct {
					return
				}
				// Random query strings; the sequence number keeps them
				// distinct.
				if _, ok := fetch(fmt.Sprintf("/bust?n=%d&r=%016x", i, r.Uint64())); ok {
					served.Add(1)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var peakRSS, peakGor, peakDisk float64
	report := func(m map[string]string, label string) {
		rss := num(m["process_resident_memory_bytes"])
		disk := diskUsage(o.cacheDir)
		peakRSS, peakGor, peakDisk = max(peakRSS, rss), max(peakGor, num(m["cuttle_goroutines"])), max(peakDisk, float64(disk))
		windowMu.Lock()
		wr := window.ratio()
		window.reqs.Store(0)
		window.hits.Store(0)
		windowMu.Unlock()
		el := time.Since(t0).Seconds()
		fmt.Printf("%s %5.0fs: %7d distinct (%5.0f req/s), RSS %6.1f MiB, goroutines %4s, %s, disk %5.1f/%d MiB, hot hit ratio %.3f\n",
			label, el, min(sent.Load(), o.distinct), float64(served.Load())/el, rss/(1<<20), m["cuttle_goroutines"],
			tiers(m), float64(disk)/(1<<20), o.cacheDirMB, wr)
	}
	tick := time.NewTicker(time.Second)
	last := time.Now()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			m := scrape(o.metrics)
			peakRSS, peakGor = max(peakRSS, num(m["process_resident_memory_bytes"])), max(peakGor, num(m["cuttle_goroutines"]))
			if time.Since(last) >= 15*time.Second {
				last = time.Now()
				report(m, "during")
			}
		}
	}
	tick.Stop()
	elapsed := time.Since(t0)
	report(scrape(o.metrics), "end   ")
	fmt.Printf("busting: %d distinct URLs served in %.1fs (%.0f req/s with the hot set's %d), %d errors\n",
		served.Load(), elapsed.Seconds(), float64(served.Load()+during.reqs.Load())/elapsed.Seconds(), during.reqs.Load(), failed.Load())
	fmt.Printf("during: hot set hit ratio %.3f over %d requests\n", during.ratio(), during.reqs.Load())

	// After: the hot set twice more, then the figures once cuttle is idle.
	var after1, after2 hotStats
	hotPass(&after1)
	hotPass(&after2)
	tr.CloseIdleConnections()
	time.Sleep(3 * time.Second)
	m := scrape(o.metrics)
	fmt.Printf("after: hot set hit ratio %.3f, then %.3f\n", after1.ratio(), after2.ratio())
	fmt.Printf("peak: RSS %.1f MiB, goroutines %.0f, disk %.1f MiB of the cache_dir's %d MiB\n", peakRSS/(1<<20), peakGor, peakDisk/(1<<20), o.cacheDirMB)
	fmt.Printf("end: RSS %s MiB, goroutines %s, %s, disk %.1f MiB\n", mib(m["process_resident_memory_bytes"]), m["cuttle_goroutines"], tiers(m), float64(diskUsage(o.cacheDir))/(1<<20))
	return failed.Load() == 0 && served.Load() >= o.distinct
}

// tiers formats the store gauges of a scrape: objects and MB per tier.
func tiers(m map[string]string) string {
	var names []string
	for k := range m {
		if l, ok := strings.CutPrefix(k, "cuttle_store_objects{"); ok {
			names = append(names, l)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for i, l := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		name := "memory"
		if !strings.Contains(l, `"memory"`) {
			name = "disk"
		}
		fmt.Fprintf(&b, "%s %s objects %.1f/%.0f MiB", name, m["cuttle_store_objects{"+l],
			num(m["cuttle_store_bytes{"+l])/(1<<20), num(m["cuttle_store_max_bytes{"+l])/(1<<20))
	}
	return b.String()
}

// diskUsage returns the bytes of disk the files under dir take (their
// allocated blocks, as du counts).
func diskUsage(dir string) int64 {
	if dir == "" {
		return 0
	}
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// exitBust runs bust and exits with its verdict.
func exitBust(o bustOptions) {
	if !bust(o) {
		os.Exit(1)
	}
	os.Exit(0)
}
