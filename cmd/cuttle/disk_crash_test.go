package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The disk tier issue's crash-safety target: "kill -9 at any moment: after
// restart 0 corrupt or truncated bodies served". TestDiskCrash checks it on
// the whole program: a cuttle process with a cache_dir is killed with
// SIGKILL at random moments while 16 clients fetch, reload and range-read
// objects of 1 B to 2 MiB, and every complete body received is checked
// against the origin's SHA-256. Then a clean run shows the objects are
// served from disk, and a run after flipping bytes in stored files shows
// damage is never served.

const (
	crashPaths     = 160 // distinct objects
	crashClients   = 16
	crashCycles    = 12 // runs; CUTTLE_DISK_CRASH_CYCLES sets more for a soak
	crashTermEvery = 4  // every 4th run ends with SIGTERM under load, the others with SIGKILL
	crashFlips     = 30
)

// crashBodySize is the body length of /o/i: from 1 byte to 2 MiB, around
// maximum_object_size_in_memory (8 KB) and the disk tier's 64 KiB body
// blocks.
func crashBodySize(i int) int {
	switch i % 8 {
	case 0:
		return 1 + i
	case 1:
		return 4000 + i
	case 2:
		return 8<<10 + 1 + 37*i
	case 3:
		return 64<<10 - 1 + i%3 // one body block and its edges
	case 4:
		return 100_000 + 13*i
	case 5:
		return 300_000 + i
	case 6:
		return 1<<20 + i
	default:
		return 2<<20 - i%3
	}
}

// crashOrigin serves deterministic bodies: /o/i is crashBodySize(i) bytes
// of a stream seeded with i, fresh for an hour, with its SHA-256 in
// X-Body-SHA256. One path in five is sent chunked (no Content-Length), so
// that the disk tier also stores bodies of unknown length; the others go
// through http.ServeContent, which answers ranges.
type crashOrigin struct {
	bodies [][]byte
	sums   []string
	served atomic.Int64
}

func newCrashOrigin() *crashOrigin {
	o := &crashOrigin{}
	for i := range crashPaths {
		b := make([]byte, crashBodySize(i))
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], uint64(i)+1)
		rand.NewChaCha8(seed).Read(b)
		sum := sha256.Sum256(b)
		o.bodies = append(o.bodies, b)
		o.sums = append(o.sums, hex.EncodeToString(sum[:]))
	}
	return o
}

func (o *crashOrigin) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	i, err := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/o/"))
	if err != nil || i < 0 || i >= crashPaths || !strings.HasPrefix(req.URL.Path, "/o/") {
		http.NotFound(rw, req)
		return
	}
	o.served.Add(1)
	h := rw.Header()
	h.Set("Cache-Control", "max-age=3600")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Body-SHA256", o.sums[i])
	body := o.bodies[i]
	if i%5 != 4 {
		http.ServeContent(rw, req, "", time.Time{}, bytes.NewReader(body))
		return
	}
	rw.WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return
	}
	for len(body) > 0 {
		n := min(len(body), 100_000)
		if _, err := rw.Write(body[:n]); err != nil {
			return
		}
		rw.(http.Flusher).Flush()
		body = body[n:]
	}
}

// crashCounts tallies what the clients saw.
type crashCounts struct {
	requests atomic.Int64 // responses with a status line
	complete atomic.Int64 // 200 or 206 with the whole body received and checked
	ranges   atomic.Int64 // of which 206
	refused  atomic.Int64 // no response (cuttle down or killed before answering)
	cut      atomic.Int64 // a body cut short (by a kill, or aborted by cuttle)
	status   atomic.Int64 // other status codes
	corrupt  atomic.Int64 // complete bodies that differ from the origin's
}

