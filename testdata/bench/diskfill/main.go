// Command diskfill sends GET requests for n distinct URLs through cuttle
// (base/obj/SIZE?i=N, which the --demo-origin answers with a cacheable
// object whatever the query string), with c requests in flight, and
// reports how many succeeded and how cuttle answered them (X-Cache). It is
// the load generator of disk-rebuild.sh:
//
//	go run ./testdata/bench/diskfill -base http://127.0.0.1:19401 -n 100000
//
// With -sample k it fetches k URLs spread over 0..n-1 instead, to check
// that they are hits after a restart.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:19401", "cuttle's http_port")
	n := flag.Int("n", 100_000, "distinct URLs")
	size := flag.String("size", "100", "body size, as the demo origin's /obj/{size} takes it")
	c := flag.Int("c", 32, "requests in flight")
	sample := flag.Int("sample", 0, "fetch only this many URLs spread over the n")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()

	ids := make(chan int)
	go func() {
		defer close(ids)
		if *sample > 0 {
			for k := range *sample {
				ids <- k * (*n / *sample)
			}
			return
		}
		for i := range *n {
			ids <- i
		}
	}()
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *c, DisableCompression: true},
	}
	deadline := time.Now().Add(*timeout)
	var ok, failed atomic.Int64
	var mu sync.Mutex
	xcache := map[string]int{}
	firstErr := ""
	start := time.Now()
	var wg sync.WaitGroup
	for range *c {
		wg.Go(func() {
			for i := range ids {
				if time.Now().After(deadline) {
					failed.Add(1)
					continue
				}
				res, err := client.Get(fmt.Sprintf("%s/obj/%s?i=%d", *base, *size, i))
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %s", res.Status)
					}
				}
				mu.Lock()
				if err != nil {
					failed.Add(1)
					if firstErr == "" {
						firstErr = err.Error()
					}
				} else {
					ok.Add(1)
					x, _, _ := strings.Cut(res.Header.Get("X-Cache"), " ")
					xcache[x]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Printf("diskfill: %d ok, %d failed in %.1f s (%.0f req/s); X-Cache %v\n",
		ok.Load(), failed.Load(), el.Seconds(), float64(ok.Load())/el.Seconds(), xcache)
	if failed.Load() > 0 {
		fmt.Printf("diskfill: first error: %s\n", firstErr)
		os.Exit(1)
	}
}
