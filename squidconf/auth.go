package squidconf

import (
	"strconv"
	"strings"
	"time"
)

// Squid's defaults for auth_param (squid.conf.documented, auth_param).
const (
	defaultAuthChildren       = 20
	defaultBasicRealm         = "Squid proxy-caching web server"
	defaultBasicCredentialTTL = 2 * time.Hour
)

// AuthScheme is the auth_param lines of one authentication scheme
// (squid.conf auth_param). cuttle supports basic; digest, ntlm and
// negotiate are checked as Squid checks them and reported.
type AuthScheme struct {
	// Pos is the first auth_param line of the scheme.
	Pos Pos

	// Scheme is basic, digest, ntlm or negotiate.
	Scheme string

	// Program is the helper command line (program); the scheme is not
	// used while it is nil.
	Program []string

	// Children is the maximum number of helper processes (default 20);
	// ChildrenOptions holds the startup=, idle=, concurrency=,
	// queue-size=, on-persistent-overload= and reservation-timeout=
	// options of the children line as written.
	Children        int
	ChildrenOptions []string

	// Realm is realm, the protection scope shown to users (basic default
	// "Squid proxy-caching web server"; digest has no default).
	Realm string

	// KeyExtras is key_extras, a format added to the helper requests.
	KeyExtras string

	// KeepAlive is keep_alive (default on); UTF8 is utf8 (default off).
	KeepAlive, UTF8 bool

	// CredentialsTTL is the basic credentialsttl (default 2 hours) and
	// CaseSensitive the basic casesensitive (default off).
	CredentialsTTL time.Duration
	CaseSensitive  bool

	// Options holds the digest parameters (nonce_garbage_interval,
	// nonce_max_duration, nonce_max_count, nonce_strictness,
	// check_nonce_count, post_workaround) as "name value", in order.
	Options []string
}

// active reports whether Squid counts the scheme as fully configured: a
// program, and a realm for the schemes that send one.
func (a *AuthScheme) active() bool {
	if len(a.Program) == 0 || a.Children < 1 {
		return false
	}
	return a.Realm != "" || a.Scheme == "ntlm" || a.Scheme == "negotiate"
}

// authActive reports whether some auth_param scheme is fully configured,
// which proxy_auth ACLs need.
func (p *parser) authActive() bool {
	for i := range p.cfg.AuthSchemes {
		if p.cfg.AuthSchemes[i].active() {
			return true
		}
	}
	return false
}

// parseAuthParam parses "auth_param scheme parameter [setting]" as
// Squid's parse_authparam and the schemes' parse methods do. An unknown
// scheme is fatal, an unknown parameter is not.
func (p *parser) parseAuthParam(d *directive) {
	scheme, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing authentication scheme")
		return
	}
	switch scheme {
	case "basic", "digest", "ntlm", "negotiate":
	default:
		p.errorf(d, "unknown authentication scheme '%s' (expecting basic, digest, ntlm or negotiate)", scheme)
		return
	}
	param, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing %s auth scheme parameter", scheme)
		return
	}
	a := p.authScheme(d, scheme)
	s := *a
	if !p.authParameter(d, &s, param) {
		return
	}
	*a = s
}

// authScheme returns the settings of scheme, adding them with Squid's
// defaults at its first line.
func (p *parser) authScheme(d *directive, scheme string) *AuthScheme {
	for i := range p.cfg.AuthSchemes {
		if p.cfg.AuthSchemes[i].Scheme == scheme {
			return &p.cfg.AuthSchemes[i]
		}
	}
	if scheme != "basic" {
		p.warn(d, "cuttle does not support the %s authentication scheme; its auth_param lines are checked but not applied", scheme)
	}
	a := AuthScheme{Pos: d.pos, Scheme: scheme, Children: defaultAuthChildren, KeepAlive: true}
	if scheme == "basic" {
		a.Realm = defaultBasicRealm
		a.CredentialsTTL = defaultBasicCredentialTTL
	}
	p.cfg.AuthSchemes = append(p.cfg.AuthSchemes, a)
	return &p.cfg.AuthSchemes[len(p.cfg.AuthSchemes)-1]
}

