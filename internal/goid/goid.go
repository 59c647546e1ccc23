// Package goid tells goroutines apart cheaply.
//
// Key returns a value that identifies the calling goroutine among the
// goroutines alive at the same time: two goroutines alive together never
// share a key, and a goroutine's key does not change while it lives. A
// goroutine that has exited may leave its key to a new one, so a key says
// nothing about goroutines that are gone.
//
// On amd64 and arm64 the key is the address of the runtime's record of
// the goroutine, read from the register or thread-local slot the Go
// runtime keeps it in (a few nanoseconds); elsewhere it is the goroutine's
// id parsed from its stack trace (about a microsecond, more on a deep
// stack). It is never 0.
package goid
