package squidconf

import (
	"errors"
	"strconv"
	"time"
)

// Pos is where a directive was read: the file name as given (or as found by
// include) and the 1-based line number Squid reports for it, which for a
// line continued with '\' is its last physical line.
type Pos struct {
	File string
	Line int
}

// String returns "file:line", the prefix of every diagnostic.
func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// Config is a parsed squid.conf: the accelerator subset as typed values, with
// Squid's defaults filled in for every directive that was not given.
type Config struct {
	// HTTPPorts holds the http_port lines in order.
	HTTPPorts []HTTPPort

	// HTTPSPorts holds the https_port lines in order (squid.conf
	// https_port); each has TLS set.
	HTTPSPorts []HTTPPort

	// CachePeers holds the cache_peer lines in order.
	CachePeers []CachePeer

	// ACLs holds every acl by name in definition order, built-ins (all,
	// manager, localhost, to_localhost, CONNECT) first. Repeated lines with
	// the same name and type are merged into one ACL, as Squid does. Squid
	// compares ACL names case-insensitively; rules refer to ACLs by the name
	// of their first definition.
	ACLs []*ACL

	// HTTPAccess holds the http_access rules in order.
	HTTPAccess []AccessRule

	// HTTPReplyAccess holds the http_reply_access rules in order.
	HTTPReplyAccess []AccessRule

	// CacheAccess holds the rules of the squid.conf cache directive (and
	// its old name no_cache) in order.
	CacheAccess []AccessRule

	// NeverDirect and AlwaysDirect hold the never_direct and always_direct
	// rules in order.
	NeverDirect, AlwaysDirect []AccessRule

	// MissAccess holds the miss_access rules in order.
	MissAccess []AccessRule

	// SendHit and StoreMiss hold the send_hit and store_miss rules in order.
	SendHit, StoreMiss []AccessRule

	// CacheMem is cache_mem in bytes (default 256 MB).
	CacheMem int64

	// MaximumObjectSize is maximum_object_size in bytes (default 4 MB).
	MaximumObjectSize int64

	// MaximumObjectSizeInMemory is maximum_object_size_in_memory in bytes
	// (default 512 KB).
	MaximumObjectSizeInMemory int64

	// MinimumObjectSize is minimum_object_size in bytes (default 0).
	MinimumObjectSize int64

	// The three object size limits above and CacheMem are -1 when set to
	// "none" or -1 (no limit).

	// RefreshPatterns holds the refresh_pattern lines in order (first match).
	RefreshPatterns []RefreshPattern

	// AccessLogs holds the access_log lines in order. If none is given it
	// holds Squid's default: stdio:/var/log/squid/access.log with format squid.
	AccessLogs []AccessLog

	// LogFormats holds the logformat definitions of the config; the first
	// definition of a name wins. Squid's built-in formats (squid, common,
	// combined, referrer, useragent, icap_squid) are not listed.
	LogFormats []LogFormat

	// CacheDirs holds the cache_dir lines in order.
	CacheDirs []CacheDir

	// VisibleHostname is visible_hostname (default: the machine's host name,
	// filled in by the caller when empty).
	VisibleHostname string

	// PidFilename is pid_filename (default /run/squid.pid); "none" disables it
	// and is stored as "".
	PidFilename string

	// CacheLog is cache_log (default /var/log/squid/cache.log).
	CacheLog string

	// ShutdownLifetime is shutdown_lifetime (default 30 seconds).
	ShutdownLifetime time.Duration

	// StripQueryTerms is strip_query_terms (default on).
	StripQueryTerms bool

	// CollapsedForwarding is collapsed_forwarding (default off).
	CollapsedForwarding bool

	// QuotedValues is configuration_includes_quoted_values (default off).
	// It changes how the lines after it are split into tokens.
	QuotedValues bool

	// Notices holds the findings that do not stop Squid, in the order they
	// were found: warnings (missing size units, obsolete directives,
	// deprecated spellings, settings cuttle does not apply although they
	// matter) and notices (directives that have no effect in an
	// accelerator). [Diagnostics] merges them with the errors.
	Notices []Diagnostic

	// Unapplied holds one warning per line of a directive that Config
	// holds but cuttle does not apply yet (status "parsed" in the support
	// table), so that nothing is dropped silently. It is kept apart from
	// Notices; [Diagnostics] merges both.
	Unapplied []Diagnostic

	// Typed directives added for issue 3.

	// NegativeTTL is negative_ttl (default 0: error replies without expiry
	// information are not cached).
	NegativeTTL time.Duration

	// MaxStale is max_stale (default 1 week), the limit on serving stale
	// content when revalidation fails; refresh_pattern max-stale= overrides
	// it.
	MaxStale time.Duration

	// RangeOffsetLimit holds the range_offset_limit lines in order (first
	// match). With no line, or none matching, the limit is 0: Range
	// requests are forwarded as they are.
	RangeOffsetLimit []SizeLimit

	// QuickAbortMin and QuickAbortMax are quick_abort_min and
	// quick_abort_max in bytes (default 16 KB each; -1: always finish the
	// fetch). QuickAbortPct is quick_abort_pct (default 95).
	QuickAbortMin, QuickAbortMax int64
	QuickAbortPct                int

	// CacheReplacementPolicy and MemoryReplacementPolicy are
	// cache_replacement_policy and memory_replacement_policy: "lru" (the
	// default), "heap GDSF", "heap LFUDA" or "heap LRU". The cache policy
	// applies to the cache_dir lines after it (CacheDir.ReplacementPolicy);
	// this is the last one given.
	CacheReplacementPolicy, MemoryReplacementPolicy string

	// CacheSwapLow and CacheSwapHigh are cache_swap_low and cache_swap_high,
	// percentages (default 90 and 95).
	CacheSwapLow, CacheSwapHigh int

	// DenyInfo holds the deny_info lines in order.
	DenyInfo []DenyInfo

	// ErrorDirectory is error_directory: the directory of the error page
	// templates, custom ones (deny_info) included. "" (the default) means
	// the built-in pages.
	ErrorDirectory string

	// LogfileRotate is logfile_rotate (default 0, Debian's; upstream 10).
	LogfileRotate int

	// DebugOptions is debug_options, the rest of the line as written
	// (default "ALL,1").
	DebugOptions string

	// UniqueHostname is unique_hostname ("" by default: VisibleHostname
	// is used).
	UniqueHostname string

	// ForwardedFor is forwarded_for: "on" (the default), "off",
	// "transparent", "truncate" or "delete". Squid takes any other word
	// as "transparent", and so does cuttle, with a warning.
	ForwardedFor string

	// URIWhitespace is uri_whitespace: what to do with whitespace inside
	// a request-target: "strip" (the default), "deny", "allow", "encode"
	// or "chop".
	URIWhitespace string

	// FollowXForwardedFor holds the follow_x_forwarded_for rules in order.
	FollowXForwardedFor []AccessRule

	// ACLUsesIndirectClient and LogUsesIndirectClient are
	// acl_uses_indirect_client and log_uses_indirect_client (both on by
	// default): whether src ACLs and the access log see the indirect
	// client address that follow_x_forwarded_for finds.
	ACLUsesIndirectClient, LogUsesIndirectClient bool

	// Via is via (default on); HTTPDSuppressVersionString is
	// httpd_suppress_version_string (default off).
	Via, HTTPDSuppressVersionString bool

	// ClientPersistentConnections and ServerPersistentConnections are
	// client_persistent_connections and server_persistent_connections
	// (default on): whether connections to clients and to origin servers
	// are kept open for further requests when HTTP allows.
	ClientPersistentConnections, ServerPersistentConnections bool

	// RequestHeaderAccess and ReplyHeaderAccess hold the
	// request_header_access and reply_header_access rules, one entry per
	// header name in order of first appearance.
	RequestHeaderAccess, ReplyHeaderAccess []KeyedAccess

	// RequestHeaderReplace and ReplyHeaderReplace hold the
	// request_header_replace and reply_header_replace values, one entry
	// per header name (the last value given wins).
	RequestHeaderReplace, ReplyHeaderReplace []HeaderReplace

	// RequestHeaderAdd and ReplyHeaderAdd hold the request_header_add and
	// reply_header_add lines in order.
	RequestHeaderAdd, ReplyHeaderAdd []HeaderAdd

	// The timeouts, with Squid's defaults: read_timeout 15 minutes,
	// request_timeout 5 minutes, connect_timeout 1 minute,
	// peer_connect_timeout 30 seconds, client_lifetime 1 day,
	// server_idle_pconn_timeout (old name pconn_timeout) 1 minute,
	// client_idle_pconn_timeout (old name persistent_request_timeout)
	// 2 minutes, write_timeout 15 minutes. All are whole seconds.
	ReadTimeout, RequestTimeout, ConnectTimeout, PeerConnectTimeout time.Duration
	ClientLifetime, ServerIdlePconnTimeout, ClientIdlePconnTimeout  time.Duration
	WriteTimeout                                                    time.Duration

	// RequestHeaderMaxSize and ReplyHeaderMaxSize are
	// request_header_max_size and reply_header_max_size in bytes (default
	// 64 KB each); ClientRequestBufferMaxSize is
	// client_request_buffer_max_size (default 512 KB), which must exceed
	// RequestHeaderMaxSize. -1 means no limit.
	RequestHeaderMaxSize, ReplyHeaderMaxSize, ClientRequestBufferMaxSize int64

	// RequestBodyMaxSize is request_body_max_size in bytes (default 0: no
	// limit).
	RequestBodyMaxSize int64

	// ReplyBodyMaxSize holds the reply_body_max_size lines in order (first
	// match; none: no limit).
	ReplyBodyMaxSize []SizeLimit

	// ClientIPMaxConnections is client_ip_max_connections (default -1: no
	// limit).
	ClientIPMaxConnections int

	// ForwardMaxTries is forward_max_tries: how many destinations (peers,
	// or the origin when going direct) a request may try (default 25, as in
	// Squid 6; Squid 5's default was 10).
	ForwardMaxTries int

	// MaxFiledescriptors is max_filedescriptors (default 0: the soft limit
	// set by ulimit).
	MaxFiledescriptors int

	// DelayPools holds the delay pools declared by delay_pools N, pool 1
	// first, with their delay_class, delay_parameters and delay_access
	// lines.
	DelayPools []DelayPool

	// DelayInitialBucketLevel is delay_initial_bucket_level, a percentage
	// (default 50).
	DelayInitialBucketLevel int

	// AuthSchemes holds the auth_param settings, one entry per scheme in
	// order of first appearance (the order Squid offers them in). cuttle
	// supports only the basic scheme.
	AuthSchemes []AuthScheme

	// AuthenticateTTL is authenticate_ttl (default 1 hour).
	AuthenticateTTL time.Duration

	// Workers is workers (default 1; 0: no daemon).
	Workers int

	// CoredumpDir is coredump_dir ("" by default and for none: the
	// directory Squid was started in).
	CoredumpDir string

	// CacheEffectiveUser and CacheEffectiveGroup are cache_effective_user
	// (default "proxy", Debian's) and cache_effective_group (default "":
	// the user's groups).
	CacheEffectiveUser, CacheEffectiveGroup string

	// HTTPUpgradeRequestProtocols holds the http_upgrade_request_protocols
	// rules, one entry per protocol ("WebSocket", "Bar/1", or OTHER) in
	// order of first appearance.
	HTTPUpgradeRequestProtocols []KeyedAccess
}

