package accesslog

import (
	"strconv"
	"time"
)

// appendStrftime appends t formatted by the C strftime specification spec,
// in the C locale, as Squid formats %{spec}tl and %{spec}tg. It supports
// the POSIX conversions (%a %A %b %B %c %C %d %D %e %F %h %H %I %j %m %M %n
// %p %r %R %S %t %T %u %w %y %Y %z %Z %%) and the common %s (Unix
// seconds); any other conversion is copied as is.
func appendStrftime(dst []byte, t time.Time, spec string) []byte {
	for i := 0; i < len(spec); i++ {
		c := spec[i]
		if c != '%' || i+1 == len(spec) {
			dst = append(dst, c)
			continue
		}
		i++
		exp := composite(spec[i])
		if exp == "" {
			dst = appendConversion(dst, t, spec[i])
			continue
		}
		for j := 0; j < len(exp); j++ {
			if exp[j] == '%' {
				j++
				dst = appendConversion(dst, t, exp[j])
			} else {
				dst = append(dst, exp[j])
			}
		}
	}
	return dst
}

// composite returns the expansion of the strftime conversions that are
// made of others, in the C locale, or "".
func composite(c byte) string {
	switch c {
	case 'c':
		return "%a %b %e %H:%M:%S %Y"
	case 'D':
		return "%m/%d/%y"
	case 'F':
		return "%Y-%m-%d"
	case 'r':
		return "%I:%M:%S %p"
	case 'R':
		return "%H:%M"
	case 'T':
		return "%H:%M:%S"
	}
	return ""
}

// appendConversion appends the simple strftime conversion %c of t. (It
// does not call appendStrftime, so that dst does not escape.)
func appendConversion(dst []byte, t time.Time, c byte) []byte {
	switch c {
	case 'a':
		return append(dst, t.Weekday().String()[:3]...)
	case 'A':
		return append(dst, t.Weekday().String()...)
	case 'b', 'h':
		return append(dst, t.Month().String()[:3]...)
	case 'B':
		return append(dst, t.Month().String()...)
	case 'C':
		return appendInt(dst, int64(t.Year()/100), 2, true)
	case 'd':
		return appendInt(dst, int64(t.Day()), 2, true)
	case 'e':
		return appendInt(dst, int64(t.Day()), 2, false)
	case 'H':
		return appendInt(dst, int64(t.Hour()), 2, true)
	case 'I':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		return appendInt(dst, int64(h), 2, true)
	case 'j':
		return appendInt(dst, int64(t.YearDay()), 3, true)
	case 'm':
		return appendInt(dst, int64(t.Month()), 2, true)
	case 'M':
		return appendInt(dst, int64(t.Minute()), 2, true)
	case 'n':
		return append(dst, '\n')
	case 'p':
		if t.Hour() < 12 {
			return append(dst, "AM"...)
		}
		return append(dst, "PM"...)
	case 's':
		return strconv.AppendInt(dst, t.Unix(), 10)
	case 'S':
		return appendInt(dst, int64(t.Second()), 2, true)
	case 't':
		return append(dst, '\t')
	case 'u':
		wd := int64(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		return strconv.AppendInt(dst, wd, 10)
	case 'w':
		return strconv.AppendInt(dst, int64(t.Weekday()), 10)
	case 'y':
		return appendInt(dst, int64(t.Year()%100), 2, true)
	case 'Y':
		return strconv.AppendInt(dst, int64(t.Year()), 10)
	case 'z':
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		dst = append(dst, sign)
		dst = appendInt(dst, int64(off/3600), 2, true)
		return appendInt(dst, int64(off%3600/60), 2, true)
	case 'Z':
		name, _ := t.Zone()
		return append(dst, name...)
	case '%':
		return append(dst, '%')
	}
	return append(dst, '%', c)
}
