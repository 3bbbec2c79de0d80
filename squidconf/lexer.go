package squidconf

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// maxIncludeDepth is Squid's limit on nested include directives.
const maxIncludeDepth = 16

// ifState is one open if-statement.
type ifState struct {
	pos   Pos
	taken bool // the branch being read is the one taken
}

// conditionals are the open if-statements of one file.
type conditionals struct {
	stack   []ifState
	skipped int // how many of stack are not taken
}

func (c *conditionals) push(pos Pos, taken bool) {
	c.stack = append(c.stack, ifState{pos: pos, taken: taken})
	if !taken {
		c.skipped++
	}
}

func (c *conditionals) pop() bool {
	if len(c.stack) == 0 {
		return false
	}
	if !c.stack[len(c.stack)-1].taken {
		c.skipped--
	}
	c.stack = c.stack[:len(c.stack)-1]
	return true
}

func (c *conditionals) flip() bool {
	if len(c.stack) == 0 {
		return false
	}
	top := &c.stack[len(c.stack)-1]
	top.taken = !top.taken
	if top.taken {
		c.skipped--
	} else {
		c.skipped++
	}
	return true
}

// fileFrame is one file being read: the main config or an included file.
type fileFrame struct {
	name  string // as given or as found by glob
	key   string // identity for include loop detection
	depth int
	chain []Pos // include lines that led here, innermost first
}

