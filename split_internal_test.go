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
