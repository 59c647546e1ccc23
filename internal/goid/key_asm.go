//go:build (amd64 || arm64) && !purego

package goid

// getg returns the address of the calling goroutine's runtime record (g).
//
//go:noescape
func getg() uintptr

// Key identifies the calling goroutine among live goroutines (see the
// package documentation).
func Key() uint64 { return uint64(getg()) }
