//go:build cgo

package sqlite3safe_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	_ "github.com/sqlite3safe/sqlite3safe"
)

// openDB opens dsn with driverName and closes it when the test ends.
func openDB(t testing.TB, driverName, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driverName, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// tempDSN returns a database path in a fresh temporary directory, with
// query (if any) appended.
func tempDSN(t testing.TB, query string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "test.db")
	if query != "" {
		p += "?" + query
	}
	return p
}

// mustExec runs a statement that must succeed.
func mustExec(t testing.TB, db interface {
	Exec(string, ...any) (sql.Result, error)
}, query string, args ...any) {
	t.Helper()
	_, err := db.Exec(query, args...)
	require.NoError(t, err, query)
}
