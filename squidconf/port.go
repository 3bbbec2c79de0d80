package squidconf

import (
	"fmt"
	"net"
	"strings"
)

// parseHTTPPort parses an http_port or https_port line (squid.conf
// http_port, https_port): "[host:]port [mode] [options]".
func (p *parser) parseHTTPPort(d *directive, tls bool) {
	spec, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing port")
		return
	}
	addr, err := parseListenAddr(spec)
	if err != nil {
		p.error(d, err)
		return
	}
	hp := HTTPPort{Pos: d.pos, Addr: addr, Spec: spec, Name: spec, Protocol: "http", TLS: tls}
	if tls {
		hp.Protocol = "https"
	}
	kind := "http_port"
	if tls {
		kind = "https_port"
	}
	var intercept bool
	for {
		opt, ok := d.sc.next()
		if !ok {
			break
		}
		hp.Options = append(hp.Options, opt)
		if err := p.portOption(d, &hp, &intercept, kind, opt); err != nil {
			p.error(d, err)
			return
		}
	}
	for i := range hp.Certs {
		if hp.Certs[i].KeyFile == "" {
			hp.Certs[i].KeyFile = hp.Certs[i].CertFile
		}
	}
	if tls {
		if len(hp.Certs) == 0 && !intercept {
			p.errorf(d, "https_port requires a tls-cert= option")
			return
		}
		p.cfg.HTTPSPorts = append(p.cfg.HTTPSPorts, hp)
		return
	}
	p.cfg.HTTPPorts = append(p.cfg.HTTPPorts, hp)
}

// portOption applies one http_port option, in order: options that need
// accel mode must come after it, as in Squid.
func (p *parser) portOption(d *directive, hp *HTTPPort, intercept *bool, kind, opt string) error {
	needAccel := func(what string) error {
		if !hp.Accel {
			return fmt.Errorf("%s option requires Acceleration mode flag", what)
		}
		return nil
	}
	name, value, hasValue := strings.Cut(opt, "=")
	switch {
	case opt == "accel":
		if *intercept {
			return fmt.Errorf("accel mode requires its own port; it cannot be combined with intercept or tproxy")
		}
		hp.Accel, hp.Vhost = true, true
	case opt == "intercept" || opt == "transparent" || opt == "tproxy":
		if hp.Accel {
			return fmt.Errorf("%s mode cannot be combined with accel on one port", opt)
		}
		*intercept = true
	case name == "defaultsite" && hasValue:
		if err := needAccel("defaultsite"); err != nil {
			return err
		}
		hp.DefaultSite = value
	case opt == "vhost":
		if !hp.Accel {
			p.notice(d, "vhost option is deprecated. Use 'accel' mode flag instead.")
		}
		hp.Accel, hp.Vhost = true, true
	case opt == "no-vhost":
		if !hp.Accel {
			p.notice(d, "no-vhost option requires Acceleration mode flag")
		}
		hp.Vhost = false
	case opt == "vport":
		if err := needAccel("vport"); err != nil {
			return err
		}
		hp.Vport = -1
	case name == "vport" && hasValue:
		if err := needAccel("vport"); err != nil {
			return err
		}
		n, ok := parsePort(value)
		if !ok {
			return fmt.Errorf("invalid port %q in %s", value, opt)
		}
		hp.Vport = n
	case name == "protocol" && hasValue:
		if !*intercept {
			if err := needAccel("protocol="); err != nil {
				return err
			}
		}
		switch strings.ToUpper(value) {
		case "HTTP", "HTTP/1.1":
			hp.Protocol = "http"
		case "HTTPS", "HTTPS/1.1":
			hp.Protocol = "https"
		case "FTP":
			hp.Protocol = "ftp"
		default:
			return fmt.Errorf("%s does not support protocol=%s", kind, value)
		}
	case opt == "allow-direct":
		if err := needAccel("allow-direct"); err != nil {
			return err
		}
		hp.AllowDirect = true
	case opt == "act-as-origin":
		if !hp.Accel {
			p.notice(d, "act-as-origin option requires Acceleration mode flag")
		}
		hp.ActAsOrigin = true
	case opt == "ignore-cc":
		hp.IgnoreCC = true
	case name == "name" && hasValue:
		hp.Name = value
	case (name == "tls-cert" || name == "cert") && hasValue:
		hp.Certs = append(hp.Certs, TLSCert{CertFile: value})
	case (name == "tls-key" || name == "key") && hasValue:
		if len(hp.Certs) == 0 || hp.Certs[len(hp.Certs)-1].KeyFile != "" {
			return fmt.Errorf("%s= option must follow a tls-cert= option", name)
		}
		hp.Certs[len(hp.Certs)-1].KeyFile = value
	case isPortOption(opt):
	default:
		return fmt.Errorf("unknown %s option '%s'", kind, opt)
	}
	return nil
}

// isPortOption reports whether opt is one of the other options Squid's
// http_port and https_port take (kept as written, not applied).
func isPortOption(opt string) bool {
	name, _, hasValue := strings.Cut(opt, "=")
	if !hasValue {
		switch opt {
		case "require-proxy-header", "worker-queues", "ssl-bump", "connection-auth",
			"tcpkeepalive", "generate-host-certificates", "tls-default-ca", "tls-no-npn",
			"no-connection-auth":
			return true
		}
		return false
	}
	if strings.HasPrefix(name, "tls-") {
		return true
	}
	switch name {
	case "connection-auth", "disable-pmtu-discovery", "tcpkeepalive", "generate-host-certificates",
		"dynamic_cert_mem_cache_size", "cipher", "options", "clientca", "cafile", "capath",
		"crlfile", "dhparams", "sslflags", "sslcontext", "version":
		return true
	}
	return false
}

// parseListenAddr turns an http_port address ("3128", "1.2.3.4:3128",
// "[::1]:3128", "host:3128") into net.Listen form. Host names are kept;
// Squid resolves them when it reads the config.
func parseListenAddr(spec string) (string, error) {
	var host, port string
	switch {
	case strings.HasPrefix(spec, "["):
		end := strings.Index(spec, "]")
		if end < 0 {
			return "", fmt.Errorf("missing ']' on IPv6 address %q", spec)
		}
		host = spec[1:end]
		rest := spec[end+1:]
		if !strings.HasPrefix(rest, ":") {
			return "", fmt.Errorf("missing port in %q", spec)
		}
		port = rest[1:]
		if net.ParseIP(host) == nil || !strings.Contains(host, ":") {
			return "", fmt.Errorf("invalid IPv6 address %q", host)
		}
	case strings.Contains(spec, ":"):
		host, port, _ = strings.Cut(spec, ":")
		if host == "" || !isHostName(host) {
			return "", fmt.Errorf("invalid address %q", spec)
		}
	default:
		if spec[0] < '0' || spec[0] > '9' {
			return "", fmt.Errorf("missing port: %s", spec)
		}
		port = spec
	}
	n, ok := parsePort(port)
	if !ok {
		return "", fmt.Errorf("invalid port %q", port)
	}
	return net.JoinHostPort(host, fmt.Sprint(n)), nil
}
