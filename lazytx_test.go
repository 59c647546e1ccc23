//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// openBoth opens a fresh file database under plain go-sqlite3 (WAL, as
// sqlite3-safe sets it) and one under sqlite3-safe, both with table
// t(k INTEGER PRIMARY KEY) and the given busy timeout (which is also
// sqlite3-safe's lock timeout).
func openBoth(t *testing.T, busyMS int) map[string]*sql.DB {
	t.Helper()
	dir := t.TempDir()
	dbs := map[string]*sql.DB{
		"sqlite3": openDB(t, "sqlite3", fmt.Sprintf("%s?_journal_mode=WAL&_busy_timeout=%d",
			filepath.Join(dir, "plain.db"), busyMS)),
		sqlite3safe.DriverName: openDB(t, sqlite3safe.DriverName, fmt.Sprintf("%s?_busy_timeout=%d",
			filepath.Join(dir, "safe.db"), busyMS)),
	}
	for _, db := range dbs {
		mustExec(t, db, "CREATE TABLE t(k INTEGER PRIMARY KEY)")
	}
	return dbs
}

// errClass names an error the way the comparisons below need: none,
// SQLite's code and extended code, or "other".
func errClass(err error) string {
	var se sqlite3.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &se):
		return fmt.Sprintf("sqlite %d/%d", se.Code, se.ExtendedCode)
	}
	return "other: " + err.Error()
}

func count(t *testing.T, q interface {
	QueryRow(string, ...any) *sql.Row
}) int {
	t.Helper()
	var n int
	require.NoError(t, q.QueryRow("SELECT count(*) FROM t").Scan(&n))
	return n
}

// A write transaction holds nothing until its first statement: writes
// through the pool go on beside it, and its schema can come from the pool.
func TestTxTakesNothingUntilFirstStatement(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=0"))
	mustExec(t, db, "CREATE TABLE t(k INTEGER PRIMARY KEY)")

	tx, err := db.Begin()
	require.NoError(t, err)
	mustExec(t, db, "INSERT INTO t VALUES (1)") // lock timeout 0: fails if the lock is held
	mustExec(t, db, "CREATE TABLE x(v)")
	mustExec(t, tx, "INSERT INTO x VALUES (1)") // the transaction begins here, and sees x
	_, err = db.Exec("INSERT INTO t VALUES (2)")
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "a transaction that wrote holds the lock")
	require.NoError(t, tx.Commit())
	mustExec(t, db, "INSERT INTO t VALUES (3)")
	assert.Equal(t, 2, count(t, db))
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM x").Scan(&n))
	assert.Equal(t, 1, n)

	// Untouched transactions end without a statement, blocking nobody.
	for _, end := range []func(*sql.Tx) error{(*sql.Tx).Commit, (*sql.Tx).Rollback} {
		tx, err := db.Begin()
		require.NoError(t, err)
		mustExec(t, db, "INSERT INTO t DEFAULT VALUES")
		require.NoError(t, end(tx))
	}
	assert.Equal(t, 4, count(t, db))
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.LockTimeouts, "only the write beside the transaction that wrote timed out")
}

// handOverShape is a transaction that reads, while its goroutine writes
// through the pool, then reads and writes again; it returns what each step
// gave.
func handOverShape(t *testing.T, db *sql.DB) []string {
	tx, err := db.Begin()
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck
	var out []string
	out = append(out, fmt.Sprint("tx count ", count(t, tx)))
	start := time.Now()
	_, err = db.Exec("INSERT INTO t VALUES (10)")
	out = append(out, "pool insert "+errClass(err))
	assert.Less(t, time.Since(start), 5*time.Second, "liveness: the pool's write waited for its own transaction")
	out = append(out, fmt.Sprint("tx count ", count(t, tx))) // the transaction's snapshot
	_, err = tx.Exec("INSERT INTO t VALUES (11)")
	out = append(out, "tx insert "+errClass(err))
	out = append(out, "rollback "+errClass(tx.Rollback()))
	out = append(out, fmt.Sprint("pool count ", count(t, db)))
	return out
}

