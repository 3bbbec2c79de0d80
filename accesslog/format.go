package accesslog

import (
	"strconv"
	"strings"
	"time"
)

// A Formatter turns an [Entry] into one access.log line. It is what
// squid.conf's logformat directive names.
//
// Append appends the line, ending in '\n', to dst and returns the extended
// slice, as the strconv Append functions do. It must not retain dst or e,
// must be safe for concurrent use, and must never write a line break (CR or
// LF) except the final '\n', whatever e contains.
type Formatter interface {
	Append(dst []byte, e *Entry) []byte
}

// FormatOptions are the squid.conf settings that change how fields are
// logged. The zero value logs full URLs and local time.
type FormatOptions struct {
	// StripQueryTerms is squid.conf strip_query_terms: when true, the
	// logged URL (%ru) is cut just after its first "?", which is kept
	// ("http://host/p?"). Squid's default is on; the zero value here is
	// off, so callers translating a squid.conf must set it explicitly.
	StripQueryTerms bool

	// Location is the time zone of local-time codes (%tl and the
	// [dd/Mon/yyyy:hh:mm:ss +zzzz] field of the common, combined and
	// useragent formats). Nil means time.Local.
	Location *time.Location
}

func (o FormatOptions) location() *time.Location {
	if o.Location == nil {
		return time.Local
	}
	return o.Location
}

// url returns the URL to log for e: "-" when unknown, with the query cut
// when strip_query_terms is on.
func (o FormatOptions) url(e *Entry) string {
	if e.URL == "" {
		return "-"
	}
	if o.StripQueryTerms {
		return stripQuery(e.URL)
	}
	return e.URL
}

// httpdTime is the time layout of the Apache-style formats and of %tl.
const httpdTime = "02/Jan/2006:15:04:05 -0700"

// logTime is the time a line reports (%ts, %tu, %tl): the end of the
// transaction, or its start when the end is unknown, or the Unix epoch when
// both are.
func (e *Entry) logTime() time.Time {
	switch {
	case !e.End.IsZero():
		return e.End
	case !e.Start.IsZero():
		return e.Start
	}
	return time.Unix(0, 0)
}

// elapsed is %tr: End minus Start, or 0 when either is unknown or the
// clock went backwards.
func (e *Entry) elapsed() time.Duration {
	if e.Start.IsZero() || e.End.IsZero() {
		return 0
	}
	if d := e.End.Sub(e.Start); d > 0 {
		return d
	}
	return 0
}

// appendInt appends v in decimal, padded on the left to width with zeros
// (zero) or spaces, as C's "%0*d" and "%*d" do.
func appendInt(dst []byte, v int64, width int, zero bool) []byte {
	var buf [24]byte
	b := strconv.AppendInt(buf[:0], v, 10)
	if len(b) >= width {
		return append(dst, b...)
	}
	if zero && v < 0 {
		dst = append(dst, '-')
		b = b[1:]
		width--
	}
	pad := byte(' ')
	if zero {
		pad = '0'
	}
	for n := len(b); n < width; n++ {
		dst = append(dst, pad)
	}
	return append(dst, b...)
}

// appendEpochMillis appends t as Unix seconds, right-aligned in secWidth
// columns, a dot and exactly three millisecond digits ("%9d.%03d", the
// %ts.%03tu of Squid's formats).
func appendEpochMillis(dst []byte, t time.Time, secWidth int) []byte {
	dst = appendInt(dst, t.Unix(), secWidth, false)
	dst = append(dst, '.')
	return appendInt(dst, int64(t.Nanosecond()/int(time.Millisecond)), 3, true)
}

// squidFormat is the native format: logformat squid, Squid's
// FormatSquidNative.
type squidFormat struct{ opts FormatOptions }

