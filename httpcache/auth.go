package httpcache

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// BasicAuth is squid.conf auth_param basic: how clients prove who they are
// with the Basic scheme (RFC 7617) when a proxy_auth or proxy_auth_regex
// ACL asks. On an accelerator the credentials come in Authorization and
// the challenge is a 401 with WWW-Authenticate, as Squid does on accel
// ports.
type BasicAuth struct {
	// Program is the helper's command line. A program whose base name is
	// basic_ncsa_auth is not started: cuttle checks its password file (the
	// first argument) in process. Any other program is started as a Squid
	// basic authentication helper. Required.
	Program []string

	// Realm names the protection space in the challenge. Default Squid's
	// "Squid proxy-caching web server".
	Realm string

	// Children is the most helper processes run at once (children N), or
	// for basic_ncsa_auth the most passwords checked at once. Default 20,
	// Squid's.
	Children int

	// Concurrency is how many requests each helper takes at once
	// (children ... concurrency=N). 0, Squid's default, sends one request
	// at a time without channel IDs; N > 0 sends up to N, each line
	// starting with its channel ID.
	Concurrency int

	// CredentialsTTL is credentialsttl: how long a successful check is
	// trusted before the helper is asked again. 0 asks every time.
	CredentialsTTL time.Duration

	// AuthenticateTTL is authenticate_ttl: a trusted check is forgotten
	// when unused for this long. 0 means Squid's 1 hour.
	AuthenticateTTL time.Duration

	// CaseSensitive is casesensitive. When off (Squid's default) user
	// names are lower-cased before they are checked, compared and logged.
	CaseSensitive bool
}

// Squid's default realm for auth_param basic.
const defaultRealm = "Squid proxy-caching web server"

// basicBackend checks one user name and password: the in-process password
// file or a pool of helper processes.
type basicBackend interface {
	check(ctx context.Context, user, password string) authReply
	close()
}

// authReply is a backend's answer.
type authReply struct {
	ok bool
	// user is the name to use from then on (a helper's user=), or "".
	user string
	// broken is a helper's BH, or a failure to ask; message says why.
	broken  bool
	message string
	// abandoned is set when the caller's context ended first: the
	// credentials were not judged.
	abandoned bool
}

// authenticator checks Basic credentials and remembers the good ones.
type authenticator struct {
	cfg       BasicAuth
	challenge []string // the WWW-Authenticate field
	backend   basicBackend
	now       func() time.Time
	errorLog  *log.Logger
	key       []byte // HMAC key of the credentials cache, random per process

	mu        sync.Mutex // protects cache, calls and nextSweep
	cache     map[[sha256.Size]byte]*authEntry
	calls     map[[sha256.Size]byte]*authCall
	nextSweep time.Time
}

// authEntry is a trusted check.
type authEntry struct {
	user              string
	expires, lastUsed time.Time
}

// authCall is a check in progress, shared by the requests that carry the
// same credentials meanwhile.
type authCall struct {
	done  chan struct{}
	reply authReply
}

// newAuthenticator validates cfg and prepares its backend; helpers start
// when first needed.
func newAuthenticator(cfg BasicAuth, now func() time.Time, errorLog *log.Logger) (*authenticator, error) {
	if len(cfg.Program) == 0 {
		return nil, errors.New("httpcache: auth_param basic: no program")
	}
	if cfg.Realm == "" {
		cfg.Realm = defaultRealm
	}
	if cfg.Children <= 0 {
		cfg.Children = 20
	}
	if cfg.AuthenticateTTL <= 0 {
		cfg.AuthenticateTTL = time.Hour
	}
	a := &authenticator{
		cfg:       cfg,
		challenge: []string{`Basic realm="` + quoteRealm(cfg.Realm) + `"`},
		now:       now,
		errorLog:  errorLog,
		key:       make([]byte, 32),
		cache:     make(map[[sha256.Size]byte]*authEntry),
		calls:     make(map[[sha256.Size]byte]*authCall),
	}
	rand.Read(a.key)
	if filepath.Base(cfg.Program[0]) == "basic_ncsa_auth" {
		if len(cfg.Program) < 2 {
			return nil, errors.New("httpcache: auth_param basic: basic_ncsa_auth needs a password file")
		}
		a.backend = newNCSAFile(cfg.Program[1], cfg.Children, now, errorLog)
	} else {
		a.backend = newHelperPool(cfg.Program, cfg.Children, cfg.Concurrency, errorLog)
	}
	return a, nil
}

