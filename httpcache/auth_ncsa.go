package httpcache

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"
)

// ncsaFile is Squid's basic_ncsa_auth done in process: an htpasswd file of
// "user:hash" lines, read again when it changes. As in the helper, lines
// starting with '#', a space or a tab are comments, fields after the hash
// are ignored, and a later line for a user replaces an earlier one.
type ncsaFile struct {
	path     string
	now      func() time.Time
	errorLog *log.Logger
	slots    chan struct{} // limits the passwords checked at once (children)

	mu      sync.Mutex // protects the fields below
	users   map[string]string
	modTime time.Time
	size    int64
	statted time.Time // when the file was last looked at
	loaded  bool
	failed  string // the last error reported, not to repeat it every second
}

// ncsaStatInterval is how often, at most, the file is checked for changes.
const ncsaStatInterval = time.Second

func newNCSAFile(path string, children int, now func() time.Time, errorLog *log.Logger) *ncsaFile {
	f := &ncsaFile{path: path, now: now, errorLog: errorLog, slots: make(chan struct{}, children)}
	// Read it now, so that cache_log tells at start what it holds.
	f.mu.Lock()
	f.refreshLocked()
	f.mu.Unlock()
	return f
}

// lookup returns the stored hash of user.
func (f *ncsaFile) lookup(user string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshLocked()
	h, ok := f.users[user]
	return h, ok
}

// refreshLocked reads the file again when its modification time or size
// changed, looking at most once per ncsaStatInterval. When it cannot be
// read the users read before stay.
func (f *ncsaFile) refreshLocked() {
	now := f.now()
	if f.loaded && now.Sub(f.statted) < ncsaStatInterval && now.Sub(f.statted) >= 0 {
		return
	}
	f.statted = now
	fi, err := os.Stat(f.path)
	if err != nil {
		f.reportLocked("ERROR: auth_param basic: basic_ncsa_auth: cannot read the password file: %v", err)
		return
	}
	if f.loaded && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.reportLocked("ERROR: auth_param basic: basic_ncsa_auth: cannot read the password file: %v", err)
		return
	}
	f.users = f.parse(data)
	f.modTime, f.size, f.loaded, f.failed = fi.ModTime(), fi.Size(), true, ""
}

// reportLocked logs a problem with the file once, until it is solved.
func (f *ncsaFile) reportLocked(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if msg == f.failed {
		return
	}
	f.failed = msg
	f.errorLog.Print(msg)
}

// parse reads the lines of a password file. Entries whose hash cuttle
// cannot check are reported and left out: those users cannot log in.
func (f *ncsaFile) parse(data []byte) map[string]string {
	users := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || line[0] == '#' || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		user, rest, _ := strings.Cut(line, ":")
		hash, _, _ := strings.Cut(rest, ":")
		if user == "" || hash == "" {
			continue
		}
		if classifyHash(hash) == hashUnsupported {
			f.errorLog.Printf("WARNING: auth_param basic: %s:%d: user %q: unsupported password hash %q; the user cannot log in",
				f.path, n, user, hashPrefix(hash))
			delete(users, user)
			continue
		}
		users[user] = hash
	}
	return users
}

// hashPrefix shows the scheme of a hash without the hash itself.
func hashPrefix(h string) string {
	if strings.HasPrefix(h, "$") {
		if i := strings.IndexByte(h[1:], '$'); i >= 0 {
			return h[:i+2] + "..."
		}
	}
	if strings.HasPrefix(h, "{") {
		if i := strings.IndexByte(h, '}'); i >= 0 {
			return h[:i+1] + "..."
		}
	}
	return "..."
}

func (f *ncsaFile) check(ctx context.Context, user, password string) authReply {
	hash, ok := f.lookup(user)
	if !ok {
		return authReply{message: "No such user"}
	}
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return authReply{abandoned: true}
	}
	defer func() { <-f.slots }()
	if !checkPassword(hash, password) {
		return authReply{message: "Wrong password"}
	}
	return authReply{ok: true}
}

func (f *ncsaFile) close() {}
