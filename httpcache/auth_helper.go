package httpcache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// helperPool runs the processes of a Squid basic authentication helper
// (auth_param basic program) and speaks Squid's helper protocol with
// them: one request per line on stdin, "user password" with both
// URL-escaped; one reply per line on stdout, "OK", "ERR" or "BH" followed
// by optional key=value pairs. With concurrency N > 0 each helper takes up
// to N requests at once, every line starting with a numeric channel ID
// that the reply repeats. Helpers start when first needed, up to children
// of them, and a helper that exits is replaced by the next request.
type helperPool struct {
	argv        []string
	children    int
	concurrency int
	errorLog    *log.Logger

	mu      sync.Mutex // protects procs, wake, closed and started
	procs   []*helperProc
	wake    chan struct{} // closed and replaced when a helper frees up or exits
	closed  bool
	started int // helpers started so far, to number them in cache_log
}

// helperProc is one helper process.
type helperProc struct {
	n      int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{} // closed once the process is reaped

	// Guarded by the pool's mu.
	busy    int
	pending map[uint64]chan string // by channel ID, with concurrency
	queue   []chan string          // in order, without concurrency
	nextID  uint64
	dead    bool
}

var errHelperGone = errors.New("the helper exited before answering")

func newHelperPool(argv []string, children, concurrency int, errorLog *log.Logger) *helperPool {
	return &helperPool{
		argv:        append([]string(nil), argv...),
		children:    max(children, 1),
		concurrency: max(concurrency, 0),
		errorLog:    errorLog,
		wake:        make(chan struct{}),
	}
}

// capacity is how many requests one helper takes at once.
func (p *helperPool) capacity() int { return max(p.concurrency, 1) }

func (p *helperPool) check(ctx context.Context, user, password string) authReply {
	req := helperEscape(user) + " " + helperEscape(password)
	line, err := p.call(ctx, req)
	if errors.Is(err, errHelperGone) {
		// It was exiting when the request went out: once more, to
		// another helper.
		line, err = p.call(ctx, req)
	}
	switch {
	case ctx.Err() != nil:
		return authReply{abandoned: true}
	case err != nil:
		return authReply{broken: true, message: err.Error()}
	}
	return parseHelperReply(line)
}

