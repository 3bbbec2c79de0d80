package httpcache

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuttle/accesslog"
)

// timeSpan is a day set (bit 0 Sunday) and a range of minutes of the day,
// both ends included.
type timeSpan struct {
	days     uint8
	from, to int
}

// aclTime matches the local time of the request (acl time): day letters S
// M T W H F A (D for Monday to Friday), then h1:m1-h2:m2 ranges.
type aclTime []timeSpan

func newTimeACL(vs []string) (ACL, error) {
	var a aclTime
	days, pending := uint8(0x7f), false
	for _, v := range vs {
		if v == "" {
			continue
		}
		if v[0] < '0' || v[0] > '9' {
			days, pending = 0, true
			for _, c := range v {
				switch i := strings.IndexRune("SMTWHFA", c); {
				case i >= 0:
					days |= 1 << i
				case c == 'D':
					days |= 0x3e
				}
			}
			continue
		}
		var h1, m1, h2, m2 int
		if n, _ := fmt.Sscanf(v, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); n != 4 || h1*60+m1 > h2*60+m2 {
			return nil, fmt.Errorf("httpcache: acl time: invalid range %q", v)
		}
		a = append(a, timeSpan{days: days, from: h1*60 + m1, to: h2*60 + m2})
		pending = false
	}
	if pending || len(a) == 0 {
		a = append(a, timeSpan{days: days, from: 0, to: 24 * 60})
	}
	return a, nil
}

func (a aclTime) match(tx *transaction) bool {
	t := tx.start.Local()
	day := uint8(1) << t.Weekday()
	m := t.Hour()*60 + t.Minute()
	for _, s := range a {
		if s.days&day != 0 && m >= s.from && m <= s.to {
			return true
		}
	}
	return false
}

// aclMaxConn matches when the client's address has more than this many
// open connections (acl maxconn), counted by the [ConnTable].
type aclMaxConn int

func (a aclMaxConn) match(tx *transaction) bool {
	return tx.acl.conns != nil && tx.acl.conns.PerIP(tx.clientIP) > int(a)
}

// aclNote matches an annotation of the transaction (acl note): by name,
// and by value when values are given; with -m the annotation's value is a
// list of tokens (separated by commas, or by the characters of
// -m=delimiters) and one token must be among the values.
type aclNote struct {
	name   string
	values []string
	delims string // "" without -m
}

func newNoteACL(args []string) (ACL, error) {
	a := &aclNote{}
	for _, f := range args {
		if f == "-m" {
			a.delims = ","
		} else if d, ok := strings.CutPrefix(f, "-m="); ok {
			a.delims = d
		}
	}
	vs := values(slices.DeleteFunc(slices.Clone(args), func(s string) bool { return strings.HasPrefix(s, "-m=") }))
	if len(vs) == 0 {
		return nil, fmt.Errorf("httpcache: acl note: no annotation name")
	}
	a.name, a.values = vs[0], vs[1:]
	return a, nil
}

func (a *aclNote) match(tx *transaction) bool {
	for _, n := range tx.acl.notes {
		if n.Name != a.name {
			continue
		}
		if len(a.values) == 0 {
			return true
		}
		if a.delims == "" {
			if slices.Contains(a.values, n.Value) {
				return true
			}
			continue
		}
		for tok := range strings.FieldsFuncSeq(n.Value, func(r rune) bool { return strings.ContainsRune(a.delims, r) }) {
			if slices.Contains(a.values, strings.TrimSpace(tok)) {
				return true
			}
		}
	}
	return false
}

// aclAnnotate always matches and annotates the transaction (acl
// annotate_transaction) or the client connection, whose later
// transactions inherit the annotations (acl annotate_client): key=value
// replaces the annotations of that name, key+=value adds one; with -m the
// value is a comma-separated list of values.
type aclAnnotate struct {
	client bool
	notes  []annotation
}

type annotation struct {
	accesslog.Note
	add bool
}

