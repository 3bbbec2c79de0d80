package squidconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Format writes c as squid.conf text that [Parse] reads back into an
// equal Config, positions and notices aside: one line per directive, in
// an order that defines ACLs, peers and log formats before their users,
// with values Squid's way (sizes in bytes, times in the unit that gives
// the exact value back). Scalars equal to Squid's defaults are left out.
// Values that cannot be written in the default token syntax (spaces,
// quotes, a leading '#', macros) are written in quotes between
// configuration_includes_quoted_values lines.
//
// Format returns an error, and writes nothing, if some value cannot be
// written so that it reads back the same: an ACL value beginning with a
// quote that must also be read as a regular expression, for instance.
func (c *Config) Format(w io.Writer) error {
	f := &formatter{defaults: newParser(Options{}).cfg}
	for _, fp := range configPrinters {
		fp.print(f, c)
		if f.err != nil {
			return f.err
		}
	}
	if c.QuotedValues != f.quoted {
		f.setQuoted(c.QuotedValues)
	}
	_, err := w.Write(f.buf.Bytes())
	return err
}

// configPrinter prints some fields of Config.
type configPrinter struct {
	// fields are the names of the Config fields print writes; a test
	// checks that every field of Config but Notices and Unapplied (which
	// are findings, not settings) is in one list.
	fields []string
	print  func(f *formatter, c *Config)
}

