//go:build cgo

package sqlite3safe_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sqlite3safe/sqlite3safe"
)

func walSize(path string) int64 {
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// TestCheckpointerStopsWithLastConnection: open, write (so the
// checkpointer starts), close 10 databases; no goroutine is left.
func TestCheckpointerStopsWithLastConnection(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	for i := range 10 {
		db, err := sql.Open(sqlite3safe.DriverName, filepath.Join(dir, fmt.Sprintf("leak%d.db", i)))
		require.NoError(t, err)
		db.SetMaxOpenConns(3)
		_, err = db.Exec("CREATE TABLE t(x)")
		require.NoError(t, err)
		for j := range 20 {
			_, err = db.Exec("INSERT INTO t VALUES (?)", j)
			require.NoError(t, err)
		}
		require.NoError(t, db.Close())
	}
}

// TestWALTruncatedAfterWritesPause: once writes stop, the WAL is cut to
// 0 bytes within twice DefaultTruncateDelay.
func TestWALTruncatedAfterWritesPause(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pause.db")
	db := openDB(t, sqlite3safe.DriverName, path)
	mustExec(t, db, "CREATE TABLE t(x BLOB)")
	for range 200 {
		mustExec(t, db, "INSERT INTO t VALUES (randomblob(1024))")
	}
	require.Positive(t, walSize(path), "the WAL should hold the writes")
	stopped := time.Now()
	deadline := stopped.Add(2 * sqlite3safe.DefaultTruncateDelay)
	for walSize(path) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("WAL still %d bytes %v after writes stopped (want 0 within %v)",
				walSize(path), time.Since(stopped), 2*sqlite3safe.DefaultTruncateDelay)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// SQLite has cut the file; the checkpointer records it when the PRAGMA
	// returns, a moment later on a loaded machine.
	var st sqlite3safe.FileStats
	require.Eventually(t, func() bool {
		var err error
		st, err = sqlite3safe.Stats(db)
		require.NoError(t, err)
		return st.Checkpoints[sqlite3safe.CheckpointTruncate] > 0
	}, 30*time.Second, 10*time.Millisecond, "no TRUNCATE counted")
	assert.Positive(t, st.FramesCheckpointed)
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 200, n)
}

// TestNoAutocheckpointOnCommitPath: with the checkpointer on, pool
// connections have wal_autocheckpoint=0; with _safe_checkpoint=off, SQLite's
// default (1000) is left alone.
func TestNoAutocheckpointOnCommitPath(t *testing.T) {
	var n int
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, ""))
	require.NoError(t, db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&n))
	assert.Equal(t, 0, n)
	off := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_checkpoint=off"))
	require.NoError(t, off.QueryRow("PRAGMA wal_autocheckpoint").Scan(&n))
	assert.Equal(t, 1000, n)
	mustExec(t, off, "CREATE TABLE t(x)")
	st, err := sqlite3safe.Stats(off)
	require.NoError(t, err)
	assert.Empty(t, st.Checkpoints, "no checkpointer with _safe_checkpoint=off")
}

