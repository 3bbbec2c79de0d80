package httpcache

import (
	"bytes"
	"context"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"

	"cuttle/store"
)

// Responses that vary (RFC 9111, Section 4.1) are stored under a secondary
// key: the URL, a NUL byte and the request's normalised values of the
// fields named in Vary. The URL itself then holds a variant index: the
// Vary field names and the secondary keys stored, newest last, at most
// Options.MaxVariants of them. A lookup reads the index, builds the
// request's secondary key and reads that; the variant found is checked
// against the request once more before it is used.

// DefaultMaxVariants is the number of variants kept per URL when
// Options.MaxVariants is 0; the oldest is dropped for a new one.
const DefaultMaxVariants = 32

const variantMagic = "cuttle-variants 1\n"

// variantIndex is what a URL holds when its responses vary.
type variantIndex struct {
	names []string // canonical field names from Vary
	keys  []string // secondary keys, oldest first
}

func (v *variantIndex) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(variantMagic)
	b.WriteString(strings.Join(v.names, ","))
	b.WriteByte('\n')
	for _, k := range v.keys {
		b.WriteString(strconv.Quote(k))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func unmarshalVariantIndex(p []byte) (*variantIndex, error) {
	rest, ok := bytes.CutPrefix(p, []byte(variantMagic))
	if !ok {
		return nil, errBadMeta
	}
	lines := strings.Split(strings.TrimSuffix(string(rest), "\n"), "\n")
	v := &variantIndex{}
	if lines[0] != "" {
		v.names = strings.Split(lines[0], ",")
	}
	for _, l := range lines[1:] {
		k, err := strconv.Unquote(l)
		if err != nil {
			return nil, errBadMeta
		}
		v.keys = append(v.keys, k)
	}
	return v, nil
}

// isVariantIndex reports whether stored metadata is a variant index.
func isVariantIndex(meta *store.Meta) bool {
	if _, ok := meta.Decoded.(*variantIndex); ok {
		return true
	}
	return bytes.HasPrefix(meta.Header, []byte(variantMagic))
}

func decodeVariantIndex(meta *store.Meta) (*variantIndex, error) {
	if v, ok := meta.Decoded.(*variantIndex); ok {
		return v, nil
	}
	return unmarshalVariantIndex(meta.Header)
}

// variantKey is the secondary key of the variant of url that a request
// with header h selects, given the Vary field names.
func variantKey(url string, names []string, h http.Header) string {
	var buf [256]byte
	b := append(buf[:0], url...)
	for _, name := range names {
		b = append(b, 0)
		b = append(b, name...)
		b = append(b, '=')
		b = appendVaryValue(b, h, name)
	}
	return string(b)
}

// varyCaseless lists request fields whose values are compared without
// regard to case (RFC 9110, Sections 12.5.1 to 12.5.4: media types,
// charsets, codings and language tags are case-insensitive).
var varyCaseless = map[string]bool{
	"Accept":          true,
	"Accept-Charset":  true,
	"Accept-Encoding": true,
	"Accept-Language": true,
}

// varyUnordered lists request fields whose member order carries no
// meaning, so that sorting them is safe: content codings are chosen by
// their weights alone (RFC 9110, Section 12.5.3).
var varyUnordered = map[string]bool{
	"Accept-Encoding": true,
}

// varyValue returns a request's value of one Vary field, normalised as
// RFC 9111, Section 4.1 allows: field lines combined, whitespace around
// list commas and parameter separators removed, ASCII case folded for the
// fields of varyCaseless and members sorted for those of varyUnordered. A
// missing field and an empty one are the same.
func varyValue(h http.Header, name string) string {
	if vs := h[name]; len(vs) == 1 && isPlainToken(vs[0]) && !(varyCaseless[name] && hasUpper(vs[0])) {
		return vs[0]
	}
	var buf [128]byte
	return string(appendVaryValue(buf[:0], h, name))
}

// appendVaryValue appends varyValue(h, name) to dst; it allocates nothing
// for values of up to 16 members without whitespace inside parameters.
func appendVaryValue(dst []byte, h http.Header, name string) []byte {
	vs := h[name]
	if len(vs) == 0 {
		return dst
	}
	caseless := varyCaseless[name]
	if len(vs) == 1 && isPlainToken(vs[0]) {
		return appendFold(dst, vs[0], caseless)
	}
	var arr [16]string
	members := arr[:0]
	for _, v := range vs {
		for v != "" {
			var m string
			m, v, _ = strings.Cut(v, ",")
			if m = compactParams(strings.Trim(m, " \t")); m != "" {
				members = append(members, m)
			}
		}
	}
	if varyUnordered[name] {
		slices.SortFunc(members, func(a, b string) int { return compareFold(a, b, caseless) })
	}
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendFold(dst, m, caseless)
	}
	return dst
}

