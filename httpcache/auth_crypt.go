package httpcache

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// This file checks passwords against the hashes an htpasswd file holds, as
// Squid's basic_ncsa_auth does with crypt(3): bcrypt, MD5-crypt ($1$ and
// Apache's $apr1$), {SHA}, unsalted MD5 in hex and traditional DES crypt.
// MD5-crypt and DES crypt are written here from their algorithm
// descriptions (FreeBSD's MD5-crypt by Poul-Henning Kamp, and Unix
// crypt(3) on FIPS 46-3 DES); bcrypt is golang.org/x/crypto's.

// hashKind is the format of one stored password hash.
type hashKind uint8

const (
	hashUnsupported hashKind = iota
	hashBcrypt               // $2a$, $2b$, $2y$
	hashMD5Crypt             // $1$ (glibc) and $apr1$ (Apache)
	hashSHA                  // {SHA}base64(sha1(password)), htpasswd -s
	hashMD5Hex               // 32 hex digits: md5(password), as basic_ncsa_auth accepts
	hashDES                  // 13 characters: traditional crypt(3)
)

// classifyHash tells the format of a stored hash.
func classifyHash(h string) hashKind {
	switch {
	case strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$"):
		return hashBcrypt
	case strings.HasPrefix(h, "$1$") || strings.HasPrefix(h, "$apr1$"):
		return hashMD5Crypt
	case strings.HasPrefix(h, "{SHA}"):
		return hashSHA
	case len(h) == 32 && isHex(h):
		return hashMD5Hex
	case len(h) == 13 && strings.Trim(h, cryptAlphabet) == "":
		return hashDES
	}
	return hashUnsupported
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// checkPassword reports whether password matches the stored hash.
func checkPassword(stored, password string) bool {
	switch classifyHash(stored) {
	case hashBcrypt:
		return bcrypt.CompareHashAndPassword([]byte(stored), []byte(password)) == nil
	case hashMD5Crypt:
		magic := "$1$"
		if strings.HasPrefix(stored, "$apr1$") {
			magic = "$apr1$"
		}
		salt, _, _ := strings.Cut(stored[len(magic):], "$")
		return constantEqual(md5Crypt(password, magic, salt), stored)
	case hashSHA:
		sum := sha1.Sum([]byte(password))
		return constantEqual("{SHA}"+base64.StdEncoding.EncodeToString(sum[:]), stored)
	case hashMD5Hex:
		sum := md5.Sum([]byte(password))
		return constantEqual(hex.EncodeToString(sum[:]), strings.ToLower(stored))
	case hashDES:
		// crypt(3) silently uses the first 8 characters only; Squid's
		// helper refuses longer passwords rather than accept a prefix.
		if len(password) > 8 {
			return false
		}
		return constantEqual(desCrypt(password, stored[:2]), stored)
	}
	return false
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// cryptAlphabet is the 64 characters of crypt's base-64 encoding, in
// value order.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// md5Crypt computes MD5-crypt: magic is "$1$" or "$apr1$" (the only
// difference between glibc's and Apache's variants), salt at most 8
// characters. The result is magic + salt + "$" + 22 characters.
func md5Crypt(password, magic, salt string) string {
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw := []byte(password)

	// The alternate sum: password, salt, password.
	alt := md5.New()
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte(magic))
	ctx.Write([]byte(salt))
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(altSum[:min(n, 16)])
	}
	// For each bit of the password's length, lowest first: a zero byte
	// when it is set, else the password's first byte.
	for n := len(pw); n != 0; n >>= 1 {
		if n&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	sum := ctx.Sum(nil)

	// 1000 rounds to slow down guessing.
	for i := range 1000 {
		r := md5.New()
		if i&1 != 0 {
			r.Write(pw)
		} else {
			r.Write(sum)
		}
		if i%3 != 0 {
			r.Write([]byte(salt))
		}
		if i%7 != 0 {
			r.Write(pw)
		}
		if i&1 != 0 {
			r.Write(sum)
		} else {
			r.Write(pw)
		}
		sum = r.Sum(sum[:0])
	}

	var b strings.Builder
	b.WriteString(magic)
	b.WriteString(salt)
	b.WriteByte('$')
	put := func(v uint32, n int) {
		for ; n > 0; n-- {
			b.WriteByte(cryptAlphabet[v&0x3f])
			v >>= 6
		}
	}
	for _, t := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		put(uint32(sum[t[0]])<<16|uint32(sum[t[1]])<<8|uint32(sum[t[2]]), 4)
	}
	put(uint32(sum[11]), 2)
	return b.String()
}

