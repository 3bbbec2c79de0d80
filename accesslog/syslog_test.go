package accesslog

import (
	"log/syslog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSyslogWriter sends lines through a Writer to a syslog socket and
// checks that each arrives as one message with the facility and priority
// of access_log syslog:facility.priority and Squid's tag.
func TestSyslogWriter(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w, err := openSyslog("unixgram", sock, "daemon.notice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("first line\nsecond line\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := int(syslog.LOG_DAEMON | syslog.LOG_NOTICE)
	for _, line := range []string{"first line", "second line"} {
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reading the syslog message for %q: %v", line, err)
		}
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, "<"+strconv.Itoa(want)+">") || !strings.Contains(msg, " squid[") || !strings.HasSuffix(strings.TrimSuffix(msg, "\n"), ": "+line) {
			t.Errorf("syslog message %q; want priority <%d>, tag squid and the line %q", msg, want, line)
		}
	}
}

func TestSyslogPriority(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]syslog.Priority{
		"":                   syslog.LOG_LOCAL4 | syslog.LOG_INFO,
		"daemon.info":        syslog.LOG_DAEMON | syslog.LOG_INFO,
		"LOG_LOCAL2.warning": syslog.LOG_LOCAL2 | syslog.LOG_WARNING,
		"user":               syslog.LOG_USER | syslog.LOG_INFO,
	} {
		if got, err := syslogPriority(spec); err != nil || got != want {
			t.Errorf("syslogPriority(%q) = %v, %v; want %v", spec, got, err, want)
		}
	}
	if _, err := syslogPriority("nofacility.info"); err == nil {
		t.Error("syslogPriority accepted an unknown facility")
	}
}
