package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"cuttle/squidconf"
	"cuttle/store"
)

// parseConfig parses the config file named by -f, with -n's service name.
func parseConfig(sf *squidFlags) (*squidconf.Config, error) {
	return squidconf.ParseFile(sf.configFile, squidconf.Options{ServiceName: sf.serviceNm, ProcessName: sf.serviceNm})
}

// loadConfig parses the config file and prints its warnings and notices
// to w, one a line (see [formatFinding]); the errors are left to
// [printConfigErrors].
func loadConfig(sf *squidFlags, w io.Writer) (*squidconf.Config, error) {
	cfg, err := parseConfig(sf)
	if cfg != nil {
		for _, d := range cfg.Notices {
			fmt.Fprintln(w, formatFinding(d))
		}
	}
	return cfg, err
}

// printConfigErrors writes each configuration error on its own line,
// "file:line: error: message" (squid -k parse reports "Bungled" lines
// instead).
func printConfigErrors(w io.Writer, err error) {
	var list squidconf.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, formatFinding(e.Diagnostic()))
		}
		return
	}
	fmt.Fprintf(w, "cuttle: %v\n", err)
}

// formatFinding formats d as "file:line: severity: directive: message",
// with " (included from main.conf:40)" for lines of included files, in
// the style of compilers (and of go vet). A finding about a whole file
// has no line.
func formatFinding(d squidconf.Diagnostic) string {
	pos := d.Pos.File
	if d.Pos.Line > 0 {
		pos = d.Pos.String()
	}
	// d.String() starts with the position; the severity goes after it.
	rest := strings.TrimPrefix(strings.TrimPrefix(d.String(), pos), ": ")
	if pos == "" {
		return d.Severity.String() + ": " + rest
	}
	return pos + ": " + d.Severity.String() + ": " + rest
}

// parseOnly is -k parse: read the configuration, report every finding in
// file order (text on stderr, or with --parse-format=json one JSON object
// on stdout), and exit 1 if there was an error, 0 otherwise, as squid -k
// parse does.
func parseOnly(sf *squidFlags, cf *cuttleFlags, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(sf)
	findings := squidconf.Diagnostics(cfg, err)
	if err == nil {
		// What cuttle itself cannot serve as configured: warnings, and
		// errors when it could not start.
		var notes bytes.Buffer
		_, err := buildOptions(cfg, &notes)
		findings = append(findings, wiringFindings(notes.String(), squidconf.SeverityWarning)...)
		if err != nil {
			findings = append(findings, wiringFindings(err.Error(), squidconf.SeverityError)...)
		}
	}
	if cf.parseFormat == "json" {
		if err := writeFindingsJSON(stdout, sf.configFile, findings); err != nil {
			fmt.Fprintf(stderr, "cuttle: %v\n", err)
			return 1
		}
	} else {
		for _, d := range findings {
			fmt.Fprintln(stderr, formatFinding(d))
		}
	}
	for _, d := range findings {
		if d.Severity == squidconf.SeverityError {
			return 1
		}
	}
	return 0
}

// wiringFindings turns the lines of text, which [buildOptions] writes
// as "file:line: message", into findings of severity sev.
func wiringFindings(text string, sev squidconf.Severity) []squidconf.Diagnostic {
	var ds []squidconf.Diagnostic
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\n")
		if line == "" {
			continue
		}
		ds = append(ds, splitWiringLine(line, sev))
	}
	return ds
}

// splitWiringLine splits "file:line: message" at the first ":N: ".
func splitWiringLine(line string, sev squidconf.Severity) squidconf.Diagnostic {
	for i := 0; i < len(line); i++ {
		if line[i] != ':' {
			continue
		}
		j := i + 1
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		if j > i+1 && strings.HasPrefix(line[j:], ": ") {
			n, err := strconv.Atoi(line[i+1 : j])
			if err == nil {
				return squidconf.Diagnostic{Severity: sev, Pos: squidconf.Pos{File: line[:i], Line: n}, Msg: line[j+2:]}
			}
		}
	}
	return squidconf.Diagnostic{Severity: sev, Msg: line}
}

