package squidconf

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Squid's defaults for the directives of this file, from
// squid.conf.documented (Debian's squid 5.7 where Debian differs).
const (
	defaultMaxStale                = 7 * 24 * time.Hour
	defaultQuickAbort              = 16 << 10
	defaultQuickAbortPct           = 95
	defaultReplacementPolicy       = "lru"
	defaultCacheSwapLow            = 90
	defaultCacheSwapHigh           = 95
	defaultDebugOptions            = "ALL,1"
	defaultForwardedFor            = "on"
	defaultURIWhitespace           = "strip"
	defaultReadTimeout             = 15 * time.Minute
	defaultRequestTimeout          = 5 * time.Minute
	defaultConnectTimeout          = time.Minute
	defaultPeerConnectTimeout      = 30 * time.Second
	defaultClientLifetime          = 24 * time.Hour
	defaultServerIdlePconnTimeout  = time.Minute
	defaultClientIdlePconnTimeout  = 2 * time.Minute
	defaultWriteTimeout            = 15 * time.Minute
	defaultHeaderMaxSize           = 64 << 10
	defaultRequestBufferMaxSize    = 512 << 10
	defaultDelayInitialBucketLevel = 50
	defaultAuthenticateTTL         = time.Hour
	defaultForwardMaxTries         = 25
	defaultCacheEffectiveUser      = "proxy"

	// safeHeaderMaxSize is the largest request_header_max_size and
	// reply_header_max_size Squid 5.7 takes without a warning.
	safeHeaderMaxSize = 64 << 10
)

// accelState is the parser state of the directives of accel.go, delay.go
// and auth.go: the lines that the checks of [parser.finishAccel] report on.
type accelState struct {
	via    *directive // the last via line
	swap   *directive // the last cache_swap_low or cache_swap_high line
	buffer *directive // the last request_header_max_size or client_request_buffer_max_size line

	requestHeaderMax, replyHeaderMax *directive // the last request_header_max_size and reply_header_max_size lines

	// badCachePolicy is the cache_replacement_policy line in force when
	// it names a policy Squid does not have, else nil.
	badCachePolicy *directive

	denyInfo []*directive // the deny_info lines of Config.DenyInfo
}

// SizeLimit is one line of a size limit list such as range_offset_limit
// or reply_body_max_size: the limit applies to the transactions that
// match every ACL of the line (all of them when there is none).
type SizeLimit struct {
	Pos Pos

	// Size is the limit in bytes; -1 for none (no limit).
	Size int64

	ACLs []ACLRef
}

// DenyInfo is one deny_info line: what Squid sends instead of its error
// page when a request is denied by a rule whose last ACL is one of ACLs.
type DenyInfo struct {
	Pos Pos

	// Page is the first argument as written: an error page template
	// (ERR_ACCESS_DENIED or a custom file name), a URL to redirect to, or
	// TCP_RESET, optionally after a status code and a colon
	// ("404:ERR_CUSTOM", "303:http://example.com/").
	Page string

	// Status is the status code prefix of Page, or 0 (403 for templates,
	// 302 or 307 for URLs).
	Status int

	// Template is the error page template name and URL the redirect URL;
	// one of them is set unless Reset is.
	Template, URL string

	// Reset is true for TCP_RESET: the connection is reset.
	Reset bool

	// ACLs are the ACL names, as the ACLs are named in rules when they
	// are defined.
	ACLs []string
}

// KeyedAccess is an allow/deny list that applies to one key: a header
// name for request_header_access and reply_header_access, a protocol for
// http_upgrade_request_protocols.
type KeyedAccess struct {
	// Pos is the first line for Key.
	Pos Pos

	// Key is the header name or protocol as first written. The header
	// names All (every header) and Other (headers Squid does not know)
	// and the protocol OTHER (protocols without rules of their own) are
	// special; they are case-sensitive, header names are not.
	Key string

	Rules []AccessRule
}

// HeaderReplace is a request_header_replace or reply_header_replace
// value: the value sent instead of the header when the
// request_header_access (reply_header_access) rules deny it.
type HeaderReplace struct {
	Pos    Pos
	Header string
	Value  string
}

