package squidconf

import (
	"strings"
)

// builtinLogFormat reports whether name is one Squid defines itself; they
// cannot be redefined.
func builtinLogFormat(name string) bool {
	switch name {
	case "squid", "common", "combined", "referrer", "useragent", "icap_squid":
		return true
	}
	return false
}

// knownLogFormat reports whether name is a built-in logformat or one
// defined above.
func (p *parser) knownLogFormat(name string) bool {
	return builtinLogFormat(name) || p.logFormats[name]
}

// parseLogFormat parses "logformat name format..." (squid.conf
// logformat). The format is the rest of the line, verbatim: a '#' in it
// is text, not a comment. The first definition of a name wins.
func (p *parser) parseLogFormat(d *directive) {
	name, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing logformat name")
		return
	}
	format := d.sc.rest()
	if p.cfg.QuotedValues && format != "" && (format[0] == '"' || format[0] == '\'') {
		sc := newScanner(format, true)
		format, _ = sc.next()
		if sc.err != nil {
			p.error(d, sc.err)
			return
		}
	}
	if format == "" {
		p.errorf(d, "missing format for logformat %s", name)
		return
	}
	if p.knownLogFormat(name) {
		p.warn(d, "logformat %s is already defined. Ignoring.", name)
		return
	}
	// Squid compiles the format of a new name only.
	if !p.checkFormat(d, format) {
		return
	}
	p.logFormats[name] = true
	p.cfg.LogFormats = append(p.cfg.LogFormats, LogFormat{Pos: d.pos, Name: name, Format: format})
}

// parseAccessLog parses an access_log line (squid.conf access_log):
//
//	access_log module:place [option ...] [acl ...]
//	access_log module:place [format [acl ...]]   (older form)
//	access_log none [acl ...]
//
// A place without a module is a stdio file. The format must be built in
// or defined by a logformat line above.
func (p *parser) parseAccessLog(d *directive) {
	p.accessLogs = true
	place, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return
	}
	al := AccessLog{Pos: d.pos, Format: "squid"}
	if place == "none" {
		al.Module, al.Format = "none", ""
	} else {
		al.Module, al.Path = splitLogPlace(place)
		if !p.accessLogOptions(d, &al) {
			return
		}
	}
	refs, ok := p.parseACLRefs(d)
	if !ok {
		return
	}
	al.ACLs = refs
	p.cfg.AccessLogs = append(p.cfg.AccessLogs, al)
}

// accessLogOptions reads the format name or the name=value options that
// follow the place of an access_log line.
func (p *parser) accessLogOptions(d *directive, al *AccessLog) bool {
	tok, ok := d.sc.peek()
	if !ok {
		return true
	}
	if !strings.Contains(tok, "=") {
		// The older form: a known format name, else the ACLs start here.
		if p.knownLogFormat(tok) {
			al.Format = tok
			d.sc.next()
		}
		return true
	}
	for {
		tok, ok := d.sc.peek()
		if !ok {
			return true
		}
		name, value, hasValue := strings.Cut(tok, "=")
		if !hasValue {
			return true
		}
		switch strings.ToLower(name) {
		case "logformat":
			if !p.knownLogFormat(value) {
				p.errorf(d, "unknown logformat '%s'", value)
				return false
			}
			al.Format = value
		case "on-error":
			if value != "die" && value != "drop" {
				p.errorf(d, "unsupported option value in '%s': use on-error=die or on-error=drop", tok)
				return false
			}
			al.Options = append(al.Options, tok)
		case "buffer-size":
			if _, err := parseSize(newScanner(splitNumberUnit(value), false), unitBytes); err != nil {
				p.errorf(d, "invalid value in '%s': %v", tok, err)
				return false
			}
			al.Options = append(al.Options, tok)
		case "rotate":
			if n, err := parseInt(value); err != nil || n < 0 {
				p.errorf(d, "invalid value in '%s'", tok)
				return false
			}
			al.Options = append(al.Options, tok)
		default:
			p.errorf(d, "unsupported access_log option: %s", tok)
			return false
		}
		d.sc.next()
	}
}

// splitLogPlace splits "module:place" into its module and argument; a
// place without one of Squid's module names is a stdio file.
func splitLogPlace(place string) (module, path string) {
	for _, m := range []string{"stdio", "daemon", "syslog", "udp", "tcp"} {
		if rest, ok := strings.CutPrefix(place, m+":"); ok {
			return m, rest
		}
	}
	return "stdio", place
}

// splitNumberUnit turns "64KB" into "64 KB" for parseSize.
func splitNumberUnit(s string) string {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == '-' || s[i] == '+') {
		i++
	}
	return s[:i] + " " + s[i:]
}
