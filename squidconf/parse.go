package squidconf

import (
	"fmt"
	"strings"
	"time"
)

// Squid's defaults for the directives Config holds (squid.conf.documented,
// Debian's squid 5.7 for the paths).
const (
	defaultCacheMem                  = 256 << 20
	defaultMaximumObjectSize         = 4 << 20
	defaultMaximumObjectSizeInMemory = 512 << 10
	defaultPidFilename               = "/run/squid.pid"
	defaultCacheLog                  = "/var/log/squid/cache.log"
	defaultAccessLog                 = "/var/log/squid/access.log"
	defaultShutdownLifetime          = 30 * time.Second
)

// ParseFile reads and parses the squid.conf file name and the files it
// includes. Relative names, in the file and in its include lines, are
// relative to the current directory, as in Squid.
//
// The error, if any, is an [ErrorList]. The Config is returned even then
// (with what could be parsed) so that callers can print its Notices, but
// it must not be used to serve. It is nil only if name cannot be read.
func ParseFile(name string, opts Options) (*Config, error) {
	src, err := opts.readFile(name)
	if err != nil {
		return nil, ErrorList{{Pos: Pos{File: name},
			Err: fmt.Errorf("unable to open configuration file: %v", unwrapPathError(err))}}
	}
	return Parse(name, src, opts)
}

// Parse parses src as the squid.conf file name, as [ParseFile] does. The
// files it includes are still read from opts.FS or the file system.
func Parse(name string, src []byte, opts Options) (*Config, error) {
	p := newParser(opts)
	main := fileFrame{name: name, key: p.fileKey(name)}
	p.open = append(p.open, main.key)
	p.readConfig(main, src)
	p.finish()
	return p.cfg, p.errs.Err()
}

// parser holds the state of one parse.
type parser struct {
	opts Options
	cfg  *Config
	errs ErrorList

	open       []string                // files being read, for include loops
	acls       map[string]*ACL         // by lower-case name
	peers      map[string]int          // index in cfg.CachePeers by lower-case name
	domains    map[string]*domainIndex // dstdomain entries by lower-case ACL name
	logFormats map[string]bool         // user-defined logformat names
	chains     map[string][]Pos        // include lines by file name, for report
	accessLogs bool                    // an access_log line was seen
	accel      accelState              // state of the directives of accel.go
}

func newParser(opts Options) *parser {
	p := &parser{
		opts: opts,
		cfg: &Config{
			CacheMem:                  defaultCacheMem,
			MaximumObjectSize:         defaultMaximumObjectSize,
			MaximumObjectSizeInMemory: defaultMaximumObjectSizeInMemory,
			PidFilename:               defaultPidFilename,
			CacheLog:                  defaultCacheLog,
			ShutdownLifetime:          defaultShutdownLifetime,
			StripQueryTerms:           true,
		},
		acls:       make(map[string]*ACL),
		peers:      make(map[string]int),
		domains:    make(map[string]*domainIndex),
		logFormats: make(map[string]bool),
		chains:     make(map[string][]Pos),
	}
	p.addBuiltinACLs()
	p.accelDefaults()
	return p
}

// finish fills in the defaults that depend on the whole file.
func (p *parser) finish() {
	p.checkACLsEmpty()
	p.finishAccel()
	if !p.accessLogs {
		p.cfg.AccessLogs = []AccessLog{{Module: "stdio", Path: defaultAccessLog, Format: "squid"}}
	}
}

// stopped reports whether the error limit was reached.
func (p *parser) stopped() bool { return len(p.errs) >= maxErrors }

// fail records an error at pos in file f.
func (p *parser) fail(f fileFrame, pos Pos, directive string, err error) {
	if p.stopped() {
		return
	}
	p.errs = append(p.errs, &Error{Pos: pos, Directive: directive, Err: err, IncludedFrom: f.chain})
}

// report records a warning or notice at pos. The include lines that led
// to pos.File are those of the file's first reading.
func (p *parser) report(sev Severity, pos Pos, directive, msg string) {
	p.cfg.Notices = append(p.cfg.Notices, Diagnostic{Severity: sev, Pos: pos,
		Directive: directive, Msg: msg, IncludedFrom: p.chains[pos.File]})
}

// reportDirective records a warning or notice about d, with the include
// lines that led to it.
func (p *parser) reportDirective(sev Severity, d *directive, msg string) {
	p.cfg.Notices = append(p.cfg.Notices, Diagnostic{Severity: sev, Pos: d.pos,
		Directive: d.name, Msg: msg, IncludedFrom: d.file.chain})
}