// HeaderAdd is one request_header_add or reply_header_add line.
type HeaderAdd struct {
	Pos    Pos
	Header string

	// Value is the field value, unquoted. When Quoted is set it was
	// written in quotes and may hold logformat %codes.
	Value  string
	Quoted bool

	// ACLs select the transactions that get the header (all when empty).
	ACLs []ACLRef
}

// accelDefaults sets Squid's defaults of the directives of this file.
func (p *parser) accelDefaults() {
	c := p.cfg
	c.MaxStale = defaultMaxStale
	c.QuickAbortMin, c.QuickAbortMax, c.QuickAbortPct = defaultQuickAbort, defaultQuickAbort, defaultQuickAbortPct
	c.CacheReplacementPolicy, c.MemoryReplacementPolicy = defaultReplacementPolicy, defaultReplacementPolicy
	c.CacheSwapLow, c.CacheSwapHigh = defaultCacheSwapLow, defaultCacheSwapHigh
	c.DebugOptions = defaultDebugOptions
	c.ForwardedFor = defaultForwardedFor
	c.URIWhitespace = defaultURIWhitespace
	c.Via = true
	c.ClientPersistentConnections, c.ServerPersistentConnections = true, true
	c.ACLUsesIndirectClient, c.LogUsesIndirectClient = true, true
	c.ReadTimeout = defaultReadTimeout
	c.RequestTimeout = defaultRequestTimeout
	c.ConnectTimeout = defaultConnectTimeout
	c.PeerConnectTimeout = defaultPeerConnectTimeout
	c.ClientLifetime = defaultClientLifetime
	c.ServerIdlePconnTimeout = defaultServerIdlePconnTimeout
	c.ClientIdlePconnTimeout = defaultClientIdlePconnTimeout
	c.WriteTimeout = defaultWriteTimeout
	c.RequestHeaderMaxSize, c.ReplyHeaderMaxSize = defaultHeaderMaxSize, defaultHeaderMaxSize
	c.ClientRequestBufferMaxSize = defaultRequestBufferMaxSize
	c.ClientIPMaxConnections = -1
	c.ForwardMaxTries = defaultForwardMaxTries
	c.DelayInitialBucketLevel = defaultDelayInitialBucketLevel
	c.AuthenticateTTL = defaultAuthenticateTTL
	c.Workers = 1
	c.CacheEffectiveUser = defaultCacheEffectiveUser
}

// finishAccel makes the checks Squid makes once the whole configuration
// is read (configDoConfigure) and those that need lines read later.
func (p *parser) finishAccel() {
	c := p.cfg
	s := &p.accel
	if !c.Via && s.via != nil {
		p.warn(s.via, "HTTP requires the use of Via")
	}
	if c.CacheSwapLow > c.CacheSwapHigh && s.swap != nil {
		p.warn(s.swap, "cache_swap_low %d is above cache_swap_high %d; Squid accepts it, but its disk cache eviction expects low <= high",
			c.CacheSwapLow, c.CacheSwapHigh)
	}
	// Squid refuses a request buffer that cannot hold the largest request
	// headers (configDoConfigure).
	if noLimit(c.ClientRequestBufferMaxSize) <= noLimit(c.RequestHeaderMaxSize) && s.buffer != nil {
		p.errorf(s.buffer, "client_request_buffer_max_size (%s) must be larger than request_header_max_size (%s), or the buffer cannot hold the request headers",
			formatLimit(c.ClientRequestBufferMaxSize), formatLimit(c.RequestHeaderMaxSize))
	}
	// Squid 5.7 warns about header limits that strain its String type.
	for _, hm := range []struct {
		d *directive
		v int64
	}{{s.requestHeaderMax, c.RequestHeaderMaxSize}, {s.replyHeaderMax, c.ReplyHeaderMaxSize}} {
		if hm.d != nil && noLimit(hm.v) > safeHeaderMaxSize {
			p.warn(hm.d, "increasing %s beyond %d bytes makes Squid more vulnerable to denial-of-service attacks; configured value: %s",
				hm.d.name, safeHeaderMaxSize, formatLimit(hm.v))
		}
	}
	// Squid looks deny_info ACLs up by name when it denies a request.
	for i, di := range c.DenyInfo {
		for j, name := range di.ACLs {
			ref, ok := p.lookupACL(name)
			if !ok {
				p.warn(s.denyInfo[i], "ACL '%s' is not defined; this deny_info never applies to it", name)
				continue
			}
			c.DenyInfo[i].ACLs[j] = ref.Name
		}
	}
}

