//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

func TestConnectionSetup(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	db.SetMaxOpenConns(3)
	ctx := context.Background()
	// Check several pool connections, not just the first.
	var conns []*sql.Conn
	for range 3 {
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	for _, c := range conns {
		var mode string
		var busy, syncMode, limit int64
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncMode))
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA journal_size_limit").Scan(&limit))
		assert.Equal(t, "wal", mode)
		assert.EqualValues(t, 5000, busy)
		assert.EqualValues(t, 1, syncMode, "synchronous=NORMAL")
		assert.Equal(t, sqlite3safe.DefaultWALLimit, limit)
		require.NoError(t, c.Close())
	}
}

func TestDSNValuesReachSQLite(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_busy_timeout=1234&_sync=FULL&_safe_wal_limit=1048576&_fk=1"))
	var busy, syncMode, limit, fk int64
	require.NoError(t, db.QueryRow("PRAGMA busy_timeout").Scan(&busy))
	require.NoError(t, db.QueryRow("PRAGMA synchronous").Scan(&syncMode))
	require.NoError(t, db.QueryRow("PRAGMA journal_size_limit").Scan(&limit))
	require.NoError(t, db.QueryRow("PRAGMA foreign_keys").Scan(&fk))
	assert.EqualValues(t, 1234, busy)
	assert.EqualValues(t, 2, syncMode, "synchronous=FULL")
	assert.EqualValues(t, 1048576, limit)
	assert.EqualValues(t, 1, fk)
}

func TestBadDSN(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  string // the error must name this
	}{
		{"_safe_lock_timeout=abc", "_safe_lock_timeout"},
		{"_safe_lock_timeout=-1", "_safe_lock_timeout"},
		{"_safe_lock_timeout=1.5", "_safe_lock_timeout"},
		{"_safe_wal_limit=-5", "_safe_wal_limit"},
		{"_safe_wal_limit=0", "_safe_wal_limit"},
		{"_safe_wal_limit=lots", "_safe_wal_limit"},
		{"_safe_checkpoint=sometimes", "_safe_checkpoint"},
		{"_safe_debug=maybe", "_safe_debug"},
		{"_safe=perhaps", "_safe"},
		{"_safe_bogus=1", "_safe_bogus"},
		{"_safe_lock_timeout=1&_safe_lock_timeout=2", "_safe_lock_timeout"},
		{"_journal_mode=DELETE", "_journal_mode"},
		{"_journal=truncate", "_journal"},
		{"_busy_timeout=soon", "_busy_timeout"},
		{"_timeout=x", "_timeout"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, err := sql.Open(sqlite3safe.DriverName, tempDSN(t, tc.query))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "sqlite3-safe: "), err.Error())

			_, err = sqlite3safe.NewConnector(tempDSN(t, tc.query))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestBadOptions(t *testing.T) {
	_, err := sqlite3safe.NewConnector(tempDSN(t, ""), sqlite3safe.WithLockTimeout(-time.Second))
	require.ErrorContains(t, err, "negative")
	_, err = sqlite3safe.NewConnector(tempDSN(t, ""), sqlite3safe.WithWALLimit(0))
	require.ErrorContains(t, err, "WAL limit")
}

func TestUnopenablePath(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"))
	err := db.Ping()
	require.Error(t, err)
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, sqlite3.ErrCantOpen, se.Code)
}

func TestSafeOff(t *testing.T) {
	check := func(t *testing.T, db *sql.DB) {
		t.Helper()
		var mode string
		require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
		assert.Equal(t, "delete", mode, "pass-through must not switch to WAL")
		conn, err := db.Conn(context.Background())
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.Raw(func(dc any) error {
			_, ok := dc.(*sqlite3.SQLiteConn)
			assert.True(t, ok, "pass-through hands out go-sqlite3's own connection, got %T", dc)
			return nil
		}))
	}
	t.Run("dsn", func(t *testing.T) {
		check(t, openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe=off&_safe_lock_timeout=10")))
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv(sqlite3safe.EnvVar, "off")
		check(t, openDB(t, sqlite3safe.DriverName, tempDSN(t, "")))
	})
	t.Run("option", func(t *testing.T) {
		c, err := sqlite3safe.NewConnector(tempDSN(t, ""), sqlite3safe.WithPassthrough(true))
		require.NoError(t, err)
		db := sql.OpenDB(c)
		t.Cleanup(func() { db.Close() })
		check(t, db)
	})
}