// Severity says how much a [Diagnostic] matters.
type Severity uint8

const (
	// SeverityNotice is harmless: a directive accepted that has no effect
	// in an accelerator, a value cuttle reads as Squid does.
	SeverityNotice Severity = iota

	// SeverityWarning is something Squid warns about or that changes
	// behaviour: a missing size unit, an obsolete directive or option, an
	// unknown cache_peer option, a missing acl file, a deprecated
	// spelling, a setting cuttle does not apply although it matters.
	SeverityWarning

	// SeverityError is fatal: Squid refuses to start. Errors are reported
	// as an [ErrorList]; [Diagnostics] turns them into Diagnostics.
	SeverityError
)

// String returns "notice", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityNotice:
		return "notice"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// Diagnostic is a finding about one configuration line.
type Diagnostic struct {
	// Severity is how much it matters (the zero value is a notice).
	Severity Severity

	// Pos is the line of the directive (the first physical line of a line
	// continued with '\').
	Pos Pos

	// Directive is the directive name as written, or "" for findings
	// about the file structure or a whole ACL.
	Directive string

	// Msg is the message, without position or directive.
	Msg string

	// IncludedFrom holds the include lines that led to Pos.File, innermost
	// first; it is empty for the main file.
	IncludedFrom []Pos
}