// noLimit maps the "no limit" value -1 of a size to the largest size.
func noLimit(n int64) uint64 { return uint64(n) }

// formatLimit formats a size limit in bytes for a message.
func formatLimit(n int64) string {
	if n < 0 {
		return "none"
	}
	return fmt.Sprintf("%d bytes", n)
}

// parseSeconds reads a time value of d as Squid's time_t directives do:
// the unit is a second or longer, the value is not negative and, unless
// zero, at least one second; it is cut to whole seconds.
func (p *parser) parseSeconds(d *directive) (time.Duration, bool) {
	look := *d.sc
	tok, _ := look.next()
	unit, _ := look.next()
	v, ok := p.parseTime(d, false)
	switch {
	case !ok:
		return 0, false
	case v != 0 && timeUnit(unit, false) < time.Second:
		p.errorf(d, "time unit '%s' is too small to be used in this context, the minimal unit is second", unit)
		return 0, false
	case v < 0:
		p.errorf(d, "time must have a positive value")
		return 0, false
	case v > 0 && v < time.Second:
		p.errorf(d, "time value '%s' is too small to be used in this context, the minimal value is 1 second", tok)
		return 0, false
	}
	return v.Truncate(time.Second), true
}

// parseSecondsDirective parses a time_t directive into dst.
func (p *parser) parseSecondsDirective(d *directive, dst *time.Duration) {
	if v, ok := p.parseSeconds(d); ok {
		*dst = v
	}
}

// parseInteger reads an integer of d as Squid's GetInteger does: C syntax
// (0x for hex, a leading 0 for octal), the whole token, within an int.
func (p *parser) parseInteger(d *directive) (int, bool) {
	tok, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return 0, false
	}
	n, err := parseCInt(tok)
	if err != nil {
		p.error(d, err)
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		p.errorf(d, "integer value '%s' is larger than the type 'int'", tok)
		return 0, false
	}
	return int(n), true
}

// parseIntegerDirective parses an int directive into dst.
func (p *parser) parseIntegerDirective(d *directive, dst *int) {
	if n, ok := p.parseInteger(d); ok {
		*dst = n
	}
}

// parseUShort reads a decimal integer from 0 to 65535, as Squid's
// GetShort does for its u_short values (pool numbers, classes).
func (p *parser) parseUShort(d *directive, what string) (int, bool) {
	tok, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return 0, false
	}
	n, err := parseInt(tok)
	if err != nil || n < 0 || n > math.MaxUint16 {
		p.errorf(d, "invalid %s '%s': expecting a number from 0 to 65535", what, tok)
		return 0, false
	}
	return n, true
}

// parseEOL parses a directive whose value is the rest of the line, '#'
// included (Squid's eol type); with configuration_includes_quoted_values
// on, a quoted value is unquoted.
func (p *parser) parseEOL(d *directive, dst *string) {
	v, ok := p.restOfLine(d)
	if !ok {
		return
	}
	if v == "" {
		p.error(d, errMissingValue)
		return
	}
	*dst = v
}

// restOfLine reads the rest of the line of d as Squid's
// NextQuotedOrToEol does.
func (p *parser) restOfLine(d *directive) (string, bool) {
	v := d.sc.rest()
	if p.cfg.QuotedValues && v != "" && (v[0] == '"' || v[0] == '\'') {
		sc := newScanner(v, true)
		v, _ = sc.next()
		if sc.err != nil {
			p.error(d, sc.err)
			return "", false
		}
	}
	return v, true
}

