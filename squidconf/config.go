package squidconf

import (
	"strconv"
	"time"
)

// Pos is where a directive was read: the file name as given (or as found by
// include) and the 1-based line number of the directive's first physical
// line, as Squid counts it.
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

	// CachePeers holds the cache_peer lines in order.
	CachePeers []CachePeer

	// ACLs holds every acl by name in definition order, built-ins (all,
	// localhost, to_localhost, manager) first. Repeated lines with the same
	// name and type are merged into one ACL, as Squid does.
	ACLs []*ACL

	// HTTPAccess holds the http_access rules in order.
	HTTPAccess []AccessRule

	// CacheMem is cache_mem in bytes (default 256 MB).
	CacheMem int64

	// MaximumObjectSize is maximum_object_size in bytes (default 4 MB).
	MaximumObjectSize int64

	// MaximumObjectSizeInMemory is maximum_object_size_in_memory in bytes
	// (default 512 KB).
	MaximumObjectSizeInMemory int64

	// RefreshPatterns holds the refresh_pattern lines in order (first match).
	RefreshPatterns []RefreshPattern

	// AccessLogs holds the access_log lines in order. If none is given it
	// holds Squid's default: stdio:/var/log/squid/access.log with format squid.
	AccessLogs []AccessLog

	// LogFormats holds the logformat definitions; the first definition of a
	// name wins.
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

	// Options holds every option as written, in order, including the ones
	// above.
	Options []string
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

	// Options holds every option as written, in order.
	Options []string
}

// ACL is one named access list (squid.conf acl).
type ACL struct {
	Pos  Pos
	Name string
	Type string

	// Flags holds the flags given before the values (-i, +i, -n, -m, --).
	Flags []string

	// Values holds the values in order, with "file" lists expanded.
	Values []string

	// BuiltIn is true for all, localhost, to_localhost and manager.
	BuiltIn bool
}

// AccessRule is one line of an allow/deny list such as http_access.
type AccessRule struct {
	Pos   Pos
	Allow bool
	ACLs  []ACLRef
}

// ACLRef is a reference to an ACL in a rule, possibly negated with '!'.
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

	// Format is the logformat name (default "squid").
	Format string

	// ACLs are the acl names that select which transactions are logged.
	ACLs []ACLRef
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

	// Options holds the remaining options as written.
	Options []string
}