// configPrinters print a Config in order: the order makes each line refer
// only to what the lines before it define. It is a pure table.
var configPrinters = []configPrinter{
	{[]string{"LogFormats"}, func(f *formatter, c *Config) {
		for _, lf := range c.LogFormats {
			f.logFormat(lf)
		}
	}},
	// proxy_auth ACLs need an auth_param scheme.
	{[]string{"AuthSchemes"}, func(f *formatter, c *Config) {
		for _, a := range c.AuthSchemes {
			f.authScheme(a)
		}
	}},
	{[]string{"ACLs"}, func(f *formatter, c *Config) { f.acls(c.ACLs) }},
	{[]string{"HTTPPorts"}, func(f *formatter, c *Config) {
		for _, p := range c.HTTPPorts {
			f.line("http_port", words(append([]string{p.Spec}, p.Options...))...)
		}
	}},
	{[]string{"HTTPSPorts"}, func(f *formatter, c *Config) {
		for _, p := range c.HTTPSPorts {
			f.line("https_port", words(append([]string{p.Spec}, p.Options...))...)
		}
	}},
	{[]string{"CachePeers"}, func(f *formatter, c *Config) {
		for _, cp := range c.CachePeers {
			toks := words([]string{cp.Host, cp.Type, strconv.Itoa(cp.HTTPPort), strconv.Itoa(cp.ICPPort)})
			f.line("cache_peer", append(toks, words(cp.Options)...)...)
		}
		for _, cp := range c.CachePeers {
			for _, r := range cp.Access {
				f.line("cache_peer_access", append(words([]string{cp.Name}), ruleTokens(r)...)...)
			}
		}
	}},
	{[]string{"HTTPAccess"}, func(f *formatter, c *Config) { f.rules("http_access", c.HTTPAccess) }},
	{[]string{"HTTPReplyAccess"}, func(f *formatter, c *Config) { f.rules("http_reply_access", c.HTTPReplyAccess) }},
	{[]string{"CacheAccess"}, func(f *formatter, c *Config) { f.rules("cache", c.CacheAccess) }},
	{[]string{"NeverDirect"}, func(f *formatter, c *Config) { f.rules("never_direct", c.NeverDirect) }},
	{[]string{"AlwaysDirect"}, func(f *formatter, c *Config) { f.rules("always_direct", c.AlwaysDirect) }},
	{[]string{"MissAccess"}, func(f *formatter, c *Config) { f.rules("miss_access", c.MissAccess) }},
	{[]string{"SendHit"}, func(f *formatter, c *Config) { f.rules("send_hit", c.SendHit) }},
	{[]string{"StoreMiss"}, func(f *formatter, c *Config) { f.rules("store_miss", c.StoreMiss) }},
	{[]string{"CacheMem"}, func(f *formatter, c *Config) {
		f.size("cache_mem", c.CacheMem, f.defaults.CacheMem)
	}},
	{[]string{"MaximumObjectSize"}, func(f *formatter, c *Config) {
		f.size("maximum_object_size", c.MaximumObjectSize, f.defaults.MaximumObjectSize)
	}},
	{[]string{"MaximumObjectSizeInMemory"}, func(f *formatter, c *Config) {
		f.size("maximum_object_size_in_memory", c.MaximumObjectSizeInMemory, f.defaults.MaximumObjectSizeInMemory)
	}},
	{[]string{"MinimumObjectSize"}, func(f *formatter, c *Config) {
		f.size("minimum_object_size", c.MinimumObjectSize, f.defaults.MinimumObjectSize)
	}},
	{[]string{"RefreshPatterns"}, func(f *formatter, c *Config) {
		for _, rp := range c.RefreshPatterns {
			f.refreshPattern(rp)
		}
	}},
	{[]string{"CacheDirs", "CacheReplacementPolicy"}, func(f *formatter, c *Config) {
		// Each cache_dir takes the cache_replacement_policy above it.
		policy := f.defaults.CacheReplacementPolicy
		for _, cd := range c.CacheDirs {
			if cd.ReplacementPolicy != policy {
				policy = cd.ReplacementPolicy
				f.line("cache_replacement_policy", words(strings.Fields(policy))...)
			}
			toks := words([]string{cd.Type, cd.Path, strconv.FormatInt(cd.SizeMB, 10)})
			if cd.Type != "rock" {
				toks = append(toks, words([]string{strconv.Itoa(cd.L1), strconv.Itoa(cd.L2)})...)
			}
			f.line("cache_dir", append(toks, words(cd.Options)...)...)
		}
		if c.CacheReplacementPolicy != policy {
			f.line("cache_replacement_policy", words(strings.Fields(c.CacheReplacementPolicy))...)
		}
	}},
	{[]string{"AccessLogs"}, func(f *formatter, c *Config) {
		for _, al := range c.AccessLogs {
			f.accessLog(al)
		}
	}},
	{[]string{"VisibleHostname"}, func(f *formatter, c *Config) {
		if c.VisibleHostname != f.defaults.VisibleHostname {
			f.line("visible_hostname", word(c.VisibleHostname))
		}
	}},
	{[]string{"PidFilename"}, func(f *formatter, c *Config) {
		switch {
		case c.PidFilename == f.defaults.PidFilename:
		case c.PidFilename == "":
			f.line("pid_filename", word("none"))
		default:
			f.line("pid_filename", word(c.PidFilename))
		}
	}},
	{[]string{"CacheLog"}, func(f *formatter, c *Config) {
		if c.CacheLog != f.defaults.CacheLog {
			f.line("cache_log", word(c.CacheLog))
		}
	}},
	{[]string{"ShutdownLifetime"}, func(f *formatter, c *Config) {
		if c.ShutdownLifetime != f.defaults.ShutdownLifetime {
			f.duration("shutdown_lifetime", c.ShutdownLifetime, false, func(d time.Duration) time.Duration {
				return d.Truncate(time.Second)
			})
		}
	}},
	{[]string{"StripQueryTerms"}, func(f *formatter, c *Config) {
		f.onOff("strip_query_terms", c.StripQueryTerms, f.defaults.StripQueryTerms)
	}},
	{[]string{"CollapsedForwarding"}, func(f *formatter, c *Config) {
		f.onOff("collapsed_forwarding", c.CollapsedForwarding, f.defaults.CollapsedForwarding)
	}},
	{[]string{"NegativeTTL"}, func(f *formatter, c *Config) {
		f.seconds("negative_ttl", c.NegativeTTL, f.defaults.NegativeTTL)
	}},
	{[]string{"MaxStale"}, func(f *formatter, c *Config) { f.seconds("max_stale", c.MaxStale, f.defaults.MaxStale) }},
	{[]string{"RangeOffsetLimit"}, func(f *formatter, c *Config) { f.sizeLimits("range_offset_limit", c.RangeOffsetLimit) }},
	{[]string{"QuickAbortMin"}, func(f *formatter, c *Config) {
		f.sizeIn("quick_abort_min", unitKB, c.QuickAbortMin, f.defaults.QuickAbortMin)
	}},
	{[]string{"QuickAbortMax"}, func(f *formatter, c *Config) {
		f.sizeIn("quick_abort_max", unitKB, c.QuickAbortMax, f.defaults.QuickAbortMax)
	}},
	{[]string{"QuickAbortPct"}, func(f *formatter, c *Config) {
		f.integer("quick_abort_pct", c.QuickAbortPct, f.defaults.QuickAbortPct)
	}},
	{[]string{"MemoryReplacementPolicy"}, func(f *formatter, c *Config) {
		if c.MemoryReplacementPolicy != f.defaults.MemoryReplacementPolicy {
			f.line("memory_replacement_policy", words(strings.Fields(c.MemoryReplacementPolicy))...)
		}
	}},
	{[]string{"CacheSwapLow"}, func(f *formatter, c *Config) {
		f.integer("cache_swap_low", c.CacheSwapLow, f.defaults.CacheSwapLow)
	}},
	{[]string{"CacheSwapHigh"}, func(f *formatter, c *Config) {
		f.integer("cache_swap_high", c.CacheSwapHigh, f.defaults.CacheSwapHigh)
	}},
	{[]string{"DenyInfo"}, func(f *formatter, c *Config) {
		for _, di := range c.DenyInfo {
			f.line("deny_info", words(append([]string{di.Page}, di.ACLs...))...)
		}
	}},
	{[]string{"ErrorDirectory"}, func(f *formatter, c *Config) {
		if c.ErrorDirectory != f.defaults.ErrorDirectory {
			f.line("error_directory", word(c.ErrorDirectory))
		}
	}},
	{[]string{"LogfileRotate"}, func(f *formatter, c *Config) {
		f.integer("logfile_rotate", c.LogfileRotate, f.defaults.LogfileRotate)
	}},
	{[]string{"DebugOptions"}, func(f *formatter, c *Config) {
		if c.DebugOptions != f.defaults.DebugOptions {
			f.line("debug_options", token{s: c.DebugOptions, kind: tokRest})
		}
	}},
	{[]string{"UniqueHostname"}, func(f *formatter, c *Config) {
		if c.UniqueHostname != f.defaults.UniqueHostname {
			f.line("unique_hostname", word(c.UniqueHostname))
		}
	}},
	{[]string{"ForwardedFor"}, func(f *formatter, c *Config) {
		if c.ForwardedFor != f.defaults.ForwardedFor {
			f.line("forwarded_for", word(c.ForwardedFor))
		}
	}},
	{[]string{"URIWhitespace"}, func(f *formatter, c *Config) {
		if c.URIWhitespace != f.defaults.URIWhitespace {
			f.line("uri_whitespace", word(c.URIWhitespace))
		}
	}},
	{[]string{"FollowXForwardedFor"}, func(f *formatter, c *Config) {
		f.rules("follow_x_forwarded_for", c.FollowXForwardedFor)
	}},
	{[]string{"ACLUsesIndirectClient"}, func(f *formatter, c *Config) {
		f.onOff("acl_uses_indirect_client", c.ACLUsesIndirectClient, f.defaults.ACLUsesIndirectClient)
	}},
	{[]string{"LogUsesIndirectClient"}, func(f *formatter, c *Config) {
		f.onOff("log_uses_indirect_client", c.LogUsesIndirectClient, f.defaults.LogUsesIndirectClient)
	}},
	{[]string{"Via"}, func(f *formatter, c *Config) { f.onOff("via", c.Via, f.defaults.Via) }},
	{[]string{"ClientPersistentConnections"}, func(f *formatter, c *Config) {
		f.onOff("client_persistent_connections", c.ClientPersistentConnections, f.defaults.ClientPersistentConnections)
	}},
	{[]string{"ServerPersistentConnections"}, func(f *formatter, c *Config) {
		f.onOff("server_persistent_connections", c.ServerPersistentConnections, f.defaults.ServerPersistentConnections)
	}},
	{[]string{"HTTPDSuppressVersionString"}, func(f *formatter, c *Config) {
		f.onOff("httpd_suppress_version_string", c.HTTPDSuppressVersionString, f.defaults.HTTPDSuppressVersionString)
	}},
	{[]string{"RequestHeaderAccess"}, func(f *formatter, c *Config) {
		f.keyedRules("request_header_access", c.RequestHeaderAccess)
	}},
	{[]string{"ReplyHeaderAccess"}, func(f *formatter, c *Config) {
		f.keyedRules("reply_header_access", c.ReplyHeaderAccess)
	}},
	{[]string{"RequestHeaderReplace"}, func(f *formatter, c *Config) {
		f.headerReplace("request_header_replace", c.RequestHeaderReplace)
	}},
	{[]string{"ReplyHeaderReplace"}, func(f *formatter, c *Config) {
		f.headerReplace("reply_header_replace", c.ReplyHeaderReplace)
	}},
	{[]string{"RequestHeaderAdd"}, func(f *formatter, c *Config) { f.headerAdd("request_header_add", c.RequestHeaderAdd) }},
	{[]string{"ReplyHeaderAdd"}, func(f *formatter, c *Config) { f.headerAdd("reply_header_add", c.ReplyHeaderAdd) }},
	{[]string{"ReadTimeout"}, func(f *formatter, c *Config) {
		f.seconds("read_timeout", c.ReadTimeout, f.defaults.ReadTimeout)
	}},
	{[]string{"RequestTimeout"}, func(f *formatter, c *Config) {
		f.seconds("request_timeout", c.RequestTimeout, f.defaults.RequestTimeout)
	}},
	{[]string{"ConnectTimeout"}, func(f *formatter, c *Config) {
		f.seconds("connect_timeout", c.ConnectTimeout, f.defaults.ConnectTimeout)
	}},
	{[]string{"PeerConnectTimeout"}, func(f *formatter, c *Config) {
		f.seconds("peer_connect_timeout", c.PeerConnectTimeout, f.defaults.PeerConnectTimeout)
	}},
	{[]string{"ClientLifetime"}, func(f *formatter, c *Config) {
		f.seconds("client_lifetime", c.ClientLifetime, f.defaults.ClientLifetime)
	}},
	{[]string{"ServerIdlePconnTimeout"}, func(f *formatter, c *Config) {
		f.seconds("server_idle_pconn_timeout", c.ServerIdlePconnTimeout, f.defaults.ServerIdlePconnTimeout)
	}},
	{[]string{"ClientIdlePconnTimeout"}, func(f *formatter, c *Config) {
		f.seconds("client_idle_pconn_timeout", c.ClientIdlePconnTimeout, f.defaults.ClientIdlePconnTimeout)
	}},
	{[]string{"WriteTimeout"}, func(f *formatter, c *Config) {
		f.seconds("write_timeout", c.WriteTimeout, f.defaults.WriteTimeout)
	}},
	{[]string{"RequestHeaderMaxSize"}, func(f *formatter, c *Config) {
		f.size("request_header_max_size", c.RequestHeaderMaxSize, f.defaults.RequestHeaderMaxSize)
	}},
	{[]string{"ReplyHeaderMaxSize"}, func(f *formatter, c *Config) {
		f.size("reply_header_max_size", c.ReplyHeaderMaxSize, f.defaults.ReplyHeaderMaxSize)
	}},
	{[]string{"ClientRequestBufferMaxSize"}, func(f *formatter, c *Config) {
		f.size("client_request_buffer_max_size", c.ClientRequestBufferMaxSize, f.defaults.ClientRequestBufferMaxSize)
	}},
	{[]string{"RequestBodyMaxSize"}, func(f *formatter, c *Config) {
		f.size("request_body_max_size", c.RequestBodyMaxSize, f.defaults.RequestBodyMaxSize)
	}},
	{[]string{"ReplyBodyMaxSize"}, func(f *formatter, c *Config) { f.sizeLimits("reply_body_max_size", c.ReplyBodyMaxSize) }},
	{[]string{"ClientIPMaxConnections"}, func(f *formatter, c *Config) {
		f.integer("client_ip_max_connections", c.ClientIPMaxConnections, f.defaults.ClientIPMaxConnections)
	}},
	{[]string{"ForwardMaxTries"}, func(f *formatter, c *Config) {
		f.integer("forward_max_tries", c.ForwardMaxTries, f.defaults.ForwardMaxTries)
	}},
	{[]string{"MaxFiledescriptors"}, func(f *formatter, c *Config) {
		f.integer("max_filedescriptors", c.MaxFiledescriptors, f.defaults.MaxFiledescriptors)
	}},
	{[]string{"DelayPools"}, func(f *formatter, c *Config) { f.delayPools(c.DelayPools) }},
	{[]string{"DelayInitialBucketLevel"}, func(f *formatter, c *Config) {
		f.integer("delay_initial_bucket_level", c.DelayInitialBucketLevel, f.defaults.DelayInitialBucketLevel)
	}},
	{[]string{"AuthenticateTTL"}, func(f *formatter, c *Config) {
		f.seconds("authenticate_ttl", c.AuthenticateTTL, f.defaults.AuthenticateTTL)
	}},
	{[]string{"Workers"}, func(f *formatter, c *Config) { f.integer("workers", c.Workers, f.defaults.Workers) }},
	{[]string{"CoredumpDir"}, func(f *formatter, c *Config) {
		if c.CoredumpDir != f.defaults.CoredumpDir {
			f.line("coredump_dir", word(c.CoredumpDir))
		}
	}},
	{[]string{"CacheEffectiveUser"}, func(f *formatter, c *Config) {
		if c.CacheEffectiveUser != f.defaults.CacheEffectiveUser {
			f.line("cache_effective_user", word(c.CacheEffectiveUser))
		}
	}},
	{[]string{"CacheEffectiveGroup"}, func(f *formatter, c *Config) {
		if c.CacheEffectiveGroup != f.defaults.CacheEffectiveGroup {
			f.line("cache_effective_group", word(c.CacheEffectiveGroup))
		}
	}},
	{[]string{"HTTPUpgradeRequestProtocols"}, func(f *formatter, c *Config) {
		f.keyedRules("http_upgrade_request_protocols", c.HTTPUpgradeRequestProtocols)
	}},
	// QuotedValues is written by Format itself, last.
	{[]string{"QuotedValues"}, func(*formatter, *Config) {}},
}

