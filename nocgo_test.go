//go:build !cgo

package sqlite3safe_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/sqlite3safe/sqlite3safe"
)

// Without cgo go-sqlite3 registers a stub whose Open fails; sqlite3-safe
// builds too and its connections fail with that same error, as a drop-in
// replacement should. (Every other test needs SQLite, so cgo.)
func TestWithoutCgoOpenFailsLikeGoSQLite3(t *testing.T) {
	for _, dsn := range []string{"file.db", "file.db?_safe=off", ":memory:"} {
		plain, err := sql.Open("sqlite3", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		safe, err := sql.Open(sqlite3safe.DriverName, dsn)
		if err != nil {
			t.Fatalf("%s: sql.Open: %v", dsn, err)
		}
		defer safe.Close()
		want, got := plain.Ping(), safe.Ping()
		if want == nil || got == nil || got.Error() != want.Error() || !strings.Contains(got.Error(), "CGO_ENABLED=0") {
			t.Errorf("%s: Ping: sqlite3-safe %v, go-sqlite3 %v", dsn, got, want)
		}
	}
}