func TestSafeParamsRemovedFromURI(t *testing.T) {
	// A file: URI goes to SQLite whole; the _safe_* parameters must not.
	dir := t.TempDir()
	db := openDB(t, sqlite3safe.DriverName, "file:"+filepath.Join(dir, "u.db")+"?_safe_lock_timeout=100&_safe_checkpoint=off&cache=private")
	mustExec(t, db, "CREATE TABLE t(x)")
	_, err := os.Stat(filepath.Join(dir, "u.db"))
	require.NoError(t, err)
}

func TestModeChangesRefusedAtRuntime(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	mustExec(t, db, "CREATE TABLE t(x)")
	for _, q := range []string{"PRAGMA journal_mode=DELETE", "PRAGMA main.journal_mode = 'truncate'", "PRAGMA locking_mode=EXCLUSIVE"} {
		_, err := db.Exec(q)
		require.ErrorContains(t, err, "sqlite3-safe: refused", q)
		_, err = db.Prepare(q)
		require.ErrorContains(t, err, "sqlite3-safe: refused", q)
	}
	var mode string
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
	mustExec(t, db, "PRAGMA journal_mode=WAL") // asking for what it is, is fine
	mustExec(t, db, "INSERT INTO t VALUES (1)")
}

func TestSharedCacheFileTakesReadLocks(t *testing.T) {
	// cache=shared on a file makes SQLite take table locks that fail with
	// SQLITE_LOCKED at once; readers must then take the shared side.
	db := openDB(t, sqlite3safe.DriverName, "file:"+tempDSN(t, "cache=shared&_safe_lock_timeout=5000"))
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	rows, err := db.Query("SELECT x FROM t")
	require.NoError(t, err)
	require.True(t, rows.Next())
	done := make(chan error, 1)
	go func() { _, err := db.Exec("INSERT INTO t VALUES (2)"); done <- err }()
	time.Sleep(50 * time.Millisecond)
	// A nested read while the writer waits for the rows: it joins the
	// rows' read at once instead of queueing behind the writer.
	start := time.Now()
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)
	assert.Less(t, time.Since(start), 4*time.Second, "the nested read waited for the queued writer")
	require.NoError(t, rows.Close()) // the writer may go now
	select {
	case err := <-done:
		require.NoError(t, err, "the writer met a shared-cache table lock")
	case <-time.After(30 * time.Second):
		t.Fatal("liveness: writer did not finish")
	}
}

func TestLockingModeExclusiveRefusedAtOpen(t *testing.T) {
	_, err := sql.Open(sqlite3safe.DriverName, tempDSN(t, "_locking_mode=EXCLUSIVE"))
	require.ErrorContains(t, err, "_locking_mode")
	// Pass-through accepts what go-sqlite3 accepts.
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe=off&_journal_mode=DELETE&_busy_timeout=99999999999&_locking=EXCLUSIVE"))
	require.NoError(t, db.Ping())
	t.Setenv(sqlite3safe.EnvVar, "off")
	db = openDB(t, sqlite3safe.DriverName, tempDSN(t, "_journal_mode=DELETE"))
	var mode string
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "delete", mode)
}

func TestMemdbVFS(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, "file:/memdb-test?vfs=memdb")
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)
}

func TestCloseRollsBackDespiteUnclosedStatement(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_busy_timeout=200"))
	mustExec(t, db, "CREATE TABLE t(x)")
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.PrepareContext(ctx, "SELECT x FROM t") // never closed
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN")
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	// SQLite's write lock went with our lock: the next writer gets in.
	mustExec(t, db, "INSERT INTO t VALUES (2)")
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)
}

// holdWriteTx begins a write transaction and returns it; the test rolls
// it back.
// holdWriteTx begins a transaction that holds the write lock: a write
// transaction takes it at its first statement, here a SAVEPOINT.
func holdWriteTx(t *testing.T, db *sql.DB) *sql.Tx {
	t.Helper()
	tx, err := db.Begin()
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	mustExec(t, tx, "SAVEPOINT held")
	return tx
}

func TestLockTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=300"))
	mustExec(t, db, "CREATE TABLE t(x)")
	tx := holdWriteTx(t, db)
	mustExec(t, tx, "INSERT INTO t VALUES (1)")

	// The goroutine holding tx writes through db: it must not hang.
	start := time.Now()
	_, err := db.Exec("INSERT INTO t VALUES (2)")
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, sqlite3.ErrBusy, se.Code)
	var lte *sqlite3safe.LockTimeoutError
	require.ErrorAs(t, err, &lte)
	assert.Equal(t, timeout, lte.Timeout)
	assert.True(t, strings.HasSuffix(lte.Path, "test.db"), lte.Path)
	assert.Contains(t, err.Error(), lte.Path)
	assert.GreaterOrEqual(t, elapsed, timeout-10*time.Millisecond, "returned before the timeout")
	assert.Less(t, elapsed, 30*time.Second, "liveness: lock wait did not end")

	// Another transaction's first statement waits for the same lock.
	other, err := db.Begin()
	require.NoError(t, err)
	_, err = other.Exec("INSERT INTO t VALUES (4)")
	assert.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	require.NoError(t, other.Rollback())

	// Reads go on meanwhile and do not see tx's row.
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 0, n)

	require.NoError(t, tx.Commit())
	mustExec(t, db, "INSERT INTO t VALUES (3)")
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 2, n)
}

func TestLockTimeoutZeroDoesNotWait(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_busy_timeout=0"))
	mustExec(t, db, "CREATE TABLE t(x)")
	tx := holdWriteTx(t, db)
	start := time.Now()
	_, err := db.Exec("INSERT INTO t VALUES (1)")
	assert.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.NoError(t, tx.Rollback())
}

func TestContextWhileWaiting(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=60000"))
	mustExec(t, db, "CREATE TABLE t(x)")
	tx := holdWriteTx(t, db)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	assert.Less(t, time.Since(start), 30*time.Second, "liveness: the context deadline did not end the wait")

	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel2() }()
	tx2, err := db.BeginTx(ctx2, nil) // takes nothing yet
	require.NoError(t, err)
	_, err = tx2.ExecContext(ctx2, "INSERT INTO t VALUES (3)") // waits for the lock
	assert.ErrorIs(t, err, context.Canceled)

	require.NoError(t, tx.Rollback())
	// The lock was not taken by the failed waits.
	mustExec(t, db, "INSERT INTO t VALUES (2)")
}

func TestReadsDuringWriteTx(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	tx := holdWriteTx(t, db)
	mustExec(t, tx, "INSERT INTO t VALUES (2)")

	done := make(chan error, 8)
	for range 8 {
		go func() {
			var n int
			err := db.QueryRow("SELECT count(*) FROM t").Scan(&n)
			if err == nil && n != 1 {
				err = errors.New("reader saw uncommitted rows")
			}
			done <- err
		}()
	}
	for range 8 {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("liveness: a read waited for the writer")
		}
	}
	require.NoError(t, tx.Commit())
}

func TestReadOnlyTx(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=200"))
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")

	// A read-only transaction takes no lock: it begins while a writer holds it.
	wtx := holdWriteTx(t, db)
	rtx, err := db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	var n int
	require.NoError(t, rtx.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)
	_, err = rtx.Exec("INSERT INTO t VALUES (2)")
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, sqlite3.ErrReadonly, se.Code)
	require.NoError(t, rtx.Commit())
	require.NoError(t, wtx.Rollback())

	// query_only does not outlive the transaction on that connection.
	db.SetMaxOpenConns(1)
	rtx, err = db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	require.NoError(t, rtx.Rollback())
	mustExec(t, db, "INSERT INTO t VALUES (3)")
}

func TestIsolationLevels(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	for _, level := range []sql.IsolationLevel{sql.LevelDefault, sql.LevelReadCommitted, sql.LevelSnapshot, sql.LevelSerializable} {
		tx, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: level})
		require.NoError(t, err, level)
		require.NoError(t, tx.Rollback())
	}
	_, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelLinearizable})
	require.ErrorContains(t, err, "Linearizable")
	// The refusal took no lock.
	mustExec(t, db, "CREATE TABLE t(x)")
}

