package httpcache

import (
	"html"
	"net/http"
	"strconv"
	"strings"
)

// errorPage is the wording of one of Squid's error pages, which cuttle
// sends under Squid's names (X-Squid-Error, %err_code, deny_info,
// error_directory). The wording is cuttle's own.
type errorPage struct {
	title, text string
	showRequest bool // the method and URL as the client asked
	showHost    bool // the host name that did not resolve
}

// errorPages are the built-in pages, by Squid's ERR_ name.
var errorPages = map[string]errorPage{
	"ERR_ACCESS_DENIED": {title: "Access denied",
		text: "The rules of this server do not allow this request."},
	"ERR_FORWARDING_DENIED": {title: "Forwarding denied",
		text: "This server may answer this request from its cache only, and the page is not cached."},
	"ERR_CACHE_ACCESS_DENIED": {title: "Authentication required",
		text: "This page needs credentials that were missing or not accepted."},
	"ERR_CANNOT_FORWARD": {title: "Request not forwarded",
		text: "No origin server is available for this request right now."},
	"ERR_CONNECT_FAIL": {title: "Origin server unreachable",
		text: "A connection to the origin server could not be opened."},
	"ERR_READ_TIMEOUT": {title: "Origin server too slow",
		text: "The origin server did not answer in time."},
	"ERR_READ_ERROR": {title: "Reply unreadable",
		text: "The origin server's reply could not be read in full."},
	"ERR_WRITE_ERROR": {title: "Request not delivered",
		text: "The request could not be sent to the origin server in full."},
	"ERR_TOO_BIG": {title: "Message too large",
		text: "The request or the reply is larger than this server accepts."},
	"ERR_INVALID_REQ": {title: "Malformed request", showRequest: true,
		text: "The request could not be understood."},
	"ERR_INVALID_URL": {title: "Unknown site", showRequest: true,
		text: "The request does not name a site this server serves."},
	"ERR_UNSUP_REQ": {title: "Unsupported request", showRequest: true,
		text: "This server does not handle this method or protocol."},
	"ERR_PROTOCOL_UNKNOWN": {title: "Unknown protocol", showRequest: true,
		text: "The address uses a protocol this server does not speak."},
	"ERR_DNS_FAIL": {title: "Host name not found", showHost: true,
		text: "The address of the server could not be looked up."},
	"ERR_ZERO_SIZE_OBJECT": {title: "Empty reply",
		text: "The origin server closed the connection without sending a reply."},
	"ERR_GATEWAY_FAILURE": {title: "Gateway failure",
		text: "Something between this server and the origin server failed."},
	"ERR_LIFETIME_EXP": {title: "Time limit reached",
		text: "The transfer took longer than this server allows."},
	"ERR_SHUTTING_DOWN": {title: "Server stopping",
		text: "This server is shutting down and takes no new requests."},
	"ERR_ONLY_IF_CACHED_MISS": {title: "Not in the cache",
		text: "The request asked for a cached copy only (only-if-cached), and none is stored."},
	"ERR_INVALID_RESP": {title: "Malformed reply",
		text: "The origin server's reply was malformed, and was refused."},
	// cuttle's own, for --rate-limit (Squid has no such page).
	"ERR_TOO_MANY_REQUESTS": {title: "Too many requests",
		text: "Your address has sent more requests than this server accepts; please retry later."},
}

// serveError sends one of Squid's error pages. Everything taken from the
// request is HTML-escaped; the page is never stored.
func (h *Handler) serveError(rw *countingWriter, tx *transaction, status int, code string) {
	h.servePage(rw, tx, status, code, code)
}

