package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// analyzerLogs returns, for Squid and for cuttle, the access.log lines of
// the side-by-side steps that are compared: the last attempt of each
// step, verbatim. Retries of a hit that was still a MISS are left out,
// since each server needed a different number of them.
func analyzerLogs(t *testing.T, r *sideRun) (squid, cuttle []byte) {
	t.Helper()
	compared := func(p *sideProxy) []byte {
		lines := strings.SplitAfter(string(p.log), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) != len(p.attempts) {
			t.Fatalf("%s logged %d lines for %d requests", p.name, len(lines), len(p.attempts))
		}
		var out []byte
		for i, a := range p.attempts {
			if !a.retry && sideCompared(r.squid, a.step) {
				out = append(out, lines[i]...)
			}
		}
		return out
	}
	return compared(r.squid), compared(r.cuttle)
}

// analyzerBinary finds an analyzer: a missing one fails the test when
// CI=true, and skips it otherwise.
func analyzerBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (apt-get install %s): %v", name, pkg, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return bin
}

// analyzerRun runs an analyzer in dir and returns its combined output.
func analyzerRun(t *testing.T, dir string, stdin []byte, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, out)
	}
	return string(out)
}

// analyzerReport is what an analyzer says about one access.log.
type analyzerReport struct {
	rejected int            // lines it did not accept
	counts   map[string]int // requests by what it classifies: hits, misses, statuses
}

func (r analyzerReport) String() string {
	keys := make([]string, 0, len(r.counts))
	for k := range r.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "rejected %d", r.rejected)
	for _, k := range keys {
		fmt.Fprintf(&b, ", %s %d", k, r.counts[k])
	}
	return b.String()
}

// analyzers runs each tool on a log file (an absolute path, in a
// directory of its own) and reports what it says.
var analyzers = []struct {
	name, pkg string
	run       func(t *testing.T, bin, log string) analyzerReport
}{
	{"goaccess", "goaccess", goaccessReport},
	{"calamaris", "calamaris", calamarisReport},
	{"sarg", "sarg", sargReport},
	{"webalizer", "webalizer", webalizerReport},
}

