//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// TestStatsShowsHolderAndQueue: while a transaction holds the write lock
// and three writers wait, Stats names the holder (and, with debug, where
// it began), how long it has held the lock, the queue and its oldest
// waiter; a lock timeout says how many were waiting.
func TestStatsShowsHolderAndQueue(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_debug=1&_safe_lock_timeout=10000"))
	mustExec(t, db, "CREATE TABLE t(x)")
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("SAVEPOINT held") // the holder's site is this line: a transaction takes the lock at its first statement
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.Exec("INSERT INTO t VALUES (?)", i)
			errs <- err
		}()
	}
	var st sqlite3safe.FileStats
	require.Eventually(t, func() bool {
		st, err = sqlite3safe.Stats(db)
		require.NoError(t, err)
		return st.LockQueue == 3
	}, 30*time.Second, 5*time.Millisecond, "three writers should queue")
	time.Sleep(20 * time.Millisecond)
	st, err = sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.Equal(t, "transaction begun", st.LockHolder)
	assert.Contains(t, st.LockHolderSite, "liveview_test.go:")
	assert.Greater(t, st.LockHeldFor, 20*time.Millisecond)
	assert.GreaterOrEqual(t, st.LockOldestWait, 20*time.Millisecond)

	// A fourth writer with a short timeout: its error says who and how many.
	ctxDB := openDBSameFile(t, db, "_safe_debug=1&_safe_lock_timeout=30")
	_, err = ctxDB.Exec("INSERT INTO t VALUES (99)")
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	var lte *sqlite3safe.LockTimeoutError
	require.True(t, errors.As(err, &lte))
	assert.Equal(t, 3, lte.Queued)
	assert.Contains(t, err.Error(), "by transaction begun at liveview_test.go:")
	assert.Contains(t, err.Error(), "3 more waiting")

	require.NoError(t, tx.Commit())
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	st, err = sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.Empty(t, st.LockHolder, "the lock is free")
	assert.Zero(t, st.LockQueue)
	assert.Zero(t, st.LockHeldFor)
}

// openDBSameFile opens the file of db again with other parameters.
func openDBSameFile(t *testing.T, db *sql.DB, query string) *sql.DB {
	t.Helper()
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	return openDB(t, sqlite3safe.DriverName, st.Path+"?"+query)
}

// TestStatsContextAndConnStats: with the pool exhausted, StatsContext ends
// with the context's error and ConnStats, on the connection the caller
// holds, answers at once.
func TestStatsContextAndConnStats(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_wal_limit=1048576"))
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "CREATE TABLE t(x)")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = sqlite3safe.StatsContext(ctx, db)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	st, err := sqlite3safe.ConnStats(conn)
	require.NoError(t, err)
	assert.Positive(t, st.LockAcquisitions)
	assert.Equal(t, int64(1048576), st.WALLimit)
}
