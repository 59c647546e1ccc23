//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// This file holds sqlite3-safe to plain go-sqlite3 over what an application
// does with one connection beyond statements: settings it makes (PRAGMA),
// temporary tables, limits, an authorizer and a commit hook set through
// Unwrap, attached databases, transactions on it, and writes through the
// rest of the pool meanwhile. A random sequence of such steps must give the
// same outcome, step by step, on both drivers.

// surfaceStep names the steps; decodeSurface picks them from fuzz input.
var surfaceSteps = []string{
	"PRAGMA case_sensitive_like=ON", "PRAGMA case_sensitive_like=OFF", "like",
	"temp table", "temp insert", "temp count",
	"tx", "tx rollback", "tx temp",
	"limit 1", "limit 999", "two args",
	"authorizer", "no authorizer", "secret",
	"commit hook", "attach", "attached insert", "detach",
	"count", "pool insert",
}

func decodeSurface(data []byte) []string {
	var out []string
	for _, b := range data {
		if len(out) == 16 {
			break
		}
		out = append(out, surfaceSteps[int(b)%len(surfaceSteps)])
	}
	return out
}

// runSurface runs steps on one db.Conn of a fresh database opened with
// driverName, and reports each step's outcome and, last, the rows of t and
// how often the commit hook ran.
func runSurface(t testing.TB, driverName, dir string, steps []string) []string {
	t.Helper()
	ctx := context.Background()
	dsn := filepath.Join(dir, driverName+".db")
	if driverName == sqlite3safe.DriverName {
		dsn += "?_busy_timeout=300"
	} else {
		dsn += "?_journal_mode=WAL&_busy_timeout=300"
	}
	db, err := sql.Open(driverName, dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v); CREATE TABLE secret(x); INSERT INTO secret VALUES (1)")
	require.NoError(t, err)
	other := filepath.Join(dir, driverName+"-other.db")
	odb, err := sql.Open("sqlite3", other+"?_journal_mode=WAL")
	require.NoError(t, err)
	_, err = odb.Exec("CREATE TABLE u(x)")
	require.NoError(t, err)
	require.NoError(t, odb.Close())

	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	var commits int
	key := 0
	raw := func(f func(sc *sqlite3.SQLiteConn)) error {
		return c.Raw(func(dc any) error {
			sc, ok := sqlite3safe.Unwrap(dc)
			if !ok {
				sc, ok = dc.(*sqlite3.SQLiteConn)
			}
			if !ok {
				return fmt.Errorf("no go-sqlite3 connection")
			}
			f(sc)
			return nil
		})
	}
	exec := func(q string, args ...any) string {
		_, err := c.ExecContext(ctx, q, args...)
		return errClass(err)
	}
	one := func(q string) string {
		var v any
		err := c.QueryRowContext(ctx, q).Scan(&v)
		return fmt.Sprintf("%v %s", v, errClass(err))
	}
	var out []string
	for _, s := range steps {
		key++
		var r string
		switch s {
		case "PRAGMA case_sensitive_like=ON", "PRAGMA case_sensitive_like=OFF":
			r = exec(s)
		case "like":
			r = one("SELECT 'a' LIKE 'A'")
		case "temp table":
			r = exec("CREATE TEMP TABLE IF NOT EXISTS tt(x)")
		case "temp insert":
			r = exec("INSERT INTO tt VALUES (?)", key)
		case "temp count":
			r = one("SELECT count(*) FROM tt")
		case "tx", "tx rollback", "tx temp":
			tx, err := c.BeginTx(ctx, nil)
			if err != nil {
				r = "begin " + errClass(err)
				break
			}
			_, err = tx.ExecContext(ctx, "INSERT INTO t VALUES (?, 'tx')", key)
			r = "insert " + errClass(err)
			if s == "tx temp" {
				_, err = tx.ExecContext(ctx, "CREATE TEMP TABLE IF NOT EXISTS tt(x)")
				r += ", temp " + errClass(err)
			}
			if s == "tx rollback" {
				r += ", rollback " + errClass(tx.Rollback())
			} else {
				r += ", commit " + errClass(tx.Commit())
			}
		case "limit 1", "limit 999":
			n := 1
			if s == "limit 999" {
				n = 999
			}
			r = errClass(raw(func(sc *sqlite3.SQLiteConn) { sc.SetLimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, n) }))
		case "two args":
			r = exec("INSERT INTO t VALUES (?, ?)", key, "two")
		case "authorizer":
			r = errClass(raw(func(sc *sqlite3.SQLiteConn) {
				sc.RegisterAuthorizer(func(op int, a, b, _ string) int {
					if op == sqlite3.SQLITE_READ && a == "secret" {
						return sqlite3.SQLITE_DENY
					}
					return sqlite3.SQLITE_OK
				})
			}))
		case "no authorizer":
			r = errClass(raw(func(sc *sqlite3.SQLiteConn) { sc.RegisterAuthorizer(nil) }))
		case "secret":
			r = one("SELECT count(*) FROM secret")
		case "commit hook":
			r = errClass(raw(func(sc *sqlite3.SQLiteConn) {
				sc.RegisterCommitHook(func() int { commits++; return 0 })
			}))
		case "attach":
			r = exec("ATTACH DATABASE ? AS o", other)
		case "attached insert":
			r = exec("INSERT INTO o.u VALUES (?)", key)
		case "detach":
			r = exec("DETACH DATABASE o")
		case "count":
			r = one("SELECT count(*) FROM t")
		case "pool insert":
			_, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, 'pool')", key)
			r = errClass(err)
		}
		out = append(out, s+": "+r)
	}
	require.NoError(t, c.Close())
	rows, err := db.QueryContext(ctx, "SELECT k, v FROM t ORDER BY k")
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var k int
		var v string
		require.NoError(t, rows.Scan(&k, &v))
		got = append(got, fmt.Sprintf("%d=%s", k, v))
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	return append(out, "rows "+strings.Join(got, " "), fmt.Sprint("commit hook ran ", commits))
}

var surfaceSeeds = [][]byte{
	{0, 2, 6, 2, 1, 2},            // a setting made, seen in and after a transaction
	{3, 4, 6, 5, 8, 5},            // a temporary table beside transactions
	{9, 10, 6, 11, 10, 11},        // limits, a statement that ran before them
	{12, 14, 6, 14, 13, 14},       // an authorizer, before and after a transaction
	{15, 6, 19, 7, 20, 6},         // a commit hook, transactions and the pool
	{16, 17, 6, 17, 18, 17},       // ATTACH, a transaction, DETACH
	{8, 5, 15, 6, 20, 12, 9, 11},  // a mixture
	{16, 12, 17, 14, 6, 18, 4, 5}, // another
}

// FuzzSurfaceDifferential runs random sequences of what an application does
// with one connection under plain go-sqlite3 and under sqlite3-safe, and
// requires the same outcome.
func FuzzSurfaceDifferential(f *testing.F) {
	for _, s := range surfaceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		steps := decodeSurface(data)
		if len(steps) == 0 {
			return
		}
		dir := t.TempDir()
		want := runSurface(t, "sqlite3", dir, steps)
		got := runSurface(t, sqlite3safe.DriverName, dir, steps)
		require.Equal(t, want, got, "steps: %q", steps)
	})
}
