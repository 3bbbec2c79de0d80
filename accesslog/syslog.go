package accesslog

import (
	"bytes"
	"fmt"
	"io"
	"log/syslog"
	"strings"
)

// OpenSyslog returns a Writer that sends each line to the local syslog
// daemon as one message tagged "squid" (squid.conf
// access_log syslog:facility.priority; both parts optional, default
// local4.info). It is flushed like a file; rotating or reopening it only
// flushes.
func OpenSyslog(spec string) (*Writer, error) {
	return openSyslog("", "", spec)
}

// openSyslog dials the syslog daemon at network, addr ("" and "" for the
// local one).
func openSyslog(network, addr, spec string) (*Writer, error) {
	prio, err := syslogPriority(spec)
	if err != nil {
		return nil, err
	}
	sw, err := syslog.Dial(network, addr, prio, "squid")
	if err != nil {
		return nil, fmt.Errorf("accesslog: syslog: %w", err)
	}
	w := &Writer{
		path:       "syslog:" + spec,
		std:        true,
		sink:       lineSink{sw},
		maxPending: defaultMaxPending,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		buf:        make([]byte, 0, flushThreshold+4096),
		spare:      make([]byte, 0, flushThreshold+4096),
	}
	go w.flushLoop()
	return w, nil
}

// lineSink sends a buffer of lines one message per line.
type lineSink struct{ w io.WriteCloser }

func (s lineSink) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		line, rest, _ := bytes.Cut(p, []byte{'\n'})
		if _, err := s.w.Write(line); err != nil {
			return n, err
		}
		n += len(p) - len(rest)
		p = rest
	}
	return n, nil
}

func (s lineSink) Close() error { return s.w.Close() }

var syslogFacilities = map[string]syslog.Priority{
	"kern": syslog.LOG_KERN, "user": syslog.LOG_USER, "mail": syslog.LOG_MAIL,
	"daemon": syslog.LOG_DAEMON, "auth": syslog.LOG_AUTH, "syslog": syslog.LOG_SYSLOG,
	"lpr": syslog.LOG_LPR, "news": syslog.LOG_NEWS, "uucp": syslog.LOG_UUCP,
	"cron": syslog.LOG_CRON, "authpriv": syslog.LOG_AUTHPRIV, "ftp": syslog.LOG_FTP,
	"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2,
	"local3": syslog.LOG_LOCAL3, "local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5,
	"local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

var syslogSeverities = map[string]syslog.Priority{
	"emerg": syslog.LOG_EMERG, "alert": syslog.LOG_ALERT, "crit": syslog.LOG_CRIT,
	"err": syslog.LOG_ERR, "warning": syslog.LOG_WARNING, "notice": syslog.LOG_NOTICE,
	"info": syslog.LOG_INFO, "debug": syslog.LOG_DEBUG,
}

// syslogPriority parses "facility.priority" as squid.conf writes it (the
// names of syslog(3), with or without a LOG_ prefix, any case).
func syslogPriority(spec string) (syslog.Priority, error) {
	fac, sev, _ := strings.Cut(strings.ToLower(spec), ".")
	fac, sev = strings.TrimPrefix(fac, "log_"), strings.TrimPrefix(sev, "log_")
	if fac == "" {
		fac = "local4"
	}
	if sev == "" {
		sev = "info"
	}
	f, ok := syslogFacilities[fac]
	if !ok {
		return 0, fmt.Errorf("accesslog: syslog: unknown facility %q", fac)
	}
	s, ok := syslogSeverities[sev]
	if !ok {
		return 0, fmt.Errorf("accesslog: syslog: unknown priority %q", sev)
	}
	return f | s, nil
}
