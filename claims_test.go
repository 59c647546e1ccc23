//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// Several statements at once on one connection: each gives back only the
// lock claim it made (conn.claim). Regression tests for two leaks found in review.

// In non-WAL mode, rows open on a db.Conn while more statements run on it
// must not leave a shared hold behind.
func TestNestedStatementsOnConnNonWAL(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, ":memory:?_safe_lock_timeout=300")
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1), (2)")
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	rows, err := conn.QueryContext(ctx, "SELECT x FROM t")
	require.NoError(t, err)
	require.True(t, rows.Next())
	// A write on the same connection while its own rows read: refused at
	// once (it would wait for itself), not after the lock timeout.
	start := time.Now()
	_, err = conn.ExecContext(ctx, "INSERT INTO t VALUES (3)")
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	assert.Less(t, time.Since(start), 250*time.Millisecond)
	for {
		var n int
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n))
		_, err := conn.ExecContext(ctx, "SELECT 2")
		require.NoError(t, err)
		st, err := conn.PrepareContext(ctx, "SELECT x FROM t WHERE x = ?")
		require.NoError(t, err)
		require.NoError(t, st.Close())
		if !rows.Next() {
			break
		}
	}
	require.NoError(t, rows.Close())
	require.NoError(t, conn.Close())
	mustExec(t, db, "INSERT INTO t VALUES (4)") // nothing was left held
}

// In WAL mode, a read, a read-only transaction or a pragma on the same
// db.Conn must not give back the lock that INSERT … RETURNING rows hold.
func TestReturningRowsKeepLockWhileConnRunsMore(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_lock_timeout=200"))
	mustExec(t, db, "CREATE TABLE t(x)")
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "INSERT INTO t VALUES (1), (2) RETURNING x")
	require.NoError(t, err)
	require.True(t, rows.Next())

	_, err = conn.ExecContext(ctx, "SELECT 1")
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "PRAGMA foreign_keys=ON")
	require.NoError(t, err)
	rtx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	// SQLite refuses to commit while the RETURNING statement is active, and
	// the ROLLBACK that follows a failed Commit (database/sql considers the
	// transaction over) takes the INSERT with it: the same as under plain
	// go-sqlite3.
	require.ErrorContains(t, rtx.Commit(), "SQL statements in progress")

	// Still held: another writer waits for our lock, and never meets
	// SQLite's own SQLITE_BUSY.
	_, err = db.Exec("INSERT INTO t VALUES (9)")
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)

	require.NoError(t, rows.Close())
	mustExec(t, db, "INSERT INTO t VALUES (3)")
	var got []int
	rs, err := db.Query("SELECT x FROM t ORDER BY x")
	require.NoError(t, err)
	for rs.Next() {
		var x int
		require.NoError(t, rs.Scan(&x))
		got = append(got, x)
	}
	require.NoError(t, rs.Err())
	require.NoError(t, rs.Close())
	assert.Equal(t, []int{3}, got, "rolled back with the read-only transaction, as under go-sqlite3")
}
