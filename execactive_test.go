//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// go-sqlite3's Exec of a prepared statement takes one step and leaves the
// statement as it is. A statement that returns rows (INSERT … RETURNING, a
// SELECT) is then still active in SQLite, and SQLite keeps what it holds
// until the statement is reset by its next execution or finalized by
// Close: an INSERT … RETURNING outside a transaction keeps its implicit
// transaction open, uncommitted, and with it SQLite's write lock; a SELECT
// keeps its read snapshot. An unprepared db.Exec of the same text resets
// the statement before it returns.

// TestExecLeftActiveHoldsWriteLock holds sqlite3-safe to plain go-sqlite3
// for writes left active by Exec, seen from a second *sql.DB on the same
// file. "The same" here is: every statement succeeds or fails alike, with
// the same rows seen and committed; a write of the other pool made while
// the statement is active waits for it (plain: in SQLite's busy handler;
// sqlite3-safe: for the file's write lock, the writer's own pools never
// meeting SQLite's lock) and goes through once the statement is closed, or
// fails with SQLITE_BUSY after its timeout if the statement is not reset
// meanwhile. On sqlite3-safe that failure is the in-process lock's
// ErrLockTimeout, naming the statement, never SQLite's "database is
// locked": the statement's connection keeps the write lock as long as
// SQLite keeps its transaction.
func TestExecLeftActiveHoldsWriteLock(t *testing.T) {
	const otherTimeout = 700 * time.Millisecond // the other pool's busy (plain) or lock (sqlite3-safe) timeout
	run := func(t *testing.T, driverName, path, params string) []string {
		ctx := context.Background()
		sep := "?"
		if params != "" {
			path += "?" + params
			sep = "&"
		}
		timeout := fmt.Sprintf("_busy_timeout=%d", otherTimeout.Milliseconds())
		a := openDB(t, driverName, path+sep+timeout)
		b := openDB(t, driverName, path+sep+timeout)
		var out []string
		note := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
		count := func(step string) {
			var n int
			require.NoError(t, b.QueryRow("SELECT count(*) FROM t").Scan(&n))
			note("%s: the other pool sees %d rows", step, n)
		}
		// otherWrite writes through b, closing st (if any) after delay, and
		// notes whether the write went through and whether it had to wait.
		otherWrite := func(step string, st *sql.Stmt, delay time.Duration) error {
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				if st != nil {
					time.Sleep(delay)
					assert.NoError(t, st.Close())
				}
			}()
			start := time.Now()
			_, err := b.Exec("INSERT INTO t(x) VALUES ('other')")
			waited := time.Since(start)
			<-closed
			switch {
			case err == nil && st == nil:
				note("%s: the other pool's write: ok", step)
			case err == nil:
				note("%s: the other pool's write: ok, waited for the Close: %v", step, waited >= delay/2)
			default:
				var se sqlite3.Error
				busy := errors.As(err, &se) && se.Code == sqlite3.ErrBusy
				note("%s: the other pool's write: busy: %v, after its timeout: %v", step, busy, waited >= otherTimeout/2)
				if driverName == sqlite3safe.DriverName {
					// Our own pools never meet SQLite's lock: the wait is for the file's lock.
					assert.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "%s: %v", step, err)
				}
			}
			return err
		}
		exec := func(step string, e interface {
			ExecContext(context.Context, string, ...any) (sql.Result, error)
		}, q string, args ...any) {
			_, err := e.ExecContext(ctx, q, args...)
			note("%s: %v", step, err)
		}
		const insert = "INSERT INTO t(x) VALUES (?) RETURNING id"

		exec("schema", a, "CREATE TABLE t(id INTEGER PRIMARY KEY, x)")

		// A prepared INSERT … RETURNING run with Exec, left active.
		st, err := a.Prepare(insert)
		require.NoError(t, err)
		res, err := st.Exec("a1")
		require.NoError(t, err)
		id, _ := res.LastInsertId()
		n, _ := res.RowsAffected()
		note("Exec: id %d, %d rows affected", id, n)
		count("active")
		if err := otherWrite("active, never reset", nil, 0); driverName == sqlite3safe.DriverName {
			assert.ErrorContains(t, err, "left active by Exec", "the lock's holder is not named")
		}
		// Closed while the other pool waits: its write goes through.
		otherWrite("closed while the other pool waits", st, 150*time.Millisecond)
		count("closed")

		// Run again: each execution resets (commits) the one before and
		// leaves itself active. The pool hands the same connection back,
		// which still holds its lock, so a write through the pool goes on.
		st, err = a.Prepare(insert)
		require.NoError(t, err)
		for _, v := range []string{"a2", "a3"} {
			_, err := st.Exec(v)
			require.NoError(t, err)
		}
		count("run twice")
		exec("a write through the same pool", a, "INSERT INTO t(x) VALUES ('a4')")
		otherWrite("run twice, then closed", st, 150*time.Millisecond)

		// Its Query resets it; the rows, read to the end, end the statement.
		st, err = a.Prepare(insert)
		require.NoError(t, err)
		_, err = st.Exec("a5")
		require.NoError(t, err)
		rows, err := st.Query("a6")
		require.NoError(t, err)
		for rows.Next() {
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		count("reset by Query")
		otherWrite("reset by Query", nil, 0)
		require.NoError(t, st.Close())

		// An unprepared Exec resets its statement at once, with or
		// without arguments, and with a context that can end.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err = a.ExecContext(cctx, insert, "a7")
		note("unprepared Exec: %v", err)
		_, err = a.Exec("INSERT INTO t(x) VALUES ('a8') RETURNING id")
		note("unprepared Exec without arguments: %v", err)
		otherWrite("after unprepared Execs", nil, 0)

		// Inside a transaction: SQLite refuses to commit while the
		// statement is active, and the ROLLBACK that follows takes its
		// row with it.
		tx, err := a.Begin()
		require.NoError(t, err)
		tst, err := tx.Prepare(insert)
		require.NoError(t, err)
		_, err = tst.Exec("lost")
		require.NoError(t, err)
		note("Commit with the statement active: %v", tx.Commit())
		otherWrite("after the transaction", nil, 0)

		// A manual transaction on a db.Conn: COMMIT fails while the
		// statement is active and goes through once it is closed.
		c, err := a.Conn(ctx)
		require.NoError(t, err)
		exec("BEGIN", c, "BEGIN")
		cst, err := c.PrepareContext(ctx, insert)
		require.NoError(t, err)
		_, err = cst.Exec("a9")
		require.NoError(t, err)
		exec("COMMIT with the statement active", c, "COMMIT")
		require.NoError(t, cst.Close())
		exec("COMMIT after Close", c, "COMMIT")
		require.NoError(t, c.Close())
		otherWrite("after the manual transaction", nil, 0)

		// A statement left active by Exec outside a transaction, then
		// a manual transaction on the same connection: COMMIT waits for
		// the statement, and the lock stays until both are over.
		c, err = a.Conn(ctx)
		require.NoError(t, err)
		cst, err = c.PrepareContext(ctx, insert)
		require.NoError(t, err)
		_, err = cst.Exec("a10")
		require.NoError(t, err)
		exec("BEGIN after the statement", c, "BEGIN")
		exec("an insert in that transaction", c, "INSERT INTO t(x) VALUES ('a11')")
		exec("COMMIT with the statement active", c, "COMMIT")
		otherWrite("in the transaction", nil, 0)
		require.NoError(t, cst.Close())
		exec("COMMIT after Close", c, "COMMIT")
		require.NoError(t, c.Close())
		otherWrite("after both", nil, 0)

		// A transaction begun on the statement's connection (the pool
		// hands it back) while the statement is active: its end takes
		// the statement's row with it (COMMIT is refused, the ROLLBACK
		// that follows undoes the row). A write through the pool from the
		// transaction's goroutine meanwhile waits for the statement's
		// lock: the transaction, though it has only read, does not hand
		// its lock over, which would roll the statement's row back.
		st, err = a.Prepare(insert)
		require.NoError(t, err)
		_, err = st.Exec("lost with the transaction")
		require.NoError(t, err)
		tx, err = a.Begin()
		require.NoError(t, err)
		var inTx int
		require.NoError(t, tx.QueryRow("SELECT count(*) FROM t").Scan(&inTx))
		note("the transaction sees %d rows", inTx)
		_, err = a.Exec("INSERT INTO t(x) VALUES ('pool')")
		var se sqlite3.Error
		note("a write through the pool meanwhile: busy: %v", errors.As(err, &se) && se.Code == sqlite3.ErrBusy)
		if driverName == sqlite3safe.DriverName {
			assert.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
		}
		note("Commit: %v", tx.Commit())
		require.NoError(t, st.Close())
		otherWrite("after the transaction and Close", nil, 0)

		var xs []string
		rows, err = b.Query("SELECT x FROM t ORDER BY id")
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var x string
			require.NoError(t, rows.Scan(&x))
			xs = append(xs, x)
		}
		require.NoError(t, rows.Err())
		note("committed: %v", xs)
		return out
	}
	path := func(t *testing.T) string { return filepath.Join(t.TempDir(), "active.db") }
	plain := run(t, "sqlite3", path(t), "_journal_mode=WAL")
	safe := run(t, sqlite3safe.DriverName, path(t), "")
	assert.Equal(t, plain, safe)
	t.Logf("%q", safe)
}