// warnf records a warning at pos: something Squid warns about or that
// changes behaviour.
func (p *parser) warnf(pos Pos, format string, args ...any) {
	p.report(SeverityWarning, pos, "", fmt.Sprintf(format, args...))
}

// directive is one directive line being parsed.
type directive struct {
	name string // as written
	pos  Pos
	line string // the whole logical line, after macros
	sc   *scanner
	file fileFrame
}

// errorf records an error for d.
func (p *parser) errorf(d *directive, format string, args ...any) {
	p.fail(d.file, d.pos, d.name, fmt.Errorf(format, args...))
}

// error records err for d.
func (p *parser) error(d *directive, err error) {
	p.fail(d.file, d.pos, d.name, err)
}

// notice records a notice about d (see [parser.notef]).
func (p *parser) notice(d *directive, format string, args ...any) {
	p.reportDirective(SeverityNotice, d, fmt.Sprintf(format, args...))
}

// warn records a warning about d (see [parser.warnf]).
func (p *parser) warn(d *directive, format string, args ...any) {
	p.reportDirective(SeverityWarning, d, fmt.Sprintf(format, args...))
}

// directive parses one logical line that is neither a statement nor an
// include.
func (p *parser) directive(f fileFrame, pos Pos, line string) {
	name, args := line, ""
	if i := strings.IndexAny(line, spaceChars); i >= 0 {
		name, args = line[:i], line[i+1:]
	}
	d := &directive{name: name, pos: pos, line: line, sc: newScanner(args, p.cfg.QuotedValues), file: f}
	canonical, info, ok := lookupDirective(name)
	if !ok {
		p.fail(f, pos, "", unknownDirective(name))
		return
	}
	nerr := len(p.errs)
	if !p.typed(canonical, d) {
		// knownDirectives gives every name typed handles a typed status
		// (TestDispatchClassified).
		p.untyped(canonical, info, d)
	} else if info.status == statusParsed && len(p.errs) == nerr {
		// Nothing is dropped silently: a line Config holds but cuttle
		// does not apply yet is reported, apart from Notices.
		p.cfg.Unapplied = append(p.cfg.Unapplied, Diagnostic{
			Severity:     SeverityWarning,
			Pos:          d.pos,
			Directive:    canonical,
			Msg:          aliasNote(canonical, d) + "read but not applied by cuttle yet: " + info.note,
			IncludedFrom: d.file.chain,
		})
	}
	if d.sc.err != nil && len(p.errs) == nerr {
		p.error(d, d.sc.err)
	}
}

// aliasNote is "'old' is the old name of 'name'; " for a directive written
// with an old name, and "" otherwise.
func aliasNote(name string, d *directive) string {
	if d.name == name {
		return ""
	}
	return "'" + d.name + "' is the old name of '" + name + "'; "
}

