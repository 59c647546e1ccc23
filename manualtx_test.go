//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// TestMultiStatementTransactionsAreImmediate: a transaction begun inside a
// multi-statement string (BEGIN, BEGIN DEFERRED or a SAVEPOINT, first or
// later) runs immediate: another process that tries to commit between its
// read and its write is kept out, and the write never fails with
// SQLITE_BUSY_SNAPSHOT.
func TestMultiStatementTransactionsAreImmediate(t *testing.T) {
	ctx := context.Background()
	path := tempDSN(t, "")
	// other stands for another process: a plain connection, not under our lock.
	raw, err := (&sqlite3.SQLiteDriver{}).Open(path + "?_busy_timeout=0")
	require.NoError(t, err)
	defer raw.Close()
	other := raw.(*sqlite3.SQLiteConn)
	var otherErr error
	base := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// other_commit() commits on the other connection, in the middle of
		// the statement that calls it.
		return c.RegisterFunc("other_commit", func() int {
			_, otherErr = other.ExecContext(ctx, "INSERT INTO t VALUES (100)", nil)
			return 0
		}, false)
	}}
	name := fmt.Sprintf("sqlite3-safe-test-interleave-%d", time.Now().UnixNano())
	sqlite3safe.Register(name, base)
	db := openDB(t, name, path)
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")

	for _, q := range []string{
		"BEGIN; SELECT count(*), other_commit() FROM t; UPDATE t SET x = x + 1 WHERE x < 100; COMMIT",
		"begin deferred transaction; SELECT other_commit(); UPDATE t SET x = x + 1 WHERE x < 100; END",
		"SELECT 1; BEGIN; SELECT other_commit(); UPDATE t SET x = x + 1 WHERE x < 100; COMMIT",
		"SAVEPOINT a; SELECT other_commit(); UPDATE t SET x = x + 1 WHERE x < 100; RELEASE a",
		"SELECT 1; savepoint 'a'; SELECT other_commit(); UPDATE t SET x = x + 1 WHERE x < 100; RELEASE \"a\"",
	} {
		t.Run(q, func(t *testing.T) {
			otherErr = nil
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			_, err = conn.ExecContext(ctx, q)
			require.NoError(t, err, "the transaction ran deferred")
			var se sqlite3.Error
			require.ErrorAs(t, otherErr, &se, "the other writer got in during the transaction")
			assert.Equal(t, sqlite3.ErrBusy, se.Code)
			_, err = conn.ExecContext(ctx, "INSERT INTO t VALUES (2)")
			require.NoError(t, err, "the connection is back in autocommit")
		})
	}
	// One statement at a time, through Exec, Query and a prepared
	// statement: the transaction is immediate from its first statement on.
	for _, begin := range []string{"SAVEPOINT a", "savepoint [A]", "BEGIN", "begin deferred"} {
		for _, via := range []string{"exec", "query", "prepared"} {
			t.Run(via+" "+begin, func(t *testing.T) {
				otherErr = nil
				conn, err := db.Conn(ctx)
				require.NoError(t, err)
				defer conn.Close()
				switch via {
				case "exec":
					_, err = conn.ExecContext(ctx, begin)
				case "query":
					var rows *sql.Rows
					if rows, err = conn.QueryContext(ctx, begin); err == nil {
						err = rows.Close()
					}
				case "prepared":
					var st *sql.Stmt
					if st, err = conn.PrepareContext(ctx, begin); err == nil {
						_, err = st.ExecContext(ctx)
						require.NoError(t, st.Close())
					}
				}
				require.NoError(t, err)
				_, err = conn.ExecContext(ctx, "SELECT other_commit()")
				require.NoError(t, err)
				_, err = conn.ExecContext(ctx, "UPDATE t SET x = x + 1 WHERE x < 100")
				require.NoError(t, err, "the transaction ran deferred")
				var se sqlite3.Error
				require.ErrorAs(t, otherErr, &se, "the other writer got in during the transaction")
				assert.Equal(t, sqlite3.ErrBusy, se.Code)
				_, err = conn.ExecContext(ctx, "ROLLBACK")
				require.NoError(t, err)
			})
		}
	}

	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t WHERE x = 100").Scan(&n))
	assert.Equal(t, 0, n, "the other writer never got in")
	require.NoError(t, db.QueryRow("SELECT max(x) FROM t").Scan(&n))
	assert.Equal(t, 6, n, "every UPDATE committed")
}