// TestExecLeftActiveReadPinsWAL: a prepared SELECT run with Exec keeps its
// read snapshot, which pins the WAL as rows left open would. The
// checkpointer sees it (Stats reports the pin) and writers are not braked
// behind it; once the statement is reset the pin ends and the WAL is
// brought back under its limit. Also when the statement was run inside a
// manual transaction whose COMMIT left the read open.
func TestExecLeftActiveReadPinsWAL(t *testing.T) {
	const limit = 256 << 10
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, st *sql.Stmt)
	}{
		{"ended by Close", func(t *testing.T, st *sql.Stmt) { require.NoError(t, st.Close()) }},
		{"ended by Query", func(t *testing.T, st *sql.Stmt) {
			rows, err := st.Query(0)
			require.NoError(t, err)
			require.NoError(t, rows.Close())
		}},
		{"ended by an Exec that runs to its end", func(t *testing.T, st *sql.Stmt) {
			_, err := st.Exec(int64(1) << 40) // no row: SQLite runs it to its end
			require.NoError(t, err)
		}},
	} {
		for _, inTx := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/in transaction=%v", tc.name, inTx), func(t *testing.T) {
				ctx := context.Background()
				db := openDB(t, sqlite3safe.DriverName, tempDSN(t, fmt.Sprintf("_safe_wal_limit=%d", limit)))
				mustExec(t, db, "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)")
				mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024)), (randomblob(1024))")
				c, err := db.Conn(ctx)
				require.NoError(t, err)
				defer c.Close()
				var st *sql.Stmt
				if inTx {
					_, err = c.ExecContext(ctx, "BEGIN")
					require.NoError(t, err)
				}
				st, err = c.PrepareContext(ctx, "SELECT id /* left active */ FROM blobs WHERE id > ?")
				require.NoError(t, err)
				defer st.Close()
				_, err = st.Exec(0)
				require.NoError(t, err)
				if inTx {
					_, err = c.ExecContext(ctx, "COMMIT") // SQLite commits and keeps the statement's read
					require.NoError(t, err)
				}

				// Write until the checkpointer reports the pin. Without it
				// the WAL grows past any bound; give up at 16 times the limit.
				var maxWAL int64
				for {
					mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
					st := mustStats(t, db)
					maxWAL = max(maxWAL, st.WALBytes)
					if st.WALPins > 0 {
						assert.Positive(t, st.WALPinned, "a pin counted but not reported as current")
						break
					}
					require.Less(t, maxWAL, int64(16*limit), "the WAL grew to %d bytes (limit %d) and no pin is reported: %+v",
						maxWAL, limit, st)
				}

				tc.end(t, st)
				// Keep writing: the WAL comes back under its limit and the pin
				// ends (liveness only: a generous deadline).
				deadline := time.Now().Add(30 * time.Second)
				for {
					mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
					st := mustStats(t, db)
					if st.WALPinned == 0 && st.WALBytes <= limit {
						break
					}
					require.True(t, time.Now().Before(deadline), "the pin did not end after the statement was reset: %+v", st)
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
	}
}

