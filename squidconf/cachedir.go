package squidconf

import (
	"strconv"
	"strings"
)

// parseCacheDir parses "cache_dir type path size [L1 L2] [options]"
// (squid.conf cache_dir). The size is plain megabytes; ufs, aufs and
// diskd take the two directory levels, rock does not.
func (p *parser) parseCacheDir(d *directive) {
	typ, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing cache_dir type")
		return
	}
	path, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing cache_dir path")
		return
	}
	var ufs bool
	switch typ {
	case "ufs", "aufs", "diskd":
		ufs = true
	case "rock":
	default:
		// Squid skips it with an error message and goes on.
		p.warn(d, "this proxy does not support the '%s' cache type; line ignored", typ)
		return
	}
	cd := CacheDir{Pos: d.pos, Type: typ, Path: path, MaxSize: -1, ReplacementPolicy: p.cfg.CacheReplacementPolicy}
	if ufs && !p.checkCacheDirPolicy(d) {
		return
	}

	size, ok := p.cacheDirInt(d, "size", !ufs)
	if !ok {
		return
	}
	cd.SizeMB = int64(size)
	if ufs {
		if cd.L1, ok = p.cacheDirInt(d, "level 1 directories", false); !ok {
			return
		}
		if cd.L2, ok = p.cacheDirInt(d, "level 2 directories", false); !ok {
			return
		}
	}
	for {
		opt, ok := d.sc.next()
		if !ok {
			break
		}
		if !p.cacheDirOption(d, &cd, opt) {
			return
		}
		cd.Options = append(cd.Options, opt)
	}

	for i, old := range p.cfg.CacheDirs {
		if old.Path != cd.Path {
			continue
		}
		if old.Type != cd.Type {
			p.errorf(d, "cannot change the type of the cache_dir %s from %s to %s", path, old.Type, typ)
			return
		}
		// Squid reconfigures the existing cache_dir with the new line.
		p.warn(d, "cache_dir %s is already defined at %s; this line replaces it", path, old.Pos)
		p.cfg.CacheDirs[i] = cd
		return
	}
	p.cfg.CacheDirs = append(p.cfg.CacheDirs, cd)
}

// cacheDirInt reads one of the positional numbers of cache_dir: positive,
// or non-negative when zero is allowed.
func (p *parser) cacheDirInt(d *directive, what string, zeroOK bool) (int, bool) {
	tok, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing %s", what)
		return 0, false
	}
	n, err := parseCInt(tok)
	if err != nil || n < 0 || n == 0 && !zeroOK || n > 1<<40 {
		p.errorf(d, "invalid %s value '%s'", what, tok)
		return 0, false
	}
	return int(n), true
}

// cacheDirOption checks one cache_dir option.
func (p *parser) cacheDirOption(d *directive, cd *CacheDir, opt string) bool {
	name, value, hasValue := strings.Cut(opt, "=")
	bytes := func(dst *int64) bool {
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			p.errorf(d, "%s= takes a plain number of bytes, got '%s'", name, value)
			return false
		}
		*dst = n
		return true
	}
	switch {
	case opt == "no-store" || opt == "read-only":
		cd.NoStore = true
		return true
	case name == "min-size" && hasValue:
		return bytes(&cd.MinSize)
	case name == "max-size" && hasValue:
		return bytes(&cd.MaxSize)
	case cd.Type == "diskd" && (name == "Q1" || name == "Q2") && hasValue,
		cd.Type == "rock" && hasValue && (name == "slot-size" || name == "swap-timeout" || name == "max-swap-rate"):
		if _, err := parseInt(value); err != nil {
			p.errorf(d, "invalid value in cache_dir option '%s'", opt)
			return false
		}
		return true
	}
	p.errorf(d, "unknown cache_dir option '%s'", opt)
	return false
}
