package squidconf

import "testing"

func TestScanFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		format  string
		want    string // the error, "" for none
		openSSL int
	}{
		{"squid", "%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt", "", 0},
		{"common", `%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh`, "", 0},
		{"combined", `%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh`, "", 0},
		{"referrer", "%ts.%03tu %>a %{Referer}>h %ru", "", 0},
		{"useragent", `%>a [%tl] "%{User-Agent}>h"`, "", 0},
		{"prefix match", "%tsX %transport::x %%zz", "", 0},
		{"unknown", "%ts %zz", "unknown %code '%zz' at offset 4 of the format", 0},
		{"lone percent", "100%", "unknown %code '%' at offset 3 of the format", 0},
		{"empty header", "a %>h{}", "%code '%>h{}' at offset 2 of the format: missing header name in {}", 0},
		{"TLV", "%proxy_protocol::>h{256}", "%code '%proxy_protocol::>h{256}' at offset 0 of the format: PROXY protocol TLV type '256' is not a number from 0 to 255", 0},
		{"OpenSSL", "%ssl::>sni %tls::bump_mode", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := scanFormat(tt.format)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want || len(res.openSSL) != tt.openSSL {
				t.Errorf("scanFormat(%q) = %v, %q; want %d OpenSSL codes, %q", tt.format, res.openSSL, got, tt.openSSL, tt.want)
			}
		})
	}
}