// typed parses the directives that Config holds. It reports whether name
// is one of them.
func (p *parser) typed(name string, d *directive) bool {
	c := p.cfg
	switch name {
	case "http_port":
		p.parseHTTPPort(d, false)
	case "https_port":
		p.parseHTTPPort(d, true)
	case "cache_peer":
		p.parseCachePeer(d)
	case "cache_peer_access":
		p.parseCachePeerAccess(d)
	case "acl":
		p.parseACL(d)
	case "http_access":
		p.parseAccessList(d, &c.HTTPAccess)
	case "http_reply_access":
		p.parseAccessList(d, &c.HTTPReplyAccess)
	case "cache":
		p.parseAccessList(d, &c.CacheAccess)
	case "never_direct":
		p.parseAccessList(d, &c.NeverDirect)
	case "always_direct":
		p.parseAccessList(d, &c.AlwaysDirect)
	case "miss_access":
		p.parseAccessList(d, &c.MissAccess)
	case "send_hit":
		p.parseAccessList(d, &c.SendHit)
	case "store_miss":
		p.parseAccessList(d, &c.StoreMiss)
	case "cache_mem":
		p.parseSizeDirective(d, unitBytes, &c.CacheMem)
	case "maximum_object_size":
		p.parseSizeDirective(d, unitBytes, &c.MaximumObjectSize)
	case "maximum_object_size_in_memory":
		p.parseSizeDirective(d, unitBytes, &c.MaximumObjectSizeInMemory)
	case "minimum_object_size":
		p.parseSizeDirective(d, unitBytes, &c.MinimumObjectSize)
	case "refresh_pattern":
		p.parseRefreshPattern(d)
	case "access_log":
		p.parseAccessLog(d)
	case "logformat":
		p.parseLogFormat(d)
	case "cache_dir":
		p.parseCacheDir(d)
	case "visible_hostname":
		p.parseString(d, &c.VisibleHostname)
	case "cache_log":
		p.parseString(d, &c.CacheLog)
	case "pid_filename":
		if p.parseString(d, &c.PidFilename) && c.PidFilename == "none" {
			c.PidFilename = ""
		}
	case "shutdown_lifetime":
		p.parseSecondsDirective(d, &c.ShutdownLifetime)
	case "strip_query_terms":
		p.parseOnOffDirective(d, &c.StripQueryTerms)
	case "collapsed_forwarding":
		p.parseOnOffDirective(d, &c.CollapsedForwarding)
	case "configuration_includes_quoted_values":
		p.parseOnOffDirective(d, &c.QuotedValues)

	// Typed directives added for issue 3 (accel.go, delay.go, auth.go).
	case "negative_ttl":
		p.parseSecondsDirective(d, &c.NegativeTTL)
	case "max_stale":
		p.parseSecondsDirective(d, &c.MaxStale)
	case "range_offset_limit":
		p.parseSizeLimit(d, &c.RangeOffsetLimit)
	case "quick_abort_min":
		p.parseSizeDirective(d, unitKB, &c.QuickAbortMin)
	case "quick_abort_max":
		p.parseSizeDirective(d, unitKB, &c.QuickAbortMax)
	case "quick_abort_pct":
		p.parseIntegerDirective(d, &c.QuickAbortPct)
	case "cache_replacement_policy":
		p.parseReplacementPolicy(d, &c.CacheReplacementPolicy)
	case "memory_replacement_policy":
		p.parseReplacementPolicy(d, &c.MemoryReplacementPolicy)
	case "cache_swap_low":
		p.parseSwapMark(d, &c.CacheSwapLow)
	case "cache_swap_high":
		p.parseSwapMark(d, &c.CacheSwapHigh)
	case "deny_info":
		p.parseDenyInfo(d)
	case "error_directory":
		p.parseString(d, &c.ErrorDirectory)
	case "logfile_rotate":
		p.parseIntegerDirective(d, &c.LogfileRotate)
	case "debug_options":
		p.parseEOL(d, &c.DebugOptions)
	case "unique_hostname":
		p.parseString(d, &c.UniqueHostname)
	case "forwarded_for":
		p.parseForwardedFor(d)
	case "uri_whitespace":
		p.parseURIWhitespace(d)
	case "follow_x_forwarded_for":
		p.parseAccessList(d, &c.FollowXForwardedFor)
	case "acl_uses_indirect_client":
		p.parseOnOffDirective(d, &c.ACLUsesIndirectClient)
	case "log_uses_indirect_client":
		p.parseOnOffDirective(d, &c.LogUsesIndirectClient)
	case "client_persistent_connections":
		p.parseOnOffDirective(d, &c.ClientPersistentConnections)
	case "server_persistent_connections":
		p.parseOnOffDirective(d, &c.ServerPersistentConnections)
	case "via":
		p.parseOnOffDirective(d, &c.Via)
		p.accel.via = d
	case "httpd_suppress_version_string":
		p.parseOnOffDirective(d, &c.HTTPDSuppressVersionString)
	case "request_header_access":
		p.parseHeaderAccess(d, &c.RequestHeaderAccess)
	case "reply_header_access":
		p.parseHeaderAccess(d, &c.ReplyHeaderAccess)
	case "request_header_replace":
		p.parseHeaderReplace(d, &c.RequestHeaderReplace)
	case "reply_header_replace":
		p.parseHeaderReplace(d, &c.ReplyHeaderReplace)
	case "request_header_add":
		p.parseHeaderAdd(d, &c.RequestHeaderAdd)
	case "reply_header_add":
		p.parseHeaderAdd(d, &c.ReplyHeaderAdd)
	case "read_timeout":
		p.parseSecondsDirective(d, &c.ReadTimeout)
	case "request_timeout":
		p.parseSecondsDirective(d, &c.RequestTimeout)
	case "connect_timeout":
		p.parseSecondsDirective(d, &c.ConnectTimeout)
	case "peer_connect_timeout":
		p.parseSecondsDirective(d, &c.PeerConnectTimeout)
	case "client_lifetime":
		p.parseSecondsDirective(d, &c.ClientLifetime)
	case "server_idle_pconn_timeout":
		p.parseSecondsDirective(d, &c.ServerIdlePconnTimeout)
	case "client_idle_pconn_timeout":
		p.parseSecondsDirective(d, &c.ClientIdlePconnTimeout)
	case "write_timeout":
		p.parseSecondsDirective(d, &c.WriteTimeout)
	case "request_header_max_size":
		p.parseSizeDirective(d, unitBytes, &c.RequestHeaderMaxSize)
		p.accel.buffer, p.accel.requestHeaderMax = d, d
	case "reply_header_max_size":
		p.parseSizeDirective(d, unitBytes, &c.ReplyHeaderMaxSize)
		p.accel.replyHeaderMax = d
	case "client_request_buffer_max_size":
		p.parseSizeDirective(d, unitBytes, &c.ClientRequestBufferMaxSize)
		p.accel.buffer = d
	case "request_body_max_size":
		p.parseSizeDirective(d, unitBytes, &c.RequestBodyMaxSize)
	case "reply_body_max_size":
		p.parseSizeLimit(d, &c.ReplyBodyMaxSize)
	case "client_ip_max_connections":
		p.parseIntegerDirective(d, &c.ClientIPMaxConnections)
	case "max_filedescriptors":
		p.parseIntegerDirective(d, &c.MaxFiledescriptors)
	case "forward_max_tries":
		p.parseIntegerDirective(d, &c.ForwardMaxTries)
	case "delay_pools":
		p.parseDelayPools(d)
	case "delay_class":
		p.parseDelayClass(d)
	case "delay_parameters":
		p.parseDelayParameters(d)
	case "delay_access":
		p.parseDelayAccess(d)
	case "delay_initial_bucket_level":
		p.parseDelayInitialBucketLevel(d)
	case "auth_param":
		p.parseAuthParam(d)
	case "authenticate_ttl":
		p.parseSecondsDirective(d, &c.AuthenticateTTL)
	case "workers":
		p.parseWorkers(d)
	case "coredump_dir":
		if p.parseString(d, &c.CoredumpDir) && c.CoredumpDir == "none" {
			c.CoredumpDir = ""
		}
	case "cache_effective_user":
		p.parseString(d, &c.CacheEffectiveUser)
	case "cache_effective_group":
		p.parseString(d, &c.CacheEffectiveGroup)
	case "http_upgrade_request_protocols":
		p.parseUpgradeProtocols(d)
	default:
		return false
	}
	return true
}