// A transaction that has only read, whose goroutine writes through the
// pool, does as on go-sqlite3: the pool's write goes through, the
// transaction keeps its snapshot, and its own write then fails with
// SQLITE_BUSY_SNAPSHOT.
func TestTxHandsLockToItsGoroutine(t *testing.T) {
	dbs := openBoth(t, 10000)
	want := handOverShape(t, dbs["sqlite3"])
	got := handOverShape(t, dbs[sqlite3safe.DriverName])
	require.Equal(t, want, got)
	require.Contains(t, want, "tx insert sqlite 5/517") // SQLITE_BUSY_SNAPSHOT: the oracle is what we think
	st, err := sqlite3safe.Stats(dbs[sqlite3safe.DriverName])
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.LockHandOvers)
	assert.Zero(t, st.LockTimeouts)
}

// The same with the transaction's rows open: each row's pool write goes
// through, and the rows and later reads keep the transaction's snapshot.
func TestTxHandOverKeepsOpenRows(t *testing.T) {
	run := func(db *sql.DB) []string {
		mustExec(t, db, "INSERT INTO t VALUES (1), (2), (3)")
		tx, err := db.Begin()
		require.NoError(t, err)
		defer tx.Rollback() //nolint:errcheck
		rows, err := tx.Query("SELECT k FROM t ORDER BY k")
		require.NoError(t, err)
		var out []string
		for rows.Next() {
			var k int
			require.NoError(t, rows.Scan(&k))
			_, err := db.Exec("INSERT INTO t VALUES (?)", 100+k)
			out = append(out, fmt.Sprintf("row %d, pool insert %s", k, errClass(err)))
		}
		out = append(out, "rows "+errClass(rows.Err()), "close "+errClass(rows.Close()))
		out = append(out, fmt.Sprint("tx count ", count(t, tx)), "commit "+errClass(tx.Commit()))
		return append(out, fmt.Sprint("pool count ", count(t, db)))
	}
	dbs := openBoth(t, 10000)
	want := run(dbs["sqlite3"])
	require.Equal(t, want, run(dbs[sqlite3safe.DriverName]))
	require.Contains(t, want, "pool count 6")
}

// A pool write of the transaction's goroutine that commits nothing leaves
// the snapshot current: the transaction then writes and commits.
func TestTxWritesAfterHandOverWithoutCommit(t *testing.T) {
	run := func(db *sql.DB) []string {
		mustExec(t, db, "INSERT INTO t VALUES (1)")
		tx, err := db.Begin()
		require.NoError(t, err)
		defer tx.Rollback() //nolint:errcheck
		out := []string{fmt.Sprint("tx count ", count(t, tx))}
		_, err = db.Exec("INSERT INTO t VALUES (1)") // a duplicate key: fails, commits nothing
		out = append(out, "pool insert "+errClass(err))
		_, err = tx.Exec("INSERT INTO t VALUES (2)")
		out = append(out, "tx insert "+errClass(err), "commit "+errClass(tx.Commit()))
		return append(out, fmt.Sprint("pool count ", count(t, db)))
	}
	dbs := openBoth(t, 10000)
	want := run(dbs["sqlite3"])
	require.Equal(t, want, run(dbs[sqlite3safe.DriverName]))
	require.Contains(t, want, "pool count 2")
}

// Only the transaction's own goroutine takes its lock over: a write of
// another goroutine waits, and the transaction, never preempted, commits
// what it read and wrote.
func TestTxLockNotHandedToOtherGoroutines(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=100"))
	mustExec(t, db, "CREATE TABLE t(k INTEGER PRIMARY KEY)")
	tx, err := db.Begin()
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck
	assert.Equal(t, 0, count(t, tx))
	errc := make(chan error)
	go func() {
		_, err := db.Exec("INSERT INTO t VALUES (1)")
		errc <- err
	}()
	require.ErrorIs(t, <-errc, sqlite3safe.ErrLockTimeout)
	mustExec(t, tx, "INSERT INTO t VALUES (2)")
	require.NoError(t, tx.Commit())
	assert.Equal(t, 1, count(t, db))
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.Zero(t, st.LockHandOvers)
}

