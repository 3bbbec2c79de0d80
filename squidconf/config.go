package squidconf

import (
	"strconv"
	"time"
)

// Pos is where a directive was read: the file name as given (or as found by
// include) and the 1-based line number of the directive's first physical
// line. (Squid's own messages give the last physical line of a line
// continued with '\'.)
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

	// Notices are diagnostics that do not stop Squid: directives accepted but
	// not applied by cuttle, deprecated spellings, missing size units.
	Notices []Diagnostic
}

// Diagnostic is a message about one configuration line.
type Diagnostic struct {
	Pos Pos
	Msg string
}

// String formats d as "file:line: message".
func (d Diagnostic) String() string { return d.Pos.String() + ": " + d.Msg }

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
}