// appendFold appends s, in ASCII lower case when fold is set.
func appendFold(dst []byte, s string, fold bool) []byte {
	if !fold {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// compareFold compares two strings, ignoring ASCII case when fold is set.
func compareFold(a, b string, fold bool) int {
	if !fold {
		return strings.Compare(a, b)
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return int(x) - int(y)
		}
	}
	return len(a) - len(b)
}

// hasUpper reports whether s has an ASCII upper-case letter.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// isPlainToken reports whether s needs no normalisation: no list, no
// parameters, no whitespace.
func isPlainToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ", \t;")
}

// compactParams removes the whitespace around ';' and '=' in one list
// member ("gzip ; q=0.5" and "gzip;q=0.5" are the same value).
func compactParams(m string) string {
	if !strings.ContainsAny(m, ";=") || !strings.ContainsAny(m, " \t") {
		return m
	}
	var b strings.Builder
	for i, part := range strings.Split(m, ";") {
		if i > 0 {
			b.WriteByte(';')
		}
		k, v, ok := strings.Cut(strings.Trim(part, " \t"), "=")
		b.WriteString(strings.Trim(k, " \t"))
		if ok {
			b.WriteByte('=')
			b.WriteString(strings.Trim(v, " \t"))
		}
	}
	return b.String()
}

// parseVary parses the Vary fields of a response into canonical names,
// without duplicates. ok is false for "Vary: *", which never matches a
// later request (RFC 9111, Section 4.1), and for more than maxVaryNames
// names, which cuttle does not store.
func parseVary(h http.Header) (names []string, ok bool) {
	for _, v := range h["Vary"] {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.Trim(name, " \t")
			switch name {
			case "":
				continue
			case "*":
				return nil, false
			}
			if !isToken(name) || len(name) > maxVaryNameLen {
				// Not a field name (RFC 9110, Section 5.1): nothing can
				// match it, as with "*".
				return nil, false
			}
			name = textproto.CanonicalMIMEHeaderKey(name)
			if !slices.Contains(names, name) {
				if len(names) == maxVaryNames {
					return nil, false
				}
				names = append(names, name)
			}
		}
	}
	return names, true
}

// isToken reports whether s is an RFC 9110 token (Section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// maxVaryNames bounds the fields one response may vary on, and
// maxVaryNameLen the length of each name: a response beyond them is not
// stored (checklist F4: a 64 KiB Vary would make 64 KiB keys).
const (
	maxVaryNames   = 16
	maxVaryNameLen = 256
)

// variantLocks serialises the updates of one URL's variant index.
type variantLocks [64]sync.Mutex

func (l *variantLocks) lock(url string) *sync.Mutex {
	return &l[xxhash.Sum64String(url)%uint64(len(l))]
}

// addVariant records that url now holds the variant stored under key,
// dropping the oldest variants beyond the cap and replacing an index made
// for other Vary names (its variants are removed).
func (h *Handler) addVariant(ctx context.Context, url string, names []string, key string) {
	mu := h.variantMu.lock(url)
	mu.Lock()
	defer mu.Unlock()
	idx := &variantIndex{names: names}
	if obj, err := h.opts.Store.Get(ctx, url); err == nil {
		if old, err := decodeVariantIndex(&obj.Meta); err == nil {
			if slices.Equal(old.names, names) {
				idx.keys = slices.DeleteFunc(slices.Clone(old.keys), func(k string) bool { return k == key })
			} else {
				for _, k := range old.keys {
					h.opts.Store.Delete(ctx, k) //nolint:errcheck // best effort
				}
			}
		}
		obj.Body.Close()
	}
	idx.keys = append(idx.keys, key)
	for len(idx.keys) > h.maxVariants {
		h.opts.Store.Delete(ctx, idx.keys[0]) //nolint:errcheck // best effort
		idx.keys = idx.keys[1:]
	}
	meta := store.Meta{Header: idx.marshal(), Decoded: idx, Size: 0}
	if err := h.storePut(ctx, url, meta, bytes.NewReader(nil)); err != nil && !store.Refused(err) {
		h.errorLog.Printf("httpcache: store variant index %s: %v", url, err)
	}
	if w, ok := h.opts.Store.(waiter); ok {
		// The next update must read this index: one it does not see would
		// be overwritten, and the variants it lists would never be
		// dropped, so the cap would not hold (checklist H6).
		w.Wait()
	}
}

// deleteURL removes what is stored for url: the response, or the variant
// index and every variant it lists. It reports whether anything was there.
func (h *Handler) deleteURL(ctx context.Context, url string) bool {
	obj, err := h.opts.Store.Get(ctx, url)
	if err != nil {
		return false
	}
	if idx, err := decodeVariantIndex(&obj.Meta); err == nil {
		for _, k := range idx.keys {
			h.opts.Store.Delete(ctx, k) //nolint:errcheck // best effort
		}
	}
	obj.Body.Close()
	h.opts.Store.Delete(ctx, url) //nolint:errcheck // best effort
	return true
}
