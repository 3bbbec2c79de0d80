// Package accesslog writes Squid-compatible access logs: one line per
// transaction in the formats named by squid.conf's access_log and logformat
// directives (Squid 5.7 is the reference; see shared/reference/squid-5.7).
//
// The package has three layers, kept apart so that formatting can be tested
// without files:
//
//   - [Entry] describes one transaction. A [Formatter] turns it into one line.
//     [Squid], [Common], [Combined], [Referrer] and [UserAgent] reproduce
//     Squid's built-in formats byte for byte; [Compile] turns a logformat
//     specification into a Formatter; [Lookup] finds a built-in by name.
//   - [Writer] owns one output file (access_log stdio:PATH): it buffers
//     complete lines, flushes at least once a second and whenever 64 KiB are
//     pending, and can be reopened or rotated (squid -k rotate).
//   - [Logger] sends each Entry to every matching [Output], formatting into
//     pooled buffers so that logging a transaction does not allocate.
//
// # Escaping
//
// A log line must stay one line with a fixed number of fields whatever the
// client sent. Squid achieves this for the native format mostly upstream of
// the formatter (its request parser rejects or strips whitespace in URLs,
// uri_whitespace, and %-encodes URLs holding control characters). cuttle
// does it in the formatter instead, so the guarantee does not depend on the
// caller:
//
//   - URLs (%ru), methods (%rm) and every other unquoted field: bytes that
//     are whitespace, control characters, DEL or not ASCII, and double
//     quotes and backslashes (which could unbalance a quoted field), become
//     %XX (upper-case hex, as Squid's RFC 1738 encoder writes them).
//     Anything else, including an existing %-escape, is kept, so
//     "/path%20with%20space" is logged unchanged.
//
//   - User names (%un, written by Squid through its "[" mime-blob quoting):
//     CR and LF become \r and \n, a backslash is doubled, "%", "[", "]",
//     control characters and non-ASCII bytes become %xx (lower-case hex),
//     and, unlike Squid, a space becomes %20 so the native line keeps its ten
//     fields, and a double quote becomes %22.
//
//   - Quoted header values (the Referer and User-Agent of the combined
//     format): Squid's quoted-string rules (\" \\ \r \n \t), plus %XX for
//     the remaining control characters.
//
//   - Custom formats ([Compile]) follow Squid's per-code encodings and the
//     ", [, #, / and ' modifiers, with the same additions: no encoding,
//     not even raw ('), lets a CR, LF or NUL through, and only raw lets a
//     value bring an unescaped double quote. A precision never cuts an
//     escape sequence in two.
//
// strip_query_terms ([FormatOptions.StripQueryTerms]) cuts the logged URL
// just after the first "?", keeping the "?" as Squid does
// ("http://host/p?").
package accesslog
