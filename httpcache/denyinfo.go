package httpcache

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DenyInfo is one deny_info line (squid.conf deny_info): what a client
// gets instead of the usual error page when an access list denies it and
// the last ACL evaluated is one of ACLs.
type DenyInfo struct {
	// Page is the first argument as written ("ERR_CUSTOM", "404:ERR_CUSTOM",
	// "http://...", "303:http://...", "TCP_RESET"); X-Squid-Error names a
	// page by it, as Squid does.
	Page string

	// Status is the status code written before the page, or 0: 403 for a
	// page, 302 (307 for other methods than GET and HEAD) for a URL.
	Status int

	// Template is the error page to send: a built-in ERR_ name or the name
	// of a file in Options.ErrorDirectory.
	Template string

	// URL is where to redirect, with Squid's %-codes (%u the URL, %H the
	// host, %R the path, %i the client address...).
	URL string

	// Reset closes the connection without an answer (TCP_RESET).
	Reset bool

	// ACLs are the names of the ACLs the line applies to.
	ACLs []string
}

// check evaluates an access list (see allowed) and returns the answer
// with the name of the last ACL evaluated, Squid's AclMatchedName, which
// deny_info looks up: the last ACL of the rule that matched, or the one
// that failed on the last rule when none matched.
func check(rules []Rule, tx *transaction) (bool, string) {
	tx.acl.last = ""
	ok := allowed(rules, tx)
	return ok, tx.acl.last
}

// deny answers a request that an access list denied: with the deny_info
// of aclName when there is one, else with the error page code and status
// (squid.conf deny_info).
func (h *Handler) deny(rw *countingWriter, tx *transaction, status int, code, aclName string) {
	di := h.denyInfo[aclName]
	switch {
	case di == nil:
		h.servePage(rw, tx, status, code, code)
	case di.Reset:
		h.resetConnection(rw, tx)
	case di.URL != "":
		h.redirect(rw, tx, di, code)
	default:
		if di.Status != 0 {
			status = di.Status
		}
		h.servePage(rw, tx, status, di.Template, di.Page)
	}
}

// redirect sends a deny_info redirect: Squid's empty 302 (307 for other
// methods than GET and HEAD from HTTP/1.1 clients), or the 3xx status
// written before the URL, whose X-Squid-Error is "<status> Access Denied".
func (h *Handler) redirect(rw *countingWriter, tx *transaction, di *DenyInfo, code string) {
	tx.errCode = code
	errStatus, status := http.StatusForbidden, http.StatusFound
	switch {
	case di.Status != 0:
		errStatus, status = di.Status, di.Status
	case tx.req.Method != http.MethodGet && tx.req.Method != http.MethodHead && tx.req.ProtoAtLeast(1, 1):
		status = http.StatusTemporaryRedirect
	}
	out := rw.Header()
	clear(out)
	out["Server"] = h.server
	out["Mime-Version"] = []string{"1.0"}
	out["Date"] = []string{h.now().UTC().Format(http.TimeFormat)}
	out["Content-Type"] = []string{"text/html;charset=utf-8"}
	out["Content-Length"] = []string{"0"}
	out["Location"] = []string{h.denyURL(di.URL, tx)}
	out["X-Squid-Error"] = []string{strconv.Itoa(errStatus) + " Access Denied"}
	out["X-Cache"] = h.xCacheMiss
	if tx.lookup != nil {
		out["X-Cache-Lookup"] = tx.lookup
	}
	out["Via"] = h.via
	out["Cache-Status"] = h.statusDenied
	rw.WriteHeader(status)
}

// resetConnection closes the client's connection without an answer
// (deny_info TCP_RESET), with a TCP reset where the connection allows; an
// HTTP/2 stream is reset instead. Squid logs it with status 000.
func (h *Handler) resetConnection(rw *countingWriter, tx *transaction) {
	conn, _, err := http.NewResponseController(rw).Hijack()
	h.logTransaction(tx, rw)
	tx.logged = true
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	c := conn
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = nc.NetConn() // under TLS
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // a plain close is the fallback
	}
	conn.Close()
}

