package squidconf

import "testing"

func TestSuggestDirective(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"cache_memory", "cache_mem"},
		{"cache_mme", "cache_mem"},
		{"http_prot", "http_port"},
		{"HTTP_PORT", "http_port"},
		{"refresh-pattern", "refresh_pattern"},
		{"maximum_object", "maximum_object_size"},
		{"visible_host_name", "visible_hostname"},
		{"acll", "acl"},
		{"cache_peer_acces", "cache_peer_access"},
		{"bogus_directive", ""},
		{"x", ""},
		{"", ""},
		{"cache_peer_domian", ""}, // obsolete names are not suggested
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := suggestDirective(tt.in); got != tt.want {
				t.Errorf("suggestDirective(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"cache_mem", "cache_mem", 0},
		{"cache_mme", "cache_mem", 1},
		{"cache_memory", "cache_mem", 3},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestUnknownDirective(t *testing.T) {
	t.Parallel()
	tests := []parseCase{
		{name: "suggestion", src: "cache_memory 64 MB",
			wantErr: "squid.conf:1: unrecognized directive 'cache_memory'; did you mean 'cache_mem'?"},
		{name: "no suggestion", src: "bogus_directive on",
			wantErr: "squid.conf:1: unrecognized directive 'bogus_directive'"},
		{name: "parsing goes on", src: "cache_memory 64 MB\ncache_mem x\nhttp_prot 80",
			wantErr: "squid.conf:1: unrecognized directive 'cache_memory'; did you mean 'cache_mem'?\n" +
				"squid.conf:2: cache_mem: invalid number 'x'\n" +
				"squid.conf:3: unrecognized directive 'http_prot'; did you mean 'http_port'?"},
	}
	runParseCases(t, tests)
}
