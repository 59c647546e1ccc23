//go:build !cgo

package main

// sqliteMemory is unknown without cgo: there is no SQLite to ask.
func sqliteMemory() (used, peak int64, ok bool) { return 0, 0, false }
