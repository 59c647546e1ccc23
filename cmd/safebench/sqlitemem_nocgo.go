//go:build !cgo

package main

// sqliteMemory is unknown without cgo: there is no SQLite to ask.
func sqliteMemory() (int64, bool) { return 0, false }
