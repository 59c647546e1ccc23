//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
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

// These tests stand for a LiteFS replica with a .primary file written by
// hand beside the database, as LiteFS has it on a replica (the primary's
// hostname and a newline). No FUSE is needed; integration/litefs_test.go
// runs a real cluster.

// newReplicaDir makes a database at dir/app.db with a table t(x) holding
// one row, written through plain go-sqlite3 in WAL mode, and returns its
// path. No .primary is there yet.
func newReplicaDir(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	plain, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
	require.NoError(t, err)
	defer plain.Close()
	mustExec(t, plain, "CREATE TABLE t(x)")
	mustExec(t, plain, "INSERT INTO t VALUES (1)")
	return path
}

// setPrimary makes dir's .primary name primary (as on a LiteFS replica), or
// removes it (primary == "": this node is the primary).
func setPrimary(t *testing.T, dbPath, primary string) {
	t.Helper()
	p := filepath.Join(filepath.Dir(dbPath), ".primary")
	if primary == "" {
		require.NoError(t, os.Remove(p))
		return
	}
	require.NoError(t, os.WriteFile(p, []byte(primary+"\n"), 0o444))
}

// requireReplicaError checks both identities of a write refused on a
// replica, and that the error names the primary.
func requireReplicaError(t *testing.T, err error, primary string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, sqlite3safe.ErrReadOnlyReplica)
	var se sqlite3.Error
	require.ErrorAs(t, err, &se, "a write refused on a replica is also SQLite's read-only error")
	assert.Equal(t, sqlite3.ErrReadonly, se.Code)
	var re *sqlite3safe.ReplicaError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, primary, re.Primary)
	if primary != "" {
		assert.Contains(t, err.Error(), `"`+primary+`"`)
	}
	assert.True(t, strings.HasPrefix(err.Error(), "sqlite3-safe: "), err.Error())
	assert.False(t, errors.Is(err, sqlite3safe.ErrLockTimeout))
}

// poll runs ok on the test's goroutine until it reports true; the bound
// is only there so that a broken build does not hang.
func poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func replicaRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	return n
}

// TestReplicaRefusesWritesAtOnce: on a replica every kind of write fails
// at once with both error identities and the primary's name, even while
// another connection of the process holds the write lock (the write does
// not wait for it), and reads run meanwhile. A transaction that held the
// write lock before the node became a replica finishes as it began.
func TestReplicaRefusesWritesAtOnce(t *testing.T) {
	path := newReplicaDir(t)
	ctx := context.Background()

	// A writer that took the lock while the node was still primary.
	holder := openDB(t, sqlite3safe.DriverName, path)
	htx, err := holder.BeginTx(ctx, nil)
	require.NoError(t, err)
	mustExec(t, htx, "INSERT INTO t VALUES (2)")

	setPrimary(t, path, "node-a")
	// A long lock timeout: a write that waited for the lock would show.
	db := openDB(t, sqlite3safe.DriverName, path+"?_safe_lock_timeout=30000")
	before, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	// The file's answer was found before .primary appeared; once it is
	// older than the check interval, the next write looks again.
	time.Sleep(2 * sqlite3safe.ReplicaCheckInterval)

	writes := map[string]func() error{
		"exec": func() error { _, err := db.Exec("INSERT INTO t VALUES (3)"); return err },
		"query that writes": func() error {
			rows, err := db.Query("INSERT INTO t VALUES (3) RETURNING x")
			if err == nil {
				rows.Close()
			}
			return err
		},
		"prepared": func() error {
			st, err := db.Prepare("INSERT INTO t VALUES (?)")
			if err != nil {
				return err
			}
			defer st.Close()
			_, err = st.Exec(3)
			return err
		},
		"transaction's first statement": func() error {
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			_, err = tx.Exec("INSERT INTO t VALUES (3)")
			return err
		},
		"manual BEGIN": func() error {
			c, err := db.Conn(ctx)
			require.NoError(t, err)
			defer c.Close()
			_, err = c.ExecContext(ctx, "BEGIN")
			return err
		},
		"DDL":                 func() error { _, err := db.Exec("CREATE TABLE u(y)"); return err },
		"PRAGMA that writes":  func() error { _, err := db.Exec("PRAGMA user_version=7"); return err },
		"VACUUM":              func() error { _, err := db.Exec("VACUUM"); return err },
		"a write in a string": func() error { _, err := db.Exec("SELECT 1; DELETE FROM t"); return err },
		"manual SAVEPOINT": func() error {
			c, err := db.Conn(ctx)
			require.NoError(t, err)
			defer c.Close()
			_, err = c.ExecContext(ctx, "SAVEPOINT s")
			return err
		},
	}
	for name, write := range writes {
		start := time.Now()
		err := write()
		took := time.Since(start)
		requireReplicaError(t, err, "node-a")
		assert.Less(t, took, 5*time.Second, "%s: refused after %v: it waited for the lock", name, took)
	}

	// Reads run, in and out of transactions, while the holder has the lock.
	assert.Equal(t, 1, replicaRows(t, db))
	rtx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	var n int
	require.NoError(t, rtx.QueryRow("SELECT count(*) FROM t").Scan(&n))
	require.NoError(t, rtx.Commit())

	after, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.Equal(t, before.LockWaits, after.LockWaits, "no write waited for the lock")
	assert.Equal(t, before.LockTimeouts, after.LockTimeouts)

	// The transaction that held the lock before the change commits whole.
	require.NoError(t, htx.Commit())
	assert.Equal(t, 2, replicaRows(t, db))
}

