// Package squidconf reads a Squid squid.conf into plain typed structs for
// cuttle. It owns the lexing (Squid's line rules, macros, if/else/endif,
// include) and the parsing of the directives an accelerator needs; it
// does no I/O beyond reading the config, the files it includes and acl
// "file" lists, and imports only the standard library.
//
// # Lines
//
// The rules are those of Squid 5.7 and 6 (squid.conf.documented, "Values
// with spaces, quotes, and other special characters", and Squid's
// parseOneConfigFile): a physical line is cut at its first CR, leading
// whitespace is dropped, and lines starting with '#' and blank lines are
// skipped, also inside a continued line. A line ending in '\' continues on
// the next one with nothing inserted ("foo\" + "bar" is "foobar"). Then
// ${process_number}, ${process_name} and ${service_name} are replaced
// (see [Options]); "if <cond>", "else" and "endif" select lines (cond is
// true, false or "<integer> = <integer>"); "include pattern ..." reads the
// files matching each glob(3) pattern, 16 levels deep at most. Between
// tokens, a token starting with '#' ends the line, except for the
// arguments Squid reads to the end of the line, such as a logformat.
// A cpp-style `#line N "file"` comment renumbers the lines.
//
// Positions ([Pos]) name the first physical line of a continued line.
// Squid itself reports the last one.
//
// # Directives
//
// The directives cuttle applies are parsed into [Config] fields, with
// Squid's defaults for those not given and Squid's rules for repeated
// lines (the last scalar wins; lists keep their order; acl lines of the
// same name merge). Every other directive name Squid 5 or 6 knows is
// accepted with a notice or a warning (Config.Notices, each with its
// [Severity]), after its value is checked where Squid's type is simple
// (on|off, times, sizes, access lists); obsolete names get a warning, as
// Squid gives them an error message without stopping. A name Squid does
// not know is an error, as are the values Squid refuses ("FATAL: Bungled
// ..."): cuttle reports them as an [ErrorList] of "file:line: directive:
// message" errors and goes on with the next line, up to ten errors.
// [Diagnostics] returns errors, warnings and notices together in file
// order.
//
// The verdict (an error or not) is Squid 5.7's, including the checks
// Squid makes while reading the file and opening its ports: the host
// names of http_port, https_port and src/dst ACLs must resolve
// ([Options.LookupHost]), and the certificate and key files of tls-cert=
// and tls-key= must load.
//
// Sizes are "<number> [unit]" with the units bytes, KB, MB and GB
// (1024-based, matched case-insensitively by prefix); times are
// "<number> <unit>" from millisecond to decade, the unit required except
// after 0. See squid.conf.documented, "Values with byte units".
package squidconf
