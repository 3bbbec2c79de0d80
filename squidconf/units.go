package squidconf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Size units, matched case-insensitively by prefix as Squid's
// parseBytesUnits does: the unit word must start with one of these.
const (
	unitBytes = "bytes"
	unitKB    = "KB"
	unitMB    = "MB"
	unitGB    = "GB"
)

// sizeUnit returns the multiplier of a size unit word, or 0 if it is not
// one: "KB", "kb", "KBytes" match KB; "K", "kib" and "TB" match nothing;
// "bytes" must be written out.
func sizeUnit(word string) int64 {
	for _, u := range []struct {
		name string
		mult int64
	}{{unitBytes, 1}, {unitKB, 1 << 10}, {unitMB, 1 << 20}, {unitGB, 1 << 30}} {
		if len(word) >= len(u.name) && strings.EqualFold(word[:len(u.name)], u.name) {
			return u.mult
		}
	}
	return 0
}

// errMissingValue is the error of a directive without its argument.
var errMissingValue = errors.New("missing value")

// sizeResult is the outcome of parseSize.
type sizeResult struct {
	// Bytes is the size in bytes, or -1 for "none" and -1 (no limit).
	Bytes int64

	// NoUnit is set when the number had no unit and defUnit was assumed.
	NoUnit bool

	// Number is the number as read, for the "No units" notice.
	Number float64
}

// parseSize reads "<number> [unit]" from sc as Squid's parseBytesLine
// does. The number may be fractional; a missing unit means defUnit (the
// caller reports a notice); "none" and "-1" mean no limit; 0 needs no
// unit, and a unit after it is left unread. The result must be a whole
// number of defUnit.
func parseSize(sc *scanner, defUnit string) (sizeResult, error) {
	u := sizeUnit(defUnit)
	tok, ok := sc.next()
	if !ok {
		return sizeResult{}, errMissingValue
	}
	if tok == "none" || tok == "-1" {
		return sizeResult{Bytes: -1}, nil
	}
	d, err := parseFloat(tok)
	if err != nil {
		return sizeResult{}, err
	}
	res := sizeResult{Number: d}
	m := u
	if d != 0 {
		if unit, ok := sc.next(); !ok {
			res.NoUnit = true
		} else if m = sizeUnit(unit); m == 0 {
			return sizeResult{}, fmt.Errorf("unknown bytes unit '%s'", unit)
		}
	}
	inUnits := float64(m) * d / float64(u)
	switch {
	case inUnits < 0:
		return sizeResult{}, fmt.Errorf("invalid value '%s': sizes cannot be negative", tok)
	case inUnits*float64(u) >= math.MaxInt64:
		return sizeResult{}, fmt.Errorf("invalid value '%s': too large", tok)
	case inUnits != math.Trunc(inUnits):
		return sizeResult{}, fmt.Errorf("invalid value '%s': not a whole number of %s", tok, defUnit)
	}
	res.Bytes = int64(inUnits) * u
	return res, nil
}

// formatNumber formats a size or time number as Squid prints a double.
func formatNumber(d float64) string {
	return strconv.FormatFloat(d, 'g', -1, 64)
}

// Time units, matched case-insensitively: the unit word must start with
// the full unit name ("seconds" and "dayz" match; "sec" and "min" do not).
var timeUnits = []struct {
	name  string
	d     time.Duration
	small bool // only for directives with sub-millisecond resolution
}{
	{"nanosecond", time.Nanosecond, true},
	{"microsecond", time.Microsecond, true},
	{"millisecond", time.Millisecond, false},
	{"second", time.Second, false},
	{"minute", time.Minute, false},
	{"hour", time.Hour, false},
	{"day", 24 * time.Hour, false},
	{"week", 7 * 24 * time.Hour, false},
	{"fortnight", 14 * 24 * time.Hour, false},
	{"month", 30 * 24 * time.Hour, false},
	{"year", time.Duration(365.2522 * float64(24*time.Hour)), false},
	{"decade", time.Duration(3652.522 * float64(24*time.Hour)), false},
}

// timeUnit returns the length of a time unit word, or 0.
func timeUnit(word string, small bool) time.Duration {
	for _, u := range timeUnits {
		if u.small && !small {
			continue
		}
		if len(word) >= len(u.name) && strings.EqualFold(word[:len(u.name)], u.name) {
			return u.d
		}
	}
	return 0
}

// parseDuration reads "<number> <unit>" from sc as Squid's parseTimeLine
// does. The unit is required, except after 0, where a following unit is
// left unread. small allows nanosecond and microsecond.
func parseDuration(sc *scanner, small bool) (time.Duration, error) {
	tok, ok := sc.next()
	if !ok {
		return 0, errMissingValue
	}
	d, err := parseFloat(tok)
	if err != nil {
		return 0, err
	}
	if d == 0 {
		return 0, nil
	}
	unit, ok := sc.next()
	if !ok {
		return 0, errors.New("missing time unit")
	}
	u := timeUnit(unit, small)
	if u == 0 {
		return 0, fmt.Errorf("unknown time unit '%s'", unit)
	}
	v := d * float64(u)
	if math.Abs(v) >= math.MaxInt64 {
		return 0, fmt.Errorf("time value '%s %s' is too large", tok, unit)
	}
	return time.Duration(v), nil
}

// parseFloat parses a number as strtod does for Squid's xatof, but
// rejecting infinities and NaN.
func parseFloat(tok string) (float64, error) {
	d, err := strconv.ParseFloat(tok, 64)
	if err != nil || math.IsInf(d, 0) || math.IsNaN(d) || strings.Contains(tok, "_") {
		return 0, fmt.Errorf("invalid number '%s'", tok)
	}
	return d, nil
}

// parseOnOff parses a Squid boolean: "on" or "off", case-sensitive.
// "enable" and "disable" are accepted with deprecated set, as in Squid.
func parseOnOff(tok string) (v, deprecated bool, err error) {
	switch tok {
	case "on":
		return true, false, nil
	case "off":
		return false, false, nil
	case "enable":
		return true, true, nil
	case "disable":
		return false, true, nil
	}
	return false, false, fmt.Errorf("invalid value '%s': boolean options can only be 'on' or 'off'", tok)
}

// parseCInt parses an integer as C's strtol with base 0 does, requiring
// the whole string: optional sign, 0x for hex, a leading 0 for octal.
func parseCInt(s string) (int64, error) {
	t := strings.TrimLeft(s, spaceChars)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	base := 10
	switch {
	case len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X'):
		base, t = 16, t[2:]
	case len(t) > 1 && t[0] == '0':
		base, t = 8, t[1:]
	}
	if t == "" || t[0] == '+' || t[0] == '-' || strings.Contains(t, "_") {
		return 0, fmt.Errorf("invalid integer '%s'", s)
	}
	u, err := strconv.ParseUint(t, base, 63)
	if err != nil {
		return 0, fmt.Errorf("invalid integer '%s'", s)
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// parseInt parses a decimal integer as Squid's xatoi and xatol do.
func parseInt(tok string) (int, error) {
	n, err := strconv.Atoi(tok)
	if err != nil || strings.Contains(tok, "_") {
		return 0, fmt.Errorf("invalid integer '%s'", tok)
	}
	return n, nil
}

// parsePort parses a TCP port number, 1 to 65535.
func parsePort(tok string) (int, bool) {
	n, err := strconv.Atoi(tok)
	if err != nil || n < 1 || n > 65535 || tok[0] == '+' {
		return 0, false
	}
	return n, true
}
