package squidconf

import (
	"strings"
	"testing"
	"time"
)

func TestSizeUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
	}{
		{"bytes", 1}, {"Bytes", 1}, {"bytesfoo", 1}, {"byte", 0},
		{"KB", 1024}, {"kb", 1024}, {"Kbytes", 1024}, {"KBytes", 1024}, {"K", 0}, {"k", 0}, {"kib", 0},
		{"MB", 1 << 20}, {"mbytes", 1 << 20}, {"Mbytes", 1 << 20}, {"M", 0},
		{"GB", 1 << 30}, {"gb", 1 << 30}, {"TB", 0}, {"", 0},
	}
	for _, tt := range tests {
		if got := sizeUnit(tt.in); got != tt.want {
			t.Errorf("sizeUnit(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		unit    string
		want    sizeResult
		wantErr string
		rest    string // what is left unread
	}{
		{in: "4 MB", unit: unitBytes, want: sizeResult{Bytes: 4 << 20, Number: 4}},
		{in: "1.5 GB", unit: unitBytes, want: sizeResult{Bytes: 3 << 29, Number: 1.5}},
		{in: "0.5 KB", unit: unitBytes, want: sizeResult{Bytes: 512, Number: 0.5}},
		{in: "512 kbytes", unit: unitBytes, want: sizeResult{Bytes: 512 << 10, Number: 512}},
		{in: "4096", unit: unitBytes, want: sizeResult{Bytes: 4096, NoUnit: true, Number: 4096}},
		{in: "16", unit: unitKB, want: sizeResult{Bytes: 16 << 10, NoUnit: true, Number: 16}},
		{in: "4 MB # comment", unit: unitBytes, want: sizeResult{Bytes: 4 << 20, Number: 4}},
		{in: "4 # comment", unit: unitBytes, want: sizeResult{Bytes: 4, NoUnit: true, Number: 4}},
		{in: "none", unit: unitBytes, want: sizeResult{Bytes: -1}},
		{in: "-1", unit: unitBytes, want: sizeResult{Bytes: -1}},
		{in: "0", unit: unitBytes, want: sizeResult{}},
		{in: "0 furlongs", unit: unitBytes, want: sizeResult{}, rest: "furlongs"},
		{in: "1e3 bytes", unit: unitBytes, want: sizeResult{Bytes: 1000, Number: 1000}},
		{in: "", unit: unitBytes, wantErr: "missing value"},
		{in: "64 furlongs", unit: unitBytes, wantErr: "unknown bytes unit 'furlongs'"},
		{in: "64 K", unit: unitBytes, wantErr: "unknown bytes unit 'K'"},
		{in: "abc", unit: unitBytes, wantErr: "invalid number 'abc'"},
		{in: "4MB", unit: unitBytes, wantErr: "invalid number '4MB'"},
		{in: "inf", unit: unitBytes, wantErr: "invalid number 'inf'"},
		{in: "-2 MB", unit: unitBytes, wantErr: "invalid value '-2': sizes cannot be negative"},
		{in: "1.5 bytes", unit: unitBytes, wantErr: "invalid value '1.5': not a whole number of bytes"},
		{in: "1e30 GB", unit: unitBytes, wantErr: "invalid value '1e30': too large"},
	}
	for _, tt := range tests {
		sc := newScanner(tt.in, false)
		got, err := parseSize(sc, tt.unit)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseSize(%q, %s) error = %v, want %q", tt.in, tt.unit, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q, %s) = %+v, %v, want %+v", tt.in, tt.unit, got, err, tt.want)
		}
		if rest := strings.Join(sc.remaining(), " "); rest != tt.rest {
			t.Errorf("parseSize(%q, %s) left %q, want %q", tt.in, tt.unit, rest, tt.rest)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		in      string
		small   bool
		want    time.Duration
		wantErr string
		rest    string
	}{
		{in: "30 seconds", want: 30 * time.Second},
		{in: "1 second", want: time.Second},
		{in: "1 SECOND", want: time.Second},
		{in: "2 minutes", want: 2 * time.Minute},
		{in: "1.5 hours", want: 90 * time.Minute},
		{in: "1 day", want: day},
		{in: "3 dayz", want: 3 * day},
		{in: "1 week", want: 7 * day},
		{in: "1 fortnight", want: 14 * day},
		{in: "1 month", want: 30 * day},
		{in: "1 year", want: time.Duration(365.2522 * float64(day))},
		{in: "1 decade", want: time.Duration(3652.522 * float64(day))},
		{in: "250 milliseconds", want: 250 * time.Millisecond},
		{in: "5 microseconds", small: true, want: 5 * time.Microsecond},
		{in: "5 nanoseconds", small: true, want: 5},
		{in: "0", want: 0},
		{in: "0 minutes", want: 0, rest: "minutes"},
		{in: "1 seconds # comment", want: time.Second},
		{in: "", wantErr: "missing value"},
		{in: "4", wantErr: "missing time unit"},
		{in: "4 # seconds", wantErr: "missing time unit"},
		{in: "1 min", wantErr: "unknown time unit 'min'"},
		{in: "1 sec", wantErr: "unknown time unit 'sec'"},
		{in: "1 s", wantErr: "unknown time unit 's'"},
		{in: "1 ms", wantErr: "unknown time unit 'ms'"},
		{in: "5 microseconds", wantErr: "unknown time unit 'microseconds'"},
		{in: "x seconds", wantErr: "invalid number 'x'"},
		{in: "1e30 decades", wantErr: "time value '1e30 decades' is too large"},
	}
	for _, tt := range tests {
		sc := newScanner(tt.in, false)
		got, err := parseDuration(sc, tt.small)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseDuration(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
		if rest := strings.Join(sc.remaining(), " "); rest != tt.rest {
			t.Errorf("parseDuration(%q) left %q, want %q", tt.in, rest, tt.rest)
		}
	}
}

func TestParseOnOff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in               string
		want, deprecated bool
		wantErr          bool
	}{
		{"on", true, false, false},
		{"off", false, false, false},
		{"enable", true, true, false},
		{"disable", false, true, false},
		{"On", false, false, true},
		{"yes", false, false, true},
		{"1", false, false, true},
	}
	for _, tt := range tests {
		got, dep, err := parseOnOff(tt.in)
		if got != tt.want || dep != tt.deprecated || (err != nil) != tt.wantErr {
			t.Errorf("parseOnOff(%q) = %v, %v, %v, want %v, %v, error %v", tt.in, got, dep, err, tt.want, tt.deprecated, tt.wantErr)
		}
	}
}

func TestParseCInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0", 0, false}, {"42", 42, false}, {"-3", -3, false}, {"+3", 3, false},
		{"0x1f", 31, false}, {"0X10", 16, false}, {"010", 8, false}, {" 7", 7, false},
		{"", 0, true}, {"x", 0, true}, {"1x", 0, true}, {"08", 0, true}, {"0x", 0, true},
		{"--1", 0, true}, {"1_000", 0, true}, {"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := parseCInt(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseCInt(%q) = %d, %v, want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
