//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// POSIX record locks belong to the process, and closing any descriptor of
// a file drops every lock the process holds on it. sqlite3-safe must
// therefore never open a descriptor of its own on the database file or
// its -shm: closing it would take the locks of plain go-sqlite3
// connections in the same process with it.

// TestOtherProcessCannotTruncateWALUnderPlainReader: a plain go-sqlite3
// reader keeps its snapshot while a sqlite3-safe database on the same file
// opens, writes and closes, and another process then runs a TRUNCATE
// checkpoint and rewrites every row. As with plain go-sqlite3 alone, the
// checkpoint is busy (the reader's lock on the -shm still stands) and the
// reader goes on seeing its rows.
func TestOtherProcessCannotTruncateWALUnderPlainReader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	for _, withSafe := range []bool{false, true} {
		t.Run(fmt.Sprintf("sqlite3-safe=%v", withSafe), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.db")
			plain := openDB(t, "sqlite3", path+"?_journal_mode=WAL")
			mustExec(t, plain, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
			mustExec(t, plain, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 2000) INSERT INTO t(v) SELECT 1 FROM s")

			ctx := context.Background()
			tx, err := plain.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			require.NoError(t, err)
			defer tx.Rollback()
			var n, sum int
			require.NoError(t, tx.QueryRow("SELECT count(*), sum(v) FROM t").Scan(&n, &sum))
			require.Equal(t, 2000, n)

			if withSafe {
				safe, err := sql.Open(sqlite3safe.DriverName, path)
				require.NoError(t, err)
				mustExec(t, safe, "CREATE TABLE u(x)")
				mustExec(t, safe, "INSERT INTO u VALUES (1)")
				// Let the checkpointer sample the WAL a few times (it
				// samples every 10 ms while writes go on).
				require.Eventually(t, func() bool {
					st, err := sqlite3safe.Stats(safe)
					return err == nil && st.WALBytes > 0
				}, 10*time.Second, 5*time.Millisecond)
				time.Sleep(200 * time.Millisecond)
				require.NoError(t, safe.Close())
			}

			out, err := runTruncateUpdate(t, path)
			require.NoError(t, err, "child: %s", out)
			assert.Contains(t, out, "busy=1", "the other process's TRUNCATE must wait for our reader")
			assert.Contains(t, out, "updated=2000")

			err = tx.QueryRow("SELECT count(*), sum(v) FROM t").Scan(&n, &sum)
			require.NoError(t, err, "the reader's snapshot was destroyed")
			assert.Equal(t, 2000, n)
			assert.Equal(t, 2000, sum, "the reader sees the rows as of its snapshot")
		})
	}
}

// runTruncateUpdate runs the child of
// TestOtherProcessCannotTruncateWALUnderPlainReader on path.
func runTruncateUpdate(t *testing.T, path string) (string, error) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"=truncate-update", childDSNEnv+"="+path+"?_busy_timeout=200")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runTruncateUpdateChild runs, with plain go-sqlite3, a TRUNCATE checkpoint
// and an update of every row, and prints the results.
func runTruncateUpdateChild() int {
	db, err := sql.Open("sqlite3", os.Getenv(childDSNEnv))
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	defer db.Close()
	var busy, logFrames, ckpt int
	if err := db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &ckpt); err != nil {
		fmt.Println("checkpoint:", err)
		return 1
	}
	fmt.Printf("busy=%d log=%d checkpointed=%d\n", busy, logFrames, ckpt)
	res, err := db.Exec("UPDATE t SET v = v + 1")
	if err != nil {
		fmt.Println("update:", err)
		return 1
	}
	n, _ := res.RowsAffected()
	fmt.Printf("updated=%d\n", n)
	return 0
}

// fdsOn counts this process's descriptors open on each of paths.
func fdsOn(t *testing.T, paths ...string) map[string]int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	n := map[string]int{}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		target = strings.TrimSuffix(target, " (deleted)")
		if want[target] {
			n[target]++
		}
	}
	return n
}

// TestNoDescriptorOnLockedFiles: with the checkpointer running and having
// checkpointed, the process holds no more descriptors on the database file
// and its -shm than the same number of plain go-sqlite3 connections open.
func TestNoDescriptorOnLockedFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors through /proc/self/fd, which only Linux has")
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	path := filepath.Join(dir, "fd.db")
	shm := path + "-shm"
	ctx := context.Background()

	// holdConns opens n connections of db and keeps them out of the pool.
	holdConns := func(db *sql.DB, n int) {
		for range n {
			c, err := db.Conn(ctx)
			require.NoError(t, err)
			require.NoError(t, c.PingContext(ctx))
			t.Cleanup(func() { _ = c.Close() })
		}
	}

	// Baseline: three plain connections (one for the test, the two that
	// the sqlite3-safe case will have: a pool connection and the
	// checkpointer's).
	plain := openDB(t, "sqlite3", path+"?_journal_mode=WAL")
	mustExec(t, plain, "CREATE TABLE t(x)")
	mustExec(t, plain, "INSERT INTO t VALUES (1)")
	plain.SetMaxIdleConns(0)
	base := func() map[string]int {
		b, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
		require.NoError(t, err)
		defer b.Close()
		var conns []*sql.Conn
		for range 3 {
			c, err := b.Conn(ctx)
			require.NoError(t, err)
			var n int
			require.NoError(t, c.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n))
			conns = append(conns, c)
		}
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		return fdsOn(t, path, shm)
	}()
	require.Positive(t, base[path], "baseline sees SQLite's own descriptors")
	t.Logf("three plain connections: %d on the database, %d on the -shm", base[path], base[shm])

	holdConns(plain, 1)
	safe := openDB(t, sqlite3safe.DriverName, path)
	safe.SetMaxOpenConns(1)
	mustExec(t, safe, "INSERT INTO t VALUES (2)")
	// Wait for the idle TRUNCATE: the checkpointer has sampled the WAL
	// and run checkpoints on its connection by then.
	require.Eventually(t, func() bool {
		st, err := sqlite3safe.Stats(safe)
		require.NoError(t, err)
		return st.Checkpoints[sqlite3safe.CheckpointTruncate] > 0
	}, 30*time.Second, 10*time.Millisecond)
	got := fdsOn(t, path, shm)
	t.Logf("one plain, one sqlite3-safe connection and the checkpointer: %d on the database, %d on the -shm", got[path], got[shm])
	assert.LessOrEqual(t, got[shm], base[shm], "a descriptor on the -shm that SQLite did not open")
	assert.LessOrEqual(t, got[path], base[path], "a descriptor on the database that SQLite did not open")
}
