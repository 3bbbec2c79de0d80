package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3"
)

// squidFlags are Squid's command-line options (squid -h), parsed with
// Squid's getopt habits: single letters that may be combined ("-sYC",
// "-Nz") and values that may be attached ("-kparse", "-d1").
type squidFlags struct {
	configFile string // -f
	command    string // -k
	serviceNm  string // -n
	createDirs bool   // -z
	version    bool   // -v
	help       bool   // -h
	foreground bool   // -N, --foreground
	debugLevel int    // -d
}

// cuttleFlags are cuttle's own settings, which no squid.conf directive
// covers. Each can also be set by a CUTTLE_ environment variable.
type cuttleFlags struct {
	demoOrigin        string
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	debugAddr         string
	metricsAddr       string
	parseFormat       string // text or json
	cdnCacheControl   bool
	rateLimit         float64 // requests a second per client; 0: off
	rateBurst         int
}

// squidBoolLetters are Squid's option letters without a value that cuttle
// accepts; those that have no meaning here are accepted and ignored.
const squidBoolLetters = "CDFNRSXYhsvz"

// squidValueLetters are Squid's option letters that take a value.
const squidValueLetters = "dfklnu"

func newSquidFlagSet(sf *squidFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("cuttle", flag.ContinueOnError)
	fs.StringVar(&sf.configFile, "f", "/etc/squid/squid.conf", "use the given config file instead of /etc/squid/squid.conf")
	fs.StringVar(&sf.command, "k", "", "send a command to a running cuttle or check the config: parse|check|shutdown|interrupt|kill|rotate|reconfigure")
	fs.StringVar(&sf.serviceNm, "n", "squid", "service name, the value of ${service_name} in squid.conf")
	fs.BoolVar(&sf.createDirs, "z", false, "create missing cache directories, then exit")
	fs.BoolVar(&sf.version, "v", false, "print version and exit")
	fs.BoolVar(&sf.help, "h", false, "print this help and exit")
	fs.BoolVar(&sf.foreground, "N", false, "stay in the foreground (cuttle never daemonizes)")
	fs.BoolVar(&sf.foreground, "foreground", false, "same as -N")
	fs.IntVar(&sf.debugLevel, "d", 0, "also write cache_log messages to stderr (level accepted for Squid compatibility)")
	var ignored bool
	var ignoredS string
	for _, c := range "CDFRSXYs" {
		fs.BoolVar(&ignored, string(c), false, "accepted for Squid compatibility; no effect")
	}
	fs.StringVar(&ignoredS, "l", "", "syslog facility for cache_log; accepted, cuttle writes cache_log")
	fs.StringVar(&ignoredS, "u", "", "ICP port; accepted, cuttle speaks no ICP")
	return fs
}

