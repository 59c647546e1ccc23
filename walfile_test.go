//go:build cgo

package sqlite3safe

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadWALCountsSQLitesFrames: the frames readWAL finds in the -wal
// file are the frames SQLite's PRAGMA wal_checkpoint reports in the WAL,
// as the WAL grows, after it starts over (shorter than the file), and
// after TRUNCATE; and the salts change each time the WAL starts over.
func TestReadWALCountsSQLitesFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string) {
		t.Helper()
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
	exec("PRAGMA wal_autocheckpoint=0")
	exec("CREATE TABLE t(x)")
	// sqliteFrames is SQLite's count; a PASSIVE checkpoint with no reader
	// copies everything, which readWAL does not need to know about.
	sqliteFrames := func(mode string) int64 {
		var busy, log, ckpt int64
		require.NoError(t, db.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &ckpt))
		require.Zero(t, busy)
		return log
	}
	check := func(hint uint32) (walHeader, uint32) {
		t.Helper()
		want := sqliteFrames("PASSIVE")
		h, n, ok := readWAL(path+"-wal", hint)
		require.True(t, ok)
		require.Equal(t, want, int64(n), "frames in the WAL")
		return h, n
	}
	for range 50 {
		exec("INSERT INTO t VALUES (randomblob(3000))")
	}
	h1, n1 := check(0)
	require.Positive(t, n1)
	require.Equal(t, int64(4096), h1.pageSize)
	// Fully copied: the next write starts the WAL over, from frame 1, in a
	// file that keeps its length.
	exec("INSERT INTO t VALUES (1)")
	h2, n2 := check(n1)
	require.Less(t, n2, n1)
	require.NotEqual(t, h1.salts, h2.salts)
	for range 5 {
		exec("INSERT INTO t VALUES (randomblob(3000))")
	}
	for _, hint := range []uint32{0, 1, n2, n1, n1 + 5} {
		check(hint)
	}
	require.Zero(t, sqliteFrames("TRUNCATE"))
	_, n, ok := readWAL(path+"-wal", n1)
	require.True(t, ok)
	require.Zero(t, n, "a truncated WAL has no frames")
	_, n, ok = readWAL(filepath.Join(t.TempDir(), "missing-wal"), 0)
	require.True(t, ok)
	require.Zero(t, n, "a missing WAL has no frames")
}

// BenchmarkReadWAL is the cost of one checkpointer sample of the -wal
// file: appended to (the last frame is current) and started over (a
// binary search), with no hint.
func BenchmarkReadWAL(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w.db")
	db, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
	require.NoError(b, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA wal_autocheckpoint=0", "CREATE TABLE t(x)",
		"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 2000) INSERT INTO t SELECT randomblob(3000) FROM s"} {
		_, err := db.Exec(q)
		require.NoError(b, err)
	}
	run := func(b *testing.B) {
		for b.Loop() {
			if _, n, ok := readWAL(path+"-wal", 0); !ok || n == 0 {
				b.Fatal("no frames")
			}
		}
	}
	b.Run("appended", run)
	_, err = db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	require.NoError(b, err)
	_, err = db.Exec("INSERT INTO t VALUES (1)")
	require.NoError(b, err)
	b.Run("started-over", run)
}