func newAnnotateACL(client bool, args []string) (ACL, error) {
	a := &aclAnnotate{client: client}
	delims := ""
	for _, f := range args {
		if f == "-m" {
			delims = ","
		} else if d, ok := strings.CutPrefix(f, "-m="); ok {
			delims = d
		}
	}
	for _, v := range values(slices.DeleteFunc(slices.Clone(args), func(s string) bool { return strings.HasPrefix(s, "-m=") })) {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || k == "+" {
			return nil, fmt.Errorf("httpcache: acl annotate: %q is not key=value", v)
		}
		add := strings.HasSuffix(k, "+")
		k = strings.TrimSuffix(k, "+")
		vals := []string{val}
		if delims != "" {
			vals = strings.FieldsFunc(val, func(r rune) bool { return strings.ContainsRune(delims, r) })
		}
		for i, x := range vals {
			a.notes = append(a.notes, annotation{Note: accesslog.Note{Name: k, Value: x}, add: add || i > 0})
		}
	}
	return a, nil
}

func (a *aclAnnotate) match(tx *transaction) bool {
	tx.acl.notes = annotate(tx.acl.notes, a.notes)
	if a.client && tx.acl.conn != nil {
		ci := tx.acl.conn
		ci.mu.Lock()
		ci.notes = annotate(ci.notes, a.notes)
		ci.mu.Unlock()
	}
	return true
}

// annotate applies annotations to a list of notes.
func annotate(notes []accesslog.Note, add []annotation) []accesslog.Note {
	for _, n := range add {
		if !n.add {
			notes = slices.DeleteFunc(notes, func(x accesslog.Note) bool { return x.Name == n.Name })
		}
		notes = append(notes, n.Note)
	}
	return notes
}

// aclGroup matches when any (acl any-of) or all (acl all-of) of its
// members match, evaluated in order until the answer is known.
type aclGroup struct {
	all     bool
	members []ACL
}

func (a *aclGroup) match(tx *transaction) bool {
	for _, m := range a.members {
		if m.match(tx) != a.all {
			return !a.all
		}
	}
	return a.all
}

// aclHierCode matches the hierarchy code logged by %Sh (acl hier_code):
// HIER_NONE until a peer is chosen.
type aclHierCode []string

func (a aclHierCode) match(tx *transaction) bool {
	h := tx.hier
	if h == "" {
		h = "HIER_NONE"
	}
	return slices.Contains(a, h)
}

// aclRandom matches with a probability (acl random).
type aclRandom struct {
	p    float64
	rand func() float64
}

// parseProbability reads a probability as a decimal (0.333), a fraction
// (1/3) or a ratio of matches to non-matches (3:5).
func parseProbability(v string) (float64, error) {
	bad := fmt.Errorf("httpcache: acl random: invalid probability %q", v)
	if a, b, ok := strings.Cut(v, "/"); ok {
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 != nil || err2 != nil || y <= 0 || x < 0 || x > y {
			return 0, bad
		}
		return x / y, nil
	}
	if a, b, ok := strings.Cut(v, ":"); ok {
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 != nil || err2 != nil || x < 0 || y < 0 || x+y == 0 {
			return 0, bad
		}
		return x / (x + y), nil
	}
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, bad
	}
	return p, nil
}

func (a *aclRandom) match(*transaction) bool { return a.rand() < a.p }

// aclPeerName matches the name= of the cache_peer chosen for the request
// (acl peername, peername_regex); nothing before one is chosen.
type aclPeerName struct {
	names []string
	re    *regexp.Regexp
}

func (a aclPeerName) match(tx *transaction) bool {
	if tx.peer == nil {
		return false
	}
	if a.re != nil {
		return a.re.MatchString(tx.peer.Name)
	}
	return slices.Contains(a.names, tx.peer.Name)
}

// aclHas matches a transaction that has the components named (acl has):
// request, response, ALE.
type aclHas []string

func (a aclHas) match(tx *transaction) bool {
	for _, c := range a {
		switch c {
		case "request", "ALE":
			return true
		case "response":
			if tx.acl.reply != nil {
				return true
			}
		}
	}
	return false
}

// aclEncrypted matches when the messages of the transaction came over TLS
// (acl connections_encrypted): the client's request and, once a peer is
// chosen, the connection to it.
type aclEncrypted struct{}

func (aclEncrypted) match(tx *transaction) bool {
	if tx.req.TLS == nil {
		return false
	}
	return tx.peer == nil || strings.HasPrefix(tx.peer.base, "https:")
}

// aclSquidError matches the error page of the transaction (acl
// squid_error), by its ERR_ name.
type aclSquidError []string

func (a aclSquidError) match(tx *transaction) bool {
	return tx.errCode != "" && slices.Contains(a, tx.errCode)
}
