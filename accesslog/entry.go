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

	// User is the authenticated user name (%ul, and the first choice of
	// %un); empty logs as "-".
	User string

	// ExtUser is the user name returned by an external ACL helper (%ue);
	// TLSUser is the user name taken from the client's TLS certificate
	// (%us). %un logs the first non-empty of User, ExtUser and TLSUser
	// (Squid's order; ident, %ui, is not done and always logs "-").
	ExtUser, TLSUser string

	// Hierarchy is the hierarchy code (%Sh), e.g. "FIRSTUP_PARENT"; empty logs
	// as "HIER_NONE". It may carry Squid's "TIMEOUT_" prefix, which the
	// native format keeps and the common and combined formats drop.
	Hierarchy string

	// PeerIP is the IP address of the server or peer contacted (%<a); empty
	// logs as "-". PeerName is the cache_peer name (%<A).
	PeerIP, PeerName string

	// PeerPort is the port of the server or peer contacted (%<p); 0 logs
	// as "-". PeerStatus is the HTTP status received from it (%<Hs); 0
	// logs as "-".
	PeerPort, PeerStatus int

	// LocalIP and LocalPort are the local address and port of the client
	// connection, where cuttle accepted it (%>la and %>lp; also %la and
	// %lp, the listening address and port, which are the same for a
	// listener bound to one address). Empty or 0 logs as "-".
	LocalIP   string
	LocalPort int

	// RequestBytes is the size of the request received from the client,
	// headers included (%>st; %st is RequestBytes+Bytes);
	// RequestHeaderBytes is the size of its headers (%>sh) and
	// ReplyHeaderBytes the size of the reply headers sent to the client
	// (%<sh). Unknown sizes log as 0, as in Squid.
	RequestBytes, RequestHeaderBytes, ReplyHeaderBytes int64

	// PeerTime is the peer response time, from the last request byte sent
	// to the last reply byte received (%<pt); ServerTime is the total time
	// spent on the server side, from the first connect or write to the
	// last I/O with the last peer (%<tt); DNSTime is the time spent in DNS
	// lookups (%dt). Each logs in milliseconds, and 0 (nothing measured,
	// e.g. a cache hit) logs as "-".
	PeerTime, ServerTime, DNSTime time.Duration

	// ErrorCode is the name of the error page served, e.g.
	// "ERR_ACCESS_DENIED" (%err_code); ErrorDetail is its detail, e.g.
	// "WITH_SERVER" or "errno=111" (%err_detail). Empty logs as "-".
	ErrorCode, ErrorDetail string

	// ExtTag and ExtLog are the tag= and log= values returned by an
	// external ACL helper (%et and %ea). Empty logs as "-".
	ExtTag, ExtLog string

	// Notes are the transaction's annotations (squid.conf note
	// directive, helper replies) in the order they were added (%note,
	// %{name}note). A name may repeat.
	Notes []Note

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

// A Note is one annotation of a transaction (%note).
type Note struct {
	Name, Value string
}

// logUser is %un: the first available of the authenticated, external-ACL
// and TLS user names (Squid's order; ident is not done).
func (e *Entry) logUser() string {
	switch {
	case e.User != "":
		return e.User
	case e.ExtUser != "":
		return e.ExtUser
	}
	return e.TLSUser
}
