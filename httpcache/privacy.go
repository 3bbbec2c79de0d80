package httpcache

// A shared cache never hands one user's response to another (RFC 9111,
// Section 3: private, no-store and Authorization; Section 3.5). cuttle
// never stores a response that sets cookies (see Storable), and the
// helpers here close the two side doors: a 304 that sets a cookie while it
// refreshes a stored response, and a stored response marked private (kept
// because refresh_pattern ignore-private said so) served stale when the
// origin fails.

// privateStored reports whether a stored response is marked private or
// carries credentials of its own, so that it may be served only as
// refresh_pattern explicitly allowed it to be stored: fresh. A private
// response is never served stale on an origin error (RFC 5861, Section 4
// is permission, not obligation; checklist D5).
func privateStored(c *cached) bool {
	if _, ok := c.header["Set-Cookie"]; ok {
		return true
	}
	return ParseCacheControl(c.header).Private
}

// withoutCookies returns c without the Set-Cookie fields a 304 merged into
// it (RFC 9111, Section 4.3.4 updates the stored fields with the 304's):
// the client that revalidated gets them, but they are that client's, and
// the stored response is shared. Squid strips Set-Cookie from hits the same
// way. c itself is not changed.
//
// Set-Cookie2 (RFC 2965, obsoleted by RFC 6265 and ignored by browsers) is
// kept, as Storable keeps responses that carry it.
func withoutCookies(c *cached) *cached {
	if _, ok := c.header["Set-Cookie"]; !ok {
		return c
	}
	cc := *c
	cc.header = c.header.Clone()
	delete(cc.header, "Set-Cookie")
	cc.headerBytes = hitFieldsSize(cc.header)
	return &cc
}
