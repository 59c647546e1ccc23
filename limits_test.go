//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/mattn/go-sqlite3"
	"github.com/sqlite3safe/sqlite3safe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runLimitScript runs, on a pool of one connection, statements that the
// connection may keep compiled (an INSERT and a SELECT with arguments, a
// statement without arguments under a context that can end, a write
// transaction), then lowers SQLite's limits through Unwrap inside
// (*sql.Conn).Raw and runs the same SQL text again, inside the Raw
// callback and after it; then raises them back. It returns what each step
// gave and the rows in the table.
func runLimitScript(t *testing.T, driverName, dsn string) []string {
	t.Helper()
	db := openDB(t, driverName, dsn)
	db.SetMaxOpenConns(1) // one connection: what it compiled is what it keeps
	bg := context.Background()
	cancellable, cancel := context.WithCancel(bg)
	defer cancel()
	var out []string
	note := func(step string, err error) { out = append(out, fmt.Sprintf("%s: %v", step, err)) }

	const (
		ins   = "INSERT INTO t VALUES (?, ?, ?)"              // three variables, 30 bytes
		sel   = "SELECT count(*) FROM t WHERE a IN (?, ?, ?)" // three variables
		noArg = "INSERT INTO t VALUES (7, 8, 9)"              // no variables, 30 bytes
	)
	write := func(step string) {
		_, err := db.ExecContext(bg, ins, 1, 2, 3)
		note(step+" insert", err)
		_, err = db.ExecContext(cancellable, noArg)
		note(step+" insert without arguments", err)
		var n int
		note(step+" select", db.QueryRowContext(bg, sel, 1, 4, 7).Scan(&n))
	}
	_, err := db.Exec("CREATE TABLE t(a, b, c)")
	require.NoError(t, err)
	// A write transaction whose one statement was prepared before the
	// limits changed (the application's own, which runs under both drivers),
	// so that only BEGIN and COMMIT are compiled, or kept, by the driver.
	// The error is the transaction's first, wherever it arises.
	prepared, err := db.Prepare(ins)
	require.NoError(t, err)
	defer prepared.Close()
	transaction := func(step string) {
		err := func() error {
			tx, err := db.Begin()
			if err != nil {
				return err
			}
			if _, err := tx.Stmt(prepared).Exec(10, 11, 12); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}()
		note(step+" transaction", err)
	}
	// raw runs f on the driver's connection, and then an INSERT compiled
	// before, on go-sqlite3's own API inside the callback.
	raw := func(step string, f func(sc *sqlite3.SQLiteConn)) {
		c, err := db.Conn(bg)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Raw(func(dc any) error {
			sc, ok := sqlite3safe.Unwrap(dc)
			if !ok {
				return errors.New("not a go-sqlite3 connection")
			}
			f(sc)
			_, err := sc.Exec(ins, []driver.Value{int64(4), int64(5), int64(6)})
			note(step+" insert inside Raw", err)
			return nil
		}))
	}
	setLimit := func(id, v int) func(*sqlite3.SQLiteConn) {
		return func(sc *sqlite3.SQLiteConn) { sc.SetLimit(id, v) }
	}

	write("compiled")
	transaction("compiled")
	raw("nothing changed", func(*sqlite3.SQLiteConn) {})
	write("nothing changed")

	var variables, length int
	raw("two variables", func(sc *sqlite3.SQLiteConn) {
		variables = sc.SetLimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 2)
	})
	for i := range 3 {
		write(fmt.Sprintf("two variables %d", i))
	}
	raw("variables back", setLimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variables))
	write("variables back")

	raw("statements of 20 bytes", func(sc *sqlite3.SQLiteConn) {
		length = sc.SetLimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 20)
	})
	write("statements of 20 bytes")
	raw("statements of 4 bytes", setLimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 4))
	transaction("statements of 4 bytes")
	raw("length back", setLimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, length))
	write("length back")
	transaction("length back")

	rows, err := db.Query("SELECT a, b, c, count(*) FROM t GROUP BY a, b, c ORDER BY a")
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var a, b, c, n int
		require.NoError(t, rows.Scan(&a, &b, &c, &n))
		out = append(out, fmt.Sprintf("rows (%d, %d, %d): %d", a, b, c, n))
	}
	require.NoError(t, rows.Err())
	return out
}

// TestLimitsReachKeptStatements: SQLite checks its limits (SetLimit) when
// it compiles a statement, so a limit lowered through Unwrap refuses a
// statement compiled before it on plain go-sqlite3, which compiles anew
// (too many SQL variables, statement too long), and must refuse it on
// sqlite3-safe, whatever the connection keeps compiled: go-sqlite3's
// statement cache that sqlite3-safe turns on, and the BEGIN IMMEDIATE and
// COMMIT of its write transactions. A cache the DSN asks go-sqlite3 for
// (_stmt_cache_size) is go-sqlite3's on both drivers, and keeps its
// statements on both.
func TestLimitsReachKeptStatements(t *testing.T) {
	for _, tc := range []struct{ name, safe, plain string }{
		{"sqlite3-safe's cache", "", "_journal_mode=WAL"},
		{"no cache", "_safe_stmt_cache=0", "_journal_mode=WAL"},
		{"the DSN's cache", "_stmt_cache_size=8", "_journal_mode=WAL&_stmt_cache_size=8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := runLimitScript(t, "sqlite3", tempDSN(t, tc.plain))
			safe := runLimitScript(t, sqlite3safe.DriverName, tempDSN(t, tc.safe))
			assert.Equal(t, plain, safe)
			t.Logf("%q", safe)
		})
	}
}