// starveLoad runs one writer of 1 KiB rows (four to a statement) and 4
// readers that always keep an overlapping read open (each holds its rows
// ~20 ms, staggered) for d,
// sampling the -wal file every 50 ms. It returns the largest sample and
// the number of rows written. A positive stopAbove ends the load early
// once a sample exceeds it (the control needs no more proof, and its WAL
// would otherwise take gigabytes of disk).
func starveLoad(t *testing.T, db *sql.DB, path string, d time.Duration, stopAbove int64) (maxWAL int64, written int64) {
	t.Helper()
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS blobs(id INTEGER PRIMARY KEY, b BLOB)")
	mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		wg   sync.WaitGroup
		errs = make(chan error, 16)
		rows atomic.Int64
	)
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		for ctx.Err() == nil {
			if _, err := db.ExecContext(ctx, "INSERT INTO blobs(b) VALUES (randomblob(1024)), (randomblob(1024)), (randomblob(1024)), (randomblob(1024))"); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("writer: %w", err)
				return
			}
			rows.Add(4)
		}
	}()
	for r := range 4 {
		wg.Add(1)
		go func() { // an overlapping reader
			defer wg.Done()
			time.Sleep(time.Duration(r) * 5 * time.Millisecond) // stagger
			for ctx.Err() == nil {
				rs, err := db.QueryContext(ctx, "SELECT id FROM blobs ORDER BY id DESC LIMIT 10")
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("reader: %w", err)
					}
					return
				}
				rs.Next() // the read transaction is open now
				time.Sleep(20 * time.Millisecond)
				_ = rs.Close()
			}
		}()
	}
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
sample:
	for {
		select {
		case <-ctx.Done():
			break sample
		case <-ticker.C:
			maxWAL = max(maxWAL, walSize(path))
			if stopAbove > 0 && maxWAL > stopAbove {
				cancel()
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return maxWAL, rows.Load()
}

// TestCheckpointStarvation: under readers that always overlap, the WAL of
// plain SQLite grows without bound; sqlite3-safe's stays under twice the
// limit, with zero errors, readers never wait, and a writer waits for
// checkpoints no longer than the stated bound.
func TestCheckpointStarvation(t *testing.T) {
	const limit = 4 << 20
	d := 10 * time.Second
	if testing.Short() {
		d = 3 * time.Second
	}

	t.Run("sqlite3-safe", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "starve.db")
		db := openDB(t, sqlite3safe.DriverName, path+fmt.Sprintf("?_safe_wal_limit=%d", limit))
		maxWAL, rows := starveLoad(t, db, path, d, 0)
		st, err := sqlite3safe.Stats(db)
		require.NoError(t, err)
		t.Logf("sqlite3-safe: max WAL %d bytes (limit %d), %d rows, stats %+v", maxWAL, limit, rows, st)
		assert.LessOrEqual(t, maxWAL, int64(2*limit), "WAL grew past twice the limit")
		assert.Positive(t, st.Escalations, "the load should need escalations")
		assert.LessOrEqual(t, st.CheckpointWaitMax, checkpointWaitBound+schedSlack,
			"a writer waited for checkpoints longer than the stated bound")
	})
	// The control: plain go-sqlite3 in WAL mode, same load.
	t.Run("sqlite3-control", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "starve.db")
		db := openDB(t, "sqlite3", path+"?_journal_mode=WAL")
		maxWAL, rows := starveLoad(t, db, path, d, 4*limit)
		t.Logf("sqlite3 (WAL): max WAL %d bytes, %d rows", maxWAL, rows)
		assert.Greater(t, maxWAL, int64(4*limit), "plain SQLite's WAL did not grow: the load does not starve checkpoints")
	})
}