// TestReplicaTransactionReadsThenRefusesWrite: a default (read-write)
// transaction on a replica reads; its first write is refused, and its
// reads and Commit still work.
func TestReplicaTransactionReadsThenRefusesWrite(t *testing.T) {
	path := newReplicaDir(t)
	setPrimary(t, path, "node-a")
	db := openDB(t, sqlite3safe.DriverName, path)
	ctx := context.Background()

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	var n int
	require.NoError(t, tx.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)
	_, err = tx.Exec("INSERT INTO t VALUES (2)")
	requireReplicaError(t, err, "node-a")
	require.NoError(t, tx.QueryRow("SELECT count(*) FROM t").Scan(&n))
	require.NoError(t, tx.Commit())
	assert.Equal(t, 1, replicaRows(t, db))
	_, err = db.Exec("INSERT INTO t VALUES (2)") // the connection is clean for the pool
	requireReplicaError(t, err, "node-a")
}

// TestReplicaBecomesPrimary: when .primary goes away, the same *sql.DB
// takes writes, without being reopened.
func TestReplicaBecomesPrimary(t *testing.T) {
	path := newReplicaDir(t)
	setPrimary(t, path, "node-a")
	db := openDB(t, sqlite3safe.DriverName, path)
	db.SetMaxIdleConns(4)
	_, err := db.Exec("INSERT INTO t VALUES (2)")
	requireReplicaError(t, err, "node-a")
	// A read-write transaction that began reading on the replica.
	early, err := db.BeginTx(context.Background(), nil)
	require.NoError(t, err)
	require.NoError(t, early.QueryRow("SELECT count(*) FROM t").Scan(new(int)))

	setPrimary(t, path, "")
	poll(t, "writes after the node became primary", func() bool {
		_, err := db.Exec("INSERT INTO t VALUES (2)")
		if err != nil {
			requireReplicaError(t, err, "node-a")
		}
		return err == nil
	})
	for i := range 20 {
		tx, err := db.Begin()
		require.NoError(t, err)
		mustExec(t, tx, "INSERT INTO t VALUES (?)", 10+i)
		require.NoError(t, tx.Commit())
	}
	assert.Equal(t, 22, replicaRows(t, db))

	// The early transaction's snapshot is older than those commits: its
	// write takes the lock and is refused by SQLite, as on go-sqlite3.
	_, err = early.Exec("INSERT INTO t VALUES (99)")
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, sqlite3.ErrBusy, se.Code)
	assert.Equal(t, sqlite3.ErrBusySnapshot, se.ExtendedCode)
	require.NoError(t, early.Rollback())
	mustExec(t, db, "INSERT INTO t VALUES (3)")
}

