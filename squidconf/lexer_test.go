package squidconf

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLexer(t *testing.T) {
	t.Parallel()
	host := func(c *Config) any { return c.VisibleHostname }
	tests := []struct {
		name  string
		src   string
		files fstest.MapFS
		opts  Options
		get   func(*Config) any
		want  any
	}{
		{"plain", "visible_hostname a\n", nil, Options{}, host, "a"},
		{"no final newline", "visible_hostname a", nil, Options{}, host, "a"},
		{"crlf", "visible_hostname a\r\nvisible_hostname b\r\n", nil, Options{}, host, "b"},
		{"cr cuts the line", "visible_hostname a\rb\n", nil, Options{}, host, "a"},
		{"nul cuts the line", "visible_hostname a\x00b\n", nil, Options{}, host, "a"},
		{"leading whitespace", " \t visible_hostname a\n", nil, Options{}, host, "a"},
		{"comment line", "# visible_hostname x\nvisible_hostname a\n", nil, Options{}, host, "a"},
		{"indented comment", "   # visible_hostname x\nvisible_hostname a\n", nil, Options{}, host, "a"},
		{"trailing comment token", "visible_hostname a # b\n", nil, Options{}, host, "a"},
		{"hash inside a token is data", "visible_hostname a#b\n", nil, Options{}, host, "a#b"},
		{"trailing whitespace", "visible_hostname a \t \n", nil, Options{}, host, "a"},
		{"continuation joins without a space", "visible_hostname foo\\\nbar\n", nil, Options{}, host, "foobar"},
		{"continuation strips leading whitespace", "visible_hostname foo\\\n     bar\n", nil, Options{}, host, "foobar"},
		{"space before backslash", "cache_peer h parent 80 0 \\\n  name=p\n", nil, Options{},
			func(c *Config) any { return c.CachePeers[0].Name }, "p"},
		{"comment and blank line inside continuation", "visible_hostname foo\\\n# comment\n\n  bar\n", nil, Options{}, host, "foobar"},
		{"backslash then space is not a continuation", "visible_hostname foo\\ \nvisible_hostname b\n", nil, Options{}, host, "b"},
		{"macros", "visible_hostname ${service_name}-${process_name}-${process_number}\n", nil, Options{}, host, "squid-squid-0"},
		{"macros from options", "visible_hostname ${service_name}-${process_name}-${process_number}\n", nil,
			Options{ProcessNumber: 2, ProcessName: "squid-2", ServiceName: "edge"}, host, "edge-squid-2-2"},
		{"unknown macro stays", "visible_hostname ${HOME}\n", nil, Options{}, host, "${HOME}"},
		{"macro in a continued line", "visible_hostname a${process_\\\nnumber}\n", nil, Options{ProcessNumber: 3}, host, "a3"},
		{"if true", "if true\nvisible_hostname a\nendif\n", nil, Options{}, host, "a"},
		{"if false", "visible_hostname b\nif false\nvisible_hostname a\nendif\n", nil, Options{}, host, "b"},
		{"else", "if false\nvisible_hostname a\nelse\nvisible_hostname b\nendif\n", nil, Options{}, host, "b"},
		{"equality", "if ${process_number} = 2\nvisible_hostname two\nelse\nvisible_hostname other\nendif\n", nil,
			Options{ProcessNumber: 2}, host, "two"},
		{"equality false", "if ${process_number} = 2\nvisible_hostname two\nelse\nvisible_hostname other\nendif\n", nil,
			Options{}, host, "other"},
		{"c integers", "if 0x10 = 020\nvisible_hostname a\nendif\n", nil, Options{}, host, "a"},
		{"spaces around =", "if 1=1\nvisible_hostname a\nendif\n", nil, Options{}, host, "a"},
		{"indented statements", "  if true\n  visible_hostname a\n  endif\n", nil, Options{}, host, "a"},
		{"nested in a false branch", "visible_hostname z\nif false\nif true\nvisible_hostname a\nendif\nendif\n", nil, Options{}, host, "z"},
		{"nested", "if true\nif 1 = 1\nvisible_hostname a\nendif\nendif\n", nil, Options{}, host, "a"},
		{"line marker", "#line 100 \"other.conf\"\nvisible_hostname a\n", nil, Options{},
			func(c *Config) any { return c.Notices }, []Diagnostic(nil)},
		{"include", "include inc.conf\n", mapFS("inc.conf", "visible_hostname inc\n"), Options{}, host, "inc"},
		{"include glob in order", "include conf.d/*.conf\n",
			mapFS("conf.d/b.conf", "visible_hostname b\n", "conf.d/a.conf", "visible_hostname a\n"), Options{}, host, "b"},
		{"include several", "include a.conf b.conf\n",
			mapFS("a.conf", "visible_hostname a\n", "b.conf", "visible_hostname b\n"), Options{}, host, "b"},
		{"include quoted", "include \"my dir/a.conf\"\n", mapFS("my dir/a.conf", "visible_hostname a\n"), Options{}, host, "a"},
		{"include absolute", "include /etc/squid/a.conf\n", mapFS("etc/squid/a.conf", "visible_hostname a\n"), Options{}, host, "a"},
		{"include keeps order", "http_access allow all\ninclude a.conf\nhttp_access deny all\n",
			mapFS("a.conf", "http_access deny localhost\n"), Options{},
			func(c *Config) any { return accessText(c.HTTPAccess) }, "allow all|deny localhost|deny all"},
		{"include in a false branch", "if false\ninclude missing.conf\nendif\nvisible_hostname a\n", nil, Options{}, host, "a"},
		{"included position", "include a.conf\n", mapFS("a.conf", "\nvisible_hostname a b\ncache_mem 1\n"), Options{},
			func(c *Config) any { return noticeText(c) }, "a.conf:3: No units on 'cache_mem 1', assuming 1 bytes (included from squid.conf:1)"},
		{"continued line position", "\nvisible_hostname \\\n a\ncache_mem \\\n1\n", nil, Options{},
			func(c *Config) any { return noticeText(c) }, "squid.conf:5: No units on 'cache_mem 1', assuming 1 bytes"},
		{"continuation at the end of the file", "visible_hostname a\nvisible_hostname b\\", nil, Options{},
			func(c *Config) any { return host(c).(string) + "|" + noticeText(c) },
			"a|squid.conf:2: the file ends inside a line continued with '\\'; Squid ignores that line, and so does cuttle"},
		{"logformat keeps the rest of the line", "logformat x %ts %>a # not a comment\\\n  %ru\n", nil, Options{},
			func(c *Config) any { return c.LogFormats[0].Format }, "%ts %>a # not a comment%ru"},
		{"tabs between tokens", "cache_peer\th\tparent\t80\t0\n", nil, Options{},
			func(c *Config) any { return c.CachePeers[0].HTTPPort }, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseSrc(tt.src, tt.files, tt.opts)
			if err != nil {
				t.Fatalf("Parse(%q) error = %v, want none", tt.src, err)
			}
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

// accessText formats rules as "allow a|deny b".
func accessText(rules []AccessRule) string {
	s := make([]string, len(rules))
	for i, r := range rules {
		s[i] = r.String()
	}
	return strings.Join(s, "|")
}

func TestLexerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   string
		files fstest.MapFS
		want  string
	}{
		{"unknown directive", "bogus_directive 1\n", nil, "squid.conf:1: unrecognized directive 'bogus_directive'"},
		{"unknown directives go on", "a\nvisible_hostname x\nb c\n", nil,
			"squid.conf:1: unrecognized directive 'a'\nsquid.conf:3: unrecognized directive 'b'"},
		{"directive names are case-sensitive", "Visible_Hostname a\n", nil, "squid.conf:1: unrecognized directive 'Visible_Hostname'; did you mean 'visible_hostname'?"},
		{"else without if", "else\n", nil, "squid.conf:1: 'else' without 'if'"},
		{"statement words need a space", "ifx\nendifx\n", nil, "squid.conf:1: unrecognized directive 'ifx'\nsquid.conf:2: unrecognized directive 'endifx'"},
		{"endif without if", "\nendif\n", nil, "squid.conf:2: 'endif' without 'if'"},
		{"missing endif", "if true\nvisible_hostname a\n", nil, "squid.conf:1: if-statement without 'endif'"},
		{"bad expression", "if foo\nendif\n", nil, "squid.conf:1: unable to evaluate expression 'foo'"},
		{"empty expression", "if\nendif\n", nil, "squid.conf:1: unable to evaluate expression ''"},
		{"not an integer", "if a = 1\nendif\n", nil, "squid.conf:1: not an integer number: 'a'"},
		{"no != ", "if 1 != 2\nendif\n", nil, "squid.conf:1: not an integer number: '1 !'"},
		{"bad expression in a false branch", "if false\nif foo\nendif\nendif\n", nil,
			"squid.conf:2: unable to evaluate expression 'foo'"},
		{"continued line reports its last line, as Squid", "visible_hostname a\ncache_mem 1 \\\n  furlongs\n", nil,
			"squid.conf:3: cache_mem: unknown bytes unit 'furlongs'"},
		{"line marker", "#line 40 \"main.conf\"\nbogus\n", nil, "main.conf:40: unrecognized directive 'bogus'"},
		{"line marker without a file", "\n#line 40\nbogus\n", nil, "squid.conf:40: unrecognized directive 'bogus'"},
		{"comment that looks like a marker", "#line 40 is important\nbogus\n", nil, "squid.conf:2: unrecognized directive 'bogus'"},
		{"include no match", "include /nonexistent/*.conf\n", nil,
			"squid.conf:1: include: unable to find configuration file: /nonexistent/*.conf: no such file or directory"},
		{"include missing file", "include a.conf\n", nil,
			"squid.conf:1: include: unable to find configuration file: a.conf: no such file or directory"},
		{"include bad pattern", "include [\n", nil,
			"squid.conf:1: include: unable to find configuration file: [: syntax error in pattern"},
		{"include an empty name", "include  \"\"\n", nil,
			"squid.conf:1: include: unable to find configuration file: : no such file or directory"},
		{"error in an included file", "\n\ninclude a.conf\n", mapFS("a.conf", "bogus\n"),
			"a.conf:1: unrecognized directive 'bogus' (included from squid.conf:3)"},
		{"nested includes", "include a.conf\n", mapFS("a.conf", "include b.conf\n", "b.conf", "cache_mem x\n"),
			"b.conf:1: cache_mem: invalid number 'x' (included from a.conf:1, squid.conf:1)"},
		{"include loop", "include a.conf\n", mapFS("a.conf", "include squid.conf\n", "squid.conf", ""),
			"a.conf:1: include: can't include squid.conf: it is already being read (include loop)" +
				" (included from squid.conf:1)"},
		{"self include", "include a.conf\n", mapFS("a.conf", "include a.conf\n"),
			"a.conf:1: include: can't include a.conf: it is already being read (include loop) (included from squid.conf:1)"},
		{"if must close in its file", "if true\ninclude a.conf\n", mapFS("a.conf", "endif\n"),
			"a.conf:1: 'endif' without 'if' (included from squid.conf:2)\nsquid.conf:1: if-statement without 'endif'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseSrc(tt.src, tt.files, Options{})
			if got := errText(err); got != tt.want {
				t.Errorf("Parse(%q) errors =\n%s\nwant\n%s", tt.src, got, tt.want)
			}
		})
	}
}

