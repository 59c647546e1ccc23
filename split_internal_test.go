//go:build cgo

package sqlite3safe

import "testing"

// TestCanSplit: the go-sqlite3 fields that multi-statement strings are
// split by are where manualtx.go expects them.
func TestCanSplit(t *testing.T) {
	if !canSplit {
		t.Fatal("go-sqlite3's SQLiteStmt has no string field t and pointer field s: multi-statement strings with transaction control are not split")
	}
}

// TestCanWaitWithContext: the go-sqlite3 field busywait_cgo.go reads the
// SQLite handle from is where it expects it.
func TestCanWaitWithContext(t *testing.T) {
	if !canWaitWithContext {
		t.Fatal("go-sqlite3's SQLiteConn has no pointer field db: waits for other processes do not end with the context")
	}
}