// servePage sends the error page template with the status. name is what
// X-Squid-Error and %err_code say: the template's name, or a deny_info
// page as written ("404:ERR_CUSTOM", as Squid sends it). A template read
// from error_directory is used when there is one, else the built-in page
// (ERR_ACCESS_DENIED's for an unknown name). Unless it is a denial, the
// page is subject to http_reply_access first, as any reply.
func (h *Handler) servePage(rw *countingWriter, tx *transaction, status int, template, name string) {
	tx.errCode = name
	if tx.result == "" {
		tx.result = "NONE_NONE"
	}
	out := rw.Header()
	clear(out)
	out["Server"] = h.server
	out["Mime-Version"] = []string{"1.0"}
	out["Date"] = []string{h.now().UTC().Format(http.TimeFormat)}
	out["Content-Type"] = []string{"text/html;charset=utf-8"}
	out["X-Squid-Error"] = []string{name + " 0"}
	if h.opts.ErrorDirectory == "" {
		// Squid negotiates the language of its own pages; cuttle's are
		// in English only.
		out["Vary"] = []string{"Accept-Language"}
		out["Content-Language"] = []string{"en"}
	}
	out["X-Cache"] = h.xCacheMiss
	if tx.lookup != nil {
		out["X-Cache-Lookup"] = tx.lookup
	}
	out["Via"] = h.via
	out["Cache-Status"] = []string{h.cacheStatus + "; detail=" + cacheStatusDetail(name)}
	if tx.challenge != nil {
		out["Www-Authenticate"] = tx.challenge
	}
	if !h.replyAllowed(rw, tx, status, out) {
		return
	}
	var body string
	if t, ok := h.templates[template]; ok {
		body = h.expandTemplate(t, tx, name)
	} else {
		body = h.builtinPage(tx, template, name)
	}
	out["Content-Length"] = []string{strconv.Itoa(len(body))}
	rw.WriteHeader(status)
	if tx.req.Method != http.MethodHead {
		rw.Write([]byte(body)) //nolint:errcheck // the client may be gone; nothing to do
	}
}

// cacheStatusDetail makes name an RFC 8941 token for Cache-Status detail=.
func cacheStatusDetail(name string) string {
	if _, after, ok := strings.Cut(name, ":"); ok {
		name = after
	}
	if name == "" || !('A' <= name[0] && name[0] <= 'Z' || 'a' <= name[0] && name[0] <= 'z') {
		return "denied"
	}
	return strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f && !strings.ContainsRune(`"(),;<=>?@[\]{}`, r) {
			return r
		}
		return '_'
	}, name)
}

// shownURL is the URL an error page and a deny_info redirect show: the
// rebuilt absolute URL, which never holds user information; "" for a
// request that could not be mapped to one.
func shownURL(tx *transaction) string {
	if strings.HasPrefix(tx.url, "error:") {
		return ""
	}
	return tx.url
}

// builtinPage renders cuttle's own page for template.
func (h *Handler) builtinPage(tx *transaction, template, name string) string {
	p, ok := errorPages[template]
	if !ok {
		p = errorPages["ERR_ACCESS_DENIED"]
	}
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error: ")
	b.WriteString(p.title)
	b.WriteString("</title></head>\n<body>\n<h1>")
	b.WriteString(p.title)
	b.WriteString("</h1>\n")
	if u := shownURL(tx); u != "" {
		b.WriteString("<p>Address: <a href=\"")
		b.WriteString(esc(u))
		b.WriteString("\">")
		b.WriteString(esc(u))
		b.WriteString("</a></p>\n")
	}
	if p.showRequest && tx.req != nil {
		b.WriteString("<p>Request: <code>")
		b.WriteString(esc(tx.req.Method))
		b.WriteString(" ")
		b.WriteString(esc(requestTarget(tx)))
		b.WriteString("</code></p>\n")
	}
	if p.showHost && tx.host != "" {
		b.WriteString("<p>Host: <code>")
		b.WriteString(esc(tx.host))
		b.WriteString("</code></p>\n")
	}
	b.WriteString("<p>")
	b.WriteString(p.text)
	b.WriteString("</p>\n<p>Error code: <code>")
	b.WriteString(esc(name))
	b.WriteString("</code></p>\n<hr>\n<p><small>")
	b.WriteString(esc(h.now().UTC().Format(http.TimeFormat)))
	b.WriteString(", ")
	b.WriteString(esc(h.opts.VisibleHostname))
	b.WriteString(" (")
	b.WriteString(esc(h.opts.Version))
	b.WriteString(")</small></p>\n</body></html>\n")
	return b.String()
}

// requestTarget is the request target as the client sent it, without
// user information.
func requestTarget(tx *transaction) string {
	u := tx.req.URL
	if u == nil {
		return tx.req.RequestURI
	}
	if u.User != nil {
		c := *u
		c.User = nil
		return c.String()
	}
	if tx.req.RequestURI != "" {
		return tx.req.RequestURI
	}
	return u.RequestURI()
}

// hiddenFields are the request fields an error page never shows (%R):
// credentials and cookies.
var hiddenFields = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true,
}

// expandTemplate fills in the %-codes of an error_directory template as
// Squid's ErrorState::Convert does, every value HTML-escaped. Codes about
// things cuttle does not have (FTP, helpers, SSL details) get Squid's
// placeholders.
func (h *Handler) expandTemplate(t string, tx *transaction, name string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '%')
		if i < 0 || i == len(t)-1 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		code := t[i+1]
		t = t[i+2:]
		v, ok := h.pageCode(code, tx, name, false)
		if !ok {
			v = "%" + string(code)
		}
		b.WriteString(html.EscapeString(v))
	}
}

