package squidconf

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// maxErrors is how many errors a parse reports before it stops, as
// go/scanner does.
const maxErrors = 10

// Error is a fatal problem with one configuration line: what Squid reports
// as "FATAL: Bungled squid.conf line 12: ..." or "unrecognized: ...".
type Error struct {
	// Pos is the line of the directive (the first physical line of a line
	// continued with '\').
	Pos Pos

	// Directive is the directive name as written, or "" for problems of
	// the file structure (if/else/endif, unknown directives).
	Directive string

	// Err is the problem.
	Err error

	// IncludedFrom holds the include lines that led to Pos.File, innermost
	// first; it is empty for the main file.
	IncludedFrom []Pos
}

// Error formats e as "file:line: directive: message", followed by
// " (included from main.conf:40)" for lines of included files. Problems
// with a whole file have no line: "file: message".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos.Line > 0 {
		b.WriteString(e.Pos.String())
	} else {
		b.WriteString(e.Pos.File)
	}
	b.WriteString(": ")
	if e.Directive != "" {
		b.WriteString(e.Directive)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	if len(e.IncludedFrom) > 0 {
		b.WriteString(" (included from ")
		for i, p := range e.IncludedFrom {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.String())
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is the list of errors of one parse, in file order. Parsing
// goes on after an error and stops after the tenth.
type ErrorList []*Error

// Error returns the first error, followed by " (and N more errors)" when
// there are more.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return l[0].Error() + " (and " + strconv.Itoa(len(l)-1) + " more errors)"
}

// Err returns nil if l is empty and l otherwise, so that a nil ErrorList
// never becomes a non-nil error.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Unwrap returns the errors of l, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Diagnostic returns e as a Diagnostic of severity [SeverityError].
func (e *Error) Diagnostic() Diagnostic {
	msg := ""
	if e.Err != nil {
		msg = e.Err.Error()
	}
	return Diagnostic{Severity: SeverityError, Pos: e.Pos, Directive: e.Directive, Msg: msg, IncludedFrom: e.IncludedFrom}
}

// Diagnostics returns every finding of a parse, the errors of err (an
// [ErrorList] or any other error, as [ParseFile] returns them) and the
// warnings and notices of cfg (which may be nil), in the order of the
// configuration: by the position in the main file, then in the file it
// includes, and so on.
func Diagnostics(cfg *Config, err error) []Diagnostic {
	var ds []Diagnostic
	var list ErrorList
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			ds = append(ds, e.Diagnostic())
		}
	case err != nil:
		ds = append(ds, Diagnostic{Severity: SeverityError, Msg: err.Error()})
	}
	if cfg != nil {
		ds = append(ds, cfg.Notices...)
		ds = append(ds, cfg.Unapplied...)
	}
	slices.SortStableFunc(ds, compareFileOrder)
	return ds
}

// compareFileOrder orders a and b by where their lines are read: the
// include line of the main file that leads to them, then the included
// file's name and the next include line, and so on, then their own lines.
// Files included by one line are ordered by name, as glob(3) returns them
// (an include line naming several files out of order is the exception).
func compareFileOrder(a, b Diagnostic) int {
	ka, kb := fileOrderKey(a), fileOrderKey(b)
	for i := 0; i < len(ka) && i < len(kb); i++ {
		if i > 0 {
			if c := strings.Compare(ka[i].File, kb[i].File); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(ka[i].Line, kb[i].Line); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ka), len(kb))
}

// fileOrderKey is the include lines of d outermost first, then d.Pos.
func fileOrderKey(d Diagnostic) []Pos {
	key := make([]Pos, 0, len(d.IncludedFrom)+1)
	for i := len(d.IncludedFrom) - 1; i >= 0; i-- {
		key = append(key, d.IncludedFrom[i])
	}
	return append(key, d.Pos)
}