// TestNestedReaderDoesNotDeadlockEscalation: readers that keep rows open
// and run more queries per row (N+1) never wait for a checkpoint, and
// while they go on the WAL stays under twice its limit: escalations
// complete, because they hold no reader back.
func TestNestedReaderDoesNotDeadlockEscalation(t *testing.T) {
	const limit = 1 << 20
	path := filepath.Join(t.TempDir(), "nested.db")
	db := openDB(t, sqlite3safe.DriverName, path+fmt.Sprintf("?_safe_wal_limit=%d", limit))
	mustExec(t, db, "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)")
	for range 10 {
		mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var nested atomic.Int64
	var maxNested atomic.Int64
	wg.Add(1)
	go func() { // one N+1 reader, each nested query timed
		defer wg.Done()
		for ctx.Err() == nil {
			start := time.Now()
			if err := nPlusOne(ctx, db); err != nil && ctx.Err() == nil {
				t.Errorf("N+1 reader: %v", err)
				return
			}
			storeMaxDuration(&maxNested, time.Since(start))
			nested.Add(1)
		}
	}()
	var maxWAL int64
	for ctx.Err() == nil {
		if _, err := db.ExecContext(ctx, "INSERT INTO blobs(b) VALUES (randomblob(1024))"); err != nil && ctx.Err() == nil {
			t.Fatalf("writer: %v", err)
		}
		maxWAL = max(maxWAL, walSize(path))
	}
	wg.Wait()
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	t.Logf("max WAL %d (limit %d), %d N+1 rounds, longest %v, escalations %d done / %d busy",
		maxWAL, limit, nested.Load(), time.Duration(maxNested.Load()), st.Escalations, st.EscalationsBusy)
	assert.Positive(t, nested.Load())
	assert.Positive(t, st.Escalations, "the load should need escalations")
	assert.LessOrEqual(t, maxWAL, int64(2*limit), "WAL grew past twice its limit while nesting went on")
}

func storeMaxDuration(a *atomic.Int64, d time.Duration) {
	for {
		old := a.Load()
		if int64(d) <= old || a.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// TestCheckpointErrorIsCountedAndLogged: the checkpoint connection cannot
// open; the error is counted and logged, and writes and reads go on.
func TestCheckpointErrorIsCountedAndLogged(t *testing.T) {
	var failOpen atomic.Bool
	base := &sqlite3.SQLiteDriver{ConnectHook: func(*sqlite3.SQLiteConn) error {
		if failOpen.Load() {
			return errors.New("no more connections today")
		}
		return nil
	}}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	name := fmt.Sprintf("sqlite3-safe-test-ckpt-fail-%d", time.Now().UnixNano()) // unique: -count > 1 registers again
	sqlite3safe.Register(name, base, sqlite3safe.WithLogger(logger), sqlite3safe.WithCheckpointPages(10))

	db := openDB(t, name, tempDSN(t, ""))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE t(b BLOB)")
	failOpen.Store(true) // the pool has its one connection; the checkpointer opens lazily

	deadline := time.Now().Add(30 * time.Second)
	for {
		mustExec(t, db, "INSERT INTO t VALUES (randomblob(4096))")
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
		st, err := sqlite3safe.Stats(db)
		require.NoError(t, err)
		if st.CheckpointErrors > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("checkpoint error not counted in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	assert.Contains(t, logs.String(), "no more connections today")
	assert.Contains(t, logs.String(), "level=WARN")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
}

// TestSlowLockWaitIsLogged: a wait over the threshold is a warning.
func TestSlowLockWaitIsLogged(t *testing.T) {
	var logs syncBuffer
	c, err := sqlite3safe.NewConnector(tempDSN(t, ""),
		sqlite3safe.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		sqlite3safe.WithSlowLockWait(20*time.Millisecond))
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, "CREATE TABLE t(x)")
	tx, err := db.Begin()
	require.NoError(t, err)
	mustExec(t, tx, "INSERT INTO t VALUES (0)") // takes the lock
	go func() { time.Sleep(100 * time.Millisecond); _ = tx.Commit() }()
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	assert.Contains(t, logs.String(), "slow lock wait")
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.Positive(t, st.LockWaits)
	assert.GreaterOrEqual(t, st.LockWaitMax, 20*time.Millisecond)
	assert.Positive(t, st.LockAcquisitions)
}

func TestStatsOfPassthroughDB(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe=off"))
	_, err := sqlite3safe.Stats(db)
	assert.ErrorIs(t, err, sqlite3safe.ErrNotSafe)
}

func TestCheckpointModeString(t *testing.T) {
	assert.Equal(t, "PASSIVE", sqlite3safe.CheckpointPassive.String())
	assert.Equal(t, "TRUNCATE", sqlite3safe.CheckpointTruncate.String())
	assert.True(t, strings.HasPrefix(sqlite3safe.CheckpointMode(9).String(), "CheckpointMode("))
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