// formatter accumulates the lines of [Config.Format].
type formatter struct {
	buf      bytes.Buffer
	quoted   bool    // configuration_includes_quoted_values in force
	defaults *Config // Squid's defaults, for the scalars
	err      error   // the first value that cannot be written
}

// tokenKind says how the parser reads a token, which decides how it can
// be written.
type tokenKind uint8

const (
	tokWord       tokenKind = iota // scanner.next: unquoted when quoted values are on
	tokRegex                       // scanner.nextRegex: read as written in both modes
	tokRegexValue                  // an acl regex: as written, and a leading quote names a file
	tokValue                       // an acl value: a leading quote names a file
	tokQuotable                    // nextQuotedToken: unquoted in both modes
	tokQuoted                      // nextQuotedToken, and it must be read as quoted
	tokRest                        // the rest of the line (restOfLine), last on the line
)

// token is one word of a directive line, as the parser should read it.
type token struct {
	s    string
	kind tokenKind
}

func word(s string) token { return token{s: s} }

func words(ss []string) []token {
	toks := make([]token, len(ss))
	for i, s := range ss {
		toks[i] = word(s)
	}
	return toks
}

// failf records the first error.
func (f *formatter) failf(format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("squidconf: format: "+format, args...)
	}
}

// setQuoted writes a configuration_includes_quoted_values line.
func (f *formatter) setQuoted(on bool) {
	f.buf.WriteString("configuration_includes_quoted_values ")
	f.buf.WriteString(onOffWord(on))
	f.buf.WriteByte('\n')
	f.quoted = on
}

func onOffWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// hasMacro reports whether s holds text the parser would replace by a
// macro value.
func hasMacro(s string) bool {
	return strings.Contains(s, "${service_name}") || strings.Contains(s, "${process_name}") ||
		strings.Contains(s, "${process_number}")
}

// plain reports whether s reads back as itself written as is, outside
// quotes: one word, without a leading '#' and without a macro.
func plain(s string) bool {
	return s != "" && s[0] != '#' && !strings.ContainsAny(s, spaceChars+"\x00") && !hasMacro(s)
}

// regexWord reports whether s reads back as itself, written as is, as a
// regular expression (scanner.nextRegex), where a backslash keeps the
// next character, a space included.
func regexWord(s string) bool {
	if strings.ContainsAny(s, "\r\n\x00") || hasMacro(s) {
		return false
	}
	sc := newScanner(s, false)
	tok, ok := sc.nextRegex()
	return ok && tok == s && sc.err == nil
}

// verbatim reports whether s reads back as itself as the rest of a line.
func verbatim(s string) bool {
	return s != "" && strings.Trim(s, spaceChars) == s && !strings.ContainsAny(s, "\r\n\x00") && !hasMacro(s)
}

// isFileParam reports whether s is what an acl line reads as a
// parameters("file") value when quoted values are on.
func isFileParam(s string) bool {
	return strings.HasPrefix(s, "parameters(") && strings.HasSuffix(s, ")")
}

