//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// The checkpointer's promises, held to their stated bounds:
//   - the WAL stays at most twice its limit under every read pattern
//     whose reads end;
//   - one read that does not end may pin the WAL; writers then wait for
//     checkpoints no longer than the stated bound, the pin shows in Stats
//     and in the log, and the WAL is back under its limit soon after the
//     read ends;
//   - background work never makes a statement fail, whatever the lock
//     timeout.

// schedSlack is room for the scheduler of a loaded 2-core machine under
// the race detector, on top of a stated bound. It is not part of any
// promise.
const schedSlack = 400 * time.Millisecond

// checkpointWaitBound is the stated bound on one writer's wait for
// checkpoints: the escalation's hold of the write lock, plus the brake,
// plus the copy of the frames left (small: PASSIVE checkpoints keep up).
const checkpointWaitBound = sqlite3safe.DefaultEscalationHold + 250*time.Millisecond

// readPattern is what the readers do while one writer writes flat out.
type readPattern struct {
	name string
	// ends reports whether every read ends soon (the WAL bound applies).
	ends bool
	run  func(ctx context.Context, db *sql.DB, errs chan<- error)
}

var readPatterns = []readPattern{
	{name: "none", ends: true, run: func(context.Context, *sql.DB, chan<- error) {}},
	{name: "flat4", ends: true, run: func(ctx context.Context, db *sql.DB, errs chan<- error) {
		// 4 readers that always overlap: each holds its read ~20 ms.
		var wg sync.WaitGroup
		for r := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(r) * 5 * time.Millisecond)
				for ctx.Err() == nil {
					rs, err := db.QueryContext(ctx, "SELECT id FROM blobs ORDER BY id DESC LIMIT 10")
					if err != nil {
						report(ctx, errs, "flat reader", err)
						return
					}
					rs.Next()
					time.Sleep(20 * time.Millisecond)
					_ = rs.Close()
				}
			}()
		}
		wg.Wait()
	}},
	{name: "nplus1x2", ends: true, run: func(ctx context.Context, db *sql.DB, errs chan<- error) {
		// 2 readers, each reading 5 rows and running one more query
		// through db per row (what every ORM does).
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if err := nPlusOne(ctx, db); err != nil {
						report(ctx, errs, "N+1 reader", err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}},
	{name: "long3s", ends: false, run: func(ctx context.Context, db *sql.DB, errs chan<- error) {
		// One read held open 3 s, then ended; nothing else reads.
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return
		}
		rs, err := db.QueryContext(ctx, "SELECT id /* the long read */ FROM blobs")
		if err != nil {
			report(ctx, errs, "long reader", err)
			return
		}
		rs.Next()
		select {
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
		}
		_ = rs.Close()
		longReadEnded.Store(time.Now().UnixNano())
	}},
}

// longReadEnded is when the long3s pattern's read ended (unix ns).
var longReadEnded atomic.Int64

func report(ctx context.Context, errs chan<- error, who string, err error) {
	if ctx.Err() == nil {
		errs <- fmt.Errorf("%s: %w", who, err)
	}
}

// nPlusOne reads 5 rows and runs one more query per row, rows still open.
func nPlusOne(ctx context.Context, db *sql.DB) error {
	rs, err := db.QueryContext(ctx, "SELECT id FROM blobs ORDER BY id DESC LIMIT 5")
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			return err
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT length(b) FROM blobs WHERE id = ?", id).Scan(&n); err != nil {
			return err
		}
		if n != 1024 {
			return fmt.Errorf("row %d has %d bytes, want 1024", id, n)
		}
	}
	return rs.Err()
}

// walLoad is the outcome of one writer flat out beside a read pattern.
type walLoad struct {
	maxWAL      int64         // largest -wal file seen (sampled every 5 ms)
	writes      int64         // rows written
	maxWrite    time.Duration // longest single write
	afterEnd    time.Duration // long3s: from the read's end until the WAL was under its limit (-1: never)
	stats       sqlite3safe.FileStats
	logs        string
	statsErrors error
}