// String formats d as [Error.Error] does, "file:line: directive: message",
// followed by " (included from main.conf:40)" for lines of included
// files. The severity is not part of it; `cuttle -k parse` prints it after
// the position.
func (d Diagnostic) String() string {
	e := Error{Pos: d.Pos, Directive: d.Directive, Err: errors.New(d.Msg), IncludedFrom: d.IncludedFrom}
	return e.Error()
}

// HTTPPort is one http_port line (squid.conf http_port).
type HTTPPort struct {
	Pos Pos

	// Addr is the listening address in net.Listen form: "host:port" or
	// ":port" when no address was given.
	Addr string

	// Spec is the address as written in the config (the default port name).
	Spec string

	// Accel is the accel mode flag.
	Accel bool

	// DefaultSite is defaultsite=, the host used when the request has no
	// Host header (or always, with NoVhost).
	DefaultSite string

	// Vhost is true when the Host header names the site: implied by accel,
	// turned off by no-vhost.
	Vhost bool

	// Vport is the vport option: 0 if absent, -1 for a bare "vport" (use the
	// listening port), else the port given.
	Vport int

	// Name is name= (default: Spec).
	Name string

	// Protocol is protocol= in lower case ("http" unless given).
	Protocol string

	// IgnoreCC is the ignore-cc option; AllowDirect is allow-direct.
	IgnoreCC, AllowDirect bool

	// ActAsOrigin is the act-as-origin option.
	ActAsOrigin bool

	// TLS is true for https_port lines.
	TLS bool

	// Certs holds the tls-cert= (or cert=) files in order, each with the
	// tls-key= (or key=) that followed it. Squid's GnuTLS build selects
	// among several by SNI.
	Certs []TLSCert

	// Options holds every option as written, in order, including the ones
	// above.
	Options []string
}

