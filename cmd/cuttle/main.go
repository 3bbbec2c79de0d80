// Command cuttle is a Squid-compatible caching accelerator: it reads an
// existing squid.conf, serves its http_port accel listeners from a shared
// RFC 9111 cache in front of the cache_peer origin servers, and writes
// Squid's access.log lines.
//
// It takes Squid's command-line options (-f, -k, -N, -z, -v, -h and the
// harmless others) plus its own flags, which also read CUTTLE_ environment
// variables; see cuttle -h.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	_ "cuttle/internal/prefault" // first, so that its init runs early
)

// version is cuttle's release; it appears in Via and on error pages. Release
// builds stamp it with -ldflags "-X main.version=..." (see Makefile).
var version = "0.1.0"

func main() {
	// No heap profile is kept unless --debug-addr asks for one: sampling
	// costs page faults at start-up and a stack walk per sample after.
	runtime.MemProfileRate = 0
	// serve handles the signals: SIGTERM (-k shutdown), SIGINT
	// (-k interrupt), SIGHUP (-k reconfigure), SIGUSR1 (-k rotate).
	privilegeDrop = true
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status. ctx ends the
// server gracefully when cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sf, cf, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "cuttle: %v\n", err)
		printUsage(stderr)
		return 2
	}
	switch {
	case sf.help:
		printUsage(stdout)
		return 0
	case sf.version:
		fmt.Fprintf(stdout, "cuttle version %s\nSquid-compatible caching accelerator (squid.conf, access.log and -k compatible with Squid 5/6)\n", version)
		return 0
	}
	switch sf.command {
	case "":
	case "parse":
		return parseOnly(sf, cf, stdout, stderr)
	case "check", "shutdown", "interrupt", "kill", "rotate", "reconfigure", "restart":
		return signalRunning(sf, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "cuttle: -k %s: unknown command; use parse, check, shutdown, interrupt, kill, rotate or reconfigure\n", sf.command)
		return 2
	}
	if sf.createDirs {
		return createDirs(sf, stdout, stderr)
	}
	return serve(ctx, sf, cf, stderr)
}
