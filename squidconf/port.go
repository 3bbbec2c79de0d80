package squidconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
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
	if err := p.resolveListenHost(addr); err != nil {
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
		if err := p.checkCert(hp.Certs[i]); err != nil {
			p.error(d, err)
			return
		}
	}
	if len(hp.Certs) > 0 {
		// Squid loads the client CAs only for a port with a TLS context.
		if file, ok := clientCAFile(hp.Options); ok {
			if err := p.checkClientCA(file); err != nil {
				p.error(d, err)
				return
			}
			p.notice(d, "Squid's GnuTLS builds (Debian's) cannot load tls-clientca= and refuse the port; the OpenSSL builds accept it")
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
			p.warn(d, "vhost option is deprecated. Use 'accel' mode flag instead.")
		}
		hp.Accel, hp.Vhost = true, true
	case opt == "no-vhost":
		if !hp.Accel {
			p.warn(d, "no-vhost option requires Acceleration mode flag")
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
			p.warn(d, "act-as-origin option requires Acceleration mode flag")
		}
		hp.ActAsOrigin = true
	case opt == "ignore-cc":
		hp.IgnoreCC = true
	case name == "name" && hasValue:
		hp.Name = value
	case (name == "tls-cert" || name == "cert") && hasValue:
		hp.Certs = append(hp.Certs, TLSCert{CertFile: value})
		p.noteOpenSSLOption(d, name)
	case (name == "tls-key" || name == "key") && hasValue:
		// A second key for the same certificate replaces the first.
		if len(hp.Certs) == 0 {
			return fmt.Errorf("%s= option must follow a tls-cert= option", name)
		}
		hp.Certs[len(hp.Certs)-1].KeyFile = value
		p.noteOpenSSLOption(d, name)
	case opt == "ssl-bump" || name == "generate-host-certificates":
		return fmt.Errorf("unknown %s option '%s': it needs Squid's OpenSSL build with SSL-Bump, which an accelerator does not use", kind, opt)
	case name == "dynamic_cert_mem_cache_size" && hasValue:
		p.warn(d, "option '%s' has no effect without generate-host-certificates (SSL-Bump); ignored", opt)
	case opt == "require-proxy-header" && hp.TLS:
		return fmt.Errorf("require-proxy-header option is not supported on HTTPS ports")
	case isPortOption(opt):
		p.noteOpenSSLOption(d, name)
	default:
		return fmt.Errorf("unknown %s option '%s'", kind, opt)
	}
	return nil
}

// noteOpenSSLOption gives a notice for an option that only Squid's OpenSSL
// builds accept: the GnuTLS builds (Debian's and Ubuntu's) refuse it as
// unknown, so the line would stop them.
func (p *parser) noteOpenSSLOption(d *directive, name string) {
	tlsName, ok := map[string]string{
		"cert": "tls-cert", "key": "tls-key", "cipher": "tls-cipher", "options": "tls-options",
		"clientca": "tls-clientca", "cafile": "tls-cafile", "capath": "tls-capath",
		"crlfile": "tls-crlfile", "dhparams": "tls-dh", "sslflags": "tls-flags",
		"sslcontext": "tls-context", "version": "tls-min-version",
	}[name]
	if ok {
		p.notice(d, "option '%s=' is the OpenSSL builds' name, which Squid's GnuTLS builds (Debian's) refuse; '%s=' works in both", name, tlsName)
	}
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

// resolveListenHost checks that the host of a listening address resolves,
// as Squid does when it reads http_port and https_port: "ip_of_squid:443"
// is fatal there. IP addresses and an empty host are not looked up.
func (p *parser) resolveListenHost(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" || net.ParseIP(host) != nil {
		return nil
	}
	addrs, err := p.opts.lookupHost(host)
	if err != nil {
		return fmt.Errorf("failed to resolve Host/IP: %s (%v)", host, lookupFailure(err))
	}
	if len(addrs) == 0 {
		return fmt.Errorf("failed to resolve Host/IP: %s (no addresses)", host)
	}
	return nil
}

// lookupFailure shortens the error of a failed host name lookup to its
// reason ("no such host").
func lookupFailure(err error) error {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return errors.New(dnsErr.Err)
	}
	return err
}

// checkCert loads a certificate and its key as Squid does when it opens
// the port: both files must exist and hold PEM data, the certificate file
// a certificate, the key file a private key that matches it.
func (p *parser) checkCert(c TLSCert) error {
	certPEM, err := p.opts.readFile(c.CertFile)
	if err != nil {
		return fmt.Errorf("unable to load certificate file '%s': %v", c.CertFile, unwrapPathError(err))
	}
	keyPEM := certPEM
	if c.KeyFile != c.CertFile {
		keyPEM, err = p.opts.readFile(c.KeyFile)
		if err != nil {
			return fmt.Errorf("unable to load private key file '%s': %v", c.KeyFile, unwrapPathError(err))
		}
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		msg := strings.TrimPrefix(err.Error(), "tls: ")
		if c.KeyFile == c.CertFile {
			return fmt.Errorf("certificate '%s' (holding its key too, as no tls-key= follows): %s", c.CertFile, msg)
		}
		return fmt.Errorf("certificate '%s' with key '%s': %s", c.CertFile, c.KeyFile, msg)
	}
	return nil
}

// clientCAFile returns the file of the last tls-clientca= (or OpenSSL
// clientca=) option of a port.
func clientCAFile(opts []string) (file string, ok bool) {
	for _, opt := range opts {
		name, value, hasValue := strings.Cut(opt, "=")
		if hasValue && (name == "tls-clientca" || name == "clientca") {
			file, ok = value, true
		}
	}
	return file, ok
}

// checkClientCA loads the tls-clientca= file of a port as Squid does when
// it opens the port: it must hold PEM certificates, and each must be a CA
// certificate (a certificate whose basic constraints say it is not a CA
// can never verify a client).
func (p *parser) checkClientCA(file string) error {
	data, err := p.opts.readFile(file)
	if err != nil {
		return fmt.Errorf("unable to read client CAs from file '%s': %v", file, unwrapPathError(err))
	}
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fmt.Errorf("unable to read client CAs from file '%s': %v", file, strings.TrimPrefix(err.Error(), "x509: "))
		}
		if cert.BasicConstraintsValid && !cert.IsCA {
			return fmt.Errorf("client CA file '%s' holds a certificate that is not a CA: %s", file, cert.Subject)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("unable to read client CAs from file '%s': no PEM certificate in it", file)
	}
	return nil
}