// TLSCert is one certificate of an https_port line (squid.conf https_port
// tls-cert= and tls-key=).
type TLSCert struct {
	// CertFile is tls-cert=, a PEM file.
	CertFile string

	// KeyFile is the tls-key= that followed it; CertFile when there was
	// none (the PEM file then holds both).
	KeyFile string
}

// CachePeer is one cache_peer line (squid.conf cache_peer).
type CachePeer struct {
	Pos Pos

	// Host, Type ("parent", "sibling", "multicast"), HTTPPort and ICPPort are
	// the four positional fields.
	Host     string
	Type     string
	HTTPPort int
	ICPPort  int

	// Name is name= (default: Host).
	Name string

	// OriginServer and NoQuery are the originserver and no-query options.
	OriginServer, NoQuery bool

	// Login is login= as written ("PASSTHRU", "PASS", "user:pass"), or "".
	Login string

	// ForcedDomain is forceddomain=, the Host sent to the peer, or "".
	ForcedDomain string

	// TLS is true with the tls or ssl option.
	TLS bool

	// RoundRobin, WeightedRoundRobin, Default and ProxyOnly are the
	// round-robin, weighted-round-robin, default and proxy-only options.
	RoundRobin, WeightedRoundRobin, Default, ProxyOnly bool

	// CARP, SourceHash and UserHash are the carp, sourcehash and userhash
	// selection options.
	CARP, SourceHash, UserHash bool

	// TLSOptions holds the TLS settings of the peer connection: the tls-X=
	// options and their OpenSSL-era names (sslcafile=, sslflags= ...).
	TLSOptions PeerTLS

	// Weight is weight= (default 1).
	Weight int

	// MaxConn is max-conn= (0: no limit).
	MaxConn int

	// ConnectTimeout is connect-timeout= (0: peer_connect_timeout).
	ConnectTimeout time.Duration

	// ConnectFailLimit is connect-fail-limit= (default 10).
	ConnectFailLimit int

	// Options holds every option as written, in order.
	Options []string

	// Access holds the cache_peer_access rules for this peer in order
	// (squid.conf cache_peer_access). Empty means every request may use it.
	Access []AccessRule
}

// PeerTLS holds the TLS options of a cache_peer line (squid.conf
// cache_peer tls-cafile=, tls-flags=, tls-min-version=, tls-domain= and
// the older sslcafile=, sslflags=, sslversion=, ssldomain=). Options that
// are not listed here stay in CachePeer.Options only.
type PeerTLS struct {
	// CAFiles are the tls-cafile= (sslcafile=) files in order.
	CAFiles []string

	// Flags are the tls-flags= (sslflags=) flags, such as
	// DONT_VERIFY_PEER and DONT_VERIFY_DOMAIN.
	Flags []string

	// MinVersion is tls-min-version= ("1.0" to "1.3"), or "".
	MinVersion string

	// Version is sslversion= (tls-version=): 1 automatic, 3 SSLv3, 4
	// TLSv1.0, 5 TLSv1.1, 6 TLSv1.2; 0 when not given.
	Version int

	// Domain is tls-domain= (ssldomain=, or cuttle's tls-servername=):
	// the name the certificate must carry, and the TLS server name sent.
	// "" means the peer's host name.
	Domain string

	// NoDefaultCA is tls-default-ca=off: only CAFiles are trusted, not
	// the system's CAs.
	NoDefaultCA bool
}

