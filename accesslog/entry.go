package accesslog

import (
	"net/http"
	"time"
)

// Entry is one transaction as the access log sees it. The zero value of a
// field means "not known" and is logged as Squid logs a missing value
// (usually "-").
type Entry struct {
	// Start is when the request headers were received; End is when the last
	// byte of the reply was written (Squid's %ts/%tu are the end time, %tr is
	// End minus Start in milliseconds).
	Start, End time.Time

	// ClientIP is the client's address without port (%>a); ClientPort is %>p.
	ClientIP   string
	ClientPort int

	// ResultCode is Squid's result code (%Ss), e.g. "TCP_MEM_HIT"; empty logs
	// as "NONE_NONE".
	ResultCode string

	// Status is the HTTP status sent to the client (%>Hs); 0 if none.
	Status int

	// Bytes is the number of bytes sent to the client, headers included (%<st).
	Bytes int64

	// Method is the request method (%rm); empty logs as "-".
	Method string

	// URL is the absolute URL as rebuilt by the accelerator (%ru), before
	// strip_query_terms is applied (the formatter applies it).
	URL string

	// ProtoMajor and ProtoMinor are the client's HTTP version (%rv).
	ProtoMajor, ProtoMinor int

	// User is the authenticated user name (%un); empty logs as "-".
	User string

	// Hierarchy is the hierarchy code (%Sh), e.g. "FIRSTUP_PARENT"; empty logs
	// as "HIER_NONE". It may carry Squid's "TIMEOUT_" prefix, which the
	// native format keeps and the common and combined formats drop.
	Hierarchy string

	// PeerIP is the IP address of the server or peer contacted (%<a); empty
	// logs as "-". PeerName is the cache_peer name (%<A).
	PeerIP, PeerName string

	// ContentType is the reply's Content-Type as sent (%mt); the native
	// format cuts it at the first ';', tab or space.
	ContentType string

	// RequestHeader and ResponseHeader are the client's request headers and
	// the reply headers (%{Name}>h, %{Name}<h); either may be nil. Keys must
	// be canonical (as net/http stores them). net/http moves the request's
	// Host header to Request.Host: copy it back into RequestHeader for
	// %{Host}>h to log it.
	RequestHeader, ResponseHeader http.Header
}