// readConfig splits src into logical lines as Squid's parseOneConfigFile
// does and handles each: macros, if/else/endif, include, directives.
//
// Per physical line: cut at the first CR (or NUL), strip leading
// whitespace, skip "#line N" markers, comments and blank lines (also in the
// middle of a continuation), append to the pending line; a line ending in
// '\' continues on the next one with nothing inserted. The logical line is
// then trimmed on the right and its macros expanded.
func (p *parser) readConfig(f fileFrame, src []byte) {
	file := f.name
	if _, ok := p.chains[file]; !ok {
		p.chains[file] = f.chain
	}
	lineno := 0
	var pending strings.Builder
	start := 0
	var ifs conditionals

	text := string(src)
	text = strings.TrimSuffix(text, "\n")
	for raw := range strings.SplitSeq(text, "\n") {
		if p.stopped() {
			return
		}
		lineno++
		line := raw
		if i := strings.IndexAny(line, "\r\x00"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimLeft(line, spaceChars)
		if strings.HasPrefix(line, "#line ") {
			if n, name, ok := parseLineMarker(line[len("#line "):]); ok {
				lineno = n - 1
				if name != "" {
					file = name
				}
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if pending.Len() == 0 {
			start = lineno
		}
		if strings.HasSuffix(line, `\`) {
			pending.WriteString(line[:len(line)-1])
			continue
		}
		pending.WriteString(line)
		logical := strings.TrimRight(pending.String(), spaceChars)
		pending.Reset()
		// Squid names a continued line by its last physical line.
		p.logicalLine(f, Pos{File: file, Line: lineno}, logical, &ifs)
	}
	if pending.Len() > 0 {
		p.warnf(Pos{File: file, Line: start},
			"the file ends inside a line continued with '\\'; Squid ignores that line, and so does cuttle")
	}
	if n := len(ifs.stack); n > 0 && !p.stopped() {
		p.fail(f, Pos{File: file, Line: ifs.stack[n-1].pos.Line}, "",
			errors.New("if-statement without 'endif'"))
	}
}

// parseLineMarker parses the rest of a cpp-style `#line N "file"` comment.
// Anything else is an ordinary comment, as in Squid.
func parseLineMarker(s string) (n int, name string, ok bool) {
	digits := strings.TrimLeft(s, spaceChars)
	end := 0
	for end < len(digits) && digits[end] >= '0' && digits[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, "", false
	}
	n, err := strconv.Atoi(digits[:end])
	if err != nil {
		return 0, "", false
	}
	rest := strings.TrimLeft(digits[end:], spaceChars)
	if rest == "" {
		return n, "", true
	}
	if rest[0] != '"' {
		return 0, "", false
	}
	name, _, _ = strings.Cut(rest[1:], `"`)
	return n, name, true
}

// logicalLine handles one logical line of file f.
func (p *parser) logicalLine(f fileFrame, pos Pos, line string, ifs *conditionals) {
	line = p.expandMacros(line)

	if expr, ok := findStatement(line, "if"); ok {
		cond, err := evalCondition(expr)
		if err != nil {
			p.fail(f, pos, "", err)
		}
		ifs.push(pos, cond)
		return
	}
	if _, ok := findStatement(line, "endif"); ok {
		if !ifs.pop() {
			p.fail(f, pos, "", errors.New("'endif' without 'if'"))
		}
		return
	}
	if _, ok := findStatement(line, "else"); ok {
		if !ifs.flip() {
			p.fail(f, pos, "", errors.New("'else' without 'if'"))
		}
		return
	}
	// Unlike Squid, which only looks at the innermost if-statement, a line
	// is read only when every enclosing branch is taken.
	if ifs.skipped > 0 {
		return
	}

	if len(line) >= 9 && strings.HasPrefix(line, "include") && isSpace(line[7]) {
		p.include(f, pos, line[8:])
		return
	}
	p.directive(f, pos, line)
}

// expandMacros substitutes Squid's three preprocessor macros everywhere
// in the line, before it is split into tokens.
func (p *parser) expandMacros(line string) string {
	if !strings.Contains(line, "${") {
		return line
	}
	line = strings.ReplaceAll(line, "${service_name}", p.opts.serviceName())
	line = strings.ReplaceAll(line, "${process_name}", p.opts.processName())
	return strings.ReplaceAll(line, "${process_number}", strconv.Itoa(p.opts.ProcessNumber))
}

// findStatement reports whether line is the keyword followed by nothing or
// by whitespace, and returns what follows.
func findStatement(line, keyword string) (string, bool) {
	if !strings.HasPrefix(line, keyword) {
		return "", false
	}
	rest := line[len(keyword):]
	if rest == "" {
		return "", true
	}
	if !isSpace(rest[0]) {
		return "", false
	}
	return strings.TrimLeft(rest, spaceChars), true
}

// evalCondition evaluates the condition of an if-statement: true, false or
// "<integer> = <integer>".
func evalCondition(expr string) (bool, error) {
	switch expr {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	lhs, rhs, ok := strings.Cut(expr, "=")
	if !ok {
		return false, fmt.Errorf("unable to evaluate expression '%s'", expr)
	}
	lhs = strings.TrimRight(lhs, spaceChars)
	rhs = strings.TrimLeft(rhs, spaceChars)
	a, err := parseCInt(lhs)
	if err != nil {
		return false, fmt.Errorf("not an integer number: '%s'", lhs)
	}
	b, err := parseCInt(rhs)
	if err != nil {
		return false, fmt.Errorf("not an integer number: '%s'", rhs)
	}
	return a == b, nil
}

// include reads the files named on an include line. Each word is a
// glob(3) pattern; a pattern matching nothing is an error, as in Squid.
func (p *parser) include(f fileFrame, pos Pos, args string) {
	patterns := splitWords(args)
	if len(patterns) == 0 {
		p.fail(f, pos, "include", errors.New("missing file name"))
		return
	}
	for _, pattern := range patterns {
		var matches []string
		var err error
		if pattern != "" {
			matches, err = p.opts.glob(pattern)
		}
		if err != nil {
			p.fail(f, pos, "include", fmt.Errorf("unable to find configuration file: %s: %v", pattern, err))
			continue
		}
		if len(matches) == 0 {
			p.fail(f, pos, "include", fmt.Errorf("unable to find configuration file: %s: no such file or directory", pattern))
			continue
		}
		for _, name := range matches {
			if p.stopped() {
				return
			}
			p.includeFile(f, pos, name)
		}
	}
}

// includeFile reads one included file.
func (p *parser) includeFile(f fileFrame, pos Pos, name string) {
	if f.depth+1 > maxIncludeDepth {
		p.fail(f, pos, "include", fmt.Errorf("can't include %s: includes are nested too deeply (>%d)", name, maxIncludeDepth))
		return
	}
	key := p.fileKey(name)
	for _, open := range p.open {
		if open == key {
			p.fail(f, pos, "include", fmt.Errorf("can't include %s: it is already being read (include loop)", name))
			return
		}
	}
	src, err := p.opts.readFile(name)
	if err != nil {
		p.fail(f, pos, "include", fmt.Errorf("unable to open configuration file: %s: %v", name, unwrapPathError(err)))
		return
	}
	chain := make([]Pos, 0, len(f.chain)+1)
	chain = append(chain, pos)
	chain = append(chain, f.chain...)
	p.open = append(p.open, key)
	p.readConfig(fileFrame{name: name, key: key, depth: f.depth + 1, chain: chain}, src)
	p.open = p.open[:len(p.open)-1]
}

// fileKey names a file for include loop detection.
func (p *parser) fileKey(name string) string {
	if p.opts.FS != nil {
		return fsName(name)
	}
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}

// splitWords splits an include line into words as Squid's strwordtok
// does: whitespace separates words, "double quotes" group, and inside
// quotes a backslash escapes the next character (\n and \r included).
func splitWords(s string) []string {
	var words []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return words
		}
		var w strings.Builder
		quoted := false
	word:
		for i < len(s) {
			c := s[i]
			switch {
			case c == '\\' && quoted:
				i++
				if i < len(s) {
					switch s[i] {
					case 'n':
						w.WriteByte('\n')
					case 'r':
						w.WriteByte('\r')
					default:
						w.WriteByte(s[i])
					}
					i++
				}
			case c == '"':
				quoted = !quoted
				i++
			case !quoted && isSpace(c):
				i++
				break word
			default:
				w.WriteByte(c)
				i++
			}
		}
		words = append(words, w.String())
	}
}