// Squid returns the native access.log format, squid.conf's
//
//	logformat squid %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
//
// reproduced as Squid's hard-coded native formatter prints it: end time as
// Unix seconds (right-aligned in 9 columns) with three millisecond digits;
// elapsed milliseconds right-aligned in 6 columns; client IP or "-"; result
// code (NONE_NONE when empty) "/" status zero-padded to three digits (000
// when none was sent); bytes sent including headers; method or "-"; URL;
// user or "-"; hierarchy code (HIER_NONE when empty) "/" peer IP or "-";
// content type cut at the first ";", tab or space, or "-". Fields are
// separated by single spaces and the line always has ten of them; see the
// package documentation for how hostile values are escaped.
func Squid(opts FormatOptions) Formatter { return squidFormat{opts} }

// Append implements [Formatter].
func (f squidFormat) Append(dst []byte, e *Entry) []byte {
	dst = appendEpochMillis(dst, e.logTime(), 9)
	dst = append(dst, ' ')
	dst = appendInt(dst, e.elapsed().Milliseconds(), 6, false)
	dst = append(dst, ' ')
	dst = appendSafeOr(dst, e.ClientIP, "-")
	dst = append(dst, ' ')
	dst = appendSafeOr(dst, e.ResultCode, "NONE_NONE")
	dst = append(dst, '/')
	dst = appendInt(dst, int64(e.Status), 3, true)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, e.Bytes, 10)
	dst = append(dst, ' ')
	dst = appendSafeOr(dst, e.Method, "-")
	dst = append(dst, ' ')
	dst = appendSafe(dst, f.opts.url(e))
	dst = append(dst, ' ')
	dst = appendUser(dst, e.logUser())
	dst = append(dst, ' ')
	dst = appendSafeOr(dst, e.Hierarchy, "HIER_NONE")
	dst = append(dst, '/')
	dst = appendSafeOr(dst, e.PeerIP, "-")
	dst = append(dst, ' ')
	dst = appendSafeOr(dst, mimeType(e.ContentType), "-")
	return append(dst, '\n')
}

// appendUser appends a user name as the native and Apache-style formats
// log it, or "-".
func appendUser(dst []byte, user string) []byte {
	if user == "" {
		return append(dst, '-')
	}
	return appendMimeBlob(dst, user, true)
}

// httpdFormat is Squid's common and combined formats (FormatHttpdCommon,
// FormatHttpdCombined).
type httpdFormat struct {
	opts     FormatOptions
	combined bool
}

// Common returns Squid's Apache-style common format, squid.conf's
//
//	logformat common %>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh
//
// as Squid's hard-coded formatter prints it: local time (in
// opts.Location) as [dd/Mon/yyyy:hh:mm:ss +zzzz], the protocol as HTTP/1.1
// or NONE/0.0 when no request was parsed, the status not zero-padded, and
// the result and hierarchy codes joined by ":" (no peer address, no
// TIMEOUT_ prefix). The ident field (%ui) is always "-".
func Common(opts FormatOptions) Formatter { return httpdFormat{opts: opts} }

// Combined returns Squid's Apache-style combined format, squid.conf's
//
//	logformat combined %>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh
//
// which is [Common] with the request's Referer and User-Agent, each "-"
// when absent, inserted before the result codes.
func Combined(opts FormatOptions) Formatter { return httpdFormat{opts: opts, combined: true} }