// desCrypt computes traditional crypt(3): the first 8 characters of the
// password (7 bits each) are a DES key that encrypts a zero block 25
// times, with the 12-bit salt swapping pairs of bits of the expansion E.
// The result is the 2 salt characters and 11 characters of output.
func desCrypt(password, salt string) string {
	var key uint64
	for i := 0; i < 8 && i < len(password); i++ {
		key |= uint64(password[i]&0x7f) << 1 << (56 - 8*i)
	}
	subkeys := desSubkeys(key)

	// The salt: bit j of its 12-bit value swaps E outputs j and j+24.
	var e [48]uint8
	copy(e[:], desE[:])
	for i := range 2 {
		v := 0
		if i < len(salt) {
			v = max(strings.IndexByte(cryptAlphabet, salt[i]), 0)
		}
		for j := range 6 {
			if v>>j&1 != 0 {
				k := 6*i + j
				e[k], e[k+24] = e[k+24], e[k]
			}
		}
	}

	var block uint64
	for range 25 {
		block = desEncrypt(block, &subkeys, &e)
	}

	out := make([]byte, 0, 13)
	for i := range 2 {
		c := byte('.')
		if i < len(salt) {
			c = salt[i]
		}
		out = append(out, c)
	}
	// 64 bits as 11 characters of 6 bits, most significant first; the
	// last character carries 4 bits and two zero bits.
	for i := range 11 {
		shift := 58 - 6*i
		var v uint64
		if shift >= 0 {
			v = block >> shift
		} else {
			v = block << -shift
		}
		out = append(out, cryptAlphabet[v&0x3f])
	}
	return string(out)
}

// bit returns bit pos (1 = most significant) of an n-bit value.
func bit(v uint64, n, pos int) uint64 { return v >> (n - pos) & 1 }

// permute builds a len(table)-bit value from the bits of an n-bit value
// that table names (1-based, most significant first), as FIPS 46-3 writes
// its permutations.
func permute(v uint64, n int, table []uint8) uint64 {
	var out uint64
	for _, p := range table {
		out = out<<1 | bit(v, n, int(p))
	}
	return out
}

// desSubkeys is the DES key schedule: 16 subkeys of 48 bits.
func desSubkeys(key uint64) [16]uint64 {
	var ks [16]uint64
	cd := permute(key, 64, desPC1[:]) // 56 bits
	c, d := uint32(cd>>28), uint32(cd&0xfffffff)
	for i, s := range desShifts {
		c = (c<<s | c>>(28-s)) & 0xfffffff
		d = (d<<s | d>>(28-s)) & 0xfffffff
		ks[i] = permute(uint64(c)<<28|uint64(d), 56, desPC2[:])
	}
	return ks
}

// desEncrypt encrypts one block with expansion e (E, perhaps salted).
func desEncrypt(block uint64, ks *[16]uint64, e *[48]uint8) uint64 {
	v := permute(block, 64, desIP[:])
	l, r := uint32(v>>32), uint32(v)
	for i := range 16 {
		l, r = r, l^desF(r, ks[i], e)
	}
	// The halves are swapped back before the final permutation.
	return permute(uint64(r)<<32|uint64(l), 64, desFP[:])
}

// desF is the DES round function.
func desF(r uint32, k uint64, e *[48]uint8) uint32 {
	x := permute(uint64(r), 32, e[:]) ^ k
	var s uint64
	for i := range 8 {
		six := x >> (42 - 6*i) & 0x3f
		row := six>>4&2 | six&1
		col := six >> 1 & 0xf
		s = s<<4 | uint64(desS[i][row*16+col])
	}
	return uint32(permute(s, 32, desP[:]))
}

// The DES tables of FIPS 46-3, with its 1-based bit numbers.
var (
	desIP = [64]uint8{
		58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
		62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
		57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
		61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
	}
	desFP = [64]uint8{
		40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
		38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
		36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
		34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
	}
	desE = [48]uint8{
		32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9,
		8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
		16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25,
		24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
	}
	desP = [32]uint8{
		16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
		2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
	}
	desPC1 = [56]uint8{
		57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
		10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
		63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
		14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
	}
	desPC2 = [48]uint8{
		14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
		23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
		41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
		44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
	}
	desShifts = [16]uint8{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}
	desS      = [8][64]uint8{{
		14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
		0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
		4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
		15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
	}, {
		15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
		3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
		0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
		13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
	}, {
		10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
		13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
		13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
		1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
	}, {
		7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
		13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
		10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
		3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
	}, {
		2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
		14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
		4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
		11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
	}, {
		12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
		10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
		9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
		4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
	}, {
		4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
		13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
		1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
		6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
	}, {
		13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
		1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
		7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
		2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
	}}
)