// call sends one request line to a helper with room for it and returns the
// reply line, without the channel ID.
func (p *helperPool) call(ctx context.Context, line string) (string, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return "", errors.New("the helpers are shut down")
		}
		proc := p.pickLocked()
		if proc == nil && len(p.procs) < p.children {
			var err error
			if proc, err = p.startLocked(); err != nil {
				p.mu.Unlock()
				return "", err
			}
		}
		if proc == nil {
			wake := p.wake
			p.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		ch := make(chan string, 1)
		msg := line + "\n"
		proc.busy++
		if p.concurrency > 0 {
			id := proc.nextID
			proc.nextID++
			proc.pending[id] = ch
			msg = strconv.FormatUint(id, 10) + " " + msg
		} else {
			proc.queue = append(proc.queue, ch)
		}
		// Written under mu: lines never interleave, and the queue's order
		// is the order of the lines.
		_, werr := io.WriteString(proc.stdin, msg)
		p.mu.Unlock()
		if werr != nil {
			// The reader sees the helper go and fails ch.
			proc.stdin.Close()
		}
		select {
		case reply, ok := <-ch:
			if !ok {
				return "", errHelperGone
			}
			return reply, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// pickLocked returns the least busy live helper with room, or nil.
func (p *helperPool) pickLocked() *helperProc {
	var best *helperProc
	for _, proc := range p.procs {
		if !proc.dead && proc.busy < p.capacity() && (best == nil || proc.busy < best.busy) {
			best = proc
		}
	}
	return best
}

// startLocked starts one more helper.
func (p *helperPool) startLocked() (*helperProc, error) {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// Squid sends its helpers' stderr to cache.log.
	cmd.Stderr = p.errorLog.Writer()
	if err := cmd.Start(); err != nil {
		p.errorLog.Printf("ERROR: auth_param basic: cannot start %s: %v", p.argv[0], err)
		return nil, fmt.Errorf("cannot start the helper: %w", err)
	}
	p.started++
	proc := &helperProc{n: p.started, cmd: cmd, stdin: stdin, exited: make(chan struct{}), pending: make(map[uint64]chan string)}
	p.procs = append(p.procs, proc)
	go p.read(proc, stdout)
	return proc, nil
}

// read delivers a helper's replies until it exits, then fails what it
// still owed and forgets it.
func (p *helperPool) read(proc *helperProc, stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		p.mu.Lock()
		var ch chan string
		if p.concurrency > 0 {
			idText, rest, _ := strings.Cut(line, " ")
			if id, err := strconv.ParseUint(idText, 10, 64); err == nil {
				ch = proc.pending[id]
				delete(proc.pending, id)
			}
			line = rest
		} else if len(proc.queue) > 0 {
			ch = proc.queue[0]
			proc.queue = proc.queue[1:]
		}
		if ch == nil {
			p.mu.Unlock()
			p.errorLog.Printf("WARNING: auth_param basic: helper #%d sent an unexpected reply; ignored", proc.n)
			continue
		}
		proc.busy--
		p.wakeLocked()
		p.mu.Unlock()
		ch <- line
	}

	p.mu.Lock()
	proc.dead = true
	for i, q := range p.procs {
		if q == proc {
			p.procs = append(p.procs[:i], p.procs[i+1:]...)
			break
		}
	}
	for id, ch := range proc.pending {
		close(ch)
		delete(proc.pending, id)
	}
	for _, ch := range proc.queue {
		close(ch)
	}
	proc.queue = nil
	p.wakeLocked()
	closed := p.closed
	p.mu.Unlock()
	proc.stdin.Close()
	err := proc.cmd.Wait()
	close(proc.exited)
	if !closed {
		p.errorLog.Printf("WARNING: auth_param basic: helper #%d (%s, pid %d) exited: %v; it is replaced when needed",
			proc.n, p.argv[0], proc.cmd.Process.Pid, exitText(err))
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// wakeLocked lets the requests waiting for a helper look again.
func (p *helperPool) wakeLocked() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// close ends the helpers: their stdin is closed, which is how Squid tells
// a helper to exit, and one still running 5 seconds later is killed.
func (p *helperPool) close() {
	p.mu.Lock()
	p.closed = true
	procs := append([]*helperProc(nil), p.procs...)
	p.mu.Unlock()
	for _, proc := range procs {
		proc.stdin.Close()
		time.AfterFunc(5*time.Second, func() {
			select {
			case <-proc.exited:
			default:
				proc.cmd.Process.Kill() //nolint:errcheck // it may have exited meanwhile
			}
		})
	}
}

// helperEscape URL-escapes a user name or password for a helper request
// line, as Squid's rfc1738_escape does: controls, spaces, non-ASCII bytes
// and the characters RFC 1738 calls unsafe become %XX.
func helperEscape(s string) string {
	const unsafe = "\"#%<>[\\]^`{|}~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(unsafe, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// parseHelperReply reads a helper's reply: "OK", "ERR" or "BH", then
// key=value pairs (values URL-escaped or in double quotes). user= names
// the user from then on and message= says why; an old helper's free text
// after ERR or BH is the message.
func parseHelperReply(line string) authReply {
	result, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	var r authReply
	switch result {
	case "OK":
		r.ok = true
	case "ERR":
	case "BH":
		r.broken = true
	default:
		return authReply{broken: true, message: fmt.Sprintf("unexpected reply %q", line)}
	}
	kv, free := helperPairs(rest)
	r.user = kv["user"]
	r.message = kv["message"]
	if r.message == "" {
		r.message = free
	}
	if r.broken && r.message == "" {
		r.message = "the helper answered BH"
	}
	return r
}

// helperPairs splits the key=value pairs of a reply; text that is not
// such pairs is returned as free text.
func helperPairs(s string) (map[string]string, string) {
	kv := make(map[string]string)
	s = strings.TrimSpace(s)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		sp := strings.IndexByte(s, ' ')
		if eq <= 0 || (sp >= 0 && sp < eq) {
			return kv, s
		}
		key, val := s[:eq], s[eq+1:]
		if strings.HasPrefix(val, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(val) && val[i] != '"'; i++ {
				if val[i] == '\\' && i+1 < len(val) {
					i++
				}
				b.WriteByte(val[i])
			}
			kv[key] = b.String()
			s = strings.TrimSpace(val[min(i+1, len(val)):])
			continue
		}
		v, next, _ := strings.Cut(val, " ")
		kv[key] = helperUnescape(v)
		s = strings.TrimSpace(next)
	}
	return kv, ""
}

// helperUnescape decodes %XX escapes, leaving malformed ones as they are.
func helperUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
