package httpcache

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// authState is how far a transaction's credentials were checked.
type authState uint8

const (
	authUnchecked authState = iota
	authPassed              // tx.user is set
	authFailed              // missing, malformed or wrong: challenge the client
	authNone                // no auth_param basic: proxy_auth ACLs never match
)

// authenticate checks the request's credentials once per transaction, the
// first time a proxy_auth or proxy_auth_regex ACL asks. On an accelerator
// they come in Authorization, as in Squid's accel mode.
func (tx *transaction) authenticate() bool {
	if tx.auth == authUnchecked {
		switch {
		case tx.authn == nil:
			tx.auth = authNone
		default:
			tx.auth = authFailed
			if field := tx.req.Header.Get("Authorization"); field != "" {
				if user, ok := tx.authn.authenticate(tx.req.Context(), field); ok {
					tx.user, tx.auth = user, authPassed
				}
			}
		}
	}
	return tx.auth == authPassed
}

// aclProxyAuth matches the authenticated user (acl proxy_auth): REQUIRED
// any, else one of the names, compared exactly or, with -i, without
// regard to case.
type aclProxyAuth struct {
	required bool
	fold     bool
	users    []string
}

func newProxyAuthACL(args []string) (ACL, error) {
	a := &aclProxyAuth{fold: slices.Contains(args, "-i")}
	for _, v := range values(args) {
		if v == "REQUIRED" {
			a.required = true
			continue
		}
		if a.fold {
			v = strings.ToLower(v)
		}
		a.users = append(a.users, v)
	}
	if !a.required && len(a.users) == 0 {
		return nil, fmt.Errorf("httpcache: acl proxy_auth: no user names and no REQUIRED")
	}
	return a, nil
}

func (a *aclProxyAuth) match(tx *transaction) bool {
	if !tx.authenticate() {
		return false
	}
	if a.required {
		return true
	}
	user := tx.user
	if a.fold {
		user = strings.ToLower(user)
	}
	return slices.Contains(a.users, user)
}

// aclProxyAuthRegex matches the authenticated user against regular
// expressions (acl proxy_auth_regex); -i and +i switch case folding for
// the patterns after them.
type aclProxyAuthRegex struct {
	re *regexp.Regexp
}

func newProxyAuthRegexACL(args []string) (ACL, error) {
	var parts []string
	fold := false
	for _, v := range args {
		switch v {
		case "-i", "+i":
			fold = v == "-i"
			continue
		case "--":
			continue
		}
		if _, err := regexp.Compile(v); err != nil {
			return nil, fmt.Errorf("httpcache: acl proxy_auth_regex %q: %w", v, err)
		}
		if fold {
			v = "(?i:" + v + ")"
		} else {
			v = "(?:" + v + ")"
		}
		parts = append(parts, v)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("httpcache: acl proxy_auth_regex: no pattern")
	}
	re, err := regexp.Compile(strings.Join(parts, "|"))
	if err != nil {
		return nil, fmt.Errorf("httpcache: acl proxy_auth_regex: %w", err)
	}
	return &aclProxyAuthRegex{re: re}, nil
}

func (a *aclProxyAuthRegex) match(tx *transaction) bool {
	return tx.authenticate() && a.re.MatchString(tx.user)
}

// isAuthACL reports whether acl is of a proxy_auth type.
func isAuthACL(acl ACL) bool {
	switch acl.(type) {
	case *aclProxyAuth, *aclProxyAuthRegex:
		return true
	}
	return false
}

// httpAccess evaluates http_access as [allowed] does, with the part that
// authentication plays in Squid: when a proxy_auth ACL finds the
// credentials missing or wrong, the check stops and the client is
// challenged; and when the rule that denies ends with a proxy_auth ACL,
// the client is challenged too, so that it may log in as someone else
// (squid.conf http_access).
func (h *Handler) httpAccess(tx *transaction) (allow, challenge bool) {
	tx.authn = h.auth
	rules := h.opts.Access
	for i := range rules {
		r := &rules[i]
		matched := true
		for _, t := range r.Terms {
			m := t.ACL.match(tx)
			if tx.auth == authFailed {
				return false, true
			}
			if m == t.Not {
				matched = false
				break
			}
		}
		if matched {
			if !r.Allow && len(r.Terms) > 0 && isAuthACL(r.Terms[len(r.Terms)-1].ACL) && h.auth != nil {
				return false, true
			}
			return r.Allow, false
		}
	}
	if len(rules) == 0 {
		return false, false
	}
	return !rules[len(rules)-1].Allow, false
}

// serveChallenge asks the client for credentials: on an accelerator a 401
// with WWW-Authenticate (RFC 9110, Section 11.6.1) and Squid's
// ERR_CACHE_ACCESS_DENIED page, logged TCP_DENIED/401.
func (h *Handler) serveChallenge(rw *countingWriter, tx *transaction) {
	tx.result = "TCP_DENIED"
	tx.challenge = h.auth.challenge
	h.serveError(rw, tx, http.StatusUnauthorized, "ERR_CACHE_ACCESS_DENIED")
}