// ACL is one named access list (squid.conf acl).
type ACL struct {
	Pos  Pos
	Name string
	Type string

	// Flags holds the flags given before the values (-i, +i, -n, -m, --),
	// each once. For regex types only those of the first line are here:
	// the -i and +i of later lines go to Values.
	Flags []string

	// Values holds the values in order, with "file" lists expanded. For
	// regex types the -i and +i switches between patterns (and those
	// starting a later line of the same ACL) stay in Values, in order, as
	// Squid reads them; each line starts case-sensitive.
	Values []string

	// BuiltIn is true for all, manager, localhost, to_localhost and
	// CONNECT, which Squid predefines.
	BuiltIn bool
}

// AccessRule is one line of an allow/deny list such as http_access.
type AccessRule struct {
	Pos   Pos
	Allow bool
	ACLs  []ACLRef
}

// ACLRef is a reference to an ACL in a rule, possibly negated with '!'.
// Name is the name of the ACL's first definition, whatever its case in
// the rule.
type ACLRef struct {
	Name string
	Not  bool
}

// RefreshPattern is one refresh_pattern line (squid.conf refresh_pattern).
type RefreshPattern struct {
	Pos        Pos
	Regex      string
	IgnoreCase bool

	// Min and Max are the min and max fields (minutes in the file).
	Min, Max time.Duration

	// Percent is the LM-factor percentage (20 for "20%").
	Percent int

	// LMFactor is the percent field as a fraction (0.2 for "20%"); Squid
	// allows fractional percentages, which Percent truncates.
	LMFactor float64

	// OverrideExpire, OverrideLastmod, ReloadIntoIMS, IgnoreReload,
	// IgnoreNoStore, IgnorePrivate, RefreshIMS and StoreStale are the
	// options of the same names.
	OverrideExpire, OverrideLastmod, ReloadIntoIMS, IgnoreReload bool
	IgnoreNoStore, IgnorePrivate, RefreshIMS, StoreStale         bool

	// MaxStale is max-stale=N (N in seconds), or -1 when not given (the
	// max_stale directive applies).
	MaxStale time.Duration

	// Options holds the options as written (override-expire, max-stale=N, ...).
	Options []string
}

// AccessLog is one access_log line (squid.conf access_log).
type AccessLog struct {
	Pos Pos

	// Module is "stdio", "daemon", "syslog", "udp", "tcp" or "none".
	Module string

	// Path is the module's argument: a file for stdio and daemon,
	// facility.priority for syslog.
	Path string

	// Format is the logformat name (default "squid"; "" for none).
	Format string

	// ACLs are the acl names that select which transactions are logged.
	ACLs []ACLRef

	// Options holds the buffer-size=, on-error= and rotate= options as
	// written.
	Options []string
}

// LogFormat is one logformat definition (squid.conf logformat).
type LogFormat struct {
	Pos    Pos
	Name   string
	Format string
}

// CacheDir is one cache_dir line (squid.conf cache_dir).
type CacheDir struct {
	Pos Pos

	// Type is ufs, aufs, diskd or rock.
	Type string
	Path string

	// SizeMB is the size in megabytes; L1 and L2 the fan-out (0 for rock).
	SizeMB int64
	L1, L2 int

	// MinSize is min-size= in bytes (default 0).
	MinSize int64

	// MaxSize is max-size= in bytes, or -1 when not given
	// (maximum_object_size applies).
	MaxSize int64

	// NoStore is the no-store option (read-only cache_dir).
	NoStore bool

	// Options holds the options as written, in order, including the ones
	// above.
	Options []string

	// ReplacementPolicy is the cache_replacement_policy in force at this
	// line ("lru" by default; see Config.CacheReplacementPolicy). Squid's
	// rock store ignores it.
	ReplacementPolicy string
}
