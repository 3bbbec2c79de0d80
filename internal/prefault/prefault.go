// Package prefault maps the running executable's code and constant data
// into the page tables in the background, as early as package
// initialisation allows, so that the start does not take one page fault
// after another on the way to its first answer.
//
// A process that has just been executed finds none of its pages mapped:
// every first touch of a code page is a page fault, and starting cuttle
// touches code all over a binary of about 14 MB (configuration parser,
// handler, TLS, the store). On the project's 2-core VM a fault costs
// microseconds to tens of microseconds; madvise(MADV_POPULATE_READ)
// (Linux 5.14) maps the same pages in one call from a second CPU while the
// first goes on starting. It measured 1 to 1.5 ms off the 20 ms from exec
// to first response (issue 7), for about 1 MB more resident file pages,
// which the start would mostly have touched anyway. Where the call is not
// supported it fails and nothing changes.
//
// The package imports nothing but syscall, so that it is initialised
// early: a blank import is all it takes.
package prefault