// replyAllowed applies http_reply_access to a reply about to be sent with
// status and header (the origin's, the stored one, or an error page). A
// denied reply is replaced by ERR_ACCESS_DENIED, or by the deny_info of
// the last ACL evaluated, and logged TCP_DENIED_REPLY; replyAllowed then
// returns false. As in Squid, denials and 1xx, 204 and 304 replies are
// always sent, and no rules allow everything.
func (h *Handler) replyAllowed(rw *countingWriter, tx *transaction, status int, header http.Header) bool {
	if len(h.opts.ReplyAccess) == 0 || tx.acl.internal || tx.result == "TCP_DENIED" || tx.result == "TCP_DENIED_REPLY" {
		return true
	}
	switch {
	case status < 200, status == http.StatusNoContent, status == http.StatusNotModified:
		return true
	}
	tx.acl.reply, tx.acl.replyStatus = header, status
	ok, name := check(h.opts.ReplyAccess, tx)
	if ok {
		return true
	}
	tx.result = "TCP_DENIED_REPLY"
	h.deny(rw, tx, http.StatusForbidden, "ERR_ACCESS_DENIED", name)
	return false
}

// missAllowed applies miss_access before a request is forwarded: a
// denied one gets ERR_FORWARDING_DENIED (403), or the deny_info of the
// last ACL evaluated, and missAllowed returns false. No rules allow
// everything.
func (h *Handler) missAllowed(rw *countingWriter, tx *transaction) bool {
	if len(h.opts.MissAccess) == 0 || tx.acl.internal {
		return true
	}
	ok, name := check(h.opts.MissAccess, tx)
	if ok {
		return true
	}
	h.deny(rw, tx, http.StatusForbidden, "ERR_FORWARDING_DENIED", name)
	return false
}

// sendHitAllowed applies send_hit to a stored response that would be
// served: when it is denied the request is handled as a miss. No rules
// allow everything.
func (h *Handler) sendHitAllowed(tx *transaction, c *cached) bool {
	if len(h.opts.SendHit) == 0 {
		return true
	}
	tx.acl.reply, tx.acl.replyStatus = c.header, c.status
	ok, _ := check(h.opts.SendHit, tx)
	if !ok {
		tx.acl.reply, tx.acl.replyStatus = nil, 0
	}
	return ok
}

// storeMissAllowed applies store_miss to a response that could be
// stored: a denied one is sent but not stored. No rules allow everything.
func (h *Handler) storeMissAllowed(tx *transaction, res *http.Response) bool {
	if len(h.opts.StoreMiss) == 0 {
		return true
	}
	tx.acl.reply, tx.acl.replyStatus = res.Header, res.StatusCode
	ok, _ := check(h.opts.StoreMiss, tx)
	return ok
}

// setupErrorPages prepares deny_info and error_directory: the first
// deny_info line naming an ACL is the one used for it, as in Squid, and
// the templates are read once, now. A template that cannot be read is
// reported, and the built-in page replaces it.
func (h *Handler) setupErrorPages() {
	h.server = []string{h.opts.Version}
	h.denyInfo = make(map[string]*DenyInfo)
	for i := range h.opts.DenyInfo {
		di := &h.opts.DenyInfo[i]
		for _, a := range di.ACLs {
			if _, ok := h.denyInfo[a]; !ok {
				h.denyInfo[a] = di
			}
		}
	}
	h.templates = make(map[string]string)
	dir := h.opts.ErrorDirectory
	if dir == "" {
		return
	}
	wanted := make(map[string]bool)
	for n := range errorPages {
		wanted[n] = false
	}
	for _, di := range h.opts.DenyInfo {
		if di.Template != "" {
			wanted[di.Template] = true
		}
	}
	for n, custom := range wanted {
		if strings.ContainsAny(n, `/\`) || n == ".." {
			h.errorLog.Printf("httpcache: error_directory: template name %q is not a file name; the built-in page is used", n)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			if custom || !os.IsNotExist(err) {
				h.errorLog.Printf("httpcache: error_directory: %v; the built-in page is used", err)
			}
			continue
		}
		h.templates[n] = string(b)
	}
}
