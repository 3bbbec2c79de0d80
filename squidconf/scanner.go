package squidconf

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// spaceChars are the characters Squid's isspace() skips around lines and
// between tokens.
const spaceChars = " \t\n\r\v\f"

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// scanner splits the arguments of one directive into tokens, following
// Squid's ConfigParser: tokens are separated by whitespace, and a token
// that starts with '#' ends the line (a '#' inside a token is data). With
// configuration_includes_quoted_values on, "..." and '...' are tokens with
// escapes.
type scanner struct {
	s      string
	i      int
	quoted bool  // configuration_includes_quoted_values
	err    error // first tokenizing error
}

func newScanner(s string, quoted bool) *scanner {
	return &scanner{s: s, quoted: quoted}
}

func (sc *scanner) skipSpace() {
	for sc.i < len(sc.s) && isSpace(sc.s[sc.i]) {
		sc.i++
	}
}

// more reports whether another token follows.
func (sc *scanner) more() bool {
	sc.skipSpace()
	return sc.i < len(sc.s) && sc.s[sc.i] != '#'
}

// next returns the next token, or false at the end of the line or at a
// token starting with '#'.
func (sc *scanner) next() (string, bool) {
	if !sc.more() {
		sc.i = len(sc.s)
		return "", false
	}
	if sc.quoted && (sc.s[sc.i] == '"' || sc.s[sc.i] == '\'') {
		return sc.unquote(), true
	}
	start := sc.i
	for sc.i < len(sc.s) && !isSpace(sc.s[sc.i]) {
		sc.i++
	}
	return sc.s[start:sc.i], true
}

// peek returns the next token without consuming it.
func (sc *scanner) peek() (string, bool) {
	save, saveErr := sc.i, sc.err
	tok, ok := sc.next()
	sc.i, sc.err = save, saveErr
	return tok, ok
}

// nextRegex returns the next token of a regular expression list, where a
// backslash keeps the next character in the token ("a\ b" is one token
// with the backslash kept). A lone backslash at the end is an error.
func (sc *scanner) nextRegex() (string, bool) {
	if !sc.more() {
		sc.i = len(sc.s)
		return "", false
	}
	start := sc.i
	for sc.i < len(sc.s) && !isSpace(sc.s[sc.i]) {
		if sc.s[sc.i] == '\\' {
			if sc.i+1 >= len(sc.s) {
				sc.setErr(fmt.Errorf("unescaped '\\' character in regex pattern: %s", sc.s[start:]))
				sc.i++
				break
			}
			sc.i++
		}
		sc.i++
	}
	return sc.s[start:sc.i], true
}

// rest returns the rest of the line after leading whitespace, verbatim,
// '#' included: what Squid's "to end of line" arguments see.
func (sc *scanner) rest() string {
	sc.skipSpace()
	r := sc.s[sc.i:]
	sc.i = len(sc.s)
	return r
}

// remaining returns the tokens left on the line.
func (sc *scanner) remaining() []string {
	var toks []string
	for {
		tok, ok := sc.next()
		if !ok {
			return toks
		}
		toks = append(toks, tok)
	}
}

func (sc *scanner) setErr(err error) {
	if sc.err == nil {
		sc.err = err
	}
}

// unquote reads a quoted token at sc.i as Squid's ConfigParser::UnQuote:
// \r, \n and \t escapes, \ before any other non-alphanumeric character
// keeps it, and the closing quote must be followed by whitespace, '(',
// ')', '#' or the end of the line.
func (sc *scanner) unquote() string {
	quote := sc.s[sc.i]
	start := sc.i
	sc.i++
	var b strings.Builder
	for {
		if sc.i >= len(sc.s) {
			sc.setErr(fmt.Errorf("missing quote char at the end of quoted string: %s", sc.s[start:]))
			return b.String()
		}
		c := sc.s[sc.i]
		if c == quote {
			sc.i++
			break
		}
		if c == '\\' {
			if sc.i+1 >= len(sc.s) {
				sc.setErr(fmt.Errorf("unterminated escape sequence: %s", sc.s[start:]))
				sc.i = len(sc.s)
				return b.String()
			}
			sc.i++
			c = sc.s[sc.i]
			switch {
			case c == 'r':
				c = '\r'
			case c == 'n':
				c = '\n'
			case c == 't':
				c = '\t'
			case isAlnum(c):
				sc.setErr(fmt.Errorf("unsupported escape sequence: %s", sc.s[sc.i-1:]))
			}
		}
		b.WriteByte(c)
		sc.i++
	}
	if sc.i < len(sc.s) && !isSpace(sc.s[sc.i]) && !strings.ContainsRune("()#", rune(sc.s[sc.i])) {
		sc.setErr(fmt.Errorf("expecting space after the end of quoted token: %s", sc.s[start:]))
		for sc.i < len(sc.s) && !isSpace(sc.s[sc.i]) {
			sc.i++
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// unwrapPathError drops the operation and file name of a *fs.PathError,
// which the caller's message already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