// nextQuotedToken reads the next token as Squid's NextQuotedToken does:
// a "quoted" or 'quoted' string with escapes, whatever
// configuration_includes_quoted_values says, or a plain token. quoted
// reports which.
func nextQuotedToken(sc *scanner) (tok string, quoted, ok bool) {
	if !sc.more() {
		sc.i = len(sc.s)
		return "", false, false
	}
	if c := sc.s[sc.i]; c == '"' || c == '\'' {
		return sc.unquote(), true, true
	}
	tok, ok = sc.next()
	return tok, false, ok
}

// parseSizeLimit parses "size [acl ...]" (Squid's acl_b_size_t, as
// range_offset_limit and reply_body_max_size) and appends it to dst.
func (p *parser) parseSizeLimit(d *directive, dst *[]SizeLimit) {
	size, ok := p.parseSize(d, unitBytes)
	if !ok {
		return
	}
	refs, ok := p.parseACLRefs(d)
	if !ok {
		return
	}
	*dst = append(*dst, SizeLimit{Pos: d.pos, Size: size, ACLs: refs})
}

// parseReplacementPolicy parses cache_replacement_policy or
// memory_replacement_policy: "lru" or "heap GDSF|LFUDA|LRU". Squid knows
// a policy by its exact name; it takes a heap without a known key as
// "heap LRU", with a warning.
//
// Squid creates the memory policy when it starts, and the cache policy
// when it reads each ufs, aufs or diskd cache_dir line after it: an
// unknown memory policy is an error, an unknown cache policy makes those
// cache_dir lines errors (rock ignores the policy), as squid -k parse
// reports them.
func (p *parser) parseReplacementPolicy(d *directive, dst *string) {
	typ, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return
	}
	cache := dst == &p.cfg.CacheReplacementPolicy
	if cache {
		p.accel.badCachePolicy = nil
	}
	args := d.sc.remaining()
	policy := typ
	switch typ {
	case "lru":
	case "heap":
		key := "LRU"
		switch {
		case len(args) == 0:
			p.warn(d, "no heap key type specified; using LRU")
		case args[0] == "GDSF" || args[0] == "LFUDA" || args[0] == "LRU":
			key, args = args[0], args[1:]
		default:
			p.warn(d, "unknown heap key type '%s' (expecting GDSF, LFUDA or LRU); using LRU", args[0])
			args = args[1:]
		}
		policy = "heap " + key
	default:
		if cache {
			p.warn(d, "unknown policy '%s' (expecting lru or heap GDSF|LFUDA|LRU); Squid refuses the ufs, aufs and diskd cache_dir lines after this one", typ)
			p.accel.badCachePolicy = d
			return
		}
		p.errorf(d, "unknown policy '%s' (expecting lru or heap GDSF|LFUDA|LRU); Squid refuses to start", typ)
		return
	}
	if len(args) > 0 {
		p.warn(d, "extra arguments ignored: %s", strings.Join(args, " "))
	}
	*dst = policy
}

// checkCacheDirPolicy reports whether the cache_replacement_policy in
// force exists, for a ufs, aufs or diskd cache_dir line.
func (p *parser) checkCacheDirPolicy(d *directive) bool {
	bad := p.accel.badCachePolicy
	if bad == nil {
		return true
	}
	p.errorf(d, "unknown cache_replacement_policy at %s", bad.pos)
	return false
}

// parseSwapMark parses cache_swap_low or cache_swap_high, a percentage.
// Squid reads any integer; cuttle warns about values outside 0-100.
func (p *parser) parseSwapMark(d *directive, dst *int) {
	n, ok := p.parseInteger(d)
	if !ok {
		return
	}
	if n < 0 || n > 100 {
		p.warn(d, "%d is not a percentage (0-100)", n)
	}
	*dst = n
	p.accel.swap = d
}