func newCuttleFlagSet(cf *cuttleFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("cuttle", flag.ContinueOnError)
	fs.StringVar(&cf.demoOrigin, "demo-origin", "", "also start a small demo origin server on this address (for trying cuttle out)")
	fs.DurationVar(&cf.readHeaderTimeout, "read-header-timeout", 0, "how long a client may take to send request headers (0: squid.conf request_timeout, 5 minutes by default)")
	fs.DurationVar(&cf.idleTimeout, "idle-timeout", 0, "how long an idle client connection is kept (0: squid.conf client_idle_pconn_timeout, 2 minutes by default)")
	fs.StringVar(&cf.parseFormat, "parse-format", "text", "how -k parse reports: text (FILE:LINE: error|warning|notice: message lines on stderr) or json "+
		"(one object on stdout: {file, errors, warnings, notices, findings: [{file, line, severity, directive, message, included_from: [{file, line}]}]})")
	fs.BoolVar(&cf.cdnCacheControl, "cdn-cache-control", false, "obey the CDN-Cache-Control response field (RFC 9213) before Cache-Control and Expires")
	fs.Float64Var(&cf.rateLimit, "rate-limit", 0, "requests a second each client address (IPv6: /64) may send, hits included; more get 429 Too Many Requests (off by default)")
	fs.IntVar(&cf.rateBurst, "rate-burst", 0, "requests a client may send at once under --rate-limit (default: the rate, at least 1)")
	fs.StringVar(&cf.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (off by default; e.g. 127.0.0.1:9301)")
	fs.StringVar(&cf.debugAddr, "debug-addr", "", "serve Go's /debug/pprof profiles on this address (off by default; keep it on loopback)")
	return fs
}

// parseFlags splits args between Squid's flags and cuttle's own, expanding
// Squid's combined single-letter options, and parses both.
func parseFlags(args []string, stderr io.Writer) (*squidFlags, *cuttleFlags, error) {
	var sf squidFlags
	var cf cuttleFlags
	sfs, cfs := newSquidFlagSet(&sf), newCuttleFlagSet(&cf)
	sfs.SetOutput(io.Discard)
	cfs.SetOutput(io.Discard)

	var squidArgs, cuttleArgs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		name, _, hasValue := strings.Cut(name, "=")
		switch {
		case a == "--":
			squidArgs = append(squidArgs, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && cfs.Lookup(name) != nil:
			cuttleArgs = append(cuttleArgs, a)
			if !hasValue && i+1 < len(args) {
				i++
				cuttleArgs = append(cuttleArgs, args[i])
			}
		case len(a) > 2 && a[0] == '-' && a[1] != '-' && sfs.Lookup(a[1:]) == nil:
			expanded, rest, err := expandLetters(a[1:])
			if err != nil {
				return nil, nil, err
			}
			squidArgs = append(squidArgs, expanded...)
			if rest && i+1 < len(args) {
				i++
				squidArgs = append(squidArgs, args[i])
			}
		default:
			squidArgs = append(squidArgs, a)
		}
	}
	if err := sfs.Parse(squidArgs); err != nil {
		return nil, nil, err
	}
	if sfs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q", sfs.Arg(0))
	}
	if err := ff.Parse(cfs, cuttleArgs, ff.WithEnvVarPrefix("CUTTLE")); err != nil {
		return nil, nil, err
	}
	if cf.rateLimit < 0 || cf.rateBurst < 0 {
		return nil, nil, fmt.Errorf("--rate-limit %v, --rate-burst %d: want positive values (0: off, or the default burst)", cf.rateLimit, cf.rateBurst)
	}
	if cf.parseFormat != "text" && cf.parseFormat != "json" {
		return nil, nil, fmt.Errorf("--parse-format %q: want text or json", cf.parseFormat)
	}
	return &sf, &cf, nil
}

// expandLetters turns "sYC" into -s -Y -C and "kparse" into -k parse, as
// getopt does. rest is true when the last letter wants the next argument
// as its value.
func expandLetters(s string) (out []string, rest bool, err error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(squidBoolLetters, c) >= 0:
			out = append(out, "-"+string(c))
		case strings.IndexByte(squidValueLetters, c) >= 0:
			out = append(out, "-"+string(c))
			if i+1 < len(s) {
				return append(out, s[i+1:]), false, nil
			}
			return out, true, nil
		default:
			return nil, false, fmt.Errorf("unknown option -%c in -%s", c, s)
		}
	}
	return out, false, nil
}

// printUsage writes -h: Squid's options, then cuttle's with their
// environment variables.
func printUsage(w io.Writer) {
	var sf squidFlags
	var cf cuttleFlags
	fmt.Fprintf(w, "Usage: cuttle [-hvzN] [-f config-file] [-k parse|check|reconfigure|rotate|shutdown|interrupt|kill] [cuttle flags]\n\n")
	fmt.Fprintf(w, "Squid's options:\n")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	newSquidFlagSet(&sf).VisitAll(func(f *flag.Flag) {
		dash := "-"
		if len(f.Name) > 1 {
			dash = "--"
		}
		fmt.Fprintf(tw, "  %s%s\t%s\n", dash, f.Name, f.Usage)
	})
	tw.Flush()
	fmt.Fprintf(w, "\ncuttle's own flags (or environment variables):\n")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	newCuttleFlagSet(&cf).VisitAll(func(f *flag.Flag) {
		env := "CUTTLE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		def := ""
		if f.DefValue != "" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  --%s value\t%s\t%s%s\n", f.Name, env, f.Usage, def)
	})
	tw.Flush()
}