// quoteRealm makes the realm fit a quoted-string (RFC 9110, Section 5.6.4).
func quoteRealm(realm string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "")
	return r.Replace(realm)
}

// close stops the helpers.
func (a *authenticator) close() { a.backend.close() }

// parseBasic decodes an Authorization field of the Basic scheme
// (RFC 7617, Section 2) into user name and password; ok is false when the
// field is of another scheme or malformed.
func parseBasic(field string) (user, password string, ok bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(field), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	token = strings.TrimSpace(token)
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		// Some clients leave the padding out.
		if raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(token, "=")); err != nil {
			return "", "", false
		}
	}
	user, password, found = strings.Cut(string(raw), ":")
	if !found || user == "" {
		return "", "", false
	}
	return user, password, true
}

// authenticate checks the credentials of an Authorization field and
// returns the user name; ok is false when they are missing, malformed or
// wrong, and the client must be challenged.
func (a *authenticator) authenticate(ctx context.Context, field string) (user string, ok bool) {
	user, password, ok := parseBasic(field)
	if !ok {
		return "", false
	}
	if !a.cfg.CaseSensitive {
		// Squid lower-cases the name before the helper sees it.
		user = strings.ToLower(user)
	}
	// The cache is keyed by a keyed hash of the credentials, never by the
	// credentials themselves.
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var key [sha256.Size]byte
	mac.Sum(key[:0])

	for {
		now := a.now()
		a.mu.Lock()
		if e := a.cache[key]; e != nil {
			if now.Before(e.expires) && now.Sub(e.lastUsed) < a.cfg.AuthenticateTTL {
				e.lastUsed = now
				a.mu.Unlock()
				return e.user, true
			}
			delete(a.cache, key)
		}
		if c := a.calls[key]; c != nil {
			a.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return "", false
			}
			if c.reply.abandoned {
				continue // the one that asked went away; ask again
			}
			if !c.reply.ok {
				return "", false
			}
			return cmp.Or(c.reply.user, user), true
		}
		c := &authCall{done: make(chan struct{})}
		a.calls[key] = c
		a.mu.Unlock()

		c.reply = a.backend.check(ctx, user, password)
		if c.reply.broken {
			a.errorLog.Printf("WARNING: auth_param basic: %s: %s", a.cfg.Program[0], c.reply.message)
		}
		now = a.now()
		a.mu.Lock()
		delete(a.calls, key)
		if c.reply.ok && a.cfg.CredentialsTTL > 0 {
			a.cache[key] = &authEntry{user: cmp.Or(c.reply.user, user), expires: now.Add(a.cfg.CredentialsTTL), lastUsed: now}
			a.sweepLocked(now)
		}
		a.mu.Unlock()
		close(c.done)
		if !c.reply.ok {
			return "", false
		}
		return cmp.Or(c.reply.user, user), true
	}
}

// sweepLocked drops the cache entries that can no longer be used, at most
// once a minute.
func (a *authenticator) sweepLocked(now time.Time) {
	if now.Before(a.nextSweep) {
		return
	}
	a.nextSweep = now.Add(time.Minute)
	for k, e := range a.cache {
		if !now.Before(e.expires) || now.Sub(e.lastUsed) >= a.cfg.AuthenticateTTL {
			delete(a.cache, k)
		}
	}
}
