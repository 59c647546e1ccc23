//go:build cgo

package sqlite3safe_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// TestBoundedQueue: with _safe_max_waiters=8 and a transaction holding the
// lock, 64 writers arrive: 8 queue, the other 56 fail at once with an
// error that says the queue was full and matches ErrLockTimeout and
// sqlite3.ErrBusy; when the transaction ends, every queued write lands.
func TestBoundedQueue(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_max_waiters=8&_safe_lock_timeout=20000"))
	db.SetMaxOpenConns(100)
	mustExec(t, db, "CREATE TABLE t(x)")
	tx, err := db.Begin()
	require.NoError(t, err)
	mustExec(t, tx, "SAVEPOINT held") // takes the lock

	type result struct {
		err  error
		took time.Duration
	}
	results := make(chan result, 64)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := db.Exec("INSERT INTO t VALUES (?)", i)
			results <- result{err, time.Since(start)}
		}()
	}
	// 56 refusals come back while the transaction still holds the lock.
	var refused int
	for refused < 56 {
		select {
		case r := <-results:
			require.Error(t, r.err, "a write went through while the transaction held the lock")
			var lte *sqlite3safe.LockTimeoutError
			require.True(t, errors.As(r.err, &lte), "%v", r.err)
			assert.True(t, lte.QueueFull)
			assert.Equal(t, 8, lte.Queued)
			assert.ErrorIs(t, r.err, sqlite3safe.ErrLockTimeout)
			var se sqlite3.Error
			if assert.True(t, errors.As(r.err, &se)) {
				assert.Equal(t, sqlite3.ErrBusy, se.Code)
			}
			assert.Contains(t, r.err.Error(), "8 requests already wait")
			assert.Less(t, r.took, 5*time.Second, "a refusal waited (liveness bound, far above the expected microseconds)")
			refused++
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d refusals after 30 s", refused)
		}
	}
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.Equal(t, 8, st.LockQueue)
	assert.Equal(t, int64(56), st.LockQueueFull)

	require.NoError(t, tx.Commit())
	wg.Wait()
	close(results)
	for r := range results {
		assert.NoError(t, r.err, "a queued write was lost")
	}
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 8, n)
}

// TestBoundedQueueUnderLoad: 64 writers in a loop for a while, N=8: every
// write either lands or is refused at once; none times out, and the rows
// in the table are exactly the writes reported done.
func TestBoundedQueueUnderLoad(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_max_waiters=8&_safe_lock_timeout=20000"))
	db.SetMaxOpenConns(100)
	mustExec(t, db, "CREATE TABLE t(x)")
	var mu sync.Mutex
	done, refused := 0, 0
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Second)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				_, err := db.Exec("INSERT INTO t VALUES (?)", i)
				var lte *sqlite3safe.LockTimeoutError
				mu.Lock()
				switch {
				case err == nil:
					done++
				case errors.As(err, &lte) && lte.QueueFull:
					refused++
				default:
					t.Errorf("write failed otherwise: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	t.Logf("%d writes done, %d refused", done, refused)
	assert.Equal(t, done, n, "rows differ from the writes reported done")
	assert.Positive(t, done)
	assert.Positive(t, refused, "64 writers and a bound of 8 should see refusals")
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	assert.Zero(t, st.LockTimeouts)
}
