//go:build cgo

package sqlite3safe

import (
	"database/sql/driver"
	"testing"

	"github.com/mattn/go-sqlite3"
)

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

// TestCanStopStmtCache: the connection can turn go-sqlite3's statement
// cache off after an ATTACH (conn.attached); without the field, statements
// cached before an ATTACH would leave the new database out.
func TestCanStopStmtCache(t *testing.T) {
	if !canStopStmtCache {
		t.Fatal("go-sqlite3's SQLiteConn has no bool field stmtCacheEnabled: statements cached before an ATTACH are used after it")
	}
}

// TestStatementInterfacesAreGoSQLite3s: a prepared statement has the
// optional interfaces go-sqlite3's has, no more, so database/sql converts
// arguments for it as it does for go-sqlite3.
func TestStatementInterfacesAreGoSQLite3s(t *testing.T) {
	for _, tc := range []struct {
		name string
		has  func(any) bool
	}{
		// Deprecated, but database/sql still asks for it.
		{"ColumnConverter", func(s any) bool { _, ok := s.(driver.ColumnConverter); return ok }}, //lint:ignore SA1019 database/sql still uses it
		{"NamedValueChecker", func(s any) bool { _, ok := s.(driver.NamedValueChecker); return ok }},
		{"StmtExecContext", func(s any) bool { _, ok := s.(driver.StmtExecContext); return ok }},
		{"StmtQueryContext", func(s any) bool { _, ok := s.(driver.StmtQueryContext); return ok }},
	} {
		if got, want := tc.has(&safeStmt{}), tc.has(&sqlite3.SQLiteStmt{}); got != want {
			t.Errorf("%s: sqlite3-safe's statement has it: %v; go-sqlite3's: %v", tc.name, got, want)
		}
	}
}

// TestCanSeeAuthorizer: the go-sqlite3 field that says a connection has an
// authorizer is where stmtcache_cgo.go expects it; without it, statements
// kept compiled would run on the authorizer's earlier answer.
func TestCanSeeAuthorizer(t *testing.T) {
	if !canSeeAuthorizer {
		t.Fatal("go-sqlite3's SQLiteConn has no unsafe.Pointer field authorizerHandle: an authorizer is not seen")
	}
}
