package squidconf

import (
	"fmt"
	"strconv"
	"strings"
)

// The % codes of Squid 5.7's logformat (squid.conf.documented, logformat;
// src/format/Token.cc), which request_header_add, reply_header_add and
// adaptation_meta values in quotes use too. Squid matches a code by
// prefix, trying the tables in this order and each table top to bottom,
// so the order of the entries matters ("SRCPORT" before "SRC", ">ha"
// before ">h"): whatever follows the matched prefix is literal text, so
// "%tsX" is %ts then "X".

// formatCode is one entry of a code table.
type formatCode struct {
	name string
	arg  codeArg // how an {arg} of the code is checked
}

// codeArg says what Squid requires of a code's {arg}.
type codeArg uint8

const (
	argAny           codeArg = iota // anything, or nothing
	argHeader                       // name[:[separator]element]; the name must not be empty
	argNote                         // name[:separator]; the name must not be empty
	argProxyProtocol                // a TLV type 0-255 or a pseudo header (":src_addr")
)

// codesMisc are the long codes, tried first (Squid's TokenTableMisc,
// including the legacy external_acl_type codes).
var codesMisc = []formatCode{
	{">eui", argAny}, {">qos", argAny}, {"<qos", argAny}, {">nfmark", argAny}, {"<nfmark", argAny},
	{">handshake", argAny}, {"err_code", argAny}, {"err_detail", argAny}, {"note", argNote},
	{"credentials", argAny}, {"master_xaction", argAny},
	{"ACL", argAny}, {"DATA", argAny}, {"DST", argAny}, {"EXT_LOG", argAny}, {"EXT_TAG", argAny},
	{"EXT_USER", argAny}, {"IDENT", argAny}, {"LOGIN", argAny}, {"METHOD", argAny}, {"MYADDR", argAny},
	{"MYPORT", argAny}, {"PATH", argAny}, {"PORT", argAny}, {"PROTO", argAny}, {"SRCEUI48", argAny},
	{"SRCEUI64", argAny}, {"SRCPORT", argAny}, {"SRC", argAny}, {"TAG", argAny}, {"URI", argAny},
}

// codes2C are the two-letter codes with their direction prefixes
// (Squid's TokenTable2C).
var codes2C = []formatCode{
	{">la", argAny}, {"la", argAny}, {">lp", argAny}, {"lp", argAny}, {"<la", argAny}, {"oa", argAny},
	{"<lp", argAny}, {"ts", argAny}, {"tu", argAny}, {"tl", argAny}, {"tg", argAny}, {"tS", argAny},
	{"tr", argAny}, {"<pt", argAny}, {"<tt", argAny}, {"dt", argAny}, {">ha", argHeader},
	{"un", argAny}, {"ul", argAny}, {"ui", argAny}, {"ue", argAny}, {"Hs", argAny}, {">Hs", argAny},
	{"<Hs", argAny}, {"<bs", argAny}, {"Ss", argAny}, {"Sh", argAny}, {"mt", argAny},
	{">rm", argAny}, {">ru", argAny}, {">rs", argAny}, {">rd", argAny}, {">rP", argAny},
	{">rp", argAny}, {">rv", argAny}, {"rm", argAny}, {"ru", argAny}, {"rp", argAny}, {"rv", argAny},
	{"rG", argAny}, {"<rm", argAny}, {"<ru", argAny}, {"<rs", argAny}, {"<rd", argAny},
	{"<rP", argAny}, {"<rp", argAny}, {"<rv", argAny}, {">st", argAny}, {">sh", argAny},
	{"<st", argAny}, {"<sH", argAny}, {"<sS", argAny}, {"<sh", argAny}, {"st", argAny},
	{"et", argAny}, {"ea", argAny}, {"sn", argAny},
}

// codes1C are the one-letter codes (Squid's TokenTable1C); "%%" is a
// literal percent sign.
var codes1C = []formatCode{
	{">a", argAny}, {">p", argAny}, {">A", argAny}, {"<a", argAny}, {"<p", argAny}, {"<A", argAny},
	{">h", argHeader}, {"<h", argHeader}, {">v", argAny}, {"%", argAny},
}

