package httpcache

import (
	"net/http"
	"strings"

	"cuttle/accesslog"
)

// HeaderOptions are the squid.conf directives that change the header
// fields cuttle forwards to origin servers and sends to clients. The zero
// value changes nothing and has Squid's defaults: forwarded_for on, via on,
// no follow_x_forwarded_for rules.
type HeaderOptions struct {
	// RequestAccess is request_header_access: which fields of the request
	// forwarded to the origin are kept, removed or replaced. Empty keeps
	// them all. The fields cuttle adds itself (Via, X-Forwarded-For) are
	// subject to it too, as in Squid; hop-by-hop fields are gone before.
	RequestAccess []HeaderAccess

	// ReplyAccess is reply_header_access: the same for the responses sent
	// to clients, whether hits, misses or cuttle's own error pages,
	// including the fields cuttle adds (Via, X-Cache, Cache-Status, Age).
	ReplyAccess []HeaderAccess

	// RequestAdd is request_header_add and ReplyAdd reply_header_add: fields
	// appended, in order, after the *Access rules have been applied (an
	// existing field of the same name is kept, as in Squid).
	RequestAdd, ReplyAdd []HeaderAdd

	// ForwardedFor is forwarded_for: what becomes of X-Forwarded-For in the
	// forwarded request. The zero value is Squid's default, "on".
	ForwardedFor ForwardedFor

	// FollowXForwardedFor is follow_x_forwarded_for: X-Forwarded-For is
	// walked from its last entry back while the rules allow the address
	// that sent it (a src ACL matches the address under test), and the
	// last address reached is the indirect client. Empty ignores
	// X-Forwarded-For, Squid's default.
	FollowXForwardedFor []Rule

	// DirectClientACLs is acl_uses_indirect_client off: src ACLs match the
	// TCP peer even when follow_x_forwarded_for found an indirect client.
	DirectClientACLs bool

	// DirectClientLog is log_uses_indirect_client off: the access log
	// (%>a) and the %>a of *_header_add show the TCP peer, not the
	// indirect client.
	DirectClientLog bool

	// NoVia is via off: no Via is added to requests or responses (a Via
	// received is passed on).
	NoVia bool
}

// HeaderAccess is the request_header_access (or reply_header_access)
// list of one header name, with its request_header_replace
// (reply_header_replace) value.
//
// The rules that govern a field are those of its own name; else, for a
// field Squid does not know by name (see [SquidKnownHeader]), those of
// Other; else those of All; a field governed by none is kept. Within the
// list the first rule whose ACLs match decides and, as in Squid, when none
// matches the answer is the opposite of the last rule's. A denied field
// is removed or, when the list has a Replace value, sent with that value
// instead.
type HeaderAccess struct {
	// Name is a field name (any case), "All" or "Other" (case-sensitive).
	Name string

	Rules []Rule

	// Replace is the *_header_replace value of Name; empty removes a
	// denied field.
	Replace string
}

// HeaderAdd is one request_header_add or reply_header_add line.
type HeaderAdd struct {
	// Name is the field name.
	Name string

	// Value is the field value when Format is nil.
	Value string

	// Format, when not nil, makes the value from the transaction: a quoted
	// value of squid.conf with logformat %codes, compiled by
	// [accesslog.Compile]. An empty result is sent as "-", as Squid does.
	Format accesslog.Formatter

	// Terms must all match for the field to be added; none adds it to
	// every message.
	Terms []Term
}

// ForwardedFor is a squid.conf forwarded_for mode.
type ForwardedFor uint8

// The forwarded_for modes. Squid takes an unknown word as transparent.
const (
	// ForwardedForOn appends the client's address to X-Forwarded-For.
	ForwardedForOn ForwardedFor = iota
	// ForwardedForOff appends "unknown".
	ForwardedForOff
	// ForwardedForTransparent passes the field on unchanged.
	ForwardedForTransparent
	// ForwardedForTruncate replaces the field with the client's address.
	ForwardedForTruncate
	// ForwardedForDelete removes the field.
	ForwardedForDelete
)

// ParseForwardedFor returns the mode a forwarded_for value names, and
// false (with transparent, as Squid acts) for any other word.
func ParseForwardedFor(s string) (ForwardedFor, bool) {
	switch s {
	case "on":
		return ForwardedForOn, true
	case "off":
		return ForwardedForOff, true
	case "transparent":
		return ForwardedForTransparent, true
	case "truncate":
		return ForwardedForTruncate, true
	case "delete":
		return ForwardedForDelete, true
	}
	return ForwardedForTransparent, false
}

// headerRules are the compiled HeaderOptions of a Handler.
type headerRules struct {
	request, reply        *headerAccess // nil without rules
	requestAdd, replyAdd  []HeaderAdd
	forwardedFor          ForwardedFor
	followXFF             []Rule
	directACLs, directLog bool
	hostRules             bool // some request rule governs Host
	replyHooks            bool // reply rules or additions exist
}

// headerAccess is a compiled *_header_access list.
type headerAccess struct {
	named      map[string]*headerRuleSet // by canonical field name
	other, all *headerRuleSet
}