func TestManualTransactionOnConn(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=200"))
	mustExec(t, db, "CREATE TABLE t(x)")

	for _, tc := range []struct{ begin, end string }{
		{"BEGIN", "COMMIT"},
		{"BEGIN DEFERRED TRANSACTION", "END"},
		{"SAVEPOINT sp1", "RELEASE sp1"},
		{"begin", "ROLLBACK"},
	} {
		t.Run(tc.begin+"/"+tc.end, func(t *testing.T) {
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			_, err = conn.ExecContext(ctx, tc.begin)
			require.NoError(t, err)
			_, err = conn.ExecContext(ctx, "INSERT INTO t VALUES (1)")
			require.NoError(t, err)

			// The connection holds the lock: writes elsewhere wait and time out.
			_, err = db.Exec("INSERT INTO t VALUES (2)")
			require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)

			_, err = conn.ExecContext(ctx, tc.end)
			require.NoError(t, err)
			// Back in autocommit: the lock is free at once.
			mustExec(t, db, "INSERT INTO t VALUES (3)")
		})
	}
}

func TestManualBeginIsImmediate(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	mustExec(t, db, "CREATE TABLE t(x)")
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN")
	require.NoError(t, err)
	// BEGIN IMMEDIATE took SQLite's write lock: another process-level
	// connection (go-sqlite3, not through our lock) cannot begin one too.
	raw, err := (&sqlite3.SQLiteDriver{}).Open(dbPath(t, db) + "?_busy_timeout=0")
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.(*sqlite3.SQLiteConn).ExecContext(ctx, "BEGIN IMMEDIATE", nil)
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, sqlite3.ErrBusy, se.Code)
	_, err = conn.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
}

// dbPath returns the main database file of db.
func dbPath(t *testing.T, db *sql.DB) string {
	t.Helper()
	var seq int
	var name, file string
	require.NoError(t, db.QueryRow("PRAGMA database_list").Scan(&seq, &name, &file))
	return file
}

func TestConnClosedInsideTransaction(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=0"))
	mustExec(t, db, "CREATE TABLE t(x)")
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN")
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, conn.Close())

	// The forgotten transaction was rolled back and the lock came back.
	mustExec(t, db, "INSERT INTO t VALUES (2)")
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)

	// The same through db.Exec("BEGIN"), which would leave a pool
	// connection in a transaction: it is discarded instead, so the next
	// statement neither waits for the lock nor lands in that transaction.
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO t VALUES (3)")
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 2, n)
}

func TestReturningHoldsLockUntilDone(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=100"))
	mustExec(t, db, "CREATE TABLE t(id INTEGER PRIMARY KEY, x)")

	for _, finish := range []string{"eof", "close"} {
		t.Run(finish, func(t *testing.T) {
			rows, err := db.Query("INSERT INTO t(x) VALUES (1), (2) RETURNING id")
			require.NoError(t, err)
			require.True(t, rows.Next())
			_, err = db.Exec("INSERT INTO t(x) VALUES (9)")
			require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "lock must be held while rows are open")
			if finish == "eof" {
				require.True(t, rows.Next())
				require.False(t, rows.Next())
				require.NoError(t, rows.Err())
				// EOF gave the lock back even before Close.
				mustExec(t, db, "INSERT INTO t(x) VALUES (3)")
			}
			require.NoError(t, rows.Close())
			mustExec(t, db, "INSERT INTO t(x) VALUES (4)")
		})
	}
	// A CTE that writes is a write too.
	rows, err := db.Query("WITH v(x) AS (VALUES (7)) INSERT INTO t(x) SELECT x FROM v RETURNING id")
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO t(x) VALUES (9)")
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	require.NoError(t, rows.Close())
	mustExec(t, db, "INSERT INTO t(x) VALUES (5)")
}

