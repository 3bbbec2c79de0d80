package squidconf

import (
	"context"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Options are the values the squid.conf macros ${process_number},
// ${process_name} and ${service_name} expand to, and where the config and
// the files it names are read from. The zero value is what squid -k parse
// uses, reading the real file system.
type Options struct {
	// ProcessNumber is the value of the ${process_number} macro (default
	// 0, what squid -k parse uses).
	ProcessNumber int

	// ProcessName is the value of the ${process_name} macro (default
	// "squid").
	ProcessName string

	// ServiceName is the value of the ${service_name} macro, Squid's -n
	// (default "squid").
	ServiceName string

	// FS, if set, is where the config, include and acl "file" files are
	// read from, instead of the operating system. Names are resolved as
	// Squid does, relative to the current directory: a relative name is
	// looked up from the root of FS, and an absolute name too, with its
	// leading slash removed. Tests use it; nil means the real file system.
	FS fs.FS

	// LookupHost, if set, resolves the host names of http_port and
	// https_port addresses, which Squid resolves when it reads them (a
	// name that does not resolve is fatal). Nil means the system resolver
	// ([net.Resolver.LookupHost]) with a timeout of [LookupTimeout]; IP
	// addresses are never looked up.
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

// LookupTimeout is how long a parse waits for one host name to resolve
// when [Options.LookupHost] is nil; a name that takes longer counts as
// unresolvable.
const LookupTimeout = 2 * time.Second

// lookupHost resolves host with o.LookupHost or the system resolver.
func (o Options) lookupHost(host string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), LookupTimeout)
	defer cancel()
	if o.LookupHost != nil {
		return o.LookupHost(ctx, host)
	}
	return net.DefaultResolver.LookupHost(ctx, host)
}

func (o Options) processName() string {
	if o.ProcessName == "" {
		return "squid"
	}
	return o.ProcessName
}

func (o Options) serviceName() string {
	if o.ServiceName == "" {
		return "squid"
	}
	return o.ServiceName
}

// fsName maps a file name of the config to a name in o.FS.
func fsName(name string) string {
	name = strings.TrimLeft(filepath.ToSlash(name), "/")
	if name == "" {
		return "."
	}
	return path.Clean(name)
}

// readFile reads a file named in the config (or the config itself).
func (o Options) readFile(name string) ([]byte, error) {
	if o.FS == nil {
		return os.ReadFile(name)
	}
	return fs.ReadFile(o.FS, fsName(name))
}

// glob expands an include pattern as glob(3) does, in sorted order.
func (o Options) glob(pattern string) ([]string, error) {
	if o.FS == nil {
		return filepath.Glob(pattern)
	}
	matches, err := fs.Glob(o.FS, fsName(pattern))
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(pattern, "/") {
		for i, m := range matches {
			matches[i] = "/" + m
		}
	}
	return matches, nil
}