// render writes t for the given mode, or reports that it cannot be.
func (t token) render(quoted bool) (string, bool) {
	quote := t.s != "" && (t.s[0] == '"' || t.s[0] == '\'')
	canQuote := !strings.ContainsRune(t.s, 0)
	switch t.kind {
	case tokRegex:
		return t.s, regexWord(t.s)
	case tokRegexValue:
		return t.s, regexWord(t.s) && !quote
	case tokQuotable:
		if plain(t.s) && !quote {
			return t.s, true
		}
		return quoteString(t.s), canQuote
	case tokQuoted:
		return quoteString(t.s), canQuote
	case tokRest:
		if verbatim(t.s) && !(quoted && quote) {
			return t.s, true
		}
		return quoteString(t.s), quoted && canQuote
	case tokValue:
		if quoted && isFileParam(t.s) || !quoted && quote {
			return "", false
		}
	}
	if plain(t.s) && !(quoted && quote) {
		return t.s, true
	}
	return quoteString(t.s), quoted && canQuote
}

// quoteString writes s as a quoted token of
// configuration_includes_quoted_values on, which reads back as s. '{' is
// escaped so that no macro is expanded.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '{':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// renderLine renders the tokens of one line in a mode.
func renderLine(name string, toks []token, quoted bool) (string, bool) {
	var b strings.Builder
	b.WriteString(name)
	for _, t := range toks {
		s, ok := t.render(quoted)
		if !ok {
			return "", false
		}
		b.WriteByte(' ')
		b.WriteString(s)
	}
	if line := b.String(); strings.TrimRight(line, spaceChars) == line {
		return line, true
	}
	// A regular expression ending in an escaped space: the parser
	// trims it from the end of the line.
	return "", false
}

// line writes one directive line, switching quoted values on or off when
// the tokens need it.
func (f *formatter) line(name string, toks ...token) {
	f.lineModes(name, toks, true, true)
}

// lineModes writes a line in the current mode if allowed and possible,
// else in the other one.
func (f *formatter) lineModes(name string, toks []token, unquotedOK, quotedOK bool) {
	for _, quoted := range []bool{f.quoted, !f.quoted} {
		if quoted && !quotedOK || !quoted && !unquotedOK {
			continue
		}
		if s, ok := renderLine(name, toks, quoted); ok {
			f.writeLine(s, quoted)
			return
		}
	}
	f.failf("%s: cannot write %q", name, tokenStrings(toks))
}