func TestSQLiteErrorsPassThroughUnwrapped(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	mustExec(t, db, "CREATE TABLE t(x UNIQUE)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	_, err := db.Exec("INSERT INTO t VALUES (1)")
	se, ok := err.(sqlite3.Error) // a type assertion, as GORM's translator does
	require.True(t, ok, "got %T, want sqlite3.Error", err)
	assert.Equal(t, sqlite3.ErrConstraint, se.Code)
	assert.Equal(t, sqlite3.ErrConstraintUnique, se.ExtendedCode)

	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO t VALUES (1)")
	_, ok = err.(sqlite3.Error)
	assert.True(t, ok, "in a transaction: got %T", err)
	require.NoError(t, tx.Rollback())

	_, err = db.Query("SELECT nope FROM t")
	_, ok = err.(sqlite3.Error)
	assert.True(t, ok, "query: got %T", err)
}

func TestResultsAndTypes(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	mustExec(t, db, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, at DATETIME, b BLOB)")
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	res, err := db.Exec("INSERT INTO t(name, at, b) VALUES (:name, :at, :b)",
		sql.Named("name", "x"), sql.Named("at", now), sql.Named("b", []byte{1, 2}))
	require.NoError(t, err)
	id, err := res.LastInsertId()
	require.NoError(t, err)
	assert.EqualValues(t, 1, id)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)

	var (
		name string
		at   time.Time
		b    []byte
	)
	require.NoError(t, db.QueryRow("SELECT name, at, b FROM t WHERE id = ?", id).Scan(&name, &at, &b))
	assert.Equal(t, "x", name)
	assert.True(t, now.Equal(at), "got %v, want %v", at, now)
	assert.Equal(t, []byte{1, 2}, b)

	rows, err := db.Query("SELECT id, name FROM t")
	require.NoError(t, err)
	cts, err := rows.ColumnTypes()
	require.NoError(t, err)
	assert.Equal(t, "INTEGER", cts[0].DatabaseTypeName())
	assert.Equal(t, "TEXT", cts[1].DatabaseTypeName())
	require.NoError(t, rows.Close())
}

func TestPreparedStatements(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=100"))
	mustExec(t, db, "CREATE TABLE t(x)")
	ins, err := db.Prepare("INSERT INTO t VALUES (?)")
	require.NoError(t, err)
	defer ins.Close()
	sel, err := db.Prepare("SELECT count(*) FROM t")
	require.NoError(t, err)
	defer sel.Close()
	for i := range 10 {
		_, err := ins.Exec(i)
		require.NoError(t, err)
	}
	tx := holdWriteTx(t, db)
	_, err = ins.Exec(99)
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "prepared writes take the lock")
	var n int
	require.NoError(t, sel.QueryRow().Scan(&n), "prepared reads do not")
	assert.Equal(t, 10, n)
	_, err = tx.Stmt(ins).Exec(11)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	_, err = ins.Exec(12)
	require.NoError(t, err)
}

// TestMemoryDatabase: an in-memory DSN without cache=shared gives every
// connection of one *sql.DB's pool one database, and no other *sql.DB
// sees it (with cache=shared, TestInMemorySharingMatchesGoSQLite3).
func TestMemoryDatabase(t *testing.T) {
	for _, dsn := range []string{":memory:", "file::memory:", "file::memory:?cache=private", "file:x?mode=memory", ":memory:?cache=shared"} {
		t.Run(dsn, func(t *testing.T) {
			db1 := openDB(t, sqlite3safe.DriverName, dsn)
			db2 := openDB(t, sqlite3safe.DriverName, dsn)
			db1.SetMaxOpenConns(4)
			mustExec(t, db1, "CREATE TABLE t(x)")

			// Every connection of db1's pool sees the table...
			ctx := context.Background()
			var conns []*sql.Conn
			for range 4 {
				c, err := db1.Conn(ctx)
				require.NoError(t, err)
				conns = append(conns, c)
			}
			for _, c := range conns {
				_, err := c.ExecContext(ctx, "INSERT INTO t VALUES (1)")
				require.NoError(t, err)
				require.NoError(t, c.Close())
			}
			var n int
			require.NoError(t, db1.QueryRow("SELECT count(*) FROM t").Scan(&n))
			assert.Equal(t, 4, n)
			// ...and db2 has a database of its own.
			_, err := db2.Exec("SELECT count(*) FROM t")
			require.ErrorContains(t, err, "no such table")
		})
	}
}

// nestedRead keeps rows open and runs one more query through db per row,
// as an N+1 loop does.
func nestedRead(db *sql.DB) error {
	rows, err := db.Query("SELECT x FROM t LIMIT 5")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var x, n int
		if err := rows.Scan(&x); err != nil {
			return err
		}
		if err := db.QueryRow("SELECT count(*) FROM t WHERE x = ?", x).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("row %d read but not counted", x)
		}
	}
	return rows.Err()
}

