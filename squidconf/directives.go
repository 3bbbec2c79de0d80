package squidconf

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

// status says what cuttle does with a directive Squid knows. The table
// [knownDirectives] gives each name one status and one note; the parser's
// messages about untyped directives and the support table of README.md
// both come from there.
type status uint8

const (
	// statusUnknown is the zero value: not classified (a test fails).
	statusUnknown status = iota

	// statusApplied directives are parsed into Config and applied.
	statusApplied

	// statusParsed directives are parsed and checked into Config, but
	// cuttle does not apply them yet; the note says what happens instead.
	statusParsed

	// statusPartial directives are parsed into Config and applied in
	// part; the note says what differs.
	statusPartial

	// statusIgnored directives have no effect in an accelerator; the note
	// says why. They get a notice.
	statusIgnored

	// statusNotNeeded directives tune something cuttle does its own way
	// (processes, memory, DNS, polling); the note says how. They get a
	// notice.
	statusNotNeeded

	// statusUnsupported directives ask for behaviour that matters to an
	// accelerator and that cuttle lacks; the note says what happens
	// instead. They get a warning.
	statusUnsupported

	// statusObsolete directives are obsolete in Squid 5 or 6, which
	// ignore them with an error message and go on; the note is Squid's
	// upgrade hint. They get a warning.
	statusObsolete

	// statusRemoved directives were dropped from Squid after 3.1: Squid
	// 5 and 6 reject them as unrecognized, and so does cuttle, with the
	// note as a hint.
	statusRemoved
)

// typed reports whether directives of status s are parsed into Config.
func (s status) typed() bool {
	return s == statusApplied || s == statusParsed || s == statusPartial
}

// valueCheck is how cuttle checks the value of an untyped directive,
// where Squid's type is simple enough to check as Squid does.
type valueCheck uint8

const (
	checkNone        valueCheck = iota // not checked
	checkOnOff                         // on|off
	checkTime                          // a time with its unit
	checkBytes                         // a size, bytes without a unit
	checkKB                            // a size, KB without a unit
	checkAccess                        // allow|deny [!]acl ...
	checkKeyedAccess                   // a word, then allow|deny [!]acl ...
	checkAddress                       // an IP address or a host name that resolves
	checkAddressList                   // checkAddress for every word (none is fine)
	checkACLAddress                    // checkAddress, then [!]acl ...
)

// directiveInfo describes one name of [knownDirectives].
type directiveInfo struct {
	// alias is the current name of an old name ("" if the name is
	// current), which Squid parses exactly as the current name. Alias
	// entries have nothing else: the current name's entry holds the rest.
	alias string

	status status
	check  valueCheck

	// note is one short sentence without a final period: what cuttle
	// does (typed statuses), why the directive has no effect, what cuttle
	// lacks, or the upgrade hint.
	note string
}

// directiveEntry is one row of [knownDirectives].
type directiveEntry struct {
	name string
	info directiveInfo
}

// lookupInfo returns the entry of name in [knownDirectives], by binary
// search.
func lookupInfo(name string) (directiveInfo, bool) {
	i, ok := slices.BinarySearchFunc(knownDirectives[:], name, func(e directiveEntry, name string) int {
		return strings.Compare(e.name, name)
	})
	if !ok {
		return directiveInfo{}, false
	}
	return knownDirectives[i].info, true
}

// lookupDirective returns the current name of the directive name and its
// entry in [knownDirectives].
func lookupDirective(name string) (canonical string, info directiveInfo, ok bool) {
	info, ok = lookupInfo(name)
	if !ok {
		return "", info, false
	}
	if info.alias == "" {
		return name, info, true
	}
	current, _ := lookupInfo(info.alias)
	return info.alias, current, true
}

// untyped handles a directive Squid knows and Config does not hold: its
// value is checked where Squid's type is simple, then it gets a message
// from its status and note. name is the current name; d.name is the name
// as written.
func (p *parser) untyped(name string, info directiveInfo, d *directive) {
	what := describe(name, d)
	switch info.status {
	case statusObsolete:
		// Squid checks nothing: the line is dropped.
		p.classified(SeverityWarning, d, what+" is obsolete: "+info.note)
		return
	case statusRemoved:
		p.fail(d.file, d.pos, "", fmt.Errorf("unrecognized directive %s: %s", what, info.note))
		return
	}
	if !p.checkValue(info.check, d) {
		return
	}
	switch info.status {
	case statusIgnored:
		p.classified(SeverityNotice, d, what+" has no effect in an accelerator: "+info.note)
	case statusNotNeeded:
		p.classified(SeverityNotice, d, what+" is not needed by cuttle: "+info.note)
	case statusUnsupported:
		p.classified(SeverityWarning, d, what+" is not supported by cuttle: "+info.note)
	default:
		// A typed status without a case in parser.typed: the table and
		// the parser disagree, which TestDispatchClassified reports.
		p.classified(SeverityNotice, d, what+" is accepted but not applied by cuttle")
	}
}

// classified records the message of an untyped directive. The message
// names the directive itself, so the Diagnostic has no Directive.
func (p *parser) classified(sev Severity, d *directive, msg string) {
	p.cfg.Notices = append(p.cfg.Notices, Diagnostic{Severity: sev, Pos: d.pos, Msg: msg, IncludedFrom: d.file.chain})
}

// describe names the directive of d: "'name'", or "'old' (old name of
// 'name')".
func describe(name string, d *directive) string {
	if d.name == name {
		return "'" + name + "'"
	}
	return "'" + d.name + "' (old name of '" + name + "')"
}

// checkValue checks the value of d as Squid would, reporting errors; it
// returns false after an error.
func (p *parser) checkValue(check valueCheck, d *directive) bool {
	var ok bool
	switch check {
	case checkOnOff:
		_, ok = p.parseOnOff(d)
	case checkTime:
		_, ok = p.parseTime(d, false)
	case checkBytes:
		_, ok = p.parseSize(d, unitBytes)
	case checkKB:
		_, ok = p.parseSize(d, unitKB)
	case checkKeyedAccess:
		if _, ok = d.sc.next(); !ok {
			p.error(d, errMissingValue)
			return false
		}
		_, ok = p.parseAccessRule(d)
	case checkAccess:
		_, ok = p.parseAccessRule(d)
	case checkAddress, checkACLAddress:
		tok, found := d.sc.next()
		if !found {
			p.error(d, errMissingValue)
			return false
		}
		if err := p.resolveAddress(tok); err != nil {
			p.error(d, err)
			return false
		}
		ok = true
		if check == checkACLAddress {
			_, ok = p.parseACLRefs(d)
		}
	case checkAddressList:
		for {
			tok, found := d.sc.next()
			if !found {
				break
			}
			if err := p.resolveAddress(tok); err != nil {
				p.error(d, err)
				return false
			}
		}
		ok = true
	default:
		ok = true
	}
	return ok
}

// resolveAddress checks an address value as Squid's parse_address does:
// any_addr, no_addr, full_mask, an IP address (without brackets) or a
// host name that resolves, which Squid looks up when it reads the line.
func (p *parser) resolveAddress(tok string) error {
	switch tok {
	case "any_addr", "no_addr", "full_mask":
		return nil
	}
	if net.ParseIP(tok) != nil {
		return nil
	}
	addrs, err := p.opts.lookupHost(tok)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		return fmt.Errorf("invalid IP address or domain name '%s' (%v)", tok, lookupFailure(err))
	}
	return nil
}