// parseDenyInfo parses "deny_info page acl ..." (squid.conf deny_info) as
// Squid's aclParseDenyInfoLine and ErrorDynamicPageInfo do. A line
// without page or ACL is skipped with a message; a status code that does
// not fit the page is fatal.
func (p *parser) parseDenyInfo(d *directive) {
	page, ok := d.sc.next()
	if !ok || page == "" {
		p.warn(d, "missing error page; line ignored")
		return
	}
	di := DenyInfo{Pos: d.pos, Page: page}
	if err := parseDenyInfoPage(&di); err != nil {
		p.error(d, err)
		return
	}
	di.ACLs = d.sc.remaining()
	if len(di.ACLs) == 0 {
		p.warn(d, "deny_info line contains no ACLs; line ignored")
		return
	}
	p.cfg.DenyInfo = append(p.cfg.DenyInfo, di)
	p.accel.denyInfo = append(p.accel.denyInfo, d)
}

// parseDenyInfoPage fills in the fields of di that its Page implies:
// "[status:]template", "[status:]URL" (a URL has a colon) or TCP_RESET.
// 3xx codes need a URL, the others (200 to 599) a template.
func parseDenyInfoPage(di *DenyInfo) error {
	page := di.Page
	rest := page
	if page[0] >= '0' && page[0] <= '9' {
		// Squid reads the status with atoi.
		end := 0
		for end < len(page) && page[end] >= '0' && page[end] <= '9' {
			end++
		}
		n, _ := parseInt(page[:end])
		di.Status = n
		rest = ""
		if _, after, ok := strings.Cut(page, ":"); ok {
			rest = after
		}
	}
	isURL := strings.Contains(rest, ":")
	switch s := di.Status; {
	case s == 0:
	case s < 200 || s > 599:
		return fmt.Errorf("status %d is not valid on '%s'", s, page)
	case s >= 300 && s <= 399 && !isURL:
		return fmt.Errorf("status %d requires a URL on '%s'", s, page)
	case (s < 300 || s >= 400) && isURL:
		return fmt.Errorf("status %d requires a template on '%s'", s, page)
	}
	switch {
	case isURL:
		di.URL = rest
	case rest == "TCP_RESET":
		di.Reset = true
	default:
		di.Template = rest
	}
	return nil
}

// forwardedForModes are the values of forwarded_for Squid acts on.
var forwardedForModes = []string{"on", "off", "transparent", "truncate", "delete"}

// parseForwardedFor parses forwarded_for. Squid stores any word and acts
// on the five it knows; any other ("maybe" in some configs) leaves
// X-Forwarded-For alone, as "transparent" does.
func (p *parser) parseForwardedFor(d *directive) {
	tok, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return
	}
	if !contains(forwardedForModes, tok) {
		p.warn(d, "unknown value '%s' (expecting on, off, transparent, truncate or delete); Squid accepts it and leaves X-Forwarded-For alone, as transparent does", tok)
		tok = "transparent"
	}
	p.cfg.ForwardedFor = tok
}

// uriWhitespaceModes are the values of uri_whitespace.
var uriWhitespaceModes = []string{"strip", "deny", "allow", "encode", "chop"}

// parseURIWhitespace parses uri_whitespace; Squid refuses any other word
// (parse_uri_whitespace calls self_destruct).
func (p *parser) parseURIWhitespace(d *directive) {
	tok, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return
	}
	if !contains(uriWhitespaceModes, tok) {
		p.errorf(d, "unknown value '%s' (expecting strip, deny, allow, encode or chop)", tok)
		return
	}
	p.cfg.URIWhitespace = tok
}

// parseWorkers parses workers, the number of worker processes.
func (p *parser) parseWorkers(d *directive) {
	n, ok := p.parseInteger(d)
	if !ok {
		return
	}
	if n < 0 {
		p.warn(d, "negative number of workers %d", n)
	}
	p.cfg.Workers = n
}