// parseString parses a directive whose value is one word (Squid's string
// type); later lines replace earlier ones.
func (p *parser) parseString(d *directive, dst *string) bool {
	tok, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return false
	}
	*dst = tok
	return true
}

// parseOnOffDirective parses an on|off directive.
func (p *parser) parseOnOffDirective(d *directive, dst *bool) {
	if v, ok := p.parseOnOff(d); ok {
		*dst = v
	}
}

// parseOnOff reads the on|off value of d.
func (p *parser) parseOnOff(d *directive) (bool, bool) {
	tok, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return false, false
	}
	v, deprecated, err := parseOnOff(tok)
	if err != nil {
		p.error(d, err)
		return false, false
	}
	if deprecated {
		use := "off"
		if v {
			use = "on"
		}
		p.warn(d, "'%s' is deprecated; use '%s'", tok, use)
	}
	return v, true
}

// parseSizeDirective parses a size directive into dst (bytes, -1 for no
// limit), with Squid's notice when the unit is missing.
func (p *parser) parseSizeDirective(d *directive, unit string, dst *int64) {
	if v, ok := p.parseSize(d, unit); ok {
		*dst = v
	}
}

// parseSize reads a size value of d.
func (p *parser) parseSize(d *directive, unit string) (int64, bool) {
	res, err := parseSize(d.sc, unit)
	if err != nil {
		p.error(d, err)
		return 0, false
	}
	if res.NoUnit {
		p.warnf(d.pos, "No units on '%s', assuming %s %s", d.line, formatNumber(res.Number), unit)
	}
	return res.Bytes, true
}

// parseTime reads a time value of d.
func (p *parser) parseTime(d *directive, small bool) (time.Duration, bool) {
	v, err := parseDuration(d.sc, small)
	if err != nil {
		p.error(d, err)
		return 0, false
	}
	return v, true
}
