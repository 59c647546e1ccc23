//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// A write transaction may run on the connector's warm writer instead of
// the connection database/sql handed it. Whatever a connection holds of its
// own must then be where the application looks for it, as on go-sqlite3:
// each case runs the same calls on one db.Conn under both drivers and
// compares what every call gave.
func TestTransactionsSeeTheirConnectionsState(t *testing.T) {
	type step func(ctx context.Context, c *sql.Conn) string
	exec := func(q string) step {
		return func(ctx context.Context, c *sql.Conn) string {
			_, err := c.ExecContext(ctx, q)
			return q + ": " + errClass(err)
		}
	}
	one := func(q string) step {
		return func(ctx context.Context, c *sql.Conn) string {
			var v any
			err := c.QueryRowContext(ctx, q).Scan(&v)
			return fmt.Sprintf("%s: %v %s", q, v, errClass(err))
		}
	}
	// inTx runs qs in one transaction on c, then commits.
	inTx := func(qs ...string) step {
		return func(ctx context.Context, c *sql.Conn) string {
			tx, err := c.BeginTx(ctx, nil)
			if err != nil {
				return "begin: " + errClass(err)
			}
			out := ""
			for _, q := range qs {
				_, err := tx.ExecContext(ctx, q)
				out += q + ": " + errClass(err) + "; "
			}
			return out + "commit: " + errClass(tx.Commit())
		}
	}
	unwrapFunc := func(ctx context.Context, c *sql.Conn) string {
		err := c.Raw(func(dc any) error {
			sc, ok := sqlite3safe.Unwrap(dc)
			if !ok {
				return fmt.Errorf("not unwrapped")
			}
			return sc.RegisterFunc("twice", func(x int64) int64 { return 2 * x }, true)
		})
		return "RegisterFunc: " + errClass(err)
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"a temporary table made on the connection", []step{
			exec("CREATE TEMP TABLE scratch(x)"),
			inTx("INSERT INTO scratch VALUES (1)", "INSERT INTO t VALUES (1)"),
			one("SELECT count(*) FROM scratch"),
		}},
		{"a temporary table made inside a transaction", []step{
			inTx("INSERT INTO t VALUES (1)", "CREATE TEMP TABLE scratch(x)", "INSERT INTO scratch VALUES (1)"),
			one("SELECT count(*) FROM scratch"),
			inTx("INSERT INTO scratch VALUES (2)", "INSERT INTO t VALUES (2)"),
			one("SELECT count(*) FROM scratch"),
		}},
		{"a connection setting made on the connection", []step{
			exec("PRAGMA foreign_keys=ON"),
			inTx("INSERT INTO child VALUES (1, 99)"), // no parent 99: refused with foreign keys on
			one("SELECT count(*) FROM child"),
		}},
		{"a connection setting made inside a transaction", []step{
			inTx("INSERT INTO t VALUES (1)", "PRAGMA case_sensitive_like=ON"),
			one("SELECT 'a' LIKE 'A'"),
			inTx("INSERT INTO t VALUES (2)"),
			one("SELECT 'a' LIKE 'A'"),
		}},
		{"a function registered through Unwrap", []step{
			unwrapFunc,
			inTx("INSERT INTO t VALUES (twice(21))"),
			one("SELECT max(k) FROM t"),
		}},
		{"a transaction's own statement", []step{
			inTx("INSERT INTO t VALUES (7)"),
			one("SELECT count(*) FROM t"),
		}},
		{"the last row a transaction inserted", []step{
			inTx("INSERT INTO t VALUES (41)"),
			one("SELECT last_insert_rowid()"),
			inTx("UPDATE t SET k = k"),
			one("SELECT last_insert_rowid()"),
			exec("INSERT INTO t VALUES (43)"),
			inTx("INSERT INTO t VALUES (42)", "DELETE FROM t WHERE k = 42"),
			one("SELECT last_insert_rowid()"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := func(driverName, dsn string) []string {
				db := openDB(t, driverName, dsn)
				mustExec(t, db, "CREATE TABLE t(k INTEGER PRIMARY KEY); CREATE TABLE parent(id INTEGER PRIMARY KEY);"+
					"CREATE TABLE child(id INTEGER PRIMARY KEY, p REFERENCES parent(id))")
				ctx := context.Background()
				c, err := db.Conn(ctx)
				require.NoError(t, err)
				defer c.Close()
				var out []string
				for _, s := range tc.steps {
					out = append(out, s(ctx, c))
				}
				return out
			}
			dir := t.TempDir()
			want := run("sqlite3", filepath.Join(dir, "plain.db")+"?_journal_mode=WAL")
			got := run(sqlite3safe.DriverName, filepath.Join(dir, "safe.db"))
			require.Equal(t, want, got)
		})
	}
}

// A routed transaction whose first statement is refused before it runs
// (a PRAGMA that would leave WAL) still gives the lock back at its end.
func TestRefusedFirstStatementGivesLockBack(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=0"))
	mustExec(t, db, "CREATE TABLE t(k)")
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("PRAGMA journal_mode=DELETE")
	require.Error(t, err)
	require.NoError(t, tx.Rollback())
	mustExec(t, db, "INSERT INTO t VALUES (1)") // lock timeout 0: fails if the lock stayed held
}

// While a handed-over transaction keeps the writer, another transaction
// runs on its own connection, and gives the lock back at its end.
func TestTransactionBesideBusyWriterGivesLockBack(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=0"))
	mustExec(t, db, "CREATE TABLE t(k INTEGER PRIMARY KEY)")
	ctx := context.Background()
	held, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer held.Rollback() //nolint:errcheck
	var n int
	require.NoError(t, held.QueryRow("SELECT count(*) FROM t").Scan(&n)) // on the writer
	mustExec(t, db, "INSERT INTO t VALUES (1)")                          // hands the lock over; the writer stays with held

	c, err := db.Conn(ctx) // held until the check below: the pool cannot close it and so free the lock
	require.NoError(t, err)
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO t VALUES (2)") // the writer is busy: runs on its own connection
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	mustExec(t, db, "INSERT INTO t VALUES (3)") // lock timeout 0: fails if the lock stayed held
	require.NoError(t, c.Close())
	require.NoError(t, held.Rollback())
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	require.Equal(t, 3, n)
}