// writeLine writes a rendered line in its mode.
func (f *formatter) writeLine(s string, quoted bool) {
	if quoted != f.quoted {
		f.setQuoted(quoted)
	}
	f.buf.WriteString(s)
	if strings.HasSuffix(s, `\`) {
		// A final backslash would continue the line.
		f.buf.WriteByte(' ')
	}
	f.buf.WriteByte('\n')
}

func tokenStrings(toks []token) []string {
	ss := make([]string, len(toks))
	for i, t := range toks {
		ss[i] = t.s
	}
	return ss
}

// ruleTokens returns "allow|deny [!]acl ..." as tokens.
func ruleTokens(r AccessRule) []token {
	toks := []token{word("deny")}
	if r.Allow {
		toks[0] = word("allow")
	}
	for _, ref := range r.ACLs {
		toks = append(toks, word(ref.String()))
	}
	return toks
}

// rules writes an allow|deny list.
func (f *formatter) rules(name string, rules []AccessRule) {
	for _, r := range rules {
		f.line(name, ruleTokens(r)...)
	}
}

// onOff writes an on|off directive that differs from its default.
func (f *formatter) onOff(name string, v, def bool) {
	if v != def {
		f.line(name, word(onOffWord(v)))
	}
}

// size writes a size directive that differs from its default, in bytes
// ("none" for -1).
func (f *formatter) size(name string, v, def int64) {
	if v == def {
		return
	}
	s, ok := formatSize(v, unitBytes)
	if !ok {
		f.failf("%s: cannot write %d bytes", name, v)
		return
	}
	f.line(name, words(strings.Fields(s))...)
}

// formatSize writes a size in bytes that parseSize reads back as v with
// the default unit defUnit.
func formatSize(v int64, defUnit string) (string, bool) {
	var s string
	switch {
	case v == -1:
		s = "none"
	case v == 0:
		s = "0"
	default:
		s = strconv.FormatInt(v, 10) + " bytes"
	}
	res, err := parseSize(newScanner(s, false), defUnit)
	return s, err == nil && res.Bytes == v
}

// duration writes a time directive whose value, after adjust, is v.
func (f *formatter) duration(name string, v time.Duration, small bool, adjust func(time.Duration) time.Duration) {
	s, ok := formatDuration(v, small, adjust)
	if !ok {
		f.failf("%s: cannot write %v", name, v)
		return
	}
	f.line(name, words(strings.Fields(s))...)
}

// durationUnits are the units formatDuration tries, most readable first.
var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"seconds", time.Second}, {"minutes", time.Minute}, {"hours", time.Hour}, {"days", 24 * time.Hour},
	{"milliseconds", time.Millisecond}, {"microseconds", time.Microsecond}, {"nanoseconds", time.Nanosecond},
}

// formatDuration writes a time that parseDuration, followed by adjust
// (nil: none), reads back as v: the first of a few spellings in seconds,
// minutes, hours, days or smaller units that does.
func formatDuration(v time.Duration, small bool, adjust func(time.Duration) time.Duration) (string, bool) {
	check := func(s string) bool {
		d, err := parseDuration(newScanner(s, false), small)
		if err == nil && adjust != nil {
			d = adjust(d)
		}
		return err == nil && d == v
	}
	if check("0") {
		return "0", true
	}
	for _, u := range durationUnits {
		for n := range floatSpellings(float64(v) / float64(u.d)) {
			if s := n + " " + u.name; check(s) {
				return s, true
			}
		}
	}
	return "", false
}

// floatSpellings yields decimal spellings of x, then of its nearest
// neighbours, for values whose product with a unit rounds.
func floatSpellings(x float64) iter.Seq[string] {
	return func(yield func(string) bool) {
		if math.IsInf(x, 0) || math.IsNaN(x) || !yield(strconv.FormatFloat(x, 'f', -1, 64)) {
			return
		}
		up, down := x, x
		for range 4 {
			up, down = math.Nextafter(up, math.Inf(1)), math.Nextafter(down, math.Inf(-1))
			if !yield(strconv.FormatFloat(up, 'f', -1, 64)) || !yield(strconv.FormatFloat(down, 'f', -1, 64)) {
				return
			}
		}
	}
}

// logFormat writes a logformat line: the format is the rest of the line.
func (f *formatter) logFormat(lf LogFormat) {
	f.line("logformat", word(lf.Name), token{s: lf.Format, kind: tokRest})
}

// refreshPattern writes a refresh_pattern line.
func (f *formatter) refreshPattern(rp RefreshPattern) {
	var toks []token
	switch {
	case rp.IgnoreCase:
		toks = append(toks, token{s: "-i", kind: tokRegex})
	case rp.Regex == "-i" || rp.Regex == "+i":
		toks = append(toks, token{s: "+i", kind: tokRegex})
	}
	toks = append(toks, token{s: rp.Regex, kind: tokRegex})
	pct, ok := formatPercent(rp.LMFactor, rp.Percent)
	if !ok || rp.Min%time.Minute != 0 || rp.Max%time.Minute != 0 {
		f.failf("refresh_pattern %s: cannot write min %v, percent %v, max %v", rp.Regex, rp.Min, rp.LMFactor, rp.Max)
		return
	}
	toks = append(toks, word(strconv.FormatInt(int64(rp.Min/time.Minute), 10)), word(pct),
		word(strconv.FormatInt(int64(rp.Max/time.Minute), 10)))
	f.line("refresh_pattern", append(toks, words(rp.Options)...)...)
}

// formatPercent writes the percent field of refresh_pattern so that it
// reads back as lmFactor and percent.
func formatPercent(lmFactor float64, percent int) (string, bool) {
	for s := range floatSpellings(lmFactor * 100) {
		v, err := parseFloat(s)
		if err == nil && v/100 == lmFactor && int(math.Max(math.Min(v, math.MaxInt32), math.MinInt32)) == percent {
			return s + "%", true
		}
	}
	return "", false
}

// accessLog writes an access_log line: the options form when there are
// options (or the format name has a '='), the older "place format acl"
// form otherwise.
func (f *formatter) accessLog(al AccessLog) {
	place := "none"
	if al.Module != "none" {
		place = al.Module + ":" + al.Path
	}
	toks := []token{word(place)}
	switch {
	case al.Module == "none":
	case len(al.Options) > 0 || strings.Contains(al.Format, "="):
		toks = append(toks, word("logformat="+al.Format))
		toks = append(toks, words(al.Options)...)
	default:
		toks = append(toks, word(al.Format))
	}
	for _, ref := range al.ACLs {
		toks = append(toks, word(ref.String()))
	}
	f.line("access_log", toks...)
}

// aclLine is the words of one acl line after the ACL's name and type:
// flags, then values.
type aclLine []string

// acls writes the acl lines. Each ACL is written where it was first
// defined, in as few lines as give back its flags and values (Squid
// merges the lines of one ACL); the values of any-of and all-of ACLs that
// name ACLs defined later follow all the definitions.
func (f *formatter) acls(acls []*ACL) {
	builtins := newParser(Options{}).acls
	index := make(map[string]int, len(acls))
	for i, a := range acls {
		index[strings.ToLower(a.Name)] = i
	}
	var deferred []func()
	for i, a := range acls {
		kind, _ := aclTypeKind(a.Type)
		var start *ACL
		if a.BuiltIn {
			start = builtins[strings.ToLower(a.Name)]
		}
		lines, later, err := planACL(a, kind, start, func(v string) bool {
			j, ok := index[strings.ToLower(v)]
			return ok && j < i
		})
		if err != nil {
			f.failf("acl %s: %v", a.Name, err)
			return
		}
		for _, l := range lines {
			f.aclLine(a, kind, l)
		}
		if len(later) > 0 {
			deferred = append(deferred, func() {
				for _, l := range later {
					f.aclLine(a, kind, l)
				}
			})
		}
	}
	for _, d := range deferred {
		d()
	}
}

// aclLine writes one acl line.
func (f *formatter) aclLine(a *ACL, kind aclKind, l aclLine) {
	valueKind := tokValue
	if kind == aclRegex || kind == aclHeader {
		valueKind = tokRegexValue
	}
	toks := words([]string{a.Name, a.Type})
	for _, s := range l {
		toks = append(toks, token{s: s, kind: valueKind})
	}
	// Squid refuses regular expressions with quoted values on.
	f.lineModes("acl", toks, true, valueKind != tokRegexValue)
}

// planACL splits the flags and values of a into lines that the parser
// merges back into them, starting from start (a built-in ACL) or from
// nothing. Values of any-of and all-of ACLs that defined rejects go to
// the later lines, written after every ACL is defined.
func planACL(a *ACL, kind aclKind, start *ACL, defined func(string) bool) (lines, later []aclLine, err error) {
	var sf, sv []string
	if start != nil {
		sf, sv = start.Flags, start.Values
		if len(a.Flags) < len(sf) || !slices.Equal(a.Flags[:len(sf)], sf) ||
			len(a.Values) < len(sv) || !slices.Equal(a.Values[:len(sv)], sv) {
			return nil, nil, errors.New("the built-in flags and values have changed")
		}
	}
	flags, values := a.Flags[len(sf):], a.Values[len(sv):]
	k := len(values)
	if kind == aclGroup {
		k = 0
		for k < len(values) && defined(values[k]) {
			k++
		}
	}
	for _, cand := range aclCandidates(start != nil, flags, values[:k]) {
		n := len(cand)
		if k < len(values) {
			cand = append(cand, slices.Clone(values[k:]))
		}
		if mergeACLLines(kind, sf, sv, start != nil, cand, a.Flags, a.Values) {
			return cand[:n], cand[n:], nil
		}
	}
	return nil, nil, errors.New("cannot write its flags and values as acl lines")
}

// aclCandidates are the ways planACL tries to write flags and values.
func aclCandidates(merged bool, flags, values []string) [][]aclLine {
	var cands [][]aclLine
	add := func(lines ...[]string) {
		var keep []aclLine
		for _, l := range lines {
			// A later line without words adds nothing.
			if len(l) > 0 || !merged && len(keep) == 0 {
				keep = append(keep, aclLine(l))
			}
		}
		cands = append(cands, keep)
	}
	join := func(parts ...[]string) []string { return slices.Concat(parts...) }
	dd := []string{"--"}
	add(join(flags, values))
	if i := slices.Index(flags, "--"); i >= 0 {
		add(join(flags[:i+1], values), flags[i+1:])
		add(flags[:i+1], flags[i+1:], values)
		add(flags[:i+1], flags[i+1:], join(dd, values))
	}
	add(flags, values)
	add(flags, join(dd, values))
	if len(values) > 0 && values[0] == "+i" {
		// The "+i" a later line of a case-insensitive regex ACL begins with.
		add(flags, values[1:])
		add(flags, join(dd, values[1:]))
		if len(values) == 1 {
			// Only an empty later line says "+i"; add would drop it.
			cands = append(cands, []aclLine{aclLine(flags), {}})
		}
	}
	return cands
}

// mergeACLLines reports whether lines, read as parseACL reads and merges
// them (after start, a built-in ACL's flags sf and values sv, if merged),
// give wantFlags and wantValues.
func mergeACLLines(kind aclKind, sf, sv []string, merged bool, lines []aclLine, wantFlags, wantValues []string) bool {
	flags, values := slices.Clone(sf), slices.Clone(sv)
	regex := kind == aclRegex || kind == aclHeader
	for i, l := range lines {
		lf, lv := splitACLFlags(l)
		if i == 0 && !merged {
			flags, values = lf, lv
			continue
		}
		if kind == aclHeader && len(lv) > 0 {
			// A later line names the header again, which is dropped.
			return false
		}
		if regex && caseFolded(flags, values) {
			values = append(values, "+i")
		}
		for _, fl := range lf {
			switch {
			case regex && (fl == "-i" || fl == "+i"):
				values = append(values, fl)
			case !contains(flags, fl):
				flags = append(flags, fl)
			}
		}
		values = append(values, lv...)
	}
	return slices.Equal(flags, wantFlags) && slices.Equal(values, wantValues)
}

// splitACLFlags splits the tokens of an acl line after its type into
// flags and values, as readACLValues does.
func splitACLFlags(toks []string) (flags, values []string) {
	inFlags := true
	for _, tok := range toks {
		if inFlags && isACLFlag(tok) {
			flags = append(flags, tok)
			inFlags = tok != "--"
			continue
		}
		inFlags = false
		values = append(values, tok)
	}
	return flags, values
}

// integer writes an integer directive that differs from its default.
func (f *formatter) integer(name string, v, def int) {
	if v != def {
		f.line(name, word(strconv.Itoa(v)))
	}
}

// seconds writes a time directive of whole seconds (Squid's time_t) that
// differs from its default.
func (f *formatter) seconds(name string, v, def time.Duration) {
	if v != def {
		f.duration(name, v, false, func(d time.Duration) time.Duration { return d.Truncate(time.Second) })
	}
}

// sizeIn writes a size directive whose default unit is unit.
func (f *formatter) sizeIn(name, unit string, v, def int64) {
	if v == def {
		return
	}
	s, ok := formatSize(v, unit)
	if !ok {
		f.failf("%s: cannot write %d bytes", name, v)
		return
	}
	f.line(name, words(strings.Fields(s))...)
}

// sizeLimits writes the lines of a size limit list.
func (f *formatter) sizeLimits(name string, limits []SizeLimit) {
	for _, l := range limits {
		s, ok := formatSize(l.Size, unitBytes)
		if !ok {
			f.failf("%s: cannot write %d bytes", name, l.Size)
			return
		}
		toks := words(strings.Fields(s))
		for _, ref := range l.ACLs {
			toks = append(toks, word(ref.String()))
		}
		f.line(name, toks...)
	}
}

// keyedRules writes the rules of keyed access lists, one line a rule.
func (f *formatter) keyedRules(name string, lists []KeyedAccess) {
	for _, ka := range lists {
		for _, r := range ka.Rules {
			f.line(name, append([]token{word(ka.Key)}, ruleTokens(r)...)...)
		}
	}
}

// headerReplace writes request_header_replace or reply_header_replace
// lines.
func (f *formatter) headerReplace(name string, list []HeaderReplace) {
	for _, hr := range list {
		f.line(name, word(hr.Header), token{s: hr.Value, kind: tokRest})
	}
}

// headerAdd writes request_header_add or reply_header_add lines.
func (f *formatter) headerAdd(name string, list []HeaderAdd) {
	for _, ha := range list {
		value := token{s: ha.Value, kind: tokQuotable}
		if ha.Quoted {
			value.kind = tokQuoted
		}
		toks := []token{word(ha.Header), value}
		for _, ref := range ha.ACLs {
			toks = append(toks, word(ref.String()))
		}
		f.line(name, toks...)
	}
}

// delayPools writes delay_pools and the lines of each pool.
func (f *formatter) delayPools(pools []DelayPool) {
	if len(pools) == 0 {
		return
	}
	f.line("delay_pools", word(strconv.Itoa(len(pools))))
	for i, pool := range pools {
		n := strconv.Itoa(i + 1)
		if pool.Class != 0 {
			f.line("delay_class", word(n), word(strconv.Itoa(pool.Class)))
		}
		if len(pool.Rates) > 0 {
			toks := []token{word(n)}
			for _, r := range pool.Rates {
				switch {
				case r.Restore == -1 && r.Max == -1:
					toks = append(toks, word("none"))
				case r.Restore < 0:
					f.failf("delay_parameters %s: cannot write %d/%d", n, r.Restore, r.Max)
					return
				default:
					toks = append(toks, word(strconv.FormatInt(r.Restore, 10)+"/"+strconv.FormatInt(r.Max, 10)))
				}
			}
			f.line("delay_parameters", toks...)
		}
		for _, r := range pool.Access {
			f.line("delay_access", append([]token{word(n)}, ruleTokens(r)...)...)
		}
	}
}

// authScheme writes the auth_param lines of a scheme: those that differ
// from the scheme's defaults, and at least one, which defines it.
func (f *formatter) authScheme(a AuthScheme) {
	def := AuthScheme{Scheme: a.Scheme, Children: defaultAuthChildren, KeepAlive: true}
	if a.Scheme == "basic" {
		def.Realm, def.CredentialsTTL = defaultBasicRealm, defaultBasicCredentialTTL
	}
	n := 0
	param := func(name string, toks ...token) {
		f.line("auth_param", append([]token{word(a.Scheme), word(name)}, toks...)...)
		n++
	}
	if len(a.Program) > 0 {
		toks := make([]token, len(a.Program))
		for i, s := range a.Program {
			toks[i] = token{s: s, kind: tokQuotable}
		}
		param("program", toks...)
	}
	if a.Children != def.Children || len(a.ChildrenOptions) > 0 {
		param("children", words(append([]string{strconv.Itoa(a.Children)}, a.ChildrenOptions...))...)
	}
	if a.Realm != def.Realm {
		param("realm", token{s: a.Realm, kind: tokRest})
	}
	if a.KeyExtras != def.KeyExtras {
		param("key_extras", token{s: a.KeyExtras, kind: tokQuotable})
	}
	if a.KeepAlive != def.KeepAlive {
		param("keep_alive", word(onOffWord(a.KeepAlive)))
	}
	if a.UTF8 != def.UTF8 {
		param("utf8", word(onOffWord(a.UTF8)))
	}
	if a.CredentialsTTL != def.CredentialsTTL {
		s, ok := formatDuration(a.CredentialsTTL, false, func(d time.Duration) time.Duration { return d.Truncate(time.Second) })
		if !ok {
			f.failf("auth_param %s credentialsttl: cannot write %v", a.Scheme, a.CredentialsTTL)
			return
		}
		param("credentialsttl", words(strings.Fields(s))...)
	}
	if a.CaseSensitive != def.CaseSensitive {
		param("casesensitive", word(onOffWord(a.CaseSensitive)))
	}
	for _, opt := range a.Options {
		name, value, _ := strings.Cut(opt, " ")
		if d, err := time.ParseDuration(value); err == nil {
			s, ok := formatDuration(d, false, func(d time.Duration) time.Duration { return d.Truncate(time.Second) })
			if !ok {
				f.failf("auth_param %s %s: cannot write %v", a.Scheme, name, d)
				return
			}
			value = s
		}
		param(name, words(strings.Fields(value))...)
	}
	if n == 0 {
		param("keep_alive", word(onOffWord(a.KeepAlive)))
	}
}
