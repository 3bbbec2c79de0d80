package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"cuttle/httpcache"
	"cuttle/squidconf"
)

// The https_port lines (squid.conf https_port ... accel) terminate TLS
// with crypto/tls. A line becomes a listener whose tls field holds the
// port's tls.Config, built with its certificates loaded each time the
// configuration is read (at start and on -k reconfigure): a certificate or
// key that cannot be loaded is an error, so a reload with a broken one is
// refused and the previous certificates keep serving.
//
// The OpenSSL-style options Squid takes are mapped where Go has an
// equivalent; the others are reported once, when the configuration is
// read, as not applied. Beyond Squid, HTTP/2 is offered by ALPN.

// appendHTTPSListeners adds a listener for each https_port line of cfg to
// ls, writing what it does not apply to w and appending errors to errs.
func appendHTTPSListeners(ls []listener, cfg *squidconf.Config, w io.Writer, errs []error) ([]listener, []error) {
	for _, p := range cfg.HTTPSPorts {
		if !p.Accel {
			fmt.Fprintf(w, "%s: https_port without accel: cuttle is an accelerator only; serving it as 'accel vhost'\n", p.Pos)
			p.Vhost = true
		}
		_, portStr, err := net.SplitHostPort(p.Addr)
		n, err2 := strconv.Atoi(portStr)
		if err != nil || err2 != nil {
			errs = append(errs, fmt.Errorf("%s: https_port: invalid address %q", p.Pos, p.Addr))
			continue
		}
		config, err := tlsConfig(p, func(format string, args ...any) {
			fmt.Fprintf(w, "%s: https_port %s: %s\n", p.Pos, p.Spec, fmt.Sprintf(format, args...))
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: https_port %s: %w", p.Pos, p.Spec, err))
			continue
		}
		ls = append(ls, listener{addr: p.Addr, tls: config, port: httpcache.Port{
			Name:        p.Name,
			Scheme:      p.Protocol, // "https" unless protocol= says otherwise
			DefaultSite: p.DefaultSite,
			Vhost:       p.Vhost,
			Vport:       p.Vport,
			ListenPort:  n,
		}})
	}
	return ls, errs
}

// TLS protocol versions in the order of tlsVersions' indexes.
var tlsVersionIDs = [...]uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// tlsVersions is the set of TLS versions a port accepts, by index in
// tlsVersionIDs (1.0, 1.1, 1.2, 1.3).
type tlsVersions [len(tlsVersionIDs)]bool

// tlsConfig builds the tls.Config of an https_port: its certificates
// (several are chosen by SNI), its versions, cipher suites and flags.
// Options it cannot apply are passed to note.
func tlsConfig(p squidconf.HTTPPort, note func(string, ...any)) (*tls.Config, error) {
	if len(p.Certs) == 0 {
		return nil, errors.New("no tls-cert= option")
	}
	config := &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	for _, c := range p.Certs {
		cert, err := loadCertificate(c)
		if err != nil {
			return nil, err
		}
		// With several certificates crypto/tls sends the first one whose
		// names match the client's SNI, and the first one when none does
		// or the client sent no SNI (as Squid's GnuTLS builds do with
		// several tls-cert=).
		config.Certificates = append(config.Certificates, cert)
	}

	// Go's servers accept TLS 1.2 and 1.3 unless told otherwise; Squid
	// accepts 1.0 and up (tls-min-version=1.0 is its default). cuttle keeps
	// Go's floor, and tls-min-version= lowers it.
	minVersion := 2
	var disabled tlsVersions
	var clientCA, caFiles []string
	delayedAuth := false
	for _, opt := range p.Options {
		name, value, _ := strings.Cut(opt, "=")
		switch strings.TrimPrefix(name, "tls-") {
		case "cert", "key":
			// Loaded above.
		case "min-version":
			v, ok := parseMinVersion(value)
			if !ok {
				return nil, fmt.Errorf("%s: unsupported TLS version %q (1.0, 1.1, 1.2 or 1.3)", opt, value)
			}
			minVersion = v
		case "options":
			d, ticketsOff, notApplied := parseTLSOptions(value)
			for i := range d {
				disabled[i] = disabled[i] || d[i]
			}
			config.SessionTicketsDisabled = config.SessionTicketsDisabled || ticketsOff
			if len(notApplied) > 0 {
				note("%s: %s not applied (OpenSSL bug workarounds and flags that Go's TLS has no switch for)", opt, strings.Join(notApplied, ", "))
			}
		case "cipher":
			suites, notes := parseCipherList(value)
			config.CipherSuites = suites
			for _, n := range notes {
				note("%s: %s", opt, n)
			}
		case "dh", "dhparams":
			note("%s: not used: Go's TLS never uses finite-field DH parameters; ECDHE (X25519, P-256 ...) does the key exchange", opt)
		case "flags", "sslflags":
			for f := range strings.FieldsFuncSeq(value, isOptionSep) {
				switch f {
				case "NO_SESSION_REUSE":
					config.SessionTicketsDisabled = true
				case "DELAYED_AUTH":
					delayedAuth = true
				default:
					note("%s: flag %s not applied", opt, f)
				}
			}
		case "clientca":
			clientCA = append(clientCA, value)
		case "cafile":
			caFiles = append(caFiles, value)
		case "no-npn":
			// Squid advertises nothing then: only HTTP/1.1 is spoken.
			config.NextProtos = []string{"http/1.1"}
		default:
			if name == "version" || strings.HasPrefix(name, "tls-") || slices.Contains([]string{"capath", "crlfile", "sslcontext"}, name) {
				note("option %s not applied", opt)
			}
		}
	}

	var allowed tlsVersions
	for i := range allowed {
		allowed[i] = i >= minVersion && !disabled[i]
	}
	lo, hi, gap, ok := versionRange(allowed)
	if !ok {
		return nil, errors.New("tls-min-version= and options= leave no TLS version to accept")
	}
	if gap {
		note("options= leave a gap between TLS versions: as with OpenSSL, the versions above it are disabled too; TLS %s to %s are accepted", versionName(lo), versionName(hi))
	}
	config.MinVersion, config.MaxVersion = tlsVersionIDs[lo], tlsVersionIDs[hi]

	// Client certificates: Squid requests one when clientca= is set, and
	// refuses a client without a valid one (unless DELAYED_AUTH, which
	// requests none). tls-cafile= holds the CAs that verify it; without
	// it the clientca= CAs do.
	if len(clientCA) > 0 && !delayedAuth {
		files := caFiles
		if len(files) == 0 {
			files = clientCA
		}
		pool := x509.NewCertPool()
		for _, f := range files {
			if err := addCAFile(pool, f); err != nil {
				return nil, err
			}
		}
		config.ClientCAs = pool
		config.ClientAuth = tls.RequireAndVerifyClientCert
	}

	// HTTP/2 needs TLS 1.3 or an ECDHE suite with an AEAD cipher
	// (RFC 9113, Section 9.2.2); a cipher= list without one keeps to
	// HTTP/1.1 rather than fail the clients that pick h2.
	if hi < 3 && config.CipherSuites != nil && !slices.ContainsFunc(config.CipherSuites, h2Suite) && slices.Contains(config.NextProtos, "h2") {
		config.NextProtos = []string{"http/1.1"}
		note("cipher= leaves no suite HTTP/2 allows (ECDHE with AES-GCM or ChaCha20-Poly1305): HTTP/2 is not offered")
	}
	return config, nil
}

// loadCertificate loads a tls-cert= file and its tls-key= (the same file
// when no tls-key= follows, as in Squid).
func loadCertificate(c squidconf.TLSCert) (tls.Certificate, error) {
	keyFile := c.KeyFile
	if keyFile == "" {
		keyFile = c.CertFile
	}
	certPEM, err := os.ReadFile(c.CertFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls-cert=%s: %w", c.CertFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls-key=%s: %w", keyFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls-cert=%s with key %s: %w", c.CertFile, keyFile, err)
	}
	return cert, nil
}

// addCAFile adds the PEM certificates of file to pool.
func addCAFile(pool *x509.CertPool, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("client CAs: %w", err)
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
			return fmt.Errorf("client CAs in %s: %w", file, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return fmt.Errorf("client CAs: no PEM certificate in %s", file)
	}
	return nil
}

// parseMinVersion parses tls-min-version= ("1.0" to "1.3") into an index
// of tlsVersionIDs.
func parseMinVersion(s string) (int, bool) {
	i := slices.Index([]string{"1.0", "1.1", "1.2", "1.3"}, s)
	return i, i >= 0
}

// versionName names the TLS version at index i of tlsVersionIDs.
func versionName(i int) string { return "1." + strconv.Itoa(i) }

// versionRange returns the lowest run of consecutive allowed versions,
// as OpenSSL does with its SSL_OP_NO_* options: a disabled version
// disables the ones above it when some below it are enabled (crypto/tls
// too takes a range, not a set). gap reports that a higher version was
// allowed but is left out; ok is false when none is allowed.
func versionRange(allowed tlsVersions) (lo, hi int, gap, ok bool) {
	lo = slices.Index(allowed[:], true)
	if lo < 0 {
		return 0, 0, false, false
	}
	hi = lo
	for hi+1 < len(allowed) && allowed[hi+1] {
		hi++
	}
	return lo, hi, slices.Contains(allowed[hi+1:], true), true
}

// isOptionSep separates the words of options= and sslflags= (Squid takes
// colons, commas and spaces).
func isOptionSep(r rune) bool { return r == ':' || r == ',' || r == ' ' }

// parseTLSOptions reads an options= (tls-options=) value: OpenSSL's
// option names (NO_TLSv1 ...), each optionally prefixed with + or -, as
// Squid's OpenSSL builds take them, or the GnuTLS priority words Squid's
// GnuTLS builds pass on (-VERS-TLS1.0, %NO_TICKETS). It returns the
// versions disabled, whether session tickets are off, and the words it
// does not apply.
func parseTLSOptions(value string) (disabled tlsVersions, ticketsOff bool, notApplied []string) {
	for word := range strings.FieldsFuncSeq(value, isOptionSep) {
		clear := strings.HasPrefix(word, "-") && !strings.HasPrefix(word, "-VERS-")
		name := strings.TrimLeft(word, "+")
		if clear {
			name = name[1:]
		}
		switch strings.ToUpper(name) {
		case "NO_TLSV1", "-VERS-TLS1.0":
			disabled[0] = !clear
		case "NO_TLSV1_1", "-VERS-TLS1.1":
			disabled[1] = !clear
		case "NO_TLSV1_2", "-VERS-TLS1.2":
			disabled[2] = !clear
		case "NO_TLSV1_3", "-VERS-TLS1.3":
			disabled[3] = !clear
		case "NO_TICKET", "%NO_TICKETS":
			ticketsOff = !clear
		case "NO_SSLV2", "NO_SSLV3", "-VERS-SSL3.0", "SINGLE_DH_USE", "SINGLE_ECDH_USE",
			"NO_COMPRESSION", "NORMAL", "SECURE128", "SECURE256", "PFS":
			// Already so in Go: no SSL, no compression, a fresh
			// ephemeral key for every handshake.
		default:
			notApplied = append(notApplied, word)
		}
	}
	return disabled, ticketsOff, notApplied
}

// openSSLSuites maps OpenSSL's names of the TLS 1.2 (and older) cipher
// suites crypto/tls implements to their IDs.
var openSSLSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"ECDHE-ECDSA-RC4-SHA":           tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
	"ECDHE-RSA-RC4-SHA":             tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	"RC4-SHA":                       tls.TLS_RSA_WITH_RC4_128_SHA,
}

