//go:build cgo

package sqlite3safe_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// heldWALFile makes a WAL database with a table t and has a child
// process hold its write lock until the test ends.
func heldWALFile(t *testing.T) string {
	t.Helper()
	path := tempDSN(t, "")
	setup := openDB(t, "sqlite3", path)
	mustExec(t, setup, "PRAGMA journal_mode=WAL")
	mustExec(t, setup, "CREATE TABLE t(v TEXT)")
	holdLockInChild(t, path) // released at cleanup
	return path
}

// busyScheduler keeps n goroutines spinning until stop is called, which
// waits for them.
func busyScheduler(n int) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
			}
		}()
	}
	return func() { done.Store(true); wg.Wait() }
}

// The busy timeout bounds, in wall time, how long a statement waits for
// another process's write lock, as SQLite's own handler does: also when
// the Go scheduler is busy (the handler must not count steps of a
// millisecond as milliseconds whatever they really took).
func TestBusyTimeoutIsWallTimeUnderLoad(t *testing.T) {
	path := heldWALFile(t)
	const timeout = 1000 * time.Millisecond
	measure := func(driver string, spinners int) time.Duration {
		db := openDB(t, driver, path+"?_busy_timeout=1000&_safe_checkpoint=off")
		// The Go scheduler is busy: as many spinning goroutines as Ps, twice.
		stop := busyScheduler(spinners)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		_, err := db.ExecContext(ctx, "INSERT INTO t VALUES ('parent')")
		took := time.Since(start)
		stop()
		require.Error(t, err)
		assert.True(t, isBusy(err), "%s: want busy, got %v", driver, err)
		t.Logf("%s, %d spinners: busy after %v (busy timeout %v)", driver, spinners, took, timeout)
		return took
	}
	measure(sqlite3safe.DriverName, 0) // unloaded, for the report
	plain := measure("sqlite3", 2*runtime.GOMAXPROCS(0))
	safe := measure(sqlite3safe.DriverName, 2*runtime.GOMAXPROCS(0))
	// Liveness: counting steps of a millisecond as milliseconds made
	// this three times the busy timeout under load.
	assert.Less(t, safe, 2*timeout, "sqlite3-safe waited %v for a busy timeout of %v; go-sqlite3 %v", safe, timeout, plain)
}

// A write waiting for another process's lock ends with its context also
// while the Go scheduler is busy (the bound is liveness only).
func TestContextEndsWaitUnderLoad(t *testing.T) {
	path := heldWALFile(t)
	db := openDB(t, sqlite3safe.DriverName, path+"?_busy_timeout=10000&_safe_checkpoint=off")
	defer busyScheduler(2 * runtime.GOMAXPROCS(0))()
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		_, err := db.ExecContext(ctx, "INSERT INTO t VALUES ('parent')")
		took := time.Since(start)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		t.Logf("returned %v after a 200ms deadline", took)
		assert.Less(t, took, 1200*time.Millisecond)
	}
}
