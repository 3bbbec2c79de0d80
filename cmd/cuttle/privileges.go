package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"cuttle/squidconf"
)

// dropPrivileges switches a process started as root to
// cache_effective_user and cache_effective_group, as Squid does once it
// has bound its ports: the group is the user's login group unless
// cache_effective_group names another, and supplementary groups are
// cleared. A process not running as root keeps its identity. It reports
// whether it switched.
//
// Since Go 1.16 the set*id calls apply to every thread of the process.
func dropPrivileges(cfg *squidconf.Config) (bool, error) {
	if os.Geteuid() != 0 || cfg.CacheEffectiveUser == "" {
		return false, nil
	}
	u, err := user.Lookup(cfg.CacheEffectiveUser)
	if err != nil {
		return false, fmt.Errorf("cache_effective_user %s: %w", cfg.CacheEffectiveUser, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return false, fmt.Errorf("cache_effective_user %s: uid %q", u.Username, u.Uid)
	}
	if uid == 0 {
		return false, nil // root asked for root
	}
	gidText := u.Gid
	if cfg.CacheEffectiveGroup != "" {
		g, err := user.LookupGroup(cfg.CacheEffectiveGroup)
		if err != nil {
			return false, fmt.Errorf("cache_effective_group %s: %w", cfg.CacheEffectiveGroup, err)
		}
		gidText = g.Gid
	}
	gid, err := strconv.Atoi(gidText)
	if err != nil {
		return false, fmt.Errorf("cache_effective_group: gid %q", gidText)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return false, fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return false, fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return false, fmt.Errorf("setuid %d: %w", uid, err)
	}
	return true, nil
}
