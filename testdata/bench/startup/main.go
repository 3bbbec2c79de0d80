// Command startup measures how long cuttle takes from exec to its first
// answered request: it starts the binary with a squid.conf, sends GET /
// every 200 µs until one is answered, prints the time, and stops it.
//
//	go run ./testdata/bench/startup -bin /tmp/cuttle -conf squid.conf -addr 127.0.0.1:3128 -n 20
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
	flag.Parse()
	var times []time.Duration
	for range *n {
		d, err := once(*bin, *conf, *addr)
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

func once(bin, conf, addr string) (time.Duration, error) {
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
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: startup.test\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err == nil {
			res.Body.Close()
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Microsecond)
	}
	return 0, fmt.Errorf("no answer from %s within 10 s", addr)
}