// jsonReport is the --parse-format=json output of -k parse.
type jsonReport struct {
	File     string        `json:"file"`
	Errors   int           `json:"errors"`
	Warnings int           `json:"warnings"`
	Notices  int           `json:"notices"`
	Findings []jsonFinding `json:"findings"`
}

// jsonFinding is one finding of a jsonReport. Line is 0 for a finding
// about a whole file; IncludedFrom lists the include lines, innermost
// first.
type jsonFinding struct {
	File         string    `json:"file"`
	Line         int       `json:"line"`
	Severity     string    `json:"severity"`
	Directive    string    `json:"directive"`
	Message      string    `json:"message"`
	IncludedFrom []jsonPos `json:"included_from"`
}

// jsonPos is a position in a jsonFinding's included_from.
type jsonPos struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// writeFindingsJSON writes the findings of the config file as one JSON
// object, followed by a newline.
func writeFindingsJSON(w io.Writer, file string, findings []squidconf.Diagnostic) error {
	r := jsonReport{File: file, Findings: make([]jsonFinding, 0, len(findings))}
	for _, d := range findings {
		switch d.Severity {
		case squidconf.SeverityError:
			r.Errors++
		case squidconf.SeverityWarning:
			r.Warnings++
		default:
			r.Notices++
		}
		f := jsonFinding{File: d.Pos.File, Line: d.Pos.Line, Severity: d.Severity.String(),
			Directive: d.Directive, Message: d.Msg, IncludedFrom: make([]jsonPos, 0, len(d.IncludedFrom))}
		for _, p := range d.IncludedFrom {
			f.IncludedFrom = append(f.IncludedFrom, jsonPos{File: p.File, Line: p.Line})
		}
		r.Findings = append(r.Findings, f)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// signalRunning is -k check|shutdown|interrupt|kill|rotate|reconfigure:
// find the running instance through pid_filename and signal it, with
// Squid's signal for each command.
func signalRunning(sf *squidFlags, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(sf, io.Discard)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	if cfg.PidFilename == "" {
		fmt.Fprintf(stderr, "cuttle: -k %s: pid_filename is none, cannot find the running cuttle\n", sf.command)
		return 1
	}
	b, err := os.ReadFile(cfg.PidFilename)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "cuttle: -k %s: no running copy: %s does not exist\n", sf.command, cfg.PidFilename)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "cuttle: -k %s: cannot read %s: %v\n", sf.command, cfg.PidFilename, err)
		return 1
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		fmt.Fprintf(stderr, "cuttle: -k %s: %s does not hold a process id\n", sf.command, cfg.PidFilename)
		return 1
	}
	sig := map[string]syscall.Signal{
		"check":       0,
		"shutdown":    syscall.SIGTERM,
		"interrupt":   syscall.SIGINT,
		"kill":        syscall.SIGKILL,
		"rotate":      syscall.SIGUSR1,
		"reconfigure": syscall.SIGHUP,
		"restart":     syscall.SIGTERM,
	}[sf.command]
	if err := syscall.Kill(pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			fmt.Fprintf(stderr, "cuttle: -k %s: no running copy: %s is stale (no process %d); remove it\n", sf.command, cfg.PidFilename, pid)
		} else {
			fmt.Fprintf(stderr, "cuttle: -k %s: cannot signal process %d from %s: %v\n", sf.command, pid, cfg.PidFilename, err)
		}
		return 1
	}
	return 0
}

// createDirs is -z: create each cache_dir's directory and exit. Started
// as root it first becomes cache_effective_user, as Squid does, so that
// the directories belong to the user that will write them.
func createDirs(sf *squidFlags, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(sf, stderr)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	if privilegeDrop {
		if _, err := dropPrivileges(cfg); err != nil {
			fmt.Fprintf(stderr, "cuttle: FATAL: %v\n", err)
			return 1
		}
	}
	status := 0
	for i, o := range diskOptions(cfg, stderr, nil, nil) {
		if err := store.Create(o); err != nil {
			fmt.Fprintf(stderr, "%s: cache_dir: %v\n", cfg.CacheDirs[i].Pos, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "Creating missing swap directories: %s ready\n", o.Dir)
	}
	return status
}