// TestReplicaStopsBeingPrimary: when .primary appears, writes are refused
// from the next transaction on, every one of them; what committed before
// is all there, and nothing is half done.
func TestReplicaStopsBeingPrimary(t *testing.T) {
	path := newReplicaDir(t)
	db := openDB(t, sqlite3safe.DriverName, path)
	mustExec(t, db, "INSERT INTO t VALUES (2)")

	// A transaction that has written when the change comes commits whole.
	tx, err := db.Begin()
	require.NoError(t, err)
	mustExec(t, tx, "INSERT INTO t VALUES (3)")
	setPrimary(t, path, "node-b")
	mustExec(t, tx, "INSERT INTO t VALUES (4)")
	require.NoError(t, tx.Commit())

	committed := 4
	// Two-row transactions until the change is seen: each commits both
	// rows or neither.
	poll(t, "writes refused after the node stopped being primary", func() bool {
		tx, err := db.Begin()
		require.NoError(t, err)
		defer tx.Rollback()
		if _, err := tx.Exec("INSERT INTO t VALUES (5)"); err != nil {
			requireReplicaError(t, err, "node-b")
			return true
		}
		mustExec(t, tx, "INSERT INTO t VALUES (6)")
		require.NoError(t, tx.Commit())
		committed += 2
		return false
	})
	for range 10 {
		tx, err := db.Begin()
		require.NoError(t, err)
		_, err = tx.Exec("INSERT INTO t VALUES (7)")
		requireReplicaError(t, err, "node-b")
		require.NoError(t, tx.Rollback())
	}
	assert.Equal(t, committed, replicaRows(t, db))
}

// TestReplicaCheckpointerStandsDown: on a replica the checkpointer makes
// no attempt (no checkpoint counted, busy or failed, no log line) however
// long the WAL waits, and takes up its work when the node becomes primary.
func TestReplicaCheckpointerStandsDown(t *testing.T) {
	path := newReplicaDir(t)
	// A WAL with frames in it, kept (SQLite checkpoints when the last
	// connection closes) by a plain connection that stays open.
	plain, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer plain.Close()
	plain.SetMaxOpenConns(1)
	mustExec(t, plain, "PRAGMA wal_autocheckpoint=0")
	for range 50 {
		mustExec(t, plain, "INSERT INTO t VALUES (randomblob(4096))")
	}
	walBefore := walSize(path)
	require.Positive(t, walBefore)

	setPrimary(t, path, "node-a")
	var logs syncBuffer
	name := fmt.Sprintf("sqlite3-safe-test-replica-ckpt-%d", time.Now().UnixNano()) // unique: -count > 1 registers again
	sqlite3safe.Register(name, &sqlite3.SQLiteDriver{},
		sqlite3safe.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		sqlite3safe.WithCheckpointPages(10))
	db := openDB(t, name, path)
	require.NoError(t, db.Ping())

	// Longer than the idle TRUNCATE's delay, twice over.
	deadline := time.Now().Add(2*sqlite3safe.DefaultTruncateDelay + 500*time.Millisecond)
	for time.Now().Before(deadline) {
		assert.Equal(t, 51, replicaRows(t, db))
		time.Sleep(50 * time.Millisecond)
	}
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.Empty(t, st.Checkpoints)
	assert.Zero(t, st.CheckpointsBusy)
	assert.Zero(t, st.CheckpointErrors)
	assert.Zero(t, st.Escalations+st.EscalationsBusy+st.EscalationsNoLock+st.EscalationsFailed)
	assert.Zero(t, st.FramesCheckpointed)
	assert.Equal(t, walBefore, walSize(path), "the WAL was touched on a replica")
	assert.Empty(t, logs.String())

	// Primary again: the checkpointer goes back to work.
	setPrimary(t, path, "")
	poll(t, "checkpoints after the node became primary", func() bool {
		st, err := sqlite3safe.Stats(db)
		require.NoError(t, err)
		// The counter goes up just before the log line is written.
		return len(st.Checkpoints) > 0 && strings.Contains(logs.String(), "sqlite3-safe: checkpoint")
	})
}

// TestReplicaEmptyPrimaryFile: an empty .primary still marks a replica;
// the error says the primary is unknown.
func TestReplicaEmptyPrimaryFile(t *testing.T) {
	path := newReplicaDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), ".primary"), nil, 0o444))
	db := openDB(t, sqlite3safe.DriverName, path)
	_, err := db.Exec("INSERT INTO t VALUES (2)")
	requireReplicaError(t, err, "")
	assert.Contains(t, err.Error(), "unknown")
}
