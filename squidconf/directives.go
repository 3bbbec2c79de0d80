package squidconf

import "strings"

// directiveKind says what cuttle does with a directive name Squid knows.
type directiveKind uint8

const (
	// kindTyped directives are parsed into Config.
	kindTyped directiveKind = iota

	// kindAccepted directives are accepted with a notice; their value is
	// not checked.
	kindAccepted

	// kindObsolete directives are obsolete in Squid 5 or 6, which ignore
	// them with an error message but go on; cuttle gives a notice.
	kindObsolete

	// kindSquid6 directives are new in Squid 6; accepted with a notice.
	kindSquid6

	// The following are accepted with a notice once their value passes
	// Squid's check: on|off, a time, a size (default unit bytes or KB),
	// an allow|deny list of ACLs, or a word followed by such a list.
	kindOnOff
	kindTime
	kindBytes
	kindKB
	kindAccess
	kindKeyedAccess
)

// directiveInfo describes one directive name of [knownDirectives].
type directiveInfo struct {
	kind directiveKind

	// alias is the current name of an old directive name ("" if name is
	// current), which Squid parses exactly as the current name.
	alias string
}

// obsoleteHint says what to use instead of some obsolete directives.
func obsoleteHint(name string) string {
	switch name {
	case "cache_peer_domain", "cache_host_domain":
		return "use dstdomain ACLs with cache_peer_access"
	case "hierarchy_stoplist":
		return "use always_direct or cache_peer_access ACLs to keep requests away from peers"
	case "emulate_httpd_log":
		return "use an access_log line with the common or combined format"
	case "referer_log", "referrer_log":
		return "use an access_log line with the referrer format"
	case "useragent_log":
		return "use an access_log line with the useragent format"
	case "log_access":
		return "put ACLs on the access_log lines"
	case "log_fqdn":
		return "log %>A in a logformat"
	case "log_ip_on_direct":
		return "log %<A in a logformat"
	case "header_access":
		return "use request_header_access or reply_header_access"
	case "httpd_accel_no_pmtu_disc":
		return "use the disable-pmtu-discovery= option of http_port"
	case "wais_relay_host", "wais_relay_port":
		return "use a cache_peer"
	case "maximum_single_addr_tries":
		return "see connect_retries"
	case "url_rewrite_concurrency":
		return "use the concurrency= option of url_rewrite_children"
	case "ignore_ims_on_miss":
		return "see cache_miss_revalidate"
	case "zph_local", "zph_mode", "zph_option", "zph_parent", "zph_sibling":
		return "see qos_flows"
	}
	if strings.HasPrefix(name, "sslproxy_") {
		return "use tls_outgoing_options"
	}
	return ""
}

// untyped handles a directive Squid knows and Config does not hold:
// its value is checked where Squid's type is simple, then it is accepted
// with a notice.
func (p *parser) untyped(name string, info directiveInfo, d *directive) {
	switch info.kind {
	case kindObsolete:
		msg := "directive '" + d.name + "' is obsolete; ignored"
		if hint := obsoleteHint(name); hint != "" {
			msg += " (" + hint + ")"
		}
		p.notef(d.pos, "%s", msg)
		return
	case kindOnOff:
		if _, ok := p.parseOnOff(d); !ok {
			return
		}
	case kindTime:
		if _, ok := p.parseTime(d, false); !ok {
			return
		}
	case kindBytes:
		if _, ok := p.parseSize(d, unitBytes); !ok {
			return
		}
	case kindKB:
		if _, ok := p.parseSize(d, unitKB); !ok {
			return
		}
	case kindKeyedAccess:
		if _, ok := d.sc.next(); !ok {
			p.error(d, errMissingValue)
			return
		}
		if _, ok := p.parseAccessRule(d); !ok {
			return
		}
	case kindAccess:
		if _, ok := p.parseAccessRule(d); !ok {
			return
		}
	}
	switch {
	case info.kind == kindSquid6:
		p.notef(d.pos, "directive '%s' (Squid 6) is accepted but not applied by cuttle", d.name)
	case info.alias != "":
		p.notef(d.pos, "directive '%s' (old name of '%s') is accepted but not applied by cuttle", d.name, name)
	default:
		p.notef(d.pos, "directive '%s' is accepted but not applied by cuttle", d.name)
	}
}