func (c *crashCounts) String() string {
	return fmt.Sprintf("%d responses: %d complete and checked (%d ranges), %d bodies cut, %d other status, %d corrupt; %d requests without a response",
		c.requests.Load(), c.complete.Load(), c.ranges.Load(), c.cut.Load(), c.status.Load(), c.corrupt.Load(), c.refused.Load())
}

// crashOutcome is what one fetch got.
type crashOutcome int

const (
	crashOK        crashOutcome = iota // complete and correct
	crashClientErr                     // no response or a cut body
	crashStatus                        // unexpected status
	crashCorrupt                       // complete but wrong
)

var damagedRE = regexp.MustCompile(`index ready: \d+ objects, (\d+) damaged files removed`)

var contentRangeRE = regexp.MustCompile(`^bytes (\d+)-(\d+)/(\d+)$`)

// crashFetch fetches /o/i (with Cache-Control: no-cache when reload, only
// bytes rng[0]-rng[1] when rng is not nil) and checks a complete body
// against the origin's.
func crashFetch(t *testing.T, ctx context.Context, client *http.Client, base string, o *crashOrigin, c *crashCounts, i int, reload bool, rng []int) (crashOutcome, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/o/%d", base, i), nil)
	if err != nil {
		t.Fatal(err)
	}
	if reload {
		req.Header.Set("Cache-Control", "no-cache")
	}
	if rng != nil {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rng[0], rng[1]))
	}
	res, err := client.Do(req)
	if err != nil {
		c.refused.Add(1)
		return crashClientErr, err.Error()
	}
	defer res.Body.Close()
	c.requests.Add(1)
	xcache := res.Header.Get("X-Cache")
	want := o.bodies[i]
	var wantPart []byte
	switch res.StatusCode {
	case http.StatusOK:
		wantPart = want
	case http.StatusPartialContent:
		m := contentRangeRE.FindStringSubmatch(res.Header.Get("Content-Range"))
		if m == nil {
			c.corrupt.Add(1)
			return crashCorrupt, fmt.Sprintf("/o/%d: 206 with Content-Range %q (%s)", i, res.Header.Get("Content-Range"), xcache)
		}
		first, _ := strconv.Atoi(m[1])
		last, _ := strconv.Atoi(m[2])
		total, _ := strconv.Atoi(m[3])
		if total != len(want) || first > last || last >= total {
			c.corrupt.Add(1)
			return crashCorrupt, fmt.Sprintf("/o/%d: 206 Content-Range %q, body is %d bytes (%s)", i, m[0], len(want), xcache)
		}
		wantPart = want[first : last+1]
	default:
		io.Copy(io.Discard, res.Body) //nolint:errcheck // only the status matters
		c.status.Add(1)
		return crashStatus, fmt.Sprintf("/o/%d: status %s (%s)", i, res.Status, xcache)
	}
	// Read into a buffer of the expected size (plus room to notice a
	// longer body): io.ReadAll's regrowth copies are costly under -race.
	buf := bytes.NewBuffer(make([]byte, 0, len(wantPart)+bytes.MinRead))
	_, err = buf.ReadFrom(res.Body)
	body := buf.Bytes()
	if err != nil {
		// Cut by a kill, or aborted by cuttle on a damaged block: the
		// client sees a broken message, which is allowed.
		c.cut.Add(1)
		return crashClientErr, fmt.Sprintf("/o/%d: body cut after %d bytes: %v (%s)", i, len(body), err, xcache)
	}
	if res.ContentLength >= 0 && int64(len(body)) != res.ContentLength {
		c.corrupt.Add(1)
		return crashCorrupt, fmt.Sprintf("/o/%d: %d bytes, Content-Length %d (%s)", i, len(body), res.ContentLength, xcache)
	}
	if !bytes.Equal(body, wantPart) {
		c.corrupt.Add(1)
		what := "differs"
		if len(body) < len(wantPart) && bytes.Equal(body, wantPart[:len(body)]) {
			what = "is truncated"
		}
		sum := sha256.Sum256(body)
		return crashCorrupt, fmt.Sprintf("/o/%d: status %d body %s: %d bytes sha256 %x, want %d bytes (whole body sha256 %s) (%s)",
			i, res.StatusCode, what, len(body), sum, len(wantPart), o.sums[i], xcache)
	}
	if got := res.Header.Get("X-Body-SHA256"); got != o.sums[i] {
		c.corrupt.Add(1)
		return crashCorrupt, fmt.Sprintf("/o/%d: X-Body-SHA256 %q, want %q (%s)", i, got, o.sums[i], xcache)
	}
	c.complete.Add(1)
	if res.StatusCode == http.StatusPartialContent {
		c.ranges.Add(1)
	}
	return crashOK, ""
}