// headerRuleSet is the rules of one name and the value that replaces a
// field they deny (nil: remove it).
type headerRuleSet struct {
	rules   []Rule
	replace []string
}

// compileHeaderRules prepares o for use on every request.
func compileHeaderRules(o HeaderOptions) *headerRules {
	r := &headerRules{
		request:      compileAccess(o.RequestAccess),
		reply:        compileAccess(o.ReplyAccess),
		requestAdd:   o.RequestAdd,
		replyAdd:     o.ReplyAdd,
		forwardedFor: o.ForwardedFor,
		followXFF:    o.FollowXForwardedFor,
		directACLs:   o.DirectClientACLs,
		directLog:    o.DirectClientLog,
	}
	if r.request != nil {
		r.hostRules = r.request.find("Host") != nil
	}
	r.replyHooks = r.reply != nil || len(r.replyAdd) > 0
	return r
}

func compileAccess(list []HeaderAccess) *headerAccess {
	if len(list) == 0 {
		return nil
	}
	a := &headerAccess{named: make(map[string]*headerRuleSet)}
	for _, ha := range list {
		s := &headerRuleSet{rules: ha.Rules}
		if ha.Replace != "" {
			s.replace = []string{ha.Replace}
		}
		switch ha.Name {
		case "All":
			a.all = s
		case "Other":
			a.other = s
		default:
			a.named[http.CanonicalHeaderKey(ha.Name)] = s
		}
	}
	return a
}

// find returns the rules that govern the field name (canonical), or nil.
func (a *headerAccess) find(name string) *headerRuleSet {
	if s := a.named[name]; s != nil {
		return s
	}
	if a.other != nil && !SquidKnownHeader(name) {
		return a.other
	}
	return a.all
}

// apply removes or replaces the fields of hdr that the rules deny for tx.
// A replaced field gets a new slice: hdr may share its values with a
// stored response.
func (a *headerAccess) apply(hdr http.Header, tx *transaction) {
	if a.all == nil && a.other == nil {
		for name, s := range a.named {
			if vs, ok := hdr[name]; ok && vs != nil {
				a.decide(hdr, name, s, tx)
			}
		}
		return
	}
	for name, vs := range hdr {
		if vs == nil {
			continue // a field net/http is told not to send
		}
		if s := a.find(name); s != nil {
			a.decide(hdr, name, s, tx)
		}
	}
}

func (a *headerAccess) decide(hdr http.Header, name string, s *headerRuleSet, tx *transaction) {
	if allowed(s.rules, tx) {
		return
	}
	switch n := len(hdr[name]); {
	case s.replace == nil:
		removeField(hdr, name)
	case n == 1:
		hdr[name] = s.replace
	default:
		// Squid replaces the value of each line of the field.
		vs := make([]string, n)
		for i := range vs {
			vs[i] = s.replace[0]
		}
		hdr[name] = vs
	}
}

// removeField deletes a field from a header about to be sent; Date and
// Content-Type are kept as nil so that net/http neither adds the one nor
// sniffs the other.
func removeField(hdr http.Header, name string) {
	if name == "Date" || name == "Content-Type" {
		hdr[name] = nil
		return
	}
	delete(hdr, name)
}

// addFields appends the fields of list whose terms match tx. entry fills in the
// access log entry that the %codes of a value read; it is called at most
// once.
func addFields(hdr http.Header, list []HeaderAdd, tx *transaction, entry func() *accesslog.Entry) {
	var e *accesslog.Entry
	for i := range list {
		ha := &list[i]
		if rule := (Rule{Terms: ha.Terms}); !rule.matches(tx) {
			continue
		}
		v := ha.Value
		if ha.Format != nil {
			if e == nil {
				e = entry()
			}
			b := ha.Format.Append(nil, e)
			v = strings.TrimSuffix(string(b), "\n")
		}
		if v == "" {
			v = "-"
		}
		name := http.CanonicalHeaderKey(ha.Name)
		prev := hdr[name]
		// The full slice expression makes append copy: prev may be shared
		// with a stored response.
		hdr[name] = append(prev[:len(prev):len(prev)], v)
	}
}

// applyRequest applies request_header_access, request_header_replace and
// request_header_add to the header of the request forwarded for tx, in
// Squid's order. host is the Host the origin would be sent; the returned
// Host is the one to send (request_header_replace Host). A denied Host
// without replacement is still sent: HTTP/1.1 requires one.
func (r *headerRules) applyRequest(h *Handler, out http.Header, tx *transaction, host string) string {
	if r.request != nil {
		if r.hostRules {
			out["Host"] = []string{host}
		}
		r.request.apply(out, tx)
		if r.hostRules {
			if v := out["Host"]; len(v) > 0 && v[0] != "" {
				host = v[0]
			}
			delete(out, "Host")
		}
	}
	if len(r.requestAdd) > 0 {
		addFields(out, r.requestAdd, tx, func() *accesslog.Entry { return h.headerEntry(tx, 0, nil) })
	}
	if _, ok := out["User-Agent"]; !ok {
		// net/http sends its own User-Agent when the field is absent; a
		// nil value sends none, as Squid does for a client that sent none
		// (or a field the rules removed).
		out["User-Agent"] = nil
	}
	return host
}

