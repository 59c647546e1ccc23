package integration

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/sqlite3safe/sqlite3safe" // registers "sqlite3-safe"
)

// dbPath returns a fresh database file path in the test's temp dir.
func dbPath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(t.TempDir(), name)
}

// dsn builds a file: DSN for path with the given query parameters
// ("_fk=1", "_safe_checkpoint=off", ...).
func dsn(path string, params ...string) string {
	if len(params) == 0 {
		return "file:" + path
	}
	return "file:" + path + "?" + strings.Join(params, "&")
}

// openSafe opens path with driver sqlite3-safe and closes it at cleanup.
func openSafe(t testing.TB, path string, params ...string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3-safe", dsn(path, params...))
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	return db
}

// errs collects the errors of many goroutines; the test fails with the
// first few and the count.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) add(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	e.list = append(e.list, err)
	e.mu.Unlock()
}

func (e *errs) check(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.list) == 0 {
		return
	}
	show := e.list
	if len(show) > 5 {
		show = show[:5]
	}
	t.Fatalf("%d errors from concurrent goroutines, first: %v", len(e.list), errors.Join(show...))
}

// integrityCheck runs PRAGMA integrity_check and fails unless it says ok.
func integrityCheck(t testing.TB, db *sql.DB) {
	t.Helper()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check = %q, want ok", res)
	}
}
