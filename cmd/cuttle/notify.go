package main

import (
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// notifier speaks systemd's notification protocol (sd_notify(3)): a unit
// with Type=notify, such as Debian's squid.service, learns that the
// service is ready, reloading or stopping from datagrams sent to the
// socket named by NOTIFY_SOCKET. Without that variable it does nothing.
type notifier struct {
	addr *net.UnixAddr
}

// newNotifier returns the notifier of NOTIFY_SOCKET. The variable is
// removed from the environment so that child processes do not inherit it,
// as sd_notify's unset_environment does.
func newNotifier() *notifier {
	path := os.Getenv("NOTIFY_SOCKET")
	os.Unsetenv("NOTIFY_SOCKET")
	if path == "" || path[0] != '/' && path[0] != '@' {
		return &notifier{}
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // abstract namespace
	}
	return &notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}
}

// notify sends the state lines ("READY=1", "STATUS=..."), one datagram for
// all; errors are returned for the caller to log.
func (n *notifier) notify(lines ...string) error {
	if n == nil || n.addr == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(strings.Join(lines, "\n") + "\n"))
	return err
}

// reloading is the message of a reload's start: RELOADING=1 with the
// monotonic time that Type=notify-reload units require.
func reloading() []string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return []string{"RELOADING=1"}
	}
	usec := ts.Nano() / int64(time.Microsecond)
	return []string{"RELOADING=1", "MONOTONIC_USEC=" + strconv.FormatInt(usec, 10)}
}