// codeNamespace is a family of codes written "prefix::code".
type codeNamespace struct {
	prefix string
	codes  []formatCode
	// openSSL marks the namespaces only Squid's OpenSSL builds register:
	// the GnuTLS builds (Debian's) refuse their codes.
	openSSL bool
}

// codeNamespaces are the namespaces of Squid 5.7, in its order.
var codeNamespaces = []codeNamespace{
	{prefix: "adapt", codes: []formatCode{{"all_trs", argAny}, {"sum_trs", argAny}, {"<last_h", argHeader}}},
	{prefix: "icap", codes: []formatCode{
		{"tt", argAny}, {"<last_h", argHeader}, {"<A", argAny}, {"<service_name", argAny},
		{"ru", argAny}, {"rm", argAny}, {">st", argAny}, {"<st", argAny}, {"<bs", argAny},
		{">h", argHeader}, {"<h", argHeader}, {"tr", argAny}, {"tio", argAny}, {"to", argAny},
		{"Hs", argAny},
	}},
	{prefix: "tls", codes: codesTLS, openSSL: true},
	{prefix: "ssl", codes: codesTLS, openSSL: true},
	{prefix: "proxy_protocol", codes: []formatCode{{">h", argProxyProtocol}}},
	{prefix: "transport", codes: []formatCode{{">connection_id", argAny}}},
}

// codesTLS are the ssl:: (and tls::) codes of the OpenSSL builds.
var codesTLS = []formatCode{
	{"bump_mode", argAny}, {">cert_subject", argAny}, {">cert_issuer", argAny}, {">sni", argAny},
	{"<cert_subject", argAny}, {"<cert_issuer", argAny}, {"<cert_errors", argAny}, {"<cert", argAny},
	{">negotiated_version", argAny}, {"<negotiated_version", argAny},
	{">negotiated_cipher", argAny}, {"<negotiated_cipher", argAny},
	{">received_hello_version", argAny}, {"<received_hello_version", argAny},
	{">received_supported_version", argAny}, {"<received_supported_version", argAny},
}

// proxyProtocolPseudoHeaders are the PROXY protocol header blocks that
// %proxy_protocol::>h names with a leading colon.
var proxyProtocolPseudoHeaders = map[string]bool{
	":command": true, ":version": true, ":src_addr": true, ":dst_addr": true,
	":src_port": true, ":dst_port": true,
}

// formatScan is what scanFormat found besides errors.
type formatScan struct {
	// openSSL lists the codes only Squid's OpenSSL builds know.
	openSSL []string
}

// scanFormat checks the % codes of a logformat format as Squid 5.7 does
// when it compiles the format: each code is
//
//	% [encoding] [-] [[0]width] [.precision] [{arg}] code [{arg}]
//
// with encoding one of " [ # / ', and a code from the tables above
// (optionally written http::code). An unknown code, a '%' without a
// code, and the {arg}s Squid refuses are errors naming the code and its
// byte offset in format.
func scanFormat(format string) (formatScan, error) {
	var res formatScan
	i := 0
	for {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			return res, nil
		}
		start := i + j
		i = start + 1
		if i < len(format) && strings.IndexByte("\"'[#/", format[i]) >= 0 {
			i++
		}
		if i < len(format) && format[i] == '-' {
			i++
		}
		if i < len(format) && format[i] == '0' {
			i++
		}
		i = skipDigits(format, i)
		if i < len(format) && format[i] == '.' {
			// Squid steps over the '.' whether or not digits follow.
			i = skipDigits(format, i+1)
		}
		arg, hasArg := "", false
		if i < len(format) && format[i] == '{' {
			arg, i = formatArg(format, i)
			hasArg = true
		}
		code, openSSL, n := lookupFormatCode(format[i:])
		if n == 0 {
			return res, fmt.Errorf("unknown %%code '%s' at offset %d of the format", codeText(format, start, i), start)
		}
		i += n
		if openSSL {
			res.openSSL = append(res.openSSL, format[start:i])
		}
		if !hasArg && i < len(format) && format[i] == '{' {
			arg, i = formatArg(format, i)
			hasArg = true
		}
		if hasArg {
			if err := checkCodeArg(code, arg); err != nil {
				return res, fmt.Errorf("%%code '%s' at offset %d of the format: %v", format[start:i], start, err)
			}
		}
	}
}