func TestIncludeDepth(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{}
	for i := range 20 {
		files[fmt.Sprintf("%d.conf", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "include %d.conf\n", i+1)}
	}
	files["20.conf"] = &fstest.MapFile{Data: []byte("visible_hostname deep\n")}
	_, err := parseSrc("include 0.conf\n", files, Options{})
	var list ErrorList
	if !errorsAs(err, &list) || len(list) != 1 {
		t.Fatalf("Parse(include chain of 20) = %v, want one error", err)
	}
	e := list[0]
	want := "can't include 16.conf: includes are nested too deeply (>16)"
	if e.Pos.File != "15.conf" || e.Err.Error() != want || len(e.IncludedFrom) != 16 {
		t.Errorf("Parse(include chain of 20) = %v at %v (%d includes), want %q at 15.conf (16 includes)",
			e.Err, e.Pos, len(e.IncludedFrom), want)
	}

	// 16 levels below the main file are allowed.
	files["15.conf"] = &fstest.MapFile{Data: []byte("visible_hostname deep\n")}
	cfg, err := parseSrc("include 0.conf\n", files, Options{})
	if err != nil || cfg.VisibleHostname != "deep" {
		t.Errorf("Parse(include chain of 16) = %q, %v, want \"deep\", nil", cfg.VisibleHostname, err)
	}
}

func TestErrorLimit(t *testing.T) {
	t.Parallel()
	src := strings.Repeat("bogus\n", 25)
	_, err := parseSrc(src, nil, Options{})
	list, _ := err.(ErrorList)
	if len(list) != maxErrors {
		t.Fatalf("Parse(25 bad lines) = %d errors, want %d", len(list), maxErrors)
	}
	want := "squid.conf:1: unrecognized directive 'bogus' (and 9 more errors)"
	if got := err.Error(); got != want {
		t.Errorf("ErrorList.Error() = %q, want %q", got, want)
	}
}

func TestSplitWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"a b", []string{"a", "b"}},
		{"  a\t b  ", []string{"a", "b"}},
		{`"a b" c`, []string{"a b", "c"}},
		{`a"b c"d`, []string{"ab cd"}},
		{`"a\"b"`, []string{`a"b`}},
		{`"a\nb"`, []string{"a\nb"}},
		{`a\b`, []string{`a\b`}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := splitWords(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
