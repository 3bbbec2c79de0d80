package httpcache

import (
	"crypto/des"
	"encoding/binary"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The expected values come from `perl -e 'print crypt(PW, SALT)'` (glibc
// crypt(3)) and `openssl passwd -apr1|-1 -salt SALT PW` (OpenSSL 3.0).

func TestDESCrypt(t *testing.T) {
	t.Parallel()
	tests := []struct{ password, salt, want string }{
		{"password", "ab", "abJnggxhB/yWI"},
		{"hello", "zz", "zzM3H1GzLNjgA"},
		{"12345678", "./", "./qw5JW./79Vg"},
		{"Ab9!", "Zq", "Zqg9WIrZHU8X."},
		{"", "aa", "aaQSqAReePlq6"},
		{"pass word", "K9", "K9LRDv1B2Tb6E"}, // crypt(3) uses the first 8 characters
	}
	for _, tt := range tests {
		if got := desCrypt(tt.password, tt.salt); got != tt.want {
			t.Errorf("desCrypt(%q, %q) = %q, want %q", tt.password, tt.salt, got, tt.want)
		}
	}
}

// TestDESBlock checks the DES core against crypto/des: with no salt bits,
// one round of crypt is plain DES.
func TestDESBlock(t *testing.T) {
	t.Parallel()
	for _, key := range []uint64{0, 0x133457799BBCDFF1, 0xfefefefefefefefe, 0x0123456789abcdef} {
		var kb, pb [8]byte
		binary.BigEndian.PutUint64(kb[:], key)
		binary.BigEndian.PutUint64(pb[:], 0x0123456789ABCDEF)
		c, err := des.NewCipher(kb[:])
		if err != nil {
			t.Fatal(err)
		}
		var want [8]byte
		c.Encrypt(want[:], pb[:])
		ks := desSubkeys(key)
		got := desEncrypt(0x0123456789ABCDEF, &ks, &desE)
		if got != binary.BigEndian.Uint64(want[:]) {
			t.Errorf("desEncrypt(key %016x) = %016x, want %x", key, got, want)
		}
	}
}

func TestMD5Crypt(t *testing.T) {
	t.Parallel()
	tests := []struct{ password, magic, salt, want string }{
		{"hello", "$apr1$", "lMsWw9nL", "$apr1$lMsWw9nL$ClAHZafzT8AcKWVv14NzD/"},
		{"myPassword", "$apr1$", "r31.....", "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/"},
		{"pässwört", "$apr1$", "abcdefgh", "$apr1$abcdefgh$u3dtNcy89b7JYFcCnain81"},
		{"x", "$apr1$", "s", "$apr1$s$bHQMM1UunWFj8XWEuTGlW."},
		{"hello", "$1$", "lMsWw9nL", "$1$lMsWw9nL$NGa9DNKumCHlKORuYzyoJ."},
		{"myPassword", "$1$", "r31.....", "$1$r31.....$QDDzs1qZeqfV3IFuCeXI3."},
		{"pässwört", "$1$", "abcdefgh", "$1$abcdefgh$0wsQmFy3VyA/HZqJJJ2hg0"},
		{"x", "$1$", "s", "$1$s$eSlDmdCX8nqs9SNxRTvrN."},
	}
	for _, tt := range tests {
		if got := md5Crypt(tt.password, tt.magic, tt.salt); got != tt.want {
			t.Errorf("md5Crypt(%q, %q, %q) = %q, want %q", tt.password, tt.magic, tt.salt, got, tt.want)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	bc, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcY := "$2y$" + string(bc[4:]) // htpasswd -B writes $2y$
	tests := []struct {
		name, stored, password string
		want                   bool
	}{
		{"bcrypt", string(bc), "s3cret", true},
		{"bcrypt wrong", string(bc), "s3cret!", false},
		{"bcrypt 2y", bcY, "s3cret", true},
		{"apr1", "$apr1$lMsWw9nL$ClAHZafzT8AcKWVv14NzD/", "hello", true},
		{"apr1 wrong", "$apr1$lMsWw9nL$ClAHZafzT8AcKWVv14NzD/", "hellO", false},
		{"md5-crypt", "$1$lMsWw9nL$NGa9DNKumCHlKORuYzyoJ.", "hello", true},
		{"sha", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret", true},
		{"sha wrong", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "Secret", false},
		{"md5 hex", "5ebe2294ecd0e0f08eab7690d2a6ee69", "secret", true},
		{"des", "abJnggxhB/yWI", "password", true},
		{"des wrong", "abJnggxhB/yWI", "passwore", false},
		// crypt(3) would accept "pass word!" as "pass wor"; Squid's
		// helper refuses passwords longer than 8 characters.
		{"des long", "K9LRDv1B2Tb6E", "pass word", false},
		{"sha512-crypt", "$6$salt$abc", "x", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		if got := checkPassword(tt.stored, tt.password); got != tt.want {
			t.Errorf("%s: checkPassword(%q, %q) = %v, want %v", tt.name, tt.stored, tt.password, got, tt.want)
		}
	}
}