func TestMemoryConcurrent(t *testing.T) {
	// Writers beside N+1 readers: a read queued behind a writer that waits
	// for that read's own rows would end in the lock timeout.
	db := openDB(t, sqlite3safe.DriverName, ":memory:")
	// Each reader needs two connections at once (its rows and the nested
	// read); fewer in the pool would deadlock in database/sql itself.
	db.SetMaxOpenConns(8 + 2*8)
	mustExec(t, db, "CREATE TABLE t(x)")
	errs := make(chan error, 16)
	for g := range 16 {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				if g%2 == 0 {
					_, err = db.Exec("INSERT INTO t VALUES (?)", i)
				} else {
					err = nestedRead(db)
				}
			}
			errs <- err
		}()
	}
	for range 16 {
		require.NoError(t, <-errs)
	}
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 8*50, n)
}

func TestUnwrap(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.Raw(func(dc any) error {
		sc, ok := sqlite3safe.Unwrap(dc)
		require.True(t, ok, "Unwrap(%T)", dc)
		assert.True(t, strings.HasSuffix(sc.GetFilename("main"), "test.db"))
		return sc.RegisterFunc("triple", func(x int) int { return 3 * x }, true)
	}))
	var v int
	require.NoError(t, conn.QueryRowContext(context.Background(), "SELECT triple(14)").Scan(&v))
	assert.Equal(t, 42, v)

	_, ok := sqlite3safe.Unwrap("not a connection")
	assert.False(t, ok)
}

func TestWrapCustomDriver(t *testing.T) {
	hooked := make(chan string, 8)
	base := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		hooked <- c.GetFilename("main")
		return nil
	}}
	name := fmt.Sprintf("sqlite3-safe-test-hook-%d", time.Now().UnixNano()) // unique: -count > 1 registers again
	sqlite3safe.Register(name, base, sqlite3safe.WithLockTimeout(50*time.Millisecond))
	db := openDB(t, name, tempDSN(t, ""))
	mustExec(t, db, "CREATE TABLE t(x)")
	select {
	case name := <-hooked:
		assert.True(t, strings.HasSuffix(name, "test.db"), name)
	default:
		t.Fatal("ConnectHook was not called")
	}
	// The option applies: a held transaction makes writes fail after ~50ms.
	tx := holdWriteTx(t, db)
	_, err := db.Exec("INSERT INTO t VALUES (1)")
	var lte *sqlite3safe.LockTimeoutError
	require.ErrorAs(t, err, &lte)
	assert.Equal(t, 50*time.Millisecond, lte.Timeout)
	require.NoError(t, tx.Rollback())
}

func TestConnectorCloseIsIdempotent(t *testing.T) {
	c, err := sqlite3safe.NewConnector(":memory:")
	require.NoError(t, err)
	db := sql.OpenDB(c)
	mustExec(t, db, "CREATE TABLE t(x)")
	require.NoError(t, db.Close())
	require.NoError(t, db.Close())
}

func TestDebugNamesLockHolder(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_debug=1&_safe_lock_timeout=50"))
	mustExec(t, db, "CREATE TABLE t(x)")
	tx, err := db.Begin()
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.Exec("INSERT INTO t VALUES (0)") // the line the error must name: the lock is taken here
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO t VALUES (1)")
	var lte *sqlite3safe.LockTimeoutError
	require.ErrorAs(t, err, &lte)
	assert.Regexp(t, `^held [0-9.]+m?s by transaction begun at driver_test\.go:[0-9]+$`, lte.Holder)
	assert.Contains(t, err.Error(), lte.Holder)
	require.NoError(t, tx.Rollback())

	// Off (the default), what holds the lock is named, not where: finding
	// the call site would cost a stack walk per lock.
	plain := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=50"))
	mustExec(t, plain, "CREATE TABLE t(x)")
	tx2 := holdWriteTx(t, plain)
	_, err = plain.Exec("INSERT INTO t VALUES (1)")
	require.ErrorAs(t, err, &lte)
	assert.Regexp(t, `^held [0-9.]+m?s by transaction begun$`, lte.Holder)
	require.NoError(t, tx2.Rollback())
}