// TestModeChangesRefusedInTransactions: locking_mode and journal_mode
// changes are refused inside transactions as outside: in a BeginTx
// transaction, in a manual one, through Exec, Query, a prepared statement
// and inside a multi-statement string.
func TestModeChangesRefusedInTransactions(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	mustExec(t, db, "CREATE TABLE t(x)")
	queries := []string{"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=DELETE", "SELECT 1; PRAGMA main.locking_mode = 'exclusive'"}
	check := func(t *testing.T, ex interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	}) {
		for _, q := range queries {
			_, err := ex.ExecContext(ctx, q)
			require.ErrorContains(t, err, "sqlite3-safe: refused", q)
			rows, err := ex.QueryContext(ctx, q)
			if err == nil {
				_ = rows.Close()
			}
			require.ErrorContains(t, err, "sqlite3-safe: refused", q)
			_, err = ex.PrepareContext(ctx, q)
			require.ErrorContains(t, err, "sqlite3-safe: refused", q)
		}
	}
	for _, ro := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: ro})
		require.NoError(t, err)
		check(t, tx)
		require.NoError(t, tx.Commit())
	}
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN")
	require.NoError(t, err)
	check(t, conn)
	_, err = conn.ExecContext(ctx, "INSERT INTO t VALUES (1); COMMIT")
	require.NoError(t, err)
	require.NoError(t, conn.Close())

	var mode string
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
	// Another connection still gets in: no exclusive locking mode anywhere.
	db2 := openDB(t, sqlite3safe.DriverName, dbPath(t, db))
	mustExec(t, db2, "INSERT INTO t VALUES (2)")
}

// TestReadOnlyTxKeepsQueryOnly: a read-only BeginTx leaves a query_only the
// application set on the connection as it found it.
func TestReadOnlyTxKeepsQueryOnly(t *testing.T) {
	ctx := context.Background()
	for _, drv := range []string{"sqlite3", sqlite3safe.DriverName} {
		t.Run(drv, func(t *testing.T) {
			db := openDB(t, drv, tempDSN(t, ""))
			mustExec(t, db, "CREATE TABLE t(x)")
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			queryOnly := func() int {
				var v int
				require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA query_only").Scan(&v))
				return v
			}
			for _, set := range []int{1, 0} {
				_, err = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA query_only=%d", set))
				require.NoError(t, err)
				tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
				require.NoError(t, err)
				require.NoError(t, tx.Commit())
				assert.Equal(t, set, queryOnly())
				tx, err = conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
				require.NoError(t, err)
				require.NoError(t, tx.Rollback())
				assert.Equal(t, set, queryOnly())
				_, err = conn.ExecContext(ctx, "INSERT INTO t VALUES (1)")
				assert.Equal(t, set == 1, err != nil, "query_only=%d: write error %v", set, err)
			}
		})
	}
}

