package httpcache

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// cached is a stored response as httpcache sees it: what it needs to decide
// freshness and to rebuild the reply, kept in store.Meta.Header in a small
// text form and, in the memory tier, decoded in store.Meta.Decoded.
type cached struct {
	status int
	header http.Header // end-to-end fields as received from the origin

	requestTime, responseTime time.Time
	initialAge                time.Duration // RFC 9111, Section 4.2.3 corrected_initial_age
	lifetime                  time.Duration // RFC 9111, Section 4.2.1 freshness_lifetime

	// varyNames are the canonical field names listed in Vary, and varyValues
	// the request's values of them when the response was stored
	// (RFC 9111, Section 4.1): a later request must present the same values.
	varyNames, varyValues []string

	// headerBytes is the wire size of the header's field lines that a hit
	// sends unchanged (see hitFieldsSize), for %<st.
	headerBytes int

	// contentLength is the Content-Length field for a body of clSize bytes,
	// ready-made when the size was known at store time.
	contentLength []string
	clSize        int64
}

// hitReplaced lists the fields a hit sets itself instead of sending the
// stored ones.
var hitReplaced = [...]string{"Age", "Via", "X-Cache", "X-Cache-Lookup", "Cache-Status", "Content-Length"}

// hitFieldsSize is the wire size of the stored fields a hit sends as they
// are.
func hitFieldsSize(h http.Header) int {
	n := headerWireSize(h)
	for _, k := range hitReplaced {
		n -= fieldSize(k, h[k])
	}
	return n
}

// setSize records the body size and its ready-made Content-Length.
func (c *cached) setSize(size int64) {
	if size >= 0 {
		c.clSize, c.contentLength = size, []string{strconv.FormatInt(size, 10)}
	}
}

// contentLengthField returns the Content-Length value for a body of size
// bytes.
func (c *cached) contentLengthField(size int64) []string {
	if c.contentLength != nil && c.clSize == size {
		return c.contentLength
	}
	return []string{strconv.FormatInt(size, 10)}
}

const cachedMagic = "cuttle-cached 1\n"

// errBadMeta means stored metadata could not be decoded: the object is
// treated as a miss, never served.
var errBadMeta = errors.New("httpcache: malformed stored metadata")

// marshal encodes c for store.Meta.Header.
func (c *cached) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(cachedMagic)
	fmt.Fprintf(&b, "%d %d %d %d %d\n", c.status, c.requestTime.UnixNano(), c.responseTime.UnixNano(),
		int64(c.initialAge), int64(c.lifetime))
	for i, name := range c.varyNames {
		fmt.Fprintf(&b, "vary %s %s\n", name, strconv.Quote(c.varyValues[i]))
	}
	b.WriteString("\n")
	c.header.Write(&b) //nolint:errcheck // bytes.Buffer writes never fail
	b.WriteString("\r\n")
	return b.Bytes()
}

// unmarshalCached decodes metadata written by marshal.
func unmarshalCached(p []byte) (*cached, error) {
	if !bytes.HasPrefix(p, []byte(cachedMagic)) {
		return nil, errBadMeta
	}
	r := bufio.NewReader(bytes.NewReader(p[len(cachedMagic):]))
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, errBadMeta
	}
	var c cached
	var reqNs, resNs, age, life int64
	if _, err := fmt.Sscanf(line, "%d %d %d %d %d\n", &c.status, &reqNs, &resNs, &age, &life); err != nil {
		return nil, errBadMeta
	}
	c.requestTime, c.responseTime = time.Unix(0, reqNs), time.Unix(0, resNs)
	c.initialAge, c.lifetime = time.Duration(age), time.Duration(life)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, errBadMeta
		}
		if line == "\n" {
			break
		}
		rest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "vary ")
		name, quoted, ok2 := strings.Cut(rest, " ")
		value, err := strconv.Unquote(quoted)
		if !ok || !ok2 || err != nil {
			return nil, errBadMeta
		}
		c.varyNames = append(c.varyNames, name)
		c.varyValues = append(c.varyValues, value)
	}
	mh, err := textproto.NewReader(r).ReadMIMEHeader()
	if err != nil {
		return nil, errBadMeta
	}
	c.header = http.Header(mh)
	c.headerBytes = hitFieldsSize(c.header)
	return &c, nil
}

// varyMatches reports whether req selects this stored variant
// (RFC 9111, Section 4.1).
func (c *cached) varyMatches(req *http.Request) bool {
	for i, name := range c.varyNames {
		var buf [128]byte
		if string(appendVaryValue(buf[:0], req.Header, name)) != c.varyValues[i] {
			return false
		}
	}
	return true
}

// headerWireSize is the size of h's field lines as written on the wire.
func headerWireSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		n += fieldSize(k, vs)
	}
	return n
}

// fieldSize is the wire size of one field's lines: "Name: value\r\n" each.
func fieldSize(k string, vs []string) int {
	n := 0
	for _, v := range vs {
		n += len(k) + len(v) + 4
	}
	return n
}
