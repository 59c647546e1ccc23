//go:build cgo

package main

/*
// Declared here, defined by the SQLite that go-sqlite3 links in.
extern long long sqlite3_memory_used(void);
extern long long sqlite3_memory_highwater(int);
*/
import "C"

// sqliteMemory returns the bytes SQLite has allocated and not freed, in
// the whole process (sqlite3_memory_used: go-sqlite3 builds SQLite with
// its memory statistics on), the most it had allocated at any moment
// since the previous call (sqlite3_memory_highwater, reset), and true.
func sqliteMemory() (used, peak int64, ok bool) {
	return int64(C.sqlite3_memory_used()), int64(C.sqlite3_memory_highwater(1)), true
}