// authParameter applies one parameter line to a.
func (p *parser) authParameter(d *directive, a *AuthScheme, param string) bool {
	switch {
	case param == "program":
		var prog []string
		for {
			tok, _, ok := nextQuotedToken(d.sc)
			if !ok {
				break
			}
			prog = append(prog, tok)
		}
		if len(prog) == 0 {
			p.errorf(d, "missing %s auth program", a.Scheme)
			return false
		}
		a.Program = prog
	case param == "children":
		return p.authChildren(d, a)
	case param == "realm":
		realm, ok := p.restOfLine(d)
		if !ok {
			return false
		}
		if realm == "" {
			p.errorf(d, "missing auth_param %s realm", a.Scheme)
			return false
		}
		a.Realm = realm
	case param == "key_extras":
		tok, _, ok := nextQuotedToken(d.sc)
		if !ok {
			p.errorf(d, "missing key_extras format")
			return false
		}
		if extra := d.sc.remaining(); len(extra) > 0 {
			// Squid means to refuse them, but its check never fires.
			p.warn(d, "ignoring %s after the key_extras format", strings.Join(extra, " "))
		}
		a.KeyExtras = tok
	case param == "keep_alive":
		v, ok := p.parseOnOff(d)
		if !ok {
			return false
		}
		a.KeepAlive = v
	case param == "utf8":
		v, ok := p.parseOnOff(d)
		if !ok {
			return false
		}
		a.UTF8 = v
	case a.Scheme == "basic" && param == "credentialsttl":
		v, ok := p.parseSeconds(d)
		if !ok {
			return false
		}
		a.CredentialsTTL = v
	case a.Scheme == "basic" && param == "casesensitive":
		v, ok := p.parseOnOff(d)
		if !ok {
			return false
		}
		a.CaseSensitive = v
	case a.Scheme == "digest" && (param == "nonce_garbage_interval" || param == "nonce_max_duration"):
		v, ok := p.parseSeconds(d)
		if !ok {
			return false
		}
		a.Options = append(a.Options, param+" "+v.String())
	case a.Scheme == "digest" && param == "nonce_max_count":
		n, ok := p.parseInteger(d)
		if !ok {
			return false
		}
		a.Options = append(a.Options, param+" "+strconv.Itoa(n))
	case a.Scheme == "digest" && (param == "nonce_strictness" || param == "check_nonce_count" || param == "post_workaround"):
		v, ok := p.parseOnOff(d)
		if !ok {
			return false
		}
		a.Options = append(a.Options, param+" "+onOffString(v))
	default:
		// Squid prints a message and goes on.
		p.warn(d, "unrecognised %s auth scheme parameter '%s'; ignored", a.Scheme, param)
	}
	return true
}

// authChildren parses "children N [option ...]" as Squid's
// Helper::ChildConfig::parseConfig does.
func (p *parser) authChildren(d *directive, a *AuthScheme) bool {
	tok, ok := d.sc.next()
	if !ok {
		p.error(d, errMissingValue)
		return false
	}
	n, err := parseInt(tok)
	switch {
	case err != nil || n < 0:
		p.errorf(d, "invalid number of children '%s'", tok)
		return false
	case n < 1:
		p.errorf(d, "the maximum number of processes cannot be less than 1")
		return false
	}
	var opts []string
	for {
		opt, ok := d.sc.next()
		if !ok {
			break
		}
		name, value, _ := strings.Cut(opt, "=")
		switch name {
		case "startup", "idle", "concurrency", "queue-size", "reservation-timeout":
			v, err := parseInt(value)
			if err != nil || v < 0 || !strings.Contains(opt, "=") {
				p.errorf(d, "invalid value in children option '%s'", opt)
				return false
			}
			switch {
			case name == "idle" && v < 1:
				p.warn(d, "idle=0 makes helper requests fail; using idle=1")
			case (name == "startup" || name == "idle") && v > n:
				p.warn(d, "capping %s=%d to the maximum number of children (%d)", name, v, n)
			}
		case "on-persistent-overload":
			if value != "ERR" && value != "die" {
				p.errorf(d, "unsupported on-persistent-overload action '%s' (expecting ERR or die)", value)
				return false
			}
		default:
			p.errorf(d, "undefined children option '%s'", opt)
			return false
		}
		opts = append(opts, opt)
	}
	a.Children, a.ChildrenOptions = n, opts
	return true
}

// onOffString formats a boolean as squid.conf writes it.
func onOffString(v bool) string {
	if v {
		return "on"
	}
	return "off"
}
