package httpcache

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// aclProto matches the URL's scheme (acl proto), in upper case.
type aclProto []string

func (a aclProto) match(tx *transaction) bool {
	scheme, _, ok := strings.Cut(tx.url, "://")
	return ok && slices.Contains(a, strings.ToUpper(scheme))
}

// aclField matches a request or reply header field with regexes (acl
// browser, referer_regex, req_header, rep_header, req_mime_type,
// rep_mime_type). The values of a repeated field are joined with ", ".
// A missing field never matches, except for the mime types, which then
// match against "", as in Squid. Reply acls never match before the reply
// is known.
type aclField struct {
	name       string
	reply      bool
	emptyMatch bool
	re         *regexp.Regexp
}

func newFieldACL(name string, reply, emptyMatch bool, args []string) (ACL, error) {
	re, err := compilePatterns(args)
	if err != nil {
		return nil, err
	}
	return &aclField{name: name, reply: reply, emptyMatch: emptyMatch, re: re}, nil
}

func (a *aclField) match(tx *transaction) bool {
	hdr := tx.req.Header
	if a.reply {
		hdr = tx.acl.reply
		if hdr == nil {
			return false
		}
	}
	vs := hdr[a.name]
	switch {
	case len(vs) == 0 && a.emptyMatch:
		return a.re.MatchString("")
	case len(vs) == 0:
		return false
	case len(vs) == 1:
		return a.re.MatchString(vs[0])
	}
	return a.re.MatchString(strings.Join(vs, ", "))
}

// aclStatus matches the reply's status (acl http_status): codes, ranges
// and open ranges ("500-").
type aclStatus [][2]int

func newStatusACL(vs []string) (ACL, error) {
	var a aclStatus
	for _, v := range vs {
		lo, hi, isRange := strings.Cut(v, "-")
		l, err := strconv.Atoi(lo)
		h := l
		if err == nil && isRange {
			h = 999
			if hi != "" {
				h, err = strconv.Atoi(hi)
			}
		}
		if err != nil || h < l {
			return nil, fmt.Errorf("httpcache: acl http_status: invalid status %q", v)
		}
		a = append(a, [2]int{l, h})
	}
	return a, nil
}

func (a aclStatus) match(tx *transaction) bool {
	if tx.acl.reply == nil {
		return false
	}
	s := tx.acl.replyStatus
	for _, r := range a {
		if s >= r[0] && s <= r[1] {
			return true
		}
	}
	return false
}

// aclURLLogin matches the user information of an absolute request URL
// ("user:password", acl urllogin); cuttle never keeps it in the URL it
// logs and forwards.
type aclURLLogin struct{ re *regexp.Regexp }

func (a aclURLLogin) match(tx *transaction) bool {
	login := ""
	if u := tx.req.URL; u != nil && u.User != nil {
		login = u.User.String()
	}
	return a.re.MatchString(login)
}
