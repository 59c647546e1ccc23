//go:build cgo

package main

/*
// Declared here, defined by the SQLite that go-sqlite3 links in.
extern long long sqlite3_memory_used(void);
*/
import "C"

// sqliteMemory returns the bytes SQLite has allocated and not freed, in
// the whole process (sqlite3_memory_used: go-sqlite3 builds SQLite with
// its memory statistics on), and true.
func sqliteMemory() (int64, bool) { return int64(C.sqlite3_memory_used()), true }
