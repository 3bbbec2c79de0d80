package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"cuttle/squidconf"
)

// loadConfig parses the config file and prints its notices to w.
func loadConfig(sf *squidFlags, w io.Writer) (*squidconf.Config, error) {
	cfg, err := squidconf.ParseFile(sf.configFile, squidconf.Options{ServiceName: sf.serviceNm, ProcessName: sf.serviceNm})
	if cfg != nil {
		for _, n := range cfg.Notices {
			fmt.Fprintln(w, n.String())
		}
	}
	return cfg, err
}

// printConfigErrors writes each configuration error on its own line,
// "file:line: message" (squid -k parse reports "Bungled" lines instead).
func printConfigErrors(w io.Writer, err error) {
	var list squidconf.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, e.Error())
		}
		return
	}
	fmt.Fprintf(w, "cuttle: %v\n", err)
}

// parseOnly is -k parse: read the configuration, report, and exit 1 on
// errors, as squid -k parse does.
func parseOnly(sf *squidFlags, stderr io.Writer) int {
	cfg, err := loadConfig(sf, stderr)
	if err == nil {
		_, err = buildOptions(cfg, stderr)
	}
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	return 0
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
	if err != nil {
		fmt.Fprintf(stderr, "cuttle: -k %s: no running copy (%v)\n", sf.command, err)
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
		fmt.Fprintf(stderr, "cuttle: -k %s: no running copy (pid %d from %s: %v)\n", sf.command, pid, cfg.PidFilename, err)
		return 1
	}
	return 0
}

// createDirs is -z: create each cache_dir's directory and exit.
func createDirs(sf *squidFlags, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(sf, stderr)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	for _, d := range cfg.CacheDirs {
		if err := os.MkdirAll(d.Path, 0o750); err != nil {
			fmt.Fprintf(stderr, "%s: cache_dir: %v\n", d.Pos, err)
			return 1
		}
		fmt.Fprintf(stdout, "Creating missing swap directories: %s exists\n", d.Path)
	}
	return 0
}