func runWALLoad(t *testing.T, limit int64, p readPattern, d time.Duration) walLoad {
	t.Helper()
	var logs syncBuffer
	var h slog.Handler = slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})
	if os.Getenv("WALBOUND_DEBUG") != "" {
		h = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	logger := slog.New(h)
	path := filepath.Join(t.TempDir(), "bound.db")
	c, err := sqlite3safe.NewConnector(path+fmt.Sprintf("?_safe_wal_limit=%d", limit),
		sqlite3safe.WithLogger(logger), sqlite3safe.WithPinWarning(time.Second))
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)")
	for range 20 {
		mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
	}
	longReadEnded.Store(0)

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	errs := make(chan error, 64)
	var out walLoad
	var wg sync.WaitGroup
	var maxWrite atomic.Int64
	var writes atomic.Int64
	wg.Add(2)
	go func() { // the writer, flat out
		defer wg.Done()
		for ctx.Err() == nil {
			start := time.Now()
			_, err := db.ExecContext(ctx, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
			if err != nil {
				report(ctx, errs, "writer", err)
				return
			}
			el := time.Since(start)
			for {
				old := maxWrite.Load()
				if int64(el) <= old || maxWrite.CompareAndSwap(old, int64(el)) {
					break
				}
			}
			writes.Add(1)
		}
	}()
	go func() { defer wg.Done(); p.run(ctx, db, errs) }()

	out.afterEnd = -1
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
sample:
	for {
		select {
		case <-ctx.Done():
			break sample
		case <-tick.C:
			w := walSize(path)
			if os.Getenv("WALBOUND_DEBUG") != "" && w > 2*limit {
				fmt.Fprintf(os.Stderr, "%s wal=%d\n", time.Now().Format("05.000"), w)
			}
			out.maxWAL = max(out.maxWAL, w)
			if ended := longReadEnded.Load(); ended != 0 && out.afterEnd < 0 && w < limit {
				out.afterEnd = time.Since(time.Unix(0, ended))
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	out.writes = writes.Load()
	out.maxWrite = time.Duration(maxWrite.Load())
	out.stats, out.statsErrors = sqlite3safe.Stats(db)
	out.logs = logs.String()
	return out
}

// TestWALBoundMatrix: read patterns × WAL limits, one writer flat out.
func TestWALBoundMatrix(t *testing.T) {
	d := 3 * time.Second
	if testing.Short() {
		d = 1500 * time.Millisecond
	}
	for _, limit := range []int64{256 << 10, 4 << 20} {
		for _, p := range readPatterns {
			t.Run(fmt.Sprintf("%s/limit=%dKiB", p.name, limit>>10), func(t *testing.T) {
				dur := d
				if !p.ends {
					dur = 5 * time.Second // the 3 s read and the time after it
				}
				out := runWALLoad(t, limit, p, dur)
				require.NoError(t, out.statsErrors)
				st := out.stats
				t.Logf("max WAL %d (%.2fx the limit), %d writes, longest write %v, checkpoint waits %d (max %v), "+
					"escalations %d done / %d busy / %d no lock, pins %d (max %v)",
					out.maxWAL, float64(out.maxWAL)/float64(limit), out.writes, out.maxWrite,
					st.CheckpointWaits, st.CheckpointWaitMax, st.Escalations, st.EscalationsBusy, st.EscalationsNoLock,
					st.WALPins, st.WALPinnedMax)
				assert.Positive(t, out.writes, "the writer made no progress")
				assert.LessOrEqual(t, st.CheckpointWaitMax, checkpointWaitBound+schedSlack,
					"a writer waited for checkpoints longer than the stated bound")
				if p.ends {
					assert.LessOrEqual(t, out.maxWAL, 2*limit, "WAL grew past twice its limit")
					return
				}
				// The long read pins the WAL: reported, and released soon
				// after it ends.
				assert.Positive(t, st.WALPins, "the pin is not counted")
				assert.GreaterOrEqual(t, st.WALPinnedMax, time.Second, "the pin's age is not reported")
				assert.Contains(t, out.logs, "pins the WAL")
				assert.Contains(t, out.logs, "the long read")
				if assert.GreaterOrEqual(t, out.afterEnd, time.Duration(0), "the WAL never got back under its limit after the read ended") {
					assert.LessOrEqual(t, out.afterEnd, time.Second+schedSlack,
						"the WAL took too long to get back under its limit after the read ended")
				}
			})
		}
	}
}

// TestCheckpointNeverFailsWriters: with lock timeouts of 0 and 50 ms, one
// writer that pauses 0.5–2 s between bursts (so idle TRUNCATEs run while
// it is away) and two readers that keep reads open: no write fails.
func TestCheckpointNeverFailsWriters(t *testing.T) {
	pauses := []time.Duration{500 * time.Millisecond, 1100 * time.Millisecond, 2 * time.Second, 1200 * time.Millisecond, 700 * time.Millisecond}
	if testing.Short() {
		pauses = pauses[:3]
	}
	for _, timeout := range []int{0, 50} {
		t.Run(fmt.Sprintf("lock_timeout=%dms", timeout), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "never.db")
			db := openDB(t, sqlite3safe.DriverName, path+fmt.Sprintf("?_safe_lock_timeout=%d&_safe_wal_limit=%d", timeout, 256<<10))
			mustExec(t, db, "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)")
			mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var reads atomic.Int64
			errs := make(chan error, 16)
			for r := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(r) * 7 * time.Millisecond)
					for ctx.Err() == nil {
						rs, err := db.QueryContext(ctx, "SELECT id FROM blobs ORDER BY id DESC LIMIT 3")
						if err != nil {
							report(ctx, errs, "reader", err)
							return
						}
						for rs.Next() {
							time.Sleep(5 * time.Millisecond)
						}
						_ = rs.Close()
						reads.Add(1)
					}
				}()
			}
			var failed, written int
			var firstErr error
			for _, pause := range pauses {
				for range 200 {
					if _, err := db.Exec("INSERT INTO blobs(b) VALUES (randomblob(1024))"); err != nil {
						failed++
						if firstErr == nil {
							firstErr = err
						}
					} else {
						written++
					}
				}
				time.Sleep(pause)
			}
			cancel()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			st, err := sqlite3safe.Stats(db)
			require.NoError(t, err)
			t.Logf("%d written, %d failed, %d reads; checkpoints %v, waits on checkpoints %d (max %v)",
				written, failed, reads.Load(), st.Checkpoints, st.CheckpointWaits, st.CheckpointWaitMax)
			assert.Zero(t, failed, "writes failed; first: %v", firstErr)
			assert.Positive(t, reads.Load())
			assert.Positive(t, st.Checkpoints[sqlite3safe.CheckpointTruncate]+st.Escalations,
				"no TRUNCATE ran: the test did not meet the checkpointer")
		})
	}
}

// TestPinWarningNamesStatementAndSite: with _safe_debug, the warning about
// a pinning read says where it began.
func TestPinWarningNamesStatementAndSite(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := sqlite3safe.NewConnector(tempDSN(t, "_safe_wal_limit=131072&_safe_debug=1"),
		sqlite3safe.WithLogger(logger), sqlite3safe.WithPinWarning(200*time.Millisecond))
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)")
	mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
	rs, err := db.Query("SELECT id /* pinning */ FROM blobs") // this line is the site
	require.NoError(t, err)
	require.True(t, rs.Next())
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "pins the WAL") {
		require.True(t, time.Now().Before(deadline), "no pin warning in 30 s; stats: %+v", mustStats(t, db))
		mustExec(t, db, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
	}
	require.NoError(t, rs.Close())
	out := logs.String()
	assert.Contains(t, out, "pinning")
	assert.Contains(t, out, "walbound_test.go:")
	st := mustStats(t, db)
	assert.Positive(t, st.WALPins)
	assert.GreaterOrEqual(t, st.WALPinnedMax, 200*time.Millisecond)
}

func mustStats(t *testing.T, db *sql.DB) sqlite3safe.FileStats {
	t.Helper()
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	return st
}