// TestManualTransactionsAreImmediate: a SAVEPOINT that opens a
// transaction, a prepared BEGIN and a BEGIN run through Query all hold
// SQLite's write lock from the start, like BEGIN through Exec.
func TestManualTransactionsAreImmediate(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	mustExec(t, db, "CREATE TABLE t(x)")
	raw, err := (&sqlite3.SQLiteDriver{}).Open(dbPath(t, db) + "?_busy_timeout=0")
	require.NoError(t, err)
	defer raw.Close()
	other := raw.(*sqlite3.SQLiteConn) // stands for another process: not under our lock

	for _, tc := range []struct {
		name  string
		begin func(*sql.Conn) error
		end   string
	}{
		{"savepoint", func(c *sql.Conn) error { _, err := c.ExecContext(ctx, "SAVEPOINT outer"); return err }, "RELEASE outer"},
		{"prepared BEGIN", func(c *sql.Conn) error {
			st, err := c.PrepareContext(ctx, "BEGIN")
			if err != nil {
				return err
			}
			defer st.Close()
			_, err = st.ExecContext(ctx)
			return err
		}, "COMMIT"},
		{"BEGIN through Query", func(c *sql.Conn) error {
			rows, err := c.QueryContext(ctx, "BEGIN")
			if err != nil {
				return err
			}
			return rows.Close()
		}, "COMMIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, tc.begin(conn))
			_, err = other.ExecContext(ctx, "BEGIN IMMEDIATE", nil)
			var se sqlite3.Error
			require.ErrorAs(t, err, &se, "another writer got in: the transaction is not immediate")
			assert.Equal(t, sqlite3.ErrBusy, se.Code)
			_, err = conn.ExecContext(ctx, "INSERT INTO t VALUES (1)")
			require.NoError(t, err)
			_, err = conn.ExecContext(ctx, tc.end)
			require.NoError(t, err)
			// Committed, and the lock is back.
			mustExec(t, db, "INSERT INTO t VALUES (2)")
		})
	}
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t WHERE x = 1").Scan(&n))
	assert.Equal(t, 3, n)
}

// TestNestedSavepoints: the transaction a SAVEPOINT opened commits when
// the outermost savepoint is released, not before; ROLLBACK TO keeps it.
func TestNestedSavepoints(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=100"))
	mustExec(t, db, "CREATE TABLE t(x)")
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	exec := func(q string) {
		t.Helper()
		_, err := conn.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	count := func() int {
		t.Helper()
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
		return n
	}
	exec("SAVEPOINT a")
	exec("INSERT INTO t VALUES (1)")
	exec("SAVEPOINT b")
	exec("INSERT INTO t VALUES (2)")
	exec("ROLLBACK TO b")
	exec("SAVEPOINT A") // same name as the outer one, other case
	exec("INSERT INTO t VALUES (3)")
	exec("RELEASE a") // releases the inner "A" only
	assert.Equal(t, 0, count(), "nothing committed while the outer savepoint lives")
	_, err = db.Exec("INSERT INTO t VALUES (9)")
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "the transaction still holds the lock")
	exec("RELEASE b")
	assert.Equal(t, 0, count())
	exec("RELEASE SAVEPOINT a") // the outermost: commits
	assert.Equal(t, 2, count())
	mustExec(t, db, "INSERT INTO t VALUES (4)")
}

// TestDirectDriverUse: code that uses the driver without database/sql gets
// a connection whose context-less Begin is refused (it would bypass the
// lock) and whose BeginTx works.
func TestDirectDriverUse(t *testing.T) {
	d := sqlite3safe.Wrap(&sqlite3.SQLiteDriver{})
	c, err := d.Open(tempDSN(t, ""))
	require.NoError(t, err)
	defer c.Close()
	//lint:ignore SA1019 the deprecated path is what is tested
	_, err = c.Begin()
	require.ErrorContains(t, err, "sqlite3-safe: Begin without a context")
	tx, err := c.(driver.ConnBeginTx).BeginTx(context.Background(), driver.TxOptions{})
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	sc, ok := sqlite3safe.Unwrap(c)
	require.True(t, ok)
	assert.True(t, sc.AutoCommit())
}
