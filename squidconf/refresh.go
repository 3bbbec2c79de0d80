package squidconf

import (
	"math"
	"regexp"
	"strings"
	"time"
)

// maxRefreshMinutes is where Squid crops refresh_pattern min and max: one
// year of minutes.
const maxRefreshMinutes = 525600

// parseRefreshPattern parses "refresh_pattern [-i] regex min percent max
// [options]" (squid.conf refresh_pattern). min and max are integer
// minutes; percent may end in '%'.
func (p *parser) parseRefreshPattern(d *directive) {
	rp := RefreshPattern{Pos: d.pos, MaxStale: -1}
	tok, ok := d.sc.nextRegex()
	if ok && (tok == "-i" || tok == "+i") {
		rp.IgnoreCase = tok == "-i"
		tok, ok = d.sc.nextRegex()
	}
	if d.sc.err != nil {
		p.error(d, d.sc.err)
		return
	}
	if !ok {
		p.errorf(d, "missing regular expression")
		return
	}
	rp.Regex = tok
	expr := tok
	if rp.IgnoreCase {
		expr = "(?i)" + tok
	}
	if _, err := regexp.Compile(expr); err != nil {
		// Squid reports it and drops the line, but starts.
		p.warn(d, "invalid regular expression '%s': %s; line ignored", tok, unwrapRegexpError(err))
		return
	}

	var ok2 bool
	if rp.Min, ok2 = p.refreshMinutes(d, "min"); !ok2 {
		return
	}
	pct, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing percentage")
		return
	}
	f, err := parseFloat(strings.TrimSuffix(pct, "%"))
	if err != nil {
		p.errorf(d, "invalid percentage '%s'", pct)
		return
	}
	rp.LMFactor = f / 100
	rp.Percent = int(math.Max(math.Min(f, math.MaxInt32), math.MinInt32))
	if rp.Max, ok2 = p.refreshMinutes(d, "max"); !ok2 {
		return
	}

	for {
		opt, ok := d.sc.next()
		if !ok {
			break
		}
		rp.Options = append(rp.Options, opt)
		switch opt {
		case "override-expire":
			rp.OverrideExpire = true
		case "override-lastmod":
			rp.OverrideLastmod = true
		case "reload-into-ims":
			rp.ReloadIntoIMS = true
		case "ignore-reload":
			rp.IgnoreReload = true
		case "ignore-no-store":
			rp.IgnoreNoStore = true
		case "ignore-private":
			rp.IgnorePrivate = true
		case "refresh-ims":
			rp.RefreshIMS = true
		case "store-stale":
			rp.StoreStale = true
		case "ignore-no-cache", "ignore-must-revalidate", "ignore-auth":
			p.warn(d, "option '%s' is obsolete. Remove it.", opt)
		default:
			v, found := strings.CutPrefix(opt, "max-stale=")
			if !found {
				p.warn(d, "unknown option '%s'; ignored", opt)
				continue
			}
			n, err := parseInt(v)
			if err != nil {
				p.errorf(d, "invalid value in refresh_pattern option '%s'", opt)
				return
			}
			rp.MaxStale = time.Duration(n) * time.Second
		}
	}
	p.cfg.RefreshPatterns = append(p.cfg.RefreshPatterns, rp)
}

// refreshMinutes reads the min or max field: an integer number of minutes
// (C syntax, as Squid's GetInteger), cropped to [0, 1 year] with a notice.
func (p *parser) refreshMinutes(d *directive, what string) (time.Duration, bool) {
	tok, ok := d.sc.next()
	if !ok {
		p.errorf(d, "missing %s", what)
		return 0, false
	}
	n, err := parseCInt(tok)
	if err != nil {
		p.errorf(d, "invalid %s age '%s'", what, tok)
		return 0, false
	}
	switch {
	case n < 0:
		p.warn(d, "%s age is negative; cropped to 0", what)
		n = 0
	case n > maxRefreshMinutes:
		p.warn(d, "%s age is more than a year; cropped to %d minutes", what, maxRefreshMinutes)
		n = maxRefreshMinutes
	}
	return time.Duration(n) * time.Minute, true
}
