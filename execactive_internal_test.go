//go:build cgo

package sqlite3safe

import "testing"

// TestCanSeeStmt: the go-sqlite3 field a statement's SQLite handle is read
// from is where execactive_cgo.go expects it; without it a statement that
// Exec leaves active would hold nothing in sqlite3-safe while SQLite holds
// its lock or its snapshot.
func TestCanSeeStmt(t *testing.T) {
	if !canSeeStmt {
		t.Fatal("go-sqlite3's SQLiteStmt has no pointer field s: statements left active by Exec go unseen")
	}
}
