package httpcache

import (
	"net/http"
	"strings"
	"time"

	"cuttle/accesslog"
)

// countingWriter counts what is sent to the client for %<st: the status
// line, the header fields and the body.
type countingWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	header int64 // the status line and header fields (%<sh)

	// h and tx are set when reply_header_access or reply_header_add rules
	// apply to the header before it is written.
	h  *Handler
	tx *transaction

	// stall is set on an HTTP/2 stream when write_timeout applies: each
	// Write may wait stallTimeout for the client's window, then the
	// stream is reset (Options.WriteTimeout).
	stall        *http.ResponseController
	stallTimeout time.Duration
}

func (w *countingWriter) WriteHeader(status int) {
	w.writeHeaderSized(status, -1)
}

// writeHeaderSized is WriteHeader for a caller that knows the wire size of
// the header fields (-1: count them).
func (w *countingWriter) writeHeaderSized(status, fields int) {
	if w.status != 0 {
		return
	}
	w.status = status
	h := w.Header()
	if w.h != nil {
		w.h.hdr.applyReply(w.h, h, w.tx, status)
		fields = -1
	}
	if fields < 0 {
		fields = headerWireSize(h)
	}
	// "HTTP/1.1 200 OK\r\n" + fields + "\r\n"; net/http adds Date when absent.
	n := len("HTTP/1.1 000 \r\n") + len(http.StatusText(status)) + fields + 2
	if _, ok := h["Date"]; !ok {
		n += len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n")
	}
	w.bytes += int64(n)
	w.header = int64(n)
	w.ResponseWriter.WriteHeader(status)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.stall == nil {
		n, err := w.ResponseWriter.Write(p)
		w.bytes += int64(n)
		return n, err
	}
	// The deadline covers this write only: the time the handler spends
	// between writes (waiting for the origin) is not the client's.
	w.stall.SetWriteDeadline(time.Now().Add(w.stallTimeout)) //nolint:errcheck // HTTP/2 supports it
	n, err := w.ResponseWriter.Write(p)
	w.stall.SetWriteDeadline(time.Time{}) //nolint:errcheck
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logTransaction counts tx in Stats and writes its access.log entry, once.
func (h *Handler) logTransaction(tx *transaction, w *countingWriter) {
	if tx.logged {
		return
	}
	tx.logged = true
	end := h.now()
	reqHeader := requestHeaderBytes(tx)
	if w.status == 0 && tx.result == "TCP_MISS" {
		tx.result += "_ABORTED" // the client went away before an answer
	}
	h.opts.Stats.record(tx, w, reqHeader+max(tx.req.ContentLength, 0), end)
	if h.opts.Log == nil && len(h.opts.FilteredLogs) == 0 {
		return
	}
	// The entry lives in the pooled transaction: logging allocates nothing.
	e := &tx.entry
	*e = accesslog.Entry{
		Start:      tx.start,
		End:        end,
		ResultCode: tx.result,
		Status:     w.status,
		Bytes:      w.bytes,
		Method:     tx.req.Method,
		URL:        tx.url,
		ProtoMajor: tx.req.ProtoMajor,
		ProtoMinor: tx.req.ProtoMinor,
		Hierarchy:  tx.hier,

		RequestHeader:  tx.req.Header,
		ResponseHeader: w.Header(),
	}
	switch {
	case tx.indirectIP.IsValid() && !h.hdr.directLog:
		e.ClientIP = tx.indirectIP.String() // log_uses_indirect_client
	case tx.clientIP.Is4In6():
		e.ClientIP = tx.clientIP.Unmap().String()
	case tx.clientIP.IsValid():
		// RemoteAddr already holds the address as text: no formatting.
		ra := tx.req.RemoteAddr
		e.ClientIP = strings.TrimSuffix(strings.TrimPrefix(ra[:strings.LastIndexByte(ra, ':')], "["), "]")
	}
	e.ClientPort = int(tx.clientPort)
	if ct := w.Header()["Content-Type"]; len(ct) > 0 {
		e.ContentType = ct[0]
	} else {
		e.ContentType = tx.mimeType
	}
	if tx.peer != nil {
		e.PeerIP, e.PeerName, e.PeerPort = tx.peer.ip, tx.peer.Name, tx.peer.Port
		e.PeerStatus = tx.peerStatus
		if !tx.peerStart.IsZero() && !tx.peerDone.IsZero() {
			e.PeerTime = tx.peerDone.Sub(tx.peerStart)
			e.ServerTime = e.PeerTime
		}
	}
	e.ErrorCode = tx.errCode
	e.User = tx.user
	e.Notes = tx.acl.notes
	if tx.acl.reply == nil && w.status != 0 {
		// Reply acls of access_log lines see the reply as sent.
		tx.acl.reply, tx.acl.replyStatus = w.Header(), w.status
	}
	e.ReplyHeaderBytes = w.header
	e.RequestHeaderBytes = reqHeader
	e.RequestBytes = reqHeader + max(tx.req.ContentLength, 0)
	if tx.port != nil {
		e.LocalPort = tx.port.ListenPort
	}
	e.LocalIP = localIP(tx.req)
	h.writeEntry(tx, e)
}

// requestHeaderBytes is the size of the request as received: its line
// and its header fields, as net/http parsed them (%>sh).
func requestHeaderBytes(tx *transaction) int64 {
	n := int64(len(tx.req.Method) + 1 + len(tx.req.RequestURI) + len(" HTTP/1.1\r\n") + headerWireSize(tx.req.Header) + 2)
	if tx.req.Host != "" && len(tx.req.Header["Host"]) == 0 {
		n += int64(len("Host: \r\n") + len(tx.req.Host))
	}
	return n
}

// writeEntry sends an entry to the access logs: the unfiltered Log, and
// each FilteredLog whose acl list matches the transaction (squid.conf
// access_log ... acl ...).
func (h *Handler) writeEntry(tx *transaction, e *accesslog.Entry) {
	if h.opts.Log != nil {
		h.opts.Log.Log(e)
	}
	for i := range h.opts.FilteredLogs {
		fl := &h.opts.FilteredLogs[i]
		if fl.matches(tx) {
			fl.Log.Log(e)
		}
	}
}

// FilteredLog is an access_log line with an acl list: a transaction is
// written to Log only when every term matches (squid.conf access_log).
type FilteredLog struct {
	Log   *accesslog.Logger
	Terms []Term
}

func (fl *FilteredLog) matches(tx *transaction) bool {
	return allowed([]Rule{{Allow: true, Terms: fl.Terms}}, tx)
}