// TestMultiStatementTransactionArgs: a multi-statement string with
// transaction control, run statement by statement, binds its arguments
// as go-sqlite3 does: positionally across statements, named ones wherever
// they are used; Exec's result is the last statement's.
func TestMultiStatementTransactionArgs(t *testing.T) {
	ctx := context.Background()
	type outcome struct {
		Err      string
		LastID   int64
		Affected int64
		Rows     []int64
	}
	run := func(drv, q string, args ...any) outcome {
		db := openDB(t, drv, tempDSN(t, ""))
		mustExec(t, db, "CREATE TABLE t(x INTEGER PRIMARY KEY)")
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		var o outcome
		res, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			o.Err = err.Error()
		} else {
			o.LastID, _ = res.LastInsertId()
			o.Affected, _ = res.RowsAffected()
		}
		_, _ = conn.ExecContext(ctx, "ROLLBACK") // whatever is left open
		require.NoError(t, conn.Close())
		rows, err := db.Query("SELECT x FROM t ORDER BY x")
		require.NoError(t, err)
		for rows.Next() {
			var x int64
			require.NoError(t, rows.Scan(&x))
			o.Rows = append(o.Rows, x)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		return o
	}
	for _, tc := range []struct {
		q    string
		args []any
	}{
		{"BEGIN; INSERT INTO t VALUES (?); INSERT INTO t VALUES (?); COMMIT", []any{1, 2}},
		{"SAVEPOINT a; INSERT INTO t VALUES (?), (?); RELEASE a", []any{3, 4}},
		{"BEGIN; INSERT INTO t VALUES ($v); INSERT INTO t VALUES (?); COMMIT", []any{sql.Named("v", 5), 6}},
		{"BEGIN; INSERT INTO t VALUES (?); INSERT INTO t VALUES (?); COMMIT", []any{1}},
		{"BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)", nil},
		{"SAVEPOINT a; INSERT INTO t VALUES (1); SELEC 2; RELEASE a", nil},
		{"BEGIN; INSERT INTO t VALUES (7); -- the end", nil},
	} {
		want := run("sqlite3", tc.q, tc.args...)
		got := run(sqlite3safe.DriverName, tc.q, tc.args...)
		assert.Equal(t, want, got, tc.q)
	}
}

// TestReadOnlySavepointTransactionWritesNothing: taking SQLite's write
// lock for a transaction a SAVEPOINT opened changes nothing in the file: a
// transaction that only reads adds no WAL frame, other connections see no
// change (data_version), as under plain go-sqlite3. (In a database with
// auto_vacuum=INCREMENTAL and free pages it may write one frame of
// unchanged content; the free pages stay.)
func TestReadOnlySavepointTransactionWritesNothing(t *testing.T) {
	ctx := context.Background()
	type outcome struct{ WALGrew, DataVersionMoved, FreePages int }
	run := func(drv, autoVacuum string) outcome {
		path := tempDSN(t, "")
		setup := openDB(t, "sqlite3", path+"?_journal_mode=WAL")
		mustExec(t, setup, "PRAGMA auto_vacuum="+autoVacuum+"; VACUUM; CREATE TABLE t(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) INSERT INTO t SELECT zeroblob(5000) FROM n; DELETE FROM t; PRAGMA wal_checkpoint(TRUNCATE)")
		other, err := setup.Conn(ctx)
		require.NoError(t, err)
		defer other.Close()
		dataVersion := func() (v int) {
			require.NoError(t, other.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v))
			return v
		}
		walSize := func() int64 {
			st, err := os.Stat(path + "-wal")
			require.NoError(t, err)
			return st.Size()
		}
		dv, wal := dataVersion(), walSize()
		db := openDB(t, drv, path)
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		for _, q := range []string{"SAVEPOINT a", "SELECT count(*) FROM t", "RELEASE a", "SAVEPOINT b; SELECT 1; RELEASE b"} {
			_, err = conn.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
		require.NoError(t, conn.Close())
		var o outcome
		if walSize() != wal {
			o.WALGrew = 1
		}
		if dataVersion() != dv {
			o.DataVersionMoved = 1
		}
		require.NoError(t, other.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&o.FreePages))
		return o
	}
	want := run("sqlite3", "NONE")
	require.NotZero(t, want.FreePages, "the test needs free pages")
	assert.Equal(t, want, run(sqlite3safe.DriverName, "NONE"))
	want = run("sqlite3", "INCREMENTAL")
	require.NotZero(t, want.FreePages, "the test needs free pages")
	assert.Equal(t, want.FreePages, run(sqlite3safe.DriverName, "INCREMENTAL").FreePages)
}