// Append implements [Formatter].
func (f httpdFormat) Append(dst []byte, e *Entry) []byte {
	dst = appendSafeOr(dst, e.ClientIP, "-")
	dst = append(dst, " - "...)
	dst = appendUser(dst, e.logUser())
	dst = append(dst, " ["...)
	dst = e.logTime().In(f.opts.location()).AppendFormat(dst, httpdTime)
	dst = append(dst, "] \""...)
	dst = appendSafeOr(dst, e.Method, "-")
	dst = append(dst, ' ')
	dst = appendSafe(dst, f.opts.url(e))
	dst = append(dst, ' ')
	if e.ProtoMajor == 0 && e.ProtoMinor == 0 {
		dst = append(dst, "NONE/0.0"...)
	} else {
		dst = append(dst, "HTTP/"...)
		dst = strconv.AppendInt(dst, int64(e.ProtoMajor), 10)
		dst = append(dst, '.')
		dst = strconv.AppendInt(dst, int64(e.ProtoMinor), 10)
	}
	dst = append(dst, "\" "...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, e.Bytes, 10)
	if f.combined {
		dst = append(dst, " \""...)
		dst = appendQuoted(dst, firstHeader(e.RequestHeader, "Referer", "-"))
		dst = append(dst, "\" \""...)
		dst = appendQuoted(dst, firstHeader(e.RequestHeader, "User-Agent", "-"))
		dst = append(dst, '"')
	}
	dst = append(dst, ' ')
	dst = appendSafeOr(dst, e.ResultCode, "NONE_NONE")
	dst = append(dst, ':')
	dst = appendSafeOr(dst, strings.TrimPrefix(e.Hierarchy, "TIMEOUT_"), "HIER_NONE")
	return append(dst, '\n')
}

// firstHeader returns the first value of the canonical header key in h, or
// def when there is none or it is empty.
func firstHeader(h map[string][]string, key, def string) string {
	if v := h[key]; len(v) > 0 && v[0] != "" {
		return v[0]
	}
	return def
}

// referrerFormat is Squid's FormatSquidReferer.
type referrerFormat struct{ opts FormatOptions }

// Referrer returns Squid's referrer format, squid.conf's
//
//	logformat referrer %ts.%03tu %>a %{Referer}>h %ru
//
// The Referer is logged "-" when absent and escaped like the URL.
func Referrer(opts FormatOptions) Formatter { return referrerFormat{opts} }

// Append implements [Formatter].
func (f referrerFormat) Append(dst []byte, e *Entry) []byte {
	dst = appendEpochMillis(dst, e.logTime(), 9)
	dst = append(dst, ' ')
	dst = appendSafeOr(dst, e.ClientIP, "-")
	dst = append(dst, ' ')
	dst = appendSafe(dst, firstHeader(e.RequestHeader, "Referer", "-"))
	dst = append(dst, ' ')
	dst = appendSafe(dst, f.opts.url(e))
	return append(dst, '\n')
}

// userAgentFormat is Squid's FormatSquidUseragent.
type userAgentFormat struct{ opts FormatOptions }

// UserAgent returns Squid's useragent format, squid.conf's
//
//	logformat useragent %>a [%tl] "%{User-Agent}>h"
//
// The User-Agent is logged "-" when absent.
func UserAgent(opts FormatOptions) Formatter { return userAgentFormat{opts} }

// Append implements [Formatter].
func (f userAgentFormat) Append(dst []byte, e *Entry) []byte {
	dst = appendSafeOr(dst, e.ClientIP, "-")
	dst = append(dst, " ["...)
	dst = e.logTime().In(f.opts.location()).AppendFormat(dst, httpdTime)
	dst = append(dst, "] \""...)
	dst = appendQuoted(dst, firstHeader(e.RequestHeader, "User-Agent", "-"))
	return append(dst, "\"\n"...)
}

// Lookup returns the built-in format that squid.conf's access_log calls
// name: "squid" ([Squid]), "common" ([Common]), "combined" ([Combined]),
// "referrer" ([Referrer]) or "useragent" ([UserAgent]). It reports false
// for any other name, including formats defined by a logformat directive,
// which [Compile] handles.
func Lookup(name string, opts FormatOptions) (Formatter, bool) {
	switch name {
	case "squid":
		return Squid(opts), true
	case "common":
		return Common(opts), true
	case "combined":
		return Combined(opts), true
	case "referrer":
		return Referrer(opts), true
	case "useragent":
		return UserAgent(opts), true
	}
	return nil, false
}

// Compile-time checks that the built-in formats are Formatters.
var (
	_ Formatter = squidFormat{}
	_ Formatter = httpdFormat{}
	_ Formatter = referrerFormat{}
	_ Formatter = userAgentFormat{}
)