// parseHeaderAccess parses "request_header_access Header allow|deny acl
// ..." (or reply_header_access) and adds the rule to the list of the
// header. A line without header name is skipped, as in Squid.
func (p *parser) parseHeaderAccess(d *directive, dst *[]KeyedAccess) {
	name, ok := d.sc.next()
	if !ok {
		p.warn(d, "missing header name; line ignored")
		return
	}
	if !isHeaderKey(name) && (strings.EqualFold(name, "All") || strings.EqualFold(name, "Other")) {
		p.warn(d, "'%s' is taken as a header name; the special names are 'All' and 'Other' (case-sensitive)", name)
	}
	r, ok := p.parseAccessRule(d)
	if !ok {
		return
	}
	addKeyedRule(dst, d.pos, name, r, sameHeaderKey)
}

// isHeaderKey reports whether name is one of the special header names of
// the *_header_access and *_header_replace directives.
func isHeaderKey(name string) bool { return name == "All" || name == "Other" }

// sameHeaderKey reports whether two header keys are the same: special
// names exactly, header names case-insensitively.
func sameHeaderKey(a, b string) bool {
	if isHeaderKey(a) || isHeaderKey(b) {
		return a == b
	}
	return strings.EqualFold(a, b)
}

// addKeyedRule appends r to the list of key in dst, adding the key if it
// is new.
func addKeyedRule(dst *[]KeyedAccess, pos Pos, key string, r AccessRule, same func(a, b string) bool) {
	for i := range *dst {
		if same((*dst)[i].Key, key) {
			(*dst)[i].Rules = append((*dst)[i].Rules, r)
			return
		}
	}
	*dst = append(*dst, KeyedAccess{Pos: pos, Key: key, Rules: []AccessRule{r}})
}

// parseHeaderReplace parses "request_header_replace Header value" (or
// reply_header_replace): the value is the rest of the line; the last one
// given for a header wins.
func (p *parser) parseHeaderReplace(d *directive, dst *[]HeaderReplace) {
	name, ok := d.sc.next()
	if !ok {
		p.warn(d, "missing header name; line ignored")
		return
	}
	value, ok := p.restOfLine(d)
	if !ok {
		return
	}
	if value == "" {
		p.errorf(d, "missing replacement value for header %s", name)
		return
	}
	for i := range *dst {
		if sameHeaderKey((*dst)[i].Header, name) {
			(*dst)[i] = HeaderReplace{Pos: d.pos, Header: name, Value: value}
			return
		}
	}
	*dst = append(*dst, HeaderReplace{Pos: d.pos, Header: name, Value: value})
}

// parseHeaderAdd parses `request_header_add Header "value" [acl ...]` (or
// reply_header_add). The value may be quoted whatever
// configuration_includes_quoted_values says.
func (p *parser) parseHeaderAdd(d *directive, dst *[]HeaderAdd) {
	name, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing header name")
		return
	}
	value, quoted, ok := nextQuotedToken(d.sc)
	if d.sc.err != nil {
		p.error(d, d.sc.err)
		return
	}
	if !ok {
		p.errorf(d, "missing value for header %s", name)
		return
	}
	// Squid compiles a quoted value as a logformat format.
	if quoted && !p.checkFormat(d, value) {
		return
	}
	refs, ok := p.parseACLRefs(d)
	if !ok {
		return
	}
	*dst = append(*dst, HeaderAdd{Pos: d.pos, Header: name, Value: value, Quoted: quoted, ACLs: refs})
}

// parseUpgradeProtocols parses "http_upgrade_request_protocols protocol
// allow|deny acl ...": a protocol name with an optional /version (case
// sensitive), or OTHER.
func (p *parser) parseUpgradeProtocols(d *directive) {
	proto, ok := d.sc.next()
	if !ok {
		p.errorf(d, "expected a protocol name or OTHER")
		return
	}
	if proto != "OTHER" && strings.EqualFold(proto, "OTHER") {
		p.warn(d, "'%s' is taken as a protocol name; the special name is 'OTHER' (case-sensitive)", proto)
	}
	r, ok := p.parseAccessRule(d)
	if !ok {
		return
	}
	addKeyedRule(&p.cfg.HTTPUpgradeRequestProtocols, d.pos, proto, r, func(a, b string) bool { return a == b })
}
