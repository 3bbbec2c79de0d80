// Command startup measures how long cuttle takes from exec to its first
// answered request: it starts the binary with a squid.conf, sends GET /
// every 200 µs until one is answered, prints the time, and stops it.
// With -origin it also serves a small cacheable page on that address (the
// config's cache_peer), so that the first answer is a real miss fetched
// from the origin rather than an error page.
//
//	go run ./testdata/bench/startup -bin /tmp/cuttle -conf squid.conf -addr 127.0.0.1:3128 -origin 127.0.0.1:8080 -n 20
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "cuttle", "cuttle binary")
	conf := flag.String("conf", "", "squid.conf to start it with")
	addr := flag.String("addr", "127.0.0.1:3128", "an http_port of the config")
	n := flag.Int("n", 10, "how many starts")
	origin := flag.String("origin", "", "serve a small page on this address (the config's cache_peer)")
	flag.Parse()
	if *origin != "" {
		ln, err := net.Listen("tcp", *origin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		page := []byte("<!DOCTYPE html><title>start</title><p>served by the origin\n")
		go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Content-Type", "text/html")
			w.Write(page)
		}))
	}
	var times []time.Duration
	for range *n {
		d, err := once(*bin, *conf, *addr, origin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		times = append(times, d)
	}
	slices.Sort(times)
	fmt.Printf("start to first response over %d starts: min %v, median %v, max %v\n",
		len(times), times[0].Round(10*time.Microsecond), times[len(times)/2].Round(10*time.Microsecond), times[len(times)-1].Round(10*time.Microsecond))
}

func once(bin, conf, addr string, origin *string) (time.Duration, error) {
	cmd := exec.Command(bin, "-N", "-f", conf)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}()
	for time.Since(start) < 10*time.Second {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		if c.LocalAddr().String() == c.RemoteAddr().String() {
			// With addr's port in the ephemeral range, a dial to a port
			// nobody listens on yet can connect to itself (TCP
			// simultaneous open) and then hold the port cuttle must bind.
			c.Close()
			return 0, fmt.Errorf("%s: the dial connected to itself; use a port below %s's ephemeral range", addr, "net.ipv4.ip_local_port_range")
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: startup.test\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err == nil {
			if *origin != "" && res.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("first answer %s, want 200 from the origin", res.Status)
			}
			res.Body.Close()
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Microsecond)
	}
	return 0, fmt.Errorf("no answer from %s within 10 s", addr)
}