// TestAnalyzersReadCuttleLikeSquid feeds the access.logs that Squid and
// cuttle wrote for the side-by-side sequence to GoAccess, Calamaris, SARG
// and Webalizer (invoked as in shared/reference/squid-5.7/README.md), and
// checks that each rejects as many lines of cuttle's log as of Squid's and
// counts the same hits, misses and statuses.
func TestAnalyzersReadCuttleLikeSquid(t *testing.T) {
	t.Parallel()
	r := sideBySide(t)
	squidLog, cuttleLog := analyzerLogs(t, r)
	if n := bytes.Count(squidLog, []byte("\n")); n < 10 {
		t.Fatalf("only %d compared lines in squid's access.log", n)
	}
	for _, a := range analyzers {
		t.Run(a.name, func(t *testing.T) {
			bin := analyzerBinary(t, a.name, a.pkg)
			t.Parallel()
			start := time.Now()
			reports := map[string]analyzerReport{}
			for _, l := range []struct {
				name string
				log  []byte
			}{{"squid", squidLog}, {"cuttle", cuttleLog}} {
				dir := t.TempDir()
				path := filepath.Join(dir, "access.log")
				if err := os.WriteFile(path, l.log, 0o644); err != nil {
					t.Fatal(err)
				}
				reports[l.name] = a.run(t, bin, path)
			}
			sq, cu := reports["squid"], reports["cuttle"]
			t.Logf("squid:  %v", sq)
			t.Logf("cuttle: %v", cu)
			if cu.rejected != sq.rejected {
				t.Errorf("%s rejected %d lines of cuttle's log, %d of squid's", a.name, cu.rejected, sq.rejected)
			}
			if len(sq.counts) == 0 {
				t.Errorf("%s reported no counts for squid's log (the parser is out of date?)", a.name)
			}
			if !maps.Equal(sq.counts, cu.counts) {
				t.Errorf("%s counts differ:\n  squid:  %v\n  cuttle: %v", a.name, sq, cu)
			}
			if t.Failed() {
				t.Logf("squid log:\n%s\ncuttle log:\n%s", squidLog, cuttleLog)
			}
			t.Logf("%s took %v", a.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// goaccessReport runs GoAccess twice: with the README's --log-format, for
// the rejected lines and the statuses, and with %C in place of the code
// (after "TCP_"), for its cache-status panel, which only knows the bare
// words HIT and MISS (so TCP_MISS counts as a MISS, TCP_MEM_HIT as neither).
func goaccessReport(t *testing.T, bin, log string) analyzerReport {
	t.Helper()
	type panel struct {
		Data []struct {
			Hits struct {
				Count int `json:"count"`
			} `json:"hits"`
			Data  string `json:"data"`
			Items []struct {
				Hits struct {
					Count int `json:"count"`
				} `json:"hits"`
				Data string `json:"data"`
			} `json:"items"`
		} `json:"data"`
	}
	var report struct {
		General struct {
			Total  int `json:"total_requests"`
			Valid  int `json:"valid_requests"`
			Failed int `json:"failed_requests"`
		} `json:"general"`
		StatusCodes panel `json:"status_codes"`
		CacheStatus panel `json:"cache_status"`
	}
	rep := analyzerReport{counts: map[string]int{}}
	dir := filepath.Dir(log)
	for i, format := range []string{
		`%x.%^ %~%L %h %^/%s %b %m %U %^ %^ %M`,
		`%x.%^ %~%L %h %^_%C/%s %b %m %U %^ %^ %M`,
	} {
		out := filepath.Join(dir, fmt.Sprintf("report%d.json", i))
		analyzerRun(t, dir, nil, bin, log, "--no-global-config", "--log-format="+format,
			"--date-format=%s", "--time-format=%s", "-o", out)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		report.StatusCodes, report.CacheStatus = panel{}, panel{}
		if err := json.Unmarshal(b, &report); err != nil {
			t.Fatalf("goaccess report: %v", err)
		}
		if i == 0 {
			rep.rejected = report.General.Failed
			rep.counts["valid"] = report.General.Valid
			for _, d := range report.StatusCodes.Data {
				for _, it := range d.Items {
					code, _, _ := strings.Cut(strings.TrimSpace(it.Data), " ")
					rep.counts["status "+code] += it.Hits.Count
				}
			}
			continue
		}
		if report.General.Failed != rep.rejected {
			t.Errorf("goaccess with %%C rejected %d lines, %d without", report.General.Failed, rep.rejected)
		}
		rep.counts["HIT"], rep.counts["MISS"] = 0, 0
		for _, d := range report.CacheStatus.Data {
			rep.counts[strings.TrimSpace(d.Data)] += d.Hits.Count
		}
	}
	return rep
}

var (
	calamarisInvalid = regexp.MustCompile(`(?m)^invalid lines:\s+lines\s+(\d+)\s*$`)
	calamarisStatus  = regexp.MustCompile(`(?m)^(HIT|MISS|ERROR)\s+(\d+)\s`)
)

// calamarisReport reads Calamaris's text report: "invalid lines" in the
// summary, and the HIT, MISS and ERROR totals of "Incoming TCP-requests by
// status".
func calamarisReport(t *testing.T, bin, log string) analyzerReport {
	t.Helper()
	in, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	out := analyzerRun(t, filepath.Dir(log), in, bin, "-a", "-f", "squid")
	m := calamarisInvalid.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("calamaris: no \"invalid lines\" in its report:\n%s", out)
	}
	rep := analyzerReport{counts: map[string]int{"HIT": 0, "MISS": 0, "ERROR": 0}}
	rep.rejected, _ = strconv.Atoi(m[1])
	_, section, ok := strings.Cut(out, "# Incoming TCP-requests by status")
	if !ok {
		t.Fatalf("calamaris: no \"Incoming TCP-requests by status\" in its report:\n%s", out)
	}
	if end := strings.Index(section, "\n# "); end >= 0 {
		section = section[:end]
	}
	for _, m := range calamarisStatus.FindAllStringSubmatch(section, -1) {
		n, _ := strconv.Atoi(m[2])
		rep.counts[m[1]] += n
	}
	return rep
}

var sargRecords = regexp.MustCompile(`Records read:\s*(\d+),\s*written:\s*(\d+)`)

// sargReport runs SARG (which wants absolute paths) with -x for its
// "Records read: N, written: M" line: the lines it rejected are the ones
// read but not written. Its sarg-general file holds the requests, and the
// bytes served from the cache and from outside it, not request counts: it
// runs once more on a copy of the log with every bytes field set to 1, so
// that those byte counts count requests (the sizes legitimately differ
// between Squid and cuttle).
func sargReport(t *testing.T, bin, log string) analyzerReport {
	t.Helper()
	dir := filepath.Dir(log)
	general := func(log, outDir string) (read, written int, fields []string) {
		out := analyzerRun(t, dir, nil, bin, "-x", "-l", log, "-o", outDir)
		m := sargRecords.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("sarg: no \"Records read\" in its output:\n%s", out)
		}
		read, _ = strconv.Atoi(m[1])
		written, _ = strconv.Atoi(m[2])
		files, _ := filepath.Glob(filepath.Join(outDir, "*", "sarg-general"))
		if len(files) != 1 {
			t.Fatalf("sarg: %d sarg-general files in %s\n%s", len(files), outDir, out)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		// TOTAL requests bytes elapsed in-cache-bytes out-of-cache-bytes
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) >= 6 && f[0] == "TOTAL" {
				return read, written, f
			}
		}
		t.Fatalf("sarg: no TOTAL line in %s:\n%s", files[0], b)
		return 0, 0, nil
	}
	read, written, f := general(log, filepath.Join(dir, "sarg"))
	rep := analyzerReport{rejected: read - written, counts: map[string]int{}}
	rep.counts["requests"], _ = strconv.Atoi(f[1])

	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var ones []byte
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSuffix(line, "\n")
		if m := squidNativeLine.FindStringSubmatchIndex(line); m != nil {
			line = line[:m[10]] + "1" + line[m[11]:] // field 5, bytes
		}
		ones = append(ones, line+"\n"...)
	}
	onesLog := filepath.Join(dir, "access-ones.log")
	if err := os.WriteFile(onesLog, ones, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, f = general(onesLog, filepath.Join(dir, "sarg-ones"))
	rep.counts["in-cache"], _ = strconv.Atoi(f[4])
	rep.counts["out-of-cache"], _ = strconv.Atoi(f[5])
	return rep
}

var (
	webalizerRecords = regexp.MustCompile(`(?m)^(\d+) records(?: \(([^)]*)\))? in `)
	webalizerIgnored = regexp.MustCompile(`(\d+) ignored`)
	webalizerBad     = regexp.MustCompile(`(\d+) bad`)
)

// webalizerReport reads Webalizer's "N records (I ignored, B bad) in"
// line, and the month's hits (requests), files (200 replies) and pages
// from webalizer.hist ("month year hits files sites kbytes first last
// pages visits"). Webalizer has no notion of cache hits.
func webalizerReport(t *testing.T, bin, log string) analyzerReport {
	t.Helper()
	dir := filepath.Dir(log)
	outDir := filepath.Join(dir, "webalizer")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := analyzerRun(t, dir, nil, bin, "-c", "/dev/null", "-F", "squid", "-o", outDir, log)
	m := webalizerRecords.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("webalizer: no \"records in\" line in its output:\n%s", out)
	}
	rep := analyzerReport{counts: map[string]int{}}
	rep.counts["records"], _ = strconv.Atoi(m[1])
	for _, re := range []*regexp.Regexp{webalizerIgnored, webalizerBad} {
		if n := re.FindStringSubmatch(m[2]); n != nil {
			v, _ := strconv.Atoi(n[1])
			rep.rejected += v
		}
	}
	hist, err := os.ReadFile(filepath.Join(outDir, "webalizer.hist"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(hist)) {
		f := strings.Fields(line)
		if len(f) < 10 || f[0] == "#" || f[2] == "0" {
			continue
		}
		for _, c := range []struct {
			name string
			i    int
		}{{"hits", 2}, {"files", 3}, {"pages", 8}} {
			n, _ := strconv.Atoi(f[c.i])
			rep.counts[c.name] += n
		}
	}
	return rep
}
