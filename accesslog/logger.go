package accesslog

import (
	"errors"
	"strings"
	"sync"
)

// An Output is one squid.conf access_log line: where lines go, in which
// format, for which transactions.
type Output struct {
	// W receives the lines. Several Outputs may share a Writer.
	W *Writer

	// Format formats the lines (the access_log's logformat=NAME). Nil
	// means the native squid format with Squid's default
	// strip_query_terms on.
	Format Formatter

	// Filter selects the transactions logged (the access_log's ACLs); nil
	// logs every transaction.
	Filter func(*Entry) bool
}

// maxPooledBuffer is the largest line buffer returned to the pool; longer
// ones (huge URLs) are left to the garbage collector.
const maxPooledBuffer = 64 << 10

// A Logger writes each transaction to its outputs, like Squid's list of
// access_log directives. Its methods are safe for concurrent use. A nil
// *Logger logs nothing.
type Logger struct {
	outputs []Output
	bufs    sync.Pool // of *[]byte line buffers
}

// New returns a Logger writing to outputs, in order. Outputs without a
// Writer are ignored.
func New(outputs ...Output) *Logger {
	l := &Logger{}
	for _, o := range outputs {
		if o.W == nil {
			continue
		}
		if o.Format == nil {
			o.Format = Squid(FormatOptions{StripQueryTerms: true})
		}
		l.outputs = append(l.outputs, o)
	}
	l.bufs.New = func() any {
		b := make([]byte, 0, 1024)
		return &b
	}
	return l
}

// Log formats e for every output whose Filter accepts it and hands the
// line to the output's Writer. It does not retain e. Write errors are not
// reported here: lines that could not be written stay buffered in the
// Writer, whose Flush and Close report the failure. Logging with the
// native format does not allocate.
func (l *Logger) Log(e *Entry) {
	if l == nil || e == nil || len(l.outputs) == 0 {
		return
	}
	bp := l.bufs.Get().(*[]byte)
	b := *bp
	for i := range l.outputs {
		o := &l.outputs[i]
		if o.Filter != nil && !o.Filter(e) {
			continue
		}
		b = o.Format.Append(b[:0], e)
		o.W.Write(b) // errors surface through Flush and Close
	}
	if cap(b) <= maxPooledBuffer {
		*bp = b[:0]
		l.bufs.Put(bp)
	}
}

// Flush flushes every output's Writer and returns their errors joined.
func (l *Logger) Flush() error {
	if l == nil {
		return nil
	}
	var errs []error
	for _, w := range l.writers() {
		errs = append(errs, w.Flush())
	}
	return errors.Join(errs...)
}

// Close closes every output's Writer and returns their errors joined.
// Lines logged afterwards are discarded.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	var errs []error
	for _, w := range l.writers() {
		errs = append(errs, w.Close())
	}
	return errors.Join(errs...)
}

// writers returns the distinct Writers of the outputs.
func (l *Logger) writers() []*Writer {
	var ws []*Writer
outer:
	for _, o := range l.outputs {
		for _, w := range ws {
			if w == o.W {
				continue outer
			}
		}
		ws = append(ws, o.W)
	}
	return ws
}

// ParseDestination splits the place of a squid.conf access_log directive
// into its logging module and the module's argument: "stdio:/x" gives
// ("stdio", "/x"), "daemon:/x" ("daemon", "/x"), "syslog:local4.info"
// ("syslog", "local4.info"), "udp://host:port" ("udp", "//host:port") and
// likewise for tcp. "none" gives ("none", ""). Anything else, such as a
// bare path "/x", is a file written directly, as in Squid: ("stdio", "/x").
func ParseDestination(s string) (module, path string) {
	if s == "none" {
		return "none", ""
	}
	for _, prefix := range []string{"stdio:", "daemon:", "syslog:", "udp:", "tcp:"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return prefix[:len(prefix)-1], rest
		}
	}
	return "stdio", s
}