// TestExecLeftActiveNonWAL: on a database that is not WAL, SQLite's table
// locks would make a statement left active by Exec fail the others with
// SQLITE_LOCKED ("database table is locked", as plain go-sqlite3 reports
// on a cache=shared database). sqlite3-safe never lets that surface: a
// read left active keeps the shared side of the lock (writers wait for it),
// a write left active the exclusive side (readers wait too), each until
// the statement is closed; waits that run out end in ErrLockTimeout.
func TestExecLeftActiveNonWAL(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, ":memory:?_safe_lock_timeout=300")
	mustExec(t, db, "CREATE TABLE t(id INTEGER PRIMARY KEY, x)")
	mustExec(t, db, "INSERT INTO t(x) VALUES ('first'), ('second')")
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	count := func() (int, error) {
		var n int
		err := db.QueryRow("SELECT count(*) FROM t").Scan(&n)
		return n, err
	}

	st, err := c.PrepareContext(ctx, "SELECT x FROM t")
	require.NoError(t, err)
	_, err = st.Exec()
	require.NoError(t, err)
	n, err := count()
	require.NoError(t, err, "a read beside a read left active")
	assert.Equal(t, 2, n)
	_, err = db.Exec("INSERT INTO t(x) VALUES ('waits')")
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "a write beside a read left active")
	require.NoError(t, st.Close())
	mustExec(t, db, "INSERT INTO t(x) VALUES ('after the read')")

	st, err = c.PrepareContext(ctx, "INSERT INTO t(x) VALUES ('left') RETURNING id")
	require.NoError(t, err)
	_, err = st.Exec()
	require.NoError(t, err)
	_, err = count()
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "a read beside a write left active")
	assert.ErrorContains(t, err, "left active by Exec")
	require.NoError(t, st.Close())
	n, err = count()
	require.NoError(t, err)
	assert.Equal(t, 4, n)
}