// applyReply applies reply_header_access, reply_header_replace and
// reply_header_add to a response header about to be sent to the client
// with status.
func (r *headerRules) applyReply(h *Handler, out http.Header, tx *transaction, status int) {
	if r.reply != nil {
		r.reply.apply(out, tx)
	}
	if len(r.replyAdd) > 0 {
		addFields(out, r.replyAdd, tx, func() *accesslog.Entry { return h.headerEntry(tx, status, out) })
	}
}

// headerEntry fills the transaction's access log entry with what is known
// while a header is being built, for the %codes of *_header_add: the client
// (indirect when log_uses_indirect_client allows), the request, and for a
// reply its status and header. The entry is rewritten when the transaction
// is logged.
func (h *Handler) headerEntry(tx *transaction, status int, reply http.Header) *accesslog.Entry {
	e := &tx.entry
	*e = accesslog.Entry{
		Start:          tx.start,
		End:            h.now(),
		ResultCode:     tx.result,
		Status:         status,
		Method:         tx.req.Method,
		URL:            tx.url,
		ProtoMajor:     tx.req.ProtoMajor,
		ProtoMinor:     tx.req.ProtoMinor,
		Hierarchy:      tx.hier,
		ClientPort:     int(tx.clientPort),
		ErrorCode:      tx.errCode,
		RequestHeader:  tx.req.Header,
		ResponseHeader: reply,
	}
	if ip := h.logClientIP(tx); ip.IsValid() {
		e.ClientIP = ip.String()
	}
	if reply != nil {
		if ct := reply["Content-Type"]; len(ct) > 0 {
			e.ContentType = ct[0]
		}
	}
	if tx.peer != nil {
		e.PeerIP, e.PeerName, e.PeerPort = tx.peer.ip, tx.peer.Name, tx.peer.Port
		e.PeerStatus = tx.peerStatus
	}
	if tx.port != nil {
		e.LocalPort = tx.port.ListenPort
	}
	e.LocalIP = localIP(tx.req)
	return e
}

// squidKnownHeaders are the field names Squid 5.7 knows by name
// (http/RegisteredHeaders, checked against squid 5.7 with
// "request_header_access Other deny all"), in canonical form. The Other
// rules of *_header_access govern every other name.
var squidKnownHeaders = map[string]bool{
	"Accept": true, "Accept-Charset": true, "Accept-Encoding": true, "Accept-Language": true,
	"Accept-Ranges": true, "Age": true, "Allow": true, "Alternate-Protocol": true,
	"Authentication-Info": true, "Authorization": true, "Cache-Control": true, "Cdn-Loop": true,
	"Connection": true, "Content-Base": true, "Content-Disposition": true, "Content-Encoding": true,
	"Content-Language": true, "Content-Length": true, "Content-Location": true, "Content-Md5": true,
	"Content-Range": true, "Content-Type": true, "Cookie": true, "Cookie2": true, "Date": true,
	"Etag": true, "Expect": true, "Expires": true, "Forwarded": true, "From": true, "Host": true,
	"If-Match": true, "If-Modified-Since": true, "If-None-Match": true, "If-Range": true,
	"If-Unmodified-Since": true, "Keep-Alive": true, "Key": true, "Last-Modified": true, "Link": true,
	"Location": true, "Max-Forwards": true, "Mime-Version": true, "Negotiate": true, "Origin": true,
	"Pragma": true, "Proxy-Authenticate": true, "Proxy-Authentication-Info": true,
	"Proxy-Authorization": true, "Proxy-Connection": true, "Proxy-Support": true, "Public": true,
	"Range": true, "Referer": true, "Request-Range": true, "Retry-After": true, "Server": true,
	"Set-Cookie": true, "Set-Cookie2": true, "Te": true, "Title": true, "Trailer": true,
	"Transfer-Encoding": true, "Translate": true, "Unless-Modified-Since": true, "Upgrade": true,
	"User-Agent": true, "Vary": true, "Via": true, "Warning": true, "Www-Authenticate": true,
	"X-Cache": true, "X-Cache-Lookup": true, "X-Forwarded-For": true, "X-Request-Uri": true,
	"X-Squid-Error": true, "X-Accelerator-Vary": true, "X-Next-Services": true,
	"Surrogate-Capability": true, "Surrogate-Control": true, "Front-End-Https": true,
	"Ftp-Command": true, "Ftp-Arguments": true, "Ftp-Pre": true, "Ftp-Status": true, "Ftp-Reason": true,
}

// SquidKnownHeader reports whether Squid 5.7 knows the field name by name,
// so that the Other rules of request_header_access and reply_header_access
// do not apply to it. Names are compared case-insensitively.
func SquidKnownHeader(name string) bool {
	return squidKnownHeaders[http.CanonicalHeaderKey(name)]
}