// skipDigits returns the index of the first non-digit of s at or after i.
func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// formatArg reads the {arg} at s[i]; an unclosed brace takes the rest.
func formatArg(s string, i int) (arg string, next int) {
	end := strings.IndexByte(s[i+1:], '}')
	if end < 0 {
		return s[i+1:], len(s)
	}
	return s[i+1 : i+1+end], i + end + 2
}

// codeText is the text an unknown code is reported as: from its '%' to
// the next space or '%' (at least one character after what was read).
func codeText(format string, start, i int) string {
	end := i
	for end < len(format) && format[end] != ' ' && format[end] != '\t' && format[end] != '%' {
		end++
	}
	if end == start+1 {
		return "%"
	}
	return format[start:end]
}

// lookupFormatCode finds the code that s begins with, as Squid does:
// the namespaces first, then (after an optional "http::") the long, two-
// and one-letter codes. n is the length of what matched, 0 for none.
func lookupFormatCode(s string) (code formatCode, openSSL bool, n int) {
	for _, ns := range codeNamespaces {
		rest, ok := strings.CutPrefix(s, ns.prefix+"::")
		if !ok {
			continue
		}
		if c, ok := matchCode(ns.codes, rest); ok {
			return c, ns.openSSL, len(s) - len(rest) + len(c.name)
		}
	}
	skip := 0
	if strings.HasPrefix(s, "http::") && !strings.HasPrefix(s, "http::%") {
		skip = len("http::")
	}
	for _, table := range [][]formatCode{codesMisc, codes2C, codes1C} {
		if c, ok := matchCode(table, s[skip:]); ok {
			return c, false, skip + len(c.name)
		}
	}
	return formatCode{}, false, 0
}

// matchCode returns the first code of table that s begins with.
func matchCode(table []formatCode, s string) (formatCode, bool) {
	for _, c := range table {
		if strings.HasPrefix(s, c.name) {
			return c, true
		}
	}
	return formatCode{}, false
}

// checkCodeArg checks the {arg} of a code as Squid does.
func checkCodeArg(c formatCode, arg string) error {
	switch c.arg {
	case argHeader, argNote:
		name, _, _ := strings.Cut(arg, ":")
		if name == "" {
			return fmt.Errorf("missing %s name in {%s}", map[codeArg]string{argHeader: "header", argNote: "annotation"}[c.arg], arg)
		}
	case argProxyProtocol:
		if rest, ok := strings.CutPrefix(arg, ":"); ok {
			name, _, _ := strings.Cut(rest, ":")
			if !proxyProtocolPseudoHeaders[":"+name] {
				return fmt.Errorf("unknown PROXY protocol pseudo header ':%s'", name)
			}
			return nil
		}
		name, _, _ := strings.Cut(arg, ":")
		if n, err := strconv.Atoi(name); err != nil || n < 0 || n > 255 || name[0] == '+' {
			return fmt.Errorf("PROXY protocol TLV type '%s' is not a number from 0 to 255", name)
		}
	}
	return nil
}

// checkFormat checks the %codes of a format of d, reporting an error
// (false) as Squid refuses the line, and a notice for codes only Squid's
// OpenSSL builds know.
func (p *parser) checkFormat(d *directive, format string) bool {
	res, err := scanFormat(format)
	if err != nil {
		p.error(d, err)
		return false
	}
	for _, code := range res.openSSL {
		p.notice(d, "%%code '%s' is known only to Squid's OpenSSL builds; the GnuTLS builds (Debian's) refuse it", code)
	}
	return true
}
