package squidconf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// statusLabels are the names of the statuses in messages and in the
// support table of README.md.
var statusLabels = [...]string{
	statusUnknown:     "unknown",
	statusApplied:     "applied",
	statusParsed:      "parsed",
	statusPartial:     "partial",
	statusIgnored:     "ignored",
	statusNotNeeded:   "not needed",
	statusUnsupported: "unsupported",
	statusObsolete:    "obsolete",
	statusRemoved:     "removed",
}

// statusMeanings say what each status means, for the support table.
var statusMeanings = [...]string{
	statusApplied:     "parsed, checked and applied",
	statusParsed:      "parsed and checked as Squid does, not applied yet: the note says what cuttle does instead",
	statusPartial:     "parsed and checked, applied in part: the note says what differs",
	statusIgnored:     "no effect in an accelerator: accepted with a notice that says why",
	statusNotNeeded:   "tunes something cuttle does its own way: accepted with a notice",
	statusUnsupported: "behaviour an accelerator may rely on and cuttle lacks: accepted with a warning",
	statusObsolete:    "obsolete in Squid 5 or 6, which ignore it: a warning with Squid's upgrade hint",
	statusRemoved:     "dropped from Squid after 3.1; Squid 5 and 6 reject it: an error, as in Squid",
}

// String returns the label of s: "applied", "not needed", ...
func (s status) String() string {
	if int(s) < len(statusLabels) {
		return statusLabels[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// supportRow is one line of the support table.
type supportRow struct {
	name   string
	status status
	note   string
}

// supportRows returns every name of knownDirectives sorted, old names
// with the status of their current name.
func supportRows() []supportRow {
	rows := make([]supportRow, 0, len(knownDirectives))
	for _, e := range knownDirectives {
		name, info := e.name, e.info
		_, cur, _ := lookupDirective(name)
		note := info.note
		if info.alias != "" {
			note = "old name of `" + info.alias + "`"
		}
		rows = append(rows, supportRow{name: name, status: cur.status, note: note})
	}
	slices.SortFunc(rows, func(a, b supportRow) int { return strings.Compare(a.name, b.name) })
	return rows
}

// supportTable renders the squid.conf support section of README.md, the
// text between its support-table markers: a count per status, then the
// directives cuttle parses and the others, one row each, sorted by name.
func supportTable() string {
	rows := supportRows()
	var counts [len(statusLabels)]int
	for _, r := range rows {
		counts[r.status]++
	}
	var b strings.Builder
	b.WriteString("<!-- Generated from squidconf/directives_table.go by TestREADMESupportTable;\n" +
		"     go test ./squidconf -run TestREADMESupportTable -update rewrites it. -->\n\n")
	fmt.Fprintf(&b, "cuttle knows the %d directive names of Squid 3.1 to 6 (old names included) and "+
		"says what it does with each: `cuttle -k parse` prints the note of every directive it does not apply in full "+
		"(parsed but not applied, ignored, unsupported, obsolete...), with its line.\n\n", len(rows))
	b.WriteString("| status | names | meaning |\n|---|---:|---|\n")
	for s := statusApplied; s <= statusRemoved; s++ {
		fmt.Fprintf(&b, "| %s | %d | %s |\n", s, counts[s], statusMeanings[s])
	}
	writeRows := func(summary string, keep func(status) bool) {
		n := 0
		for _, r := range rows {
			if keep(r.status) {
				n++
			}
		}
		fmt.Fprintf(&b, "\n<details>\n<summary>%s (%d)</summary>\n\n", summary, n)
		b.WriteString("| directive | status | notes |\n|---|---|---|\n")
		for _, r := range rows {
			if keep(r.status) {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.name, r.status, markdownCell(r.note))
			}
		}
		b.WriteString("\n</details>\n")
	}
	writeRows("Directives cuttle parses", status.typed)
	writeRows("Directives cuttle accepts with a notice or a warning, or rejects",
		func(s status) bool { return !s.typed() })
	return b.String()
}

// markdownCell escapes the characters that would end a table cell.
func markdownCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