// A transaction that has written cannot give its lock up: its goroutine's
// write through the pool fails after the lock timeout, as go-sqlite3's
// fails after the busy timeout, both with SQLITE_BUSY.
func TestTxThatWroteKeepsLock(t *testing.T) {
	run := func(db *sql.DB) []string {
		tx, err := db.Begin()
		require.NoError(t, err)
		defer tx.Rollback() //nolint:errcheck
		_, err = tx.Exec("INSERT INTO t VALUES (1)")
		out := []string{"tx insert " + errClass(err)}
		_, err = db.Exec("INSERT INTO t VALUES (2)")
		var se sqlite3.Error
		out = append(out, fmt.Sprint("pool insert busy ", errors.As(err, &se) && se.Code == sqlite3.ErrBusy))
		out = append(out, "commit "+errClass(tx.Commit()))
		return append(out, fmt.Sprint("pool count ", count(t, db)))
	}
	dbs := openBoth(t, 200)
	want := run(dbs["sqlite3"])
	require.Equal(t, want, run(dbs[sqlite3safe.DriverName]))
	require.Contains(t, want, "pool insert busy true")
}

// The ledger, whose transactions read and then write, keeps zero errors
// and an intact chain when goroutines are descheduled between their
// statements for long: one processor, and a goroutine burning CPU per core
// beside it. A transaction is never handed over to another goroutine.
func TestLedgerUnderCPUContention(t *testing.T) {
	if testing.Short() {
		t.Skip("a loaded ledger run")
	}
	for _, procs := range []int{1, runtime.NumCPU()} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			for range runtime.NumCPU() {
				go func() {
					defer func() { done <- struct{}{} }()
					for ctx.Err() == nil {
						for i := 0; i < 1e5; i++ {
							_ = i * i
						}
					}
				}()
			}
			errs, n, err := runLedger(t, sqlite3safe.DriverName, 100, 10)
			stop()
			for range runtime.NumCPU() {
				<-done
			}
			require.Empty(t, errs, "first error: %v", firstErr(errs))
			require.NoError(t, err)
			assert.EqualValues(t, 1000, n)
		})
	}
}

// On a connection that cannot write (query_only from the DSN, as a
// two-pool read pool sets it, or from a PRAGMA the application ran), a
// transaction runs a deferred BEGIN as on go-sqlite3: its reads work, a
// write fails with SQLite's read-only error, and it takes no lock.
func TestTxOnQueryOnlyConnection(t *testing.T) {
	run := func(driverName, dsn string, pragma bool) []string {
		rw := openDB(t, driverName, dsn)
		mustExec(t, rw, "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY)")
		mustExec(t, rw, "INSERT INTO t VALUES (1)")
		q := dsn + "&_query_only=1"
		if pragma {
			q = dsn
		}
		db := openDB(t, driverName, q)
		db.SetMaxOpenConns(1)
		if pragma {
			mustExec(t, db, "PRAGMA query_only=1")
		}
		tx, err := db.BeginTx(context.Background(), nil)
		require.NoError(t, err)
		out := []string{fmt.Sprint("tx count ", count(t, tx))}
		_, err = rw.Exec("INSERT INTO t VALUES (2)") // another pool writes meanwhile
		out = append(out, "other pool insert "+errClass(err))
		_, err = tx.Exec("INSERT INTO t VALUES (3)")
		out = append(out, "tx insert "+errClass(err), "commit "+errClass(tx.Commit()))
		return append(out, fmt.Sprint("count ", count(t, rw)))
	}
	for _, pragma := range []bool{false, true} {
		t.Run(fmt.Sprint("pragma=", pragma), func(t *testing.T) {
			dir := t.TempDir()
			want := run("sqlite3", filepath.Join(dir, "plain.db")+"?_journal_mode=WAL&_busy_timeout=200", pragma)
			got := run(sqlite3safe.DriverName, filepath.Join(dir, "safe.db")+"?_busy_timeout=200", pragma)
			require.Equal(t, want, got)
			require.Contains(t, want, "tx insert sqlite 8/8") // SQLITE_READONLY
		})
	}
}
