//go:build !(amd64 || arm64) || purego

package goid

import (
	"bytes"
	"runtime"
	"strconv"
)

// Key identifies the calling goroutine among live goroutines (see the
// package documentation): here its id, from the first line of its stack
// trace ("goroutine 123 [running]:").
func Key() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b, _ = bytes.CutPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || id == 0 {
		return 1 // unknown: one key for all, never 0
	}
	return id
}
