package httpcache

import (
	"html"
	"net/http"
	"strconv"
	"strings"
)

// errorText holds the title and explanation of each Squid error page cuttle
// sends (Squid's errors/templates, ERR_* names kept for X-Squid-Error and
// %err_code). The wording is cuttle's own.
var errorText = map[string][2]string{
	"ERR_ACCESS_DENIED": {"Access Denied", "Access control configuration prevents your request from being allowed at this time."},
	"ERR_UNSUP_REQ":     {"Unsupported Request Method and Protocol", "This accelerator does not support the request method."},
	"ERR_ONLY_IF_CACHED_MISS": {"Valid document was not found in the cache and only-if-cached directive was specified",
		"The request asked for a cached copy only, and none is stored."},
	"ERR_INVALID_URL":    {"Invalid URL", "The request does not name a site this accelerator serves."},
	"ERR_CANNOT_FORWARD": {"Unable to forward this request at this time", "No origin server is available for this request."},
	"ERR_CONNECT_FAIL":   {"Connection to the origin server failed", "The origin server could not be reached."},
	"ERR_READ_TIMEOUT":   {"Read Timeout", "The origin server did not answer in time."},
	"ERR_READ_ERROR":     {"Read Error", "The origin server's reply could not be read."},
	"ERR_TOO_BIG":        {"The request or reply is too large", "The request body is larger than this accelerator accepts (request_body_max_size)."},
	"ERR_INVALID_RESP":   {"Invalid Response", "The origin server's reply could not be used."},
	// cuttle's own, for --rate-limit (Squid has no such page).
	"ERR_TOO_MANY_REQUESTS": {"Too Many Requests", "Your address has sent more requests than this accelerator accepts; please retry later."},
	"ERR_CACHE_ACCESS_DENIED": {"Cache Access Denied",
		"You are not allowed to request this page until you have logged in with a valid user name and password."},
}

// serveError sends one of Squid's error pages. Everything taken from the
// request is HTML-escaped; the page is never stored.
func (h *Handler) serveError(rw *countingWriter, tx *transaction, status int, code string) {
	tx.errCode = code
	text := errorText[code]
	url := tx.url
	if strings.HasPrefix(url, "error:") {
		url = ""
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ERROR: ")
	b.WriteString(text[0])
	b.WriteString("</title></head>\n<body>\n<h1>ERROR</h1>\n<h2>")
	b.WriteString(text[0])
	b.WriteString("</h2>\n")
	if url != "" {
		b.WriteString("<p>While trying to retrieve the URL: <a href=\"")
		b.WriteString(html.EscapeString(url))
		b.WriteString("\">")
		b.WriteString(html.EscapeString(url))
		b.WriteString("</a></p>\n")
	}
	b.WriteString("<p>")
	b.WriteString(text[1])
	b.WriteString("</p>\n<hr>\n<p>Generated ")
	b.WriteString(h.now().UTC().Format(http.TimeFormat))
	b.WriteString(" by ")
	b.WriteString(html.EscapeString(h.opts.VisibleHostname))
	b.WriteString(" (")
	b.WriteString(html.EscapeString(h.opts.Version))
	b.WriteString(")</p>\n</body></html>\n")
	body := b.String()

	out := rw.Header()
	clear(out)
	out["Server"] = []string{h.opts.Version}
	out["Mime-Version"] = []string{"1.0"}
	out["Date"] = []string{h.now().UTC().Format(http.TimeFormat)}
	out["Content-Type"] = []string{"text/html;charset=utf-8"}
	out["Content-Length"] = []string{strconv.Itoa(len(body))}
	out["X-Squid-Error"] = []string{code + " 0"}
	out["Cache-Control"] = []string{"no-store"}
	out["X-Cache"] = h.xCacheMiss
	if tx.lookup != nil {
		out["X-Cache-Lookup"] = tx.lookup
	}
	out["Via"] = h.via
	out["Cache-Status"] = []string{cacheStatusName(h.opts.VisibleHostname) + "; detail=" + code}
	if tx.challenge != nil {
		out["Www-Authenticate"] = tx.challenge
	}
	if tx.result == "" {
		tx.result = "NONE_NONE"
	}
	rw.WriteHeader(status)
	if tx.req.Method != http.MethodHead {
		rw.Write([]byte(body)) //nolint:errcheck // the client may be gone; nothing to do
	}
}