// goDefaultExclusions are the OpenSSL cipher-string exclusions that Go's
// default suites already satisfy: none of them is offered by default.
var goDefaultExclusions = map[string]bool{
	"aNULL": true, "eNULL": true, "NULL": true, "EXPORT": true, "EXP": true, "LOW": true,
	"DES": true, "3DES": true, "RC4": true, "MD5": true, "PSK": true, "SRP": true, "DSS": true,
	"CAMELLIA": true, "SEED": true, "IDEA": true, "ADH": true, "AECDH": true, "kRSA": true,
	"aDSS": true, "SSLv2": true, "RSAPSK": true, "DHE": true, "EDH": true, "kDHE": true, "kEDH": true,
}

// parseCipherList reads a cipher= (tls-cipher=) value, an OpenSSL cipher
// string: the suites named that crypto/tls implements are used, in
// Go's order of preference (Go picks the suite itself). Keywords (HIGH,
// EECDH+AESGCM ...) add Go's ECDHE suites; "!NAME" and "-NAME" remove a
// suite. With no suite named, Go's defaults stay (nil). The cipher string
// does not apply to TLS 1.3, whose suites Go always chooses. notes says
// what was not applied.
func parseCipherList(value string) (suites []uint16, notes []string) {
	var named, removed []uint16
	var keywords, unknown, ignored []string
	for word := range strings.FieldsFuncSeq(value, isOptionSep) {
		switch {
		case strings.HasPrefix(word, "!") || strings.HasPrefix(word, "-"):
			name := word[1:]
			if id, ok := suiteID(name); ok {
				removed = append(removed, id)
			} else if !goDefaultExclusions[name] {
				ignored = append(ignored, word)
			}
		case strings.HasPrefix(word, "@") || strings.HasPrefix(word, "+"):
			// @STRENGTH, @SECLEVEL=n, +NAME (move to the end): Go orders
			// the suites itself.
		default:
			if id, ok := suiteID(word); ok {
				named = append(named, id)
			} else if strings.HasPrefix(word, "TLS_") {
				// TLS 1.3 suite names; Go always enables all three.
				ignored = append(ignored, word)
			} else if isCipherKeyword(word) {
				keywords = append(keywords, word)
			} else {
				unknown = append(unknown, word)
			}
		}
	}
	if len(keywords) > 0 {
		for _, cs := range tls.CipherSuites() {
			if strings.HasPrefix(cs.Name, "TLS_ECDHE_") && slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
				named = append(named, cs.ID)
			}
		}
		notes = append(notes, fmt.Sprintf("OpenSSL keywords %s stand for Go's ECDHE suites", strings.Join(keywords, ":")))
	}
	for _, id := range named {
		if !slices.Contains(removed, id) && !slices.Contains(suites, id) {
			suites = append(suites, id)
		}
	}
	if len(unknown) > 0 {
		notes = append(notes, fmt.Sprintf("%s: not implemented by Go's TLS, left out", strings.Join(unknown, ":")))
	}
	if len(ignored) > 0 {
		notes = append(notes, fmt.Sprintf("%s not applied", strings.Join(ignored, ":")))
	}
	if len(suites) == 0 {
		if len(named) > 0 || len(unknown) > 0 || len(removed) > 0 {
			notes = append(notes, "no cipher suite left that Go implements: Go's default suites are used")
		}
		return nil, notes
	}
	return suites, notes
}

// suiteID finds a cipher suite by its OpenSSL name or its IANA name (as
// crypto/tls names it).
func suiteID(name string) (uint16, bool) {
	if id, ok := openSSLSuites[name]; ok {
		return id, true
	}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if cs.Name == name && slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			return cs.ID, true
		}
	}
	return 0, false
}

// isCipherKeyword reports whether word looks like an OpenSSL cipher
// string keyword or combination (HIGH, ALL, EECDH+AESGCM, kEECDH) rather
// than a suite name, which has dashes.
func isCipherKeyword(word string) bool {
	return word != "" && !strings.Contains(word, "-")
}

// h2Suite reports whether HTTP/2 may run over TLS 1.2 with suite id: an
// ECDHE key exchange and an AEAD cipher (RFC 9113, Section 9.2.2).
func h2Suite(id uint16) bool {
	switch id {
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return true
	}
	return false
}

// directive names the squid.conf directive of l: http_port or https_port.
func (l listener) directive() string {
	if l.tls != nil {
		return "https_port"
	}
	return "http_port"
}