// pageCode returns the value of one of Squid's error page %-codes, for a
// page (inURL false) or a deny_info URL (inURL true), unescaped. ok is
// false for an unknown code.
func (h *Handler) pageCode(code byte, tx *transaction, name string, inURL bool) (string, bool) {
	switch code {
	case 'a':
		return "-", true // the authenticated user, without password
	case 'A':
		return localIP(tx.req), true
	case 'b':
		return strconv.Itoa(tx.port.ListenPort), true
	case 'B':
		if inURL {
			return "", true
		}
		return shownURL(tx), true
	case 'c':
		if inURL {
			return "", true
		}
		return name, true
	case 'D':
		return "[No Error Detail]", true
	case 'e':
		return "0", true
	case 'E':
		return "[No Error]", true
	case 'f', 'F':
		if inURL {
			return "", true
		}
		return "nothing", true
	case 'g', 'l', 'L', 'm', 'o', 'O', 'W':
		// FTP server message, stylesheet, err_html_text, auth message,
		// helper messages, email_err_data: none.
		return "", true
	case 'h':
		return h.opts.VisibleHostname, true
	case 'H':
		return tx.host, true
	case 'i':
		return tx.clientIP.Unmap().String(), true
	case 'I':
		if tx.peer != nil {
			return tx.peer.ip, true
		}
		return "[unknown]", true
	case 'M':
		return tx.req.Method, true
	case 'p':
		return strconv.Itoa(tx.urlPort), true
	case 'P':
		scheme, _, _ := strings.Cut(tx.url, "://")
		return scheme, true
	case 'R':
		if inURL {
			return tx.pathQuery(), true
		}
		return requestText(tx), true
	case 's', 'S':
		return h.opts.Version, true
	case 't':
		return h.now().Format("02/Jan/2006:15:04:05 -0700"), true
	case 'T':
		return h.now().UTC().Format(http.TimeFormat), true
	case 'u', 'U':
		return shownURL(tx), true
	case 'w':
		return "webmaster", true // cache_mgr's default
	case 'x':
		if inURL {
			return "", true
		}
		return "[Unknown Error Code]", true
	case 'z', 'Z':
		if inURL {
			return "", true
		}
		return "[unknown]", true
	case '%':
		return "%", true
	}
	return "", false
}

// requestText is the request line and fields of %R, without credentials
// or cookies.
func requestText(tx *transaction) string {
	var b strings.Builder
	b.WriteString(tx.req.Method)
	b.WriteString(" ")
	b.WriteString(requestTarget(tx))
	b.WriteString(" ")
	b.WriteString(tx.req.Proto)
	b.WriteString("\n")
	if tx.req.Host != "" {
		b.WriteString("Host: " + tx.req.Host + "\n")
	}
	for k, vs := range tx.req.Header {
		if hiddenFields[k] {
			continue
		}
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// denyURL expands the %-codes of a deny_info redirect URL as Squid 5
// does: each value is HTML-quoted first (so "&" in the URL arrives as
// "&amp;", a quirk kept for compatibility: a redirect target written for
// Squid decodes the same values) and then escaped as rfc1738_escape_part
// does, except %R (the URL path), which is only quoted.
func (h *Handler) denyURL(pattern string, tx *transaction) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '%')
		if i < 0 || i == len(pattern)-1 {
			b.WriteString(pattern)
			return b.String()
		}
		b.WriteString(pattern[:i])
		code := pattern[i+1]
		pattern = pattern[i+2:]
		v, ok := h.pageCode(code, tx, "", true)
		switch {
		case !ok:
			v = "%" + string(code)
		case code == 'R':
			b.WriteString(squidQuote(v))
			continue
		default:
			v = squidQuote(v)
		}
		b.WriteString(escapePart(v))
	}
}

// escapePart escapes what RFC 1738 calls unsafe and reserved in a URL
// part, and every byte outside printable ASCII.
func escapePart(s string) string {
	const special = " <>\"#%{}|\\^~[]`';/?:@=&"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(special, c) >= 0 {
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// squidQuote is Squid's html_quote: the five HTML special characters as
// entities, and every byte outside printable ASCII as a numeric entity.
func squidQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '"':
			b.WriteString("&quot;")
		case c == '&':
			b.WriteString("&amp;")
		case c == '\'':
			b.WriteString("&#39;")
		case c < 0x20 || c >= 0x7f:
			b.WriteString("&#" + strconv.Itoa(int(c)) + ";")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
