//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// One file, one rule: pools on one file with different settings share
// one WAL limit, the smallest of the pools with background checkpoints
// that have a connection open on it, which the checkpointer and every
// writer's brake use; and the file has background checkpoints while any
// such pool is open on it.

// TestOneFileOneRule: a pool with _safe_wal_limit=256KiB and a pool with
// other settings (a larger limit, checkpoints off, no statement cache),
// opened in either order, each with a writer flat out on the same file:
// the WAL stays within twice 256 KiB, and both pools report that limit.
func TestOneFileOneRule(t *testing.T) {
	const limit = 256 << 10
	d := 2 * time.Second
	if testing.Short() {
		d = time.Second
	}
	for _, other := range []string{
		"_safe_wal_limit=67108864",
		"_safe_checkpoint=off",
		"_safe_stmt_cache=0",
	} {
		for _, smallFirst := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/small_limit_first=%v", other, smallFirst), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "rule.db")
				small := path + fmt.Sprintf("?_safe_wal_limit=%d", limit)
				dsns := []string{small, path + "?" + other}
				if !smallFirst {
					dsns[0], dsns[1] = dsns[1], dsns[0]
				}
				var dbs []*sql.DB
				for _, dsn := range dsns {
					db := openDB(t, sqlite3safe.DriverName, dsn)
					if len(dbs) == 0 {
						mustExec(t, db, "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)")
					}
					mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))") // a connection is open
					dbs = append(dbs, db)
				}
				for i, db := range dbs {
					assert.Equal(t, int64(limit), mustStats(t, db).WALLimit, "pool %d (%s): WALLimit", i, dsns[i])
				}

				ctx, cancel := context.WithTimeout(context.Background(), d)
				defer cancel()
				errs := make(chan error, 4)
				var wg sync.WaitGroup
				var writes [2]atomic.Int64
				for i, db := range dbs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for ctx.Err() == nil {
							if _, err := db.ExecContext(ctx, "INSERT INTO blobs(b) VALUES (randomblob(1024))"); err != nil {
								report(ctx, errs, fmt.Sprintf("writer of pool %d", i), err)
								return
							}
							writes[i].Add(1)
						}
					}()
				}
				var maxWAL int64
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
			sample:
				for {
					select {
					case <-ctx.Done():
						break sample
					case <-tick.C:
						maxWAL = max(maxWAL, walSize(path))
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				st := mustStats(t, dbs[0])
				t.Logf("writes %d + %d, largest -wal %d (%.2fx the limit), Stats.MaxWALBytes %d, brakes %d, escalations %d",
					writes[0].Load(), writes[1].Load(), maxWAL, float64(maxWAL)/limit, st.MaxWALBytes, st.Brakes, st.Escalations)
				assert.Positive(t, writes[0].Load(), "pool 0 made no progress")
				assert.Positive(t, writes[1].Load(), "pool 1 made no progress")
				assert.LessOrEqual(t, maxWAL, int64(2*limit), "the WAL grew past twice the file's limit")
				assert.LessOrEqual(t, st.MaxWALBytes, int64(2*limit), "Stats saw the WAL past twice the file's limit")
			})
		}
	}
}

// TestOneFileOneRuleFollowsOpenPools: the rule is that of the pools open
// now. With the smallest limit's pool closed, the next smallest applies;
// with only a _safe_checkpoint=off pool left, no background checkpoint
// runs (its connections checkpoint as SQLite's autocheckpoint does), and
// with a pool that wants them back, they run again.
func TestOneFileOneRuleFollowsOpenPools(t *testing.T) {
	path := filepath.Join(t.TempDir(), "open.db")
	off := openDB(t, sqlite3safe.DriverName, path+"?_safe_checkpoint=off&_safe_wal_limit=65536")
	mustExec(t, off, "CREATE TABLE t(b BLOB)")
	assert.Zero(t, mustStats(t, off).WALLimit, "only a pool with checkpoints off: no checkpointer's limit")

	big := openDB(t, sqlite3safe.DriverName, path+"?_safe_wal_limit=8388608")
	mustExec(t, big, "INSERT INTO t VALUES (1)")
	assert.Equal(t, int64(8<<20), mustStats(t, off).WALLimit, "a pool with checkpoints off does not set the limit")

	small, err := sql.Open(sqlite3safe.DriverName, path+"?_safe_wal_limit=1048576")
	require.NoError(t, err)
	mustExec(t, small, "INSERT INTO t VALUES (2)")
	assert.Equal(t, int64(1<<20), mustStats(t, big).WALLimit, "the smallest limit of the open pools")
	assert.Equal(t, int64(1<<20), mustStats(t, off).WALLimit)
	require.NoError(t, small.Close())
	assert.Equal(t, int64(8<<20), mustStats(t, big).WALLimit, "the small pool closed: the next smallest")

	require.NoError(t, big.Close())
	assert.Zero(t, mustStats(t, off).WALLimit, "no pool that wants checkpoints is open")
	// The checkpointer stands by: writes through the pool with checkpoints
	// off leave the WAL to SQLite's autocheckpoint, never cut to 0 bytes
	// by an idle TRUNCATE.
	for range 50 {
		mustExec(t, off, "INSERT INTO t VALUES (randomblob(4096))")
	}
	before := mustStats(t, off).Checkpoints[sqlite3safe.CheckpointTruncate]
	time.Sleep(sqlite3safe.DefaultTruncateDelay + 500*time.Millisecond)
	assert.Equal(t, before, mustStats(t, off).Checkpoints[sqlite3safe.CheckpointTruncate], "a TRUNCATE ran with no pool wanting it")
	assert.Positive(t, walSize(path), "the WAL was truncated with no pool wanting background checkpoints")

	again := openDB(t, sqlite3safe.DriverName, path)
	mustExec(t, again, "INSERT INTO t VALUES (3)")
	assert.Equal(t, sqlite3safe.DefaultWALLimit, mustStats(t, off).WALLimit)
	require.Eventually(t, func() bool { return walSize(path) == 0 }, 30*time.Second, 10*time.Millisecond,
		"a pool that wants checkpoints is back, but the idle TRUNCATE never came")
}
