package httpcache

import (
	"net/http"
	"net/netip"
	"strings"
)

// maxXFFHops caps the X-Forwarded-For entries that follow_x_forwarded_for
// walks, so that a field of thousands of trusted entries costs a bounded
// number of ACL checks. The walk stops there, at the address reached.
const maxXFFHops = 32

// followXFF finds the indirect client of tx (squid.conf
// follow_x_forwarded_for): starting from the TCP peer, while the rules allow
// the address under test (src ACLs match that address), the last entry
// of X-Forwarded-For not yet taken becomes the address under test. The walk
// ends at a deny, at an entry that is not an IP address, when the entries
// run out or after maxXFFHops; the address reached is the indirect client.
// src ACLs then match it unless acl_uses_indirect_client is off.
func (h *Handler) followXFF(tx *transaction) {
	r := h.hdr
	if len(r.followXFF) == 0 || !tx.clientIP.IsValid() {
		return
	}
	vals := tx.req.Header["X-Forwarded-For"]
	if len(vals) == 0 {
		return
	}
	cur := tx.clientIP.Unmap()
	it := xffEntries{vals: vals}
	for range maxXFFHops {
		tx.srcIP = cur
		if !allowed(r.followXFF, tx) {
			break
		}
		s, ok := it.prev()
		if !ok {
			break
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			break // "unknown", a name, "[::1]": cannot be tested
		}
		cur = a.Unmap()
	}
	tx.srcIP = netip.Addr{}
	tx.indirectIP = cur
	if !r.directACLs {
		tx.srcIP = cur
	}
}

// xffEntries yields the entries of X-Forwarded-For lines from the last
// backwards. Entries are separated by commas or white space, as Squid
// reads them; empty ones are skipped. Each byte is looked at once.
type xffEntries struct {
	vals []string // lines not started yet
	cur  string   // the part of the current line not yet taken
}

func (it *xffEntries) prev() (string, bool) {
	for {
		s := strings.TrimRight(it.cur, ", \t")
		if s == "" {
			if len(it.vals) == 0 {
				return "", false
			}
			it.cur, it.vals = it.vals[len(it.vals)-1], it.vals[:len(it.vals)-1]
			continue
		}
		i := strings.LastIndexAny(s, ", \t")
		it.cur = s[:i+1]
		return s[i+1:], true
	}
}

// srcAddr is the address src ACLs match: the indirect client, the address
// under test while follow_x_forwarded_for is walked, or the TCP peer.
func (tx *transaction) srcAddr() netip.Addr {
	if tx.srcIP.IsValid() {
		return tx.srcIP
	}
	return tx.clientIP
}

// logClientIP is the client address of the access log and of %>a: the
// indirect client unless log_uses_indirect_client is off, else the TCP
// peer.
func (h *Handler) logClientIP(tx *transaction) netip.Addr {
	if tx.indirectIP.IsValid() && !h.hdr.directLog {
		return tx.indirectIP
	}
	return tx.clientIP.Unmap()
}

// setForwardedFor writes the X-Forwarded-For of a forwarded request
// (squid.conf forwarded_for). Whatever the mode, the lines received become
// one, their values joined by ", " as they are (Squid's getList and
// strListAdd: no separator before the first non-empty text, entries not
// cleaned up); on appends the TCP peer's address (never the indirect
// client: the origin is told who connected), off appends "unknown",
// truncate keeps the peer's address only, transparent adds nothing and
// delete removes the field. A field left empty is not sent.
func (h *Handler) setForwardedFor(out http.Header, tx *transaction) {
	mode := h.hdr.forwardedFor
	if mode == ForwardedForDelete {
		delete(out, "X-Forwarded-For")
		return
	}
	client := "unknown"
	if mode != ForwardedForOff && tx.clientIP.IsValid() {
		client = tx.clientIP.Unmap().String()
	}
	prior := out["X-Forwarded-For"]
	if len(prior) == 0 || mode == ForwardedForTruncate {
		if mode == ForwardedForTransparent {
			delete(out, "X-Forwarded-For")
			return
		}
		out["X-Forwarded-For"] = []string{client}
		return
	}
	var b strings.Builder
	listAdd := func(item string) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(item)
	}
	for _, line := range prior {
		listAdd(line)
	}
	if mode != ForwardedForTransparent {
		listAdd(client)
	}
	if b.Len() == 0 {
		delete(out, "X-Forwarded-For")
		return
	}
	out["X-Forwarded-For"] = []string{b.String()}
}