// crashProc is one cuttle process.
type crashProc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error // from Wait, once exited is closed
}

// crashEnv is the cuttle binary, its configuration and its files.
type crashEnv struct {
	t        *testing.T
	bin      string
	dir      string
	cacheDir string
	cacheLog string
	port     int
	origin   string // host:port
	procs    []*crashProc
}

// buildCuttleBinary builds the cuttle binary, with the race detector when the
// test binary has it (unless CUTTLE_DISK_CRASH_RACE=0), so that races in
// the server are caught too; the race detector makes cuttle about ten times
// slower, so fewer requests fit in the kill cycles.
func buildCuttleBinary(t *testing.T) (string, bool) {
	t.Helper()
	race := false
	if bi, ok := debug.ReadBuildInfo(); ok && os.Getenv("CUTTLE_DISK_CRASH_RACE") != "0" {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				race = true
			}
		}
	}
	bin := filepath.Join(t.TempDir(), "cuttle")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin, race
}

// writeConf writes the squid.conf of one run, logging to accessLog.
func (e *crashEnv) writeConf(accessLog string) string {
	conf := filepath.Join(e.dir, "squid.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`http_port 127.0.0.1:%d accel defaultsite=crash.local vhost
cache_peer %s parent %s 0 no-query originserver name=origin
http_access allow localhost
http_access deny all
cache_mem 2 MB
maximum_object_size_in_memory 8 KB
maximum_object_size 4 MB
cache_dir ufs %s 256 16 256
visible_hostname crash.local
access_log stdio:%s squid
cache_log %s
pid_filename %s
shutdown_lifetime 1 seconds
%s
`, e.port, strings.Split(e.origin, ":")[0], strings.Split(e.origin, ":")[1], e.cacheDir, accessLog, e.cacheLog, filepath.Join(e.dir, "cuttle.pid"),
		sameUser(e.t))), 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	return conf
}

// start starts cuttle with conf and waits until it accepts connections.
func (e *crashEnv) start(conf string) *crashProc {
	t := e.t
	t.Helper()
	p := &crashProc{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(e.bin, "-N", "-f", conf)
	p.cmd.Dir = e.dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting cuttle: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	e.procs = append(e.procs, p)
	addr := fmt.Sprintf("127.0.0.1:%d", e.port)
	for deadline := time.Now().Add(15 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("cuttle (pid %d) exited at start: %v\n%s", p.cmd.Process.Pid, p.err, p.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuttle (pid %d) does not accept connections at %s after 15 s\n%s", p.cmd.Process.Pid, addr, p.out.String())
		}
	}
}

// kill sends SIGKILL to the process and waits for it.
func (e *crashEnv) kill(p *crashProc) {
	e.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		e.t.Fatalf("kill -9 %d: %v", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		e.t.Fatalf("cuttle (pid %d) survived SIGKILL for 10 s", p.cmd.Process.Pid)
	}
}

// stop sends SIGTERM, waits for a clean exit and checks it.
func (e *crashEnv) stop(p *crashProc) {
	e.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		e.t.Fatalf("kill -TERM %d: %v", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			e.t.Errorf("cuttle (pid %d) exited with %v after SIGTERM\n%s", p.cmd.Process.Pid, p.err, p.out.String())
		}
	case <-time.After(15 * time.Second):
		e.kill(p)
		e.t.Fatalf("cuttle (pid %d) still running 15 s after SIGTERM (killed)\n%s", p.cmd.Process.Pid, p.out.String())
	}
	if _, err := os.Stat(filepath.Join(e.cacheDir, "cuttle", "index.snapshot")); err != nil {
		e.t.Errorf("no index snapshot after a clean stop: %v", err)
	}
}

// waitIndex waits until the cache_log written from offset says the index
// is ready (loaded from the snapshot or rebuilt by scanning).
func (e *crashEnv) waitIndex(from int64) {
	e.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		b, _ := os.ReadFile(e.cacheLog)
		if int64(len(b)) > from {
			s := string(b[from:])
			if strings.Contains(s, "index ready") || strings.Contains(s, "objects from the index snapshot") {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("index not ready 20 s after start; cache_log:\n%s", b[min(from, int64(len(b))):])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *crashEnv) cacheLogSize() int64 {
	st, err := os.Stat(e.cacheLog)
	if err != nil {
		return 0
	}
	return st.Size()
}

// checkOutputs fails the test if any process reported a panic, a fatal
// error or a data race.
func (e *crashEnv) checkOutputs() {
	for _, p := range e.procs {
		out := p.out.String()
		for _, bad := range []string{"panic:", "fatal error:", "DATA RACE"} {
			if strings.Contains(out, bad) {
				e.t.Errorf("cuttle (pid %d) output has %q:\n%s", p.cmd.Process.Pid, bad, out)
				break
			}
		}
	}
	if b, err := os.ReadFile(e.cacheLog); err == nil && bytes.Contains(b, []byte("panic")) {
		e.t.Errorf("cache_log mentions a panic:\n%s", b)
	}
}

// crashAccessResults reads a squid-format access.log: the result code and the
// object index of each line, in order.
func crashAccessResults(t *testing.T, path string) (results []string, objs []int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 {
			t.Errorf("access.log line %q: too few fields", line)
			continue
		}
		if f[6] == "error:transaction-end-before-headers" {
			// A connection closed before a request (the test's readiness
			// probe), logged as Squid logs it.
			continue
		}
		_, p, _ := strings.Cut(strings.TrimPrefix(f[6], "http://"), "/")
		i, err := strconv.Atoi(strings.TrimPrefix(p, "o/"))
		if err != nil {
			t.Errorf("access.log line %q: not an /o/N URL", line)
			continue
		}
		results = append(results, f[3])
		objs = append(objs, i)
	}
	return results, objs
}

func TestDiskCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cuttle and kills it repeatedly")
	}
	t.Parallel()
	testStart := time.Now()
	bin, race := buildCuttleBinary(t)
	t.Logf("built cuttle (race detector: %v) in %v", race, time.Since(testStart).Round(time.Millisecond))

	o := newCrashOrigin()
	srv := httptest.NewServer(o)
	defer srv.Close()
	dir := t.TempDir()
	e := &crashEnv{
		t:        t,
		bin:      bin,
		dir:      dir,
		cacheDir: filepath.Join(dir, "cache"),
		cacheLog: filepath.Join(dir, "cache.log"),
		port:     freePort(t),
		origin:   strings.TrimPrefix(srv.URL, "http://"),
	}
	t.Cleanup(func() {
		for _, p := range e.procs {
			select {
			case <-p.exited:
			default:
				p.cmd.Process.Kill() //nolint:errcheck // our own child, by pid
				<-p.exited
			}
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", e.port)
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	var failures sync.Mutex
	var failed []string
	fail := func(msg string) {
		failures.Lock()
		defer failures.Unlock()
		if len(failed) < 20 {
			failed = append(failed, msg)
		}
	}

	// Phase 1: kill -9 at random moments under concurrent fetches, reloads
	// (which replace stored objects) and range requests.
	var cycles crashCounts
	ctx, stopClients := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	t.Cleanup(func() { stopClients(); wg.Wait() }) // also after a t.Fatal below
	for k := range crashClients {
		wg.Go(func() {
			client := &http.Client{
				Timeout:   20 * time.Second,
				Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2},
			}
			defer client.CloseIdleConnections()
			r := rand.New(rand.NewPCG(seed, uint64(k)+2))
			for ctx.Err() == nil {
				i := r.IntN(crashPaths)
				var rng []int
				if r.IntN(10) == 0 {
					a := r.IntN(len(o.bodies[i]))
					rng = []int{a, a + r.IntN(len(o.bodies[i])-a)}
				}
				out, msg := crashFetch(t, ctx, client, base, o, &cycles, i, r.IntN(5) == 0, rng)
				switch out {
				case crashCorrupt:
					fail("during kill cycles: " + msg)
				case crashClientErr:
					time.Sleep(20 * time.Millisecond) // cuttle is down, or restarting
				case crashStatus:
					if ctx.Err() == nil {
						t.Logf("during kill cycles: %s", msg)
					}
				}
			}
		})
	}
	kills, terms := 0, 0
	var perCycle []string
	nCycles := crashCycles
	if v := os.Getenv("CUTTLE_DISK_CRASH_CYCLES"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			nCycles = n
		}
	}
	for cycle := range nCycles {
		p := e.start(e.writeConf(filepath.Join(dir, fmt.Sprintf("access-%d.log", cycle))))
		before := cycles.complete.Load()
		up := time.Duration(300+rnd.IntN(1200)) * time.Millisecond
		select {
		case <-time.After(up):
		case <-p.exited:
			t.Fatalf("cuttle (pid %d) exited by itself in cycle %d: %v\n%s", p.cmd.Process.Pid, cycle, p.err, p.out.String())
		}
		how := "kill"
		if cycle%crashTermEvery == crashTermEvery-1 {
			// A clean stop while the clients fetch and store: the
			// snapshot is written with Puts in flight, and the next
			// start trusts it.
			e.stop(p)
			terms++
			how = "term"
		} else {
			e.kill(p)
			kills++
		}
		perCycle = append(perCycle, fmt.Sprintf("%s@%v:%d", how, up, cycles.complete.Load()-before))
	}
	stopClients()
	wg.Wait()
	if len(perCycle) > 20 {
		perCycle = append(perCycle[:20], "...")
	}
	t.Logf("runs (stop@up time:complete responses) %v", perCycle)
	t.Logf("%d kills, %d clean stops under load; clients: %s; origin served %d", kills, terms, &cycles, o.served.Load())
	if cycles.complete.Load() == 0 {
		t.Errorf("no complete response during the kill cycles")
	}
	// Phase 2: a clean run over the same cache_dir. Every path twice; the
	// objects above maximum_object_size_in_memory must be disk hits.
	var final crashCounts
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()
	mark := e.cacheLogSize()
	finalLog := filepath.Join(dir, "access-final.log")
	p := e.start(e.writeConf(finalLog))
	e.waitIndex(mark)
	originBefore := o.served.Load()
	paths := make(chan int)
	var fwg sync.WaitGroup
	for range 8 {
		fwg.Go(func() {
			for i := range paths {
				for range 2 {
					if out, msg := crashFetch(t, t.Context(), client, base, o, &final, i, false, nil); out != crashOK {
						fail("clean run: " + msg)
					}
				}
			}
		})
	}
	for i := range crashPaths {
		paths <- i
	}
	close(paths)
	fwg.Wait()
	e.stop(p)
	results, _ := crashAccessResults(t, finalLog)
	tally := map[string]int{}
	for _, r := range results {
		tally[r]++
	}
	t.Logf("clean run: %s; origin fetches %d; access.log %v", &final, o.served.Load()-originBefore, tally)
	diskHits := tally["TCP_HIT/200"]
	if diskHits == 0 {
		t.Errorf("clean run: no TCP_HIT (disk hit) in access.log: %v", tally)
	}

	// Objects are written under a temporary name and renamed when whole,
	// so a kill never leaves a damaged object in place: the scans after
	// the kills (the last one at the start of the clean run) must find
	// none, and no Get may find one (which cuttle would log and answer
	// with an aborted response or a TCP_SWAPFAIL_MISS, so the clients
	// would not see it).
	crashLog, err := os.ReadFile(e.cacheLog)
	if err != nil {
		t.Fatal(err)
	}
	scans, damaged, removedLines := 0, 0, 0
	for _, line := range strings.Split(string(crashLog), "\n") {
		if m := damagedRE.FindStringSubmatch(line); m != nil {
			scans++
			n, _ := strconv.Atoi(m[1])
			damaged += n
		} else if strings.Contains(line, "removed") {
			removedLines++
			t.Logf("cache_log: %s", line)
		}
	}
	t.Logf("kill cycles and clean run: %d index scans found %d damaged files; %d other removals of damaged objects logged", scans, damaged, removedLines)
	if damaged > 0 || removedLines > 0 {
		t.Errorf("kill -9 left damaged objects in the cache_dir: %d found by the scans, %d by Gets (see cache_log lines above); want none", damaged, removedLines)
	}

	// Phase 3: flip one byte in crashFlips object files, then fetch every
	// path twice: damage is never served, and the damaged objects are
	// fetched again.
	var files []string
	root := filepath.Join(e.cacheDir, "cuttle")
	err = filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() && path == filepath.Join(root, "tmp") {
			return fs.SkipDir
		}
		if !de.IsDir() && len(de.Name()) == 16 && de.Name() != "index.snapshot" {
			if _, err := strconv.ParseUint(de.Name(), 16, 64); err == nil {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	rnd.Shuffle(len(files), func(a, b int) { files[a], files[b] = files[b], files[a] })
	flips := map[int]flipInfo{}
	// Each region of the file format in turn, in the next file that has
	// it (later blocks only exist in bodies over 64 KiB).
	used := map[string]bool{}
	for k := range min(crashFlips, len(files)) {
		region := flipRegions[k%len(flipRegions)]
		for _, path := range files {
			if used[path] {
				continue
			}
			if f, ok := flipByte(t, path, region, rnd); ok {
				used[path] = true
				flips[f.obj] = f
				break
			}
		}
	}
	regions := map[string]int{}
	for _, f := range flips {
		regions[f.region]++
	}
	t.Logf("flipped one byte in %d of %d object files: %v", len(flips), len(files), regions)

	var flipped crashCounts
	mark = e.cacheLogSize()
	flipLog := filepath.Join(dir, "access-flip.log")
	p = e.start(e.writeConf(flipLog))
	e.waitIndex(mark)
	firstCut := map[int]bool{}
	for pass := range 2 {
		for i := range crashPaths {
			out, msg := crashFetch(t, t.Context(), client, base, o, &flipped, i, false, nil)
			switch {
			case out == crashOK:
			case out == crashClientErr && pass == 0 && flips[i].region != "":
				// A damaged block after the first: the response is
				// aborted, never completed with a wrong byte.
				firstCut[i] = true
			default:
				fail(fmt.Sprintf("bit-flip run, pass %d: %s", pass+1, msg))
			}
		}
	}
	e.stop(p)
	results, objs := crashAccessResults(t, flipLog)
	tally = map[string]int{}
	flippedTally := map[string]int{}
	for k, r := range results {
		tally[r]++
		if k >= crashPaths {
			continue // the second pass
		}
		f, ok := flips[objs[k]]
		if !ok {
			continue
		}
		flippedTally[r]++
		switch r {
		case "TCP_SWAPFAIL_MISS/200", "TCP_MISS/200":
		case "TCP_HIT_ABORTED/200":
			if !firstCut[objs[k]] {
				fail(fmt.Sprintf("bit-flip run: /o/%d (byte %d of %d, %s) logged %s but the client got it whole", objs[k], f.off, f.size, f.region, r))
			}
		default:
			fail(fmt.Sprintf("bit-flip run: /o/%d with byte %d of %d flipped (%s) was %s, want TCP_SWAPFAIL_MISS, a miss or an aborted hit", objs[k], f.off, f.size, f.region, r))
		}
	}
	if len(results) != 2*crashPaths {
		t.Errorf("bit-flip run: %d access.log lines, want %d", len(results), 2*crashPaths)
	}
	t.Logf("bit-flip run: %s; access.log %v; first fetch of the flipped objects %v", &flipped, tally, flippedTally)

	e.checkOutputs()
	corrupt := cycles.corrupt.Load() + final.corrupt.Load() + flipped.corrupt.Load()
	t.Logf("summary: %d requests, %d kills, %d disk hits (clean run), %d corrupt bodies, in %v",
		cycles.requests.Load()+final.requests.Load()+flipped.requests.Load(), kills, diskHits, corrupt,
		time.Since(testStart).Round(time.Millisecond))
	for _, msg := range failed {
		t.Error(msg)
	}
	if corrupt != 0 {
		t.Errorf("%d corrupt or truncated bodies served, want 0", corrupt)
	}
}

// flipInfo describes a byte flipped in an object file.
type flipInfo struct {
	obj    int
	off    int64
	size   int64
	region string
}

// flipRegions are the parts of an object file (diskformat.go's layout)
// the bit-flip run damages, in turn, so that each is covered every run.
var flipRegions = []string{"header", "header sum", "reserved", "key", "meta", "first block", "later block", "trailer"}

// flipByte inverts one byte of the object file at path, at a random place
// in region (one of flipRegions), and says which object the file holds
// (read from the key in its header) and where the byte is. It reports
// false, changing nothing, when the file has no such region.
func flipByte(t *testing.T, path, region string, rnd *rand.Rand) (flipInfo, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 64 {
		t.Fatalf("%s: %d bytes, shorter than a header", path, len(b))
	}
	keyLen := int64(binary.LittleEndian.Uint32(b[12:]))
	metaLen := int64(binary.LittleEndian.Uint32(b[16:]))
	bodyLen := int64(binary.LittleEndian.Uint64(b[24:]))
	body := 64 + keyLen + metaLen
	if body+bodyLen > int64(len(b)) {
		t.Fatalf("%s: header announces more than the file's %d bytes", path, len(b))
	}
	key := string(b[64 : 64+keyLen])
	m := regexp.MustCompile(`/o/(\d+)$`).FindStringSubmatch(key)
	if m == nil {
		t.Fatalf("%s: key %q is not an /o/N URL", path, key)
	}
	obj, _ := strconv.Atoi(m[1])
	const block = 64 << 10
	bounds := map[string][2]int64{
		"header":      {0, 48},
		"header sum":  {48, 56},
		"reserved":    {56, 64}, // reserved, 0; covered by the header sum
		"key":         {64, 64 + keyLen},
		"meta":        {64 + keyLen, body},
		"first block": {body, body + min(bodyLen, block)},
		"later block": {body + block, body + bodyLen},
		"trailer":     {body + bodyLen, int64(len(b))},
	}
	r, ok := bounds[region]
	if !ok {
		t.Fatalf("no region %q in an object file", region)
	}
	if r[1] <= r[0] {
		return flipInfo{}, false
	}
	off := r[0] + rnd.Int64N(r[1]-r[0])
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{b[off] ^ 0xff}, off); err != nil {
		t.Fatal(err)
	}
	return flipInfo{obj: obj, off: off, size: int64(len(b)), region: region}, true
}
