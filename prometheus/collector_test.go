package prometheus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/sqlite3safe/sqlite3safe"
)

// TestMain fails the package if a test leaves a goroutine behind (a
// checkpointer of a database that was not closed, a collection that
// never returned).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openDB opens dsn with driverName and closes it when the test ends.
func openDB(t testing.TB, driverName, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driverName, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// mustExec runs a statement that must succeed.
func mustExec(t testing.TB, db *sql.DB, query string, args ...any) {
	t.Helper()
	_, err := db.Exec(query, args...)
	require.NoError(t, err, query)
}

// gather collects c through a pedantic registry (which also checks that
// every metric matches a described descriptor) and returns each series'
// value by name and labels other than db, as in
// `sqlite3safe_checkpoints_total{mode="PASSIVE"}`.
func gather(t testing.TB, c prom.Collector) map[string]float64 {
	t.Helper()
	reg := prom.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	got, err := gatherValues(reg)
	require.NoError(t, err)
	return got
}

// gatherValues is gather for any goroutine: it returns its error.
func gatherValues(g prom.Gatherer) (map[string]float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				if l.GetName() != "db" {
					labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
			}
			sort.Strings(labels)
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			default:
				return nil, fmt.Errorf("%s: neither counter nor gauge", key)
			}
		}
	}
	return out, nil
}

// TestExportsEveryFieldWithItsUnit: a FileStats with a distinct value in
// every field comes out as exactly this exposition text: durations in
// seconds, checkpoints one series per mode (the four modes always, and a
// mode the exporter does not know by its String), escalations one series
// per outcome, the path in the info metric, the lock's holder as a label
// of sqlite3safe_lock_held, and the holder's call site nowhere.
func TestExportsEveryFieldWithItsUnit(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "never-opened.db"))
	db.SetMaxOpenConns(7)
	c := NewCollector(db, "main")
	c.stats = func(*sql.DB) (sqlite3safe.FileStats, error) {
		return sqlite3safe.FileStats{
			Path:             "/data/app.db",
			LockAcquisitions: 1,
			LockWaits:        2,
			LockWaitTotal:    1500 * time.Millisecond,
			LockWaitMax:      250 * time.Millisecond,
			LockTimeouts:     3,
			Checkpoints: map[sqlite3safe.CheckpointMode]int64{
				sqlite3safe.CheckpointPassive:  4,
				sqlite3safe.CheckpointTruncate: 5,
				sqlite3safe.CheckpointMode(9):  1,
			},
			CheckpointsBusy:    6,
			FramesCheckpointed: 7,
			CheckpointErrors:   8,
			Escalations:        9,
			EscalationsBusy:    14,
			EscalationsNoLock:  15,
			EscalationsFailed:  16,
			Brakes:             10,
			LockQueueFull:      17,
			LockHandOvers:      22,
			CheckpointWaits:    18,
			CheckpointWaitMax:  750 * time.Millisecond,
			WALPinned:          3 * time.Second,
			WALPinnedMax:       4500 * time.Millisecond,
			WALPins:            19,
			LockHolder:         "escalated checkpoint",
			LockHolderSite:     "app.go:42",
			LockHeldFor:        125 * time.Millisecond,
			LockQueue:          20,
			LockOldestWait:     5 * time.Second,
			WALLimit:           21,
			WALBytes:           12,
			MaxWALBytes:        13,
		}, nil
	}
	const want = `
# HELP sqlite3safe_file_info The database file: path is its canonical path (or memory:… for an in-memory database); always 1.
# TYPE sqlite3safe_file_info gauge
sqlite3safe_file_info{db="main",path="/data/app.db"} 1
# HELP sqlite3safe_lock_acquisitions_total Grants of the file's write lock (and, in non-WAL mode, of its shared side).
# TYPE sqlite3safe_lock_acquisitions_total counter
sqlite3safe_lock_acquisitions_total{db="main"} 1
# HELP sqlite3safe_lock_waits_total Write-lock acquisitions and failures that had to queue.
# TYPE sqlite3safe_lock_waits_total counter
sqlite3safe_lock_waits_total{db="main"} 2
# HELP sqlite3safe_lock_wait_seconds_total Total time spent queueing for the write lock.
# TYPE sqlite3safe_lock_wait_seconds_total counter
sqlite3safe_lock_wait_seconds_total{db="main"} 1.5
# HELP sqlite3safe_lock_wait_max_seconds Longest single wait for the write lock.
# TYPE sqlite3safe_lock_wait_max_seconds gauge
sqlite3safe_lock_wait_max_seconds{db="main"} 0.25
# HELP sqlite3safe_lock_timeouts_total Waits for the write lock that ended in a lock timeout.
# TYPE sqlite3safe_lock_timeouts_total counter
sqlite3safe_lock_timeouts_total{db="main"} 3
# HELP sqlite3safe_checkpoints_total Completed background checkpoints, by mode.
# TYPE sqlite3safe_checkpoints_total counter
sqlite3safe_checkpoints_total{db="main",mode="PASSIVE"} 4
sqlite3safe_checkpoints_total{db="main",mode="FULL"} 0
sqlite3safe_checkpoints_total{db="main",mode="RESTART"} 0
sqlite3safe_checkpoints_total{db="main",mode="TRUNCATE"} 5
sqlite3safe_checkpoints_total{db="main",mode="CheckpointMode(9)"} 1
# HELP sqlite3safe_checkpoints_busy_total Checkpoints that could not finish because readers or writers were in the way (retried later).
# TYPE sqlite3safe_checkpoints_busy_total counter
sqlite3safe_checkpoints_busy_total{db="main"} 6
# HELP sqlite3safe_checkpoint_frames_total WAL frames copied into the database by checkpoints.
# TYPE sqlite3safe_checkpoint_frames_total counter
sqlite3safe_checkpoint_frames_total{db="main"} 7
# HELP sqlite3safe_checkpoint_errors_total Checkpoints that failed with an error (logged, never fatal).
# TYPE sqlite3safe_checkpoint_errors_total counter
sqlite3safe_checkpoint_errors_total{db="main"} 8
# HELP sqlite3safe_checkpoint_escalations_total Escalated checkpoints (a TRUNCATE with writers held, when the WAL reaches half its limit), by outcome: completed; busy (older readers did not finish within the hold); no_lock (a write transaction kept the lock past the wait); failed (an error, also in checkpoint_errors_total).
# TYPE sqlite3safe_checkpoint_escalations_total counter
sqlite3safe_checkpoint_escalations_total{db="main",outcome="completed"} 9
sqlite3safe_checkpoint_escalations_total{db="main",outcome="busy"} 14
sqlite3safe_checkpoint_escalations_total{db="main",outcome="no_lock"} 15
sqlite3safe_checkpoint_escalations_total{db="main",outcome="failed"} 16
# HELP sqlite3safe_lock_hand_overs_total Transactions that had only read and gave the write lock to a write of their own goroutine through the pool.
# TYPE sqlite3safe_lock_hand_overs_total counter
sqlite3safe_lock_hand_overs_total{db="main"} 22
# HELP sqlite3safe_wal_brakes_total Times a writer found the WAL at three quarters of its limit and held writers back for the checkpointer.
# TYPE sqlite3safe_wal_brakes_total counter
sqlite3safe_wal_brakes_total{db="main"} 10
# HELP sqlite3safe_lock_queue_full_total Writes refused at once because the write lock's queue was at its bound (_safe_max_waiters).
# TYPE sqlite3safe_lock_queue_full_total counter
sqlite3safe_lock_queue_full_total{db="main"} 17
# HELP sqlite3safe_checkpoint_waits_total Write-lock waits that met a checkpoint (its hold of the lock, or the brake); never counted against the lock timeout.
# TYPE sqlite3safe_checkpoint_waits_total counter
sqlite3safe_checkpoint_waits_total{db="main"} 18
# HELP sqlite3safe_checkpoint_wait_max_seconds Longest time one write-lock wait spent on checkpoints.
# TYPE sqlite3safe_checkpoint_wait_max_seconds gauge
sqlite3safe_checkpoint_wait_max_seconds{db="main"} 0.75
# HELP sqlite3safe_wal_pinned_seconds How long the oldest open read has kept the WAL from being checkpointed, when an escalation could not finish because of it (0 when nothing pins the WAL).
# TYPE sqlite3safe_wal_pinned_seconds gauge
sqlite3safe_wal_pinned_seconds{db="main"} 3
# HELP sqlite3safe_wal_pinned_max_seconds Longest time a read has pinned the WAL.
# TYPE sqlite3safe_wal_pinned_max_seconds gauge
sqlite3safe_wal_pinned_max_seconds{db="main"} 4.5
# HELP sqlite3safe_wal_pins_total Times reads began to pin the WAL.
# TYPE sqlite3safe_wal_pins_total counter
sqlite3safe_wal_pins_total{db="main"} 19
# HELP sqlite3safe_lock_held 1 while the file's write lock is held, labelled with what holds it (transaction begun, statement, manual transaction begun, or one of the checkpointer's holds); no series while it is free.
# TYPE sqlite3safe_lock_held gauge
sqlite3safe_lock_held{db="main",holder="escalated checkpoint"} 1
# HELP sqlite3safe_lock_held_seconds How long the current holder of the write lock has held it (0 when the lock is free).
# TYPE sqlite3safe_lock_held_seconds gauge
sqlite3safe_lock_held_seconds{db="main"} 0.125
# HELP sqlite3safe_lock_queue_length Requests waiting for the write lock now.
# TYPE sqlite3safe_lock_queue_length gauge
sqlite3safe_lock_queue_length{db="main"} 20
# HELP sqlite3safe_lock_oldest_wait_seconds How long the first request waiting for the write lock has waited (0 when none waits).
# TYPE sqlite3safe_lock_oldest_wait_seconds gauge
sqlite3safe_lock_oldest_wait_seconds{db="main"} 5
# HELP sqlite3safe_wal_limit_bytes WAL size the checkpointer keeps the file under (_safe_wal_limit); 0 when no checkpointer runs.
# TYPE sqlite3safe_wal_limit_bytes gauge
sqlite3safe_wal_limit_bytes{db="main"} 21
# HELP sqlite3safe_wal_bytes Size of the -wal file at the last sample.
# TYPE sqlite3safe_wal_bytes gauge
sqlite3safe_wal_bytes{db="main"} 12
# HELP sqlite3safe_wal_max_bytes Largest size of the -wal file seen.
# TYPE sqlite3safe_wal_max_bytes gauge
sqlite3safe_wal_max_bytes{db="main"} 13
# HELP sqlite3safe_stats_up 1 if the file's statistics were exported, 0 if they could not be read (not a sqlite3-safe database, opened with _safe=off, or an error).
# TYPE sqlite3safe_stats_up gauge
sqlite3safe_stats_up{db="main"} 1
# HELP sqlite3safe_db_max_open_connections Maximum number of open connections of the database/sql pool (0: unlimited).
# TYPE sqlite3safe_db_max_open_connections gauge
sqlite3safe_db_max_open_connections{db="main"} 7
# HELP sqlite3safe_db_open_connections Connections of the database/sql pool, in use or idle.
# TYPE sqlite3safe_db_open_connections gauge
sqlite3safe_db_open_connections{db="main"} 0
# HELP sqlite3safe_db_in_use_connections Connections of the database/sql pool in use.
# TYPE sqlite3safe_db_in_use_connections gauge
sqlite3safe_db_in_use_connections{db="main"} 0
# HELP sqlite3safe_db_idle_connections Idle connections of the database/sql pool.
# TYPE sqlite3safe_db_idle_connections gauge
sqlite3safe_db_idle_connections{db="main"} 0
# HELP sqlite3safe_db_wait_count_total Times a caller waited for a connection of the database/sql pool.
# TYPE sqlite3safe_db_wait_count_total counter
sqlite3safe_db_wait_count_total{db="main"} 0
# HELP sqlite3safe_db_wait_duration_seconds_total Total time callers waited for a connection of the database/sql pool.
# TYPE sqlite3safe_db_wait_duration_seconds_total counter
sqlite3safe_db_wait_duration_seconds_total{db="main"} 0
# HELP sqlite3safe_db_max_idle_closed_total Connections closed because of the pool's maximum of idle connections.
# TYPE sqlite3safe_db_max_idle_closed_total counter
sqlite3safe_db_max_idle_closed_total{db="main"} 0
# HELP sqlite3safe_db_max_idle_time_closed_total Connections closed because of the pool's maximum idle time.
# TYPE sqlite3safe_db_max_idle_time_closed_total counter
sqlite3safe_db_max_idle_time_closed_total{db="main"} 0
# HELP sqlite3safe_db_max_lifetime_closed_total Connections closed because of the pool's maximum connection lifetime.
# TYPE sqlite3safe_db_max_lifetime_closed_total counter
sqlite3safe_db_max_lifetime_closed_total{db="main"} 0
`
	// No metric names: CollectAndCompare then compares everything the
	// collector sends, so a metric missing from want fails too.
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
}

// TestCountsRealWork: after known work on a real file, the lock metrics
// count it: N inserts are at least N acquisitions, one lock timeout is
// one timeout and at least its wait, and the pool and the file's path are
// what they are.
func TestCountsRealWork(t *testing.T) {
	const (
		inserts = 25
		timeout = 50 * time.Millisecond
	)
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "work.db")+
		// No checkpointer: it takes the write lock too, and would make the
		// count move between the collection and the check.
		fmt.Sprintf("?_safe_checkpoint=off&_safe_lock_timeout=%d", timeout.Milliseconds()))
	db.SetMaxOpenConns(4)
	mustExec(t, db, "CREATE TABLE t(x INTEGER)")
	for i := range inserts {
		mustExec(t, db, "INSERT INTO t VALUES (?)", i)
	}
	// One writer holds the lock; a second times out behind it.
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO t VALUES (-1)")
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO t VALUES (-2)")
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	require.NoError(t, tx.Rollback())

	c := NewCollector(db, "work")
	got := gather(t, c)
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)

	assert.Equal(t, 1.0, got["sqlite3safe_stats_up"])
	assert.GreaterOrEqual(t, got["sqlite3safe_lock_acquisitions_total"], float64(inserts+1))
	assert.Equal(t, float64(st.LockAcquisitions), got["sqlite3safe_lock_acquisitions_total"], "no write since")
	assert.Equal(t, 1.0, got["sqlite3safe_lock_timeouts_total"])
	assert.GreaterOrEqual(t, got["sqlite3safe_lock_waits_total"], 1.0)
	// The timed-out wait lasted at least the timeout (less a little for
	// the clock's grain).
	minWait := (timeout - 5*time.Millisecond).Seconds()
	assert.GreaterOrEqual(t, got["sqlite3safe_lock_wait_seconds_total"], minWait)
	assert.GreaterOrEqual(t, got["sqlite3safe_lock_wait_max_seconds"], minWait)
	assert.LessOrEqual(t, got["sqlite3safe_lock_wait_max_seconds"], got["sqlite3safe_lock_wait_seconds_total"])
	assert.Equal(t, 1.0, got[fmt.Sprintf("sqlite3safe_file_info{path=%q}", st.Path)])

	want := fmt.Sprintf(`
# HELP sqlite3safe_db_max_open_connections Maximum number of open connections of the database/sql pool (0: unlimited).
# TYPE sqlite3safe_db_max_open_connections gauge
sqlite3safe_db_max_open_connections{db="work"} 4
# HELP sqlite3safe_db_in_use_connections Connections of the database/sql pool in use.
# TYPE sqlite3safe_db_in_use_connections gauge
sqlite3safe_db_in_use_connections{db="work"} 0
# HELP sqlite3safe_file_info The database file: path is its canonical path (or memory:… for an in-memory database); always 1.
# TYPE sqlite3safe_file_info gauge
sqlite3safe_file_info{db="work",path=%q} 1
# HELP sqlite3safe_lock_timeouts_total Waits for the write lock that ended in a lock timeout.
# TYPE sqlite3safe_lock_timeouts_total counter
sqlite3safe_lock_timeouts_total{db="work"} 1
`, st.Path)
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
		"sqlite3safe_db_max_open_connections", "sqlite3safe_db_in_use_connections",
		"sqlite3safe_file_info", "sqlite3safe_lock_timeouts_total"))
}

// TestCountsCheckpointsByMode: writes followed by a pause end in a
// background TRUNCATE checkpoint, which the exporter counts under its
// mode, with the frames it copied.
func TestCountsCheckpointsByMode(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "ckpt.db"))
	mustExec(t, db, "CREATE TABLE t(x BLOB)")
	for range 200 {
		mustExec(t, db, "INSERT INTO t VALUES (randomblob(1024))")
	}
	c := NewCollector(db, "ckpt")
	var got map[string]float64
	require.Eventually(t, func() bool {
		got = gather(t, c)
		return got[`sqlite3safe_checkpoints_total{mode="TRUNCATE"}`] > 0
	}, 30*time.Second, 20*time.Millisecond, "no TRUNCATE checkpoint counted")
	assert.Positive(t, got["sqlite3safe_checkpoint_frames_total"])
	assert.Zero(t, got["sqlite3safe_checkpoint_errors_total"])
	for _, mode := range []string{"PASSIVE", "FULL", "RESTART", "TRUNCATE"} {
		assert.Contains(t, got, fmt.Sprintf("sqlite3safe_checkpoints_total{mode=%q}", mode))
	}
}

// TestLint: the metric names and help texts pass client_golang's linter.
func TestLint(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "lint.db"))
	mustExec(t, db, "CREATE TABLE t(x)")
	c := NewCollector(db, "lint")
	require.Equal(t, 1.0, gather(t, c)["sqlite3safe_stats_up"], "the file's metrics must be there to be linted")
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// TestOtherDatabases: for a plain go-sqlite3 database, and for a
// sqlite3-safe one opened with _safe=off, the collector exports the pool
// metrics, sqlite3safe_stats_up 0 and none of the file's metrics, and
// the registry gathers without error.
func TestOtherDatabases(t *testing.T) {
	for _, tc := range []struct{ name, driver, query string }{
		{"plain go-sqlite3", "sqlite3", ""},
		{"_safe=off", sqlite3safe.DriverName, "?_safe=off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, tc.driver, filepath.Join(t.TempDir(), "other.db")+tc.query)
			mustExec(t, db, "CREATE TABLE t(x)")
			_, err := sqlite3safe.Stats(db)
			require.ErrorIs(t, err, sqlite3safe.ErrNotSafe)

			c := NewCollector(db, "other")
			got := gather(t, c)
			assert.Equal(t, 0.0, got["sqlite3safe_stats_up"])
			assert.Equal(t, 1.0, got["sqlite3safe_db_open_connections"])
			for name := range got {
				if !strings.HasPrefix(name, "sqlite3safe_db_") && name != "sqlite3safe_stats_up" {
					t.Errorf("exported %s for a database that is not sqlite3-safe", name)
				}
			}
			assert.Zero(t, testutil.CollectAndCount(c, "sqlite3safe_lock_acquisitions_total"))
		})
	}
}

// TestFullPoolDoesNotBlockCollect: with every connection of the pool in
// use, a collection returns at once with the statistics read last, and
// does not queue for a connection (the pool's wait count stays 0); a
// collector that never read them exports none.
func TestFullPoolDoesNotBlockCollect(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "full.db"))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	c := NewCollector(db, "full")
	before := gather(t, c)
	require.Equal(t, 1.0, before["sqlite3safe_stats_up"])

	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()

	reg := prom.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	type result struct {
		got map[string]float64
		err error
	}
	done := make(chan result)
	go func() {
		got, err := gatherValues(reg)
		done <- result{got, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		require.NoError(t, conn.Close()) // lets the collection finish
		<-done
		t.Fatal("Collect waited for a connection of a full pool")
	}
	require.NoError(t, r.err)
	during := r.got
	assert.Equal(t, 1.0, during["sqlite3safe_stats_up"])
	assert.Equal(t, before["sqlite3safe_lock_acquisitions_total"], during["sqlite3safe_lock_acquisitions_total"])
	assert.Equal(t, 1.0, during["sqlite3safe_db_in_use_connections"])
	assert.Equal(t, 0.0, during["sqlite3safe_db_wait_count_total"])

	fresh := gather(t, NewCollector(db, "fresh"))
	assert.Equal(t, 0.0, fresh["sqlite3safe_stats_up"])
	assert.NotContains(t, fresh, "sqlite3safe_lock_acquisitions_total")
}

// TestFailedReadForgetsTheLastOne: after a read fails, a full pool does
// not bring back statistics from before the failure.
func TestFailedReadForgetsTheLastOne(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "fail.db"))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE t(x)")
	c := NewCollector(db, "fail")
	require.Equal(t, 1.0, gather(t, c)["sqlite3safe_stats_up"])

	c.stats = func(*sql.DB) (sqlite3safe.FileStats, error) { return sqlite3safe.FileStats{}, errors.New("broken") }
	require.Equal(t, 0.0, gather(t, c)["sqlite3safe_stats_up"])

	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	got := gather(t, c)
	assert.Equal(t, 0.0, got["sqlite3safe_stats_up"])
	assert.NotContains(t, got, "sqlite3safe_lock_acquisitions_total")
}

// TestCollectorsOfSeveralDatabases: collectors with different names
// register side by side; a second collector with the same name is
// refused by the registry.
func TestCollectorsOfSeveralDatabases(t *testing.T) {
	dir := t.TempDir()
	a := openDB(t, sqlite3safe.DriverName, filepath.Join(dir, "a.db"))
	b := openDB(t, sqlite3safe.DriverName, filepath.Join(dir, "b.db"))
	reg := prom.NewPedanticRegistry()
	require.NoError(t, reg.Register(NewCollector(a, "a")))
	require.NoError(t, reg.Register(NewCollector(b, "b")))
	n, err := testutil.GatherAndCount(reg, "sqlite3safe_db_max_open_connections")
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	var already prom.AlreadyRegisteredError
	assert.ErrorAs(t, reg.Register(NewCollector(b, "a")), &already)
}

// TestLockHolderAndWALLimitOfARealFile: while a transaction holds a real
// file's write lock, sqlite3safe_lock_held has one series, 1, labelled
// with the holder Stats names, and sqlite3safe_lock_held_seconds grows;
// once the lock is free the series is gone and the time is 0. The WAL
// limit is the DSN's.
func TestLockHolderAndWALLimitOfARealFile(t *testing.T) {
	const limit = 8 << 20
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "held.db")+
		fmt.Sprintf("?_safe_wal_limit=%d", limit))
	mustExec(t, db, "CREATE TABLE t(x)")
	c := NewCollector(db, "held")

	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	require.NotEmpty(t, st.LockHolder)
	got := gather(t, c)
	var held []string
	for k := range got {
		if strings.HasPrefix(k, "sqlite3safe_lock_held{") {
			held = append(held, k)
		}
	}
	assert.Equal(t, []string{fmt.Sprintf("sqlite3safe_lock_held{holder=%q}", st.LockHolder)}, held)
	assert.Equal(t, 1.0, got[fmt.Sprintf("sqlite3safe_lock_held{holder=%q}", st.LockHolder)])
	assert.GreaterOrEqual(t, got["sqlite3safe_lock_held_seconds"], 0.015)
	assert.Equal(t, float64(limit), got["sqlite3safe_wal_limit_bytes"])
	require.NoError(t, tx.Rollback())

	require.Eventually(t, func() bool {
		got = gather(t, c)
		for k := range got {
			if strings.HasPrefix(k, "sqlite3safe_lock_held{") {
				return false
			}
		}
		return got["sqlite3safe_lock_held_seconds"] == 0
	}, 10*time.Second, 10*time.Millisecond, "the lock is free, but a holder is still exported: %v", got)
	assert.Equal(t, 0.0, got["sqlite3safe_lock_queue_length"])
	assert.Equal(t, 0.0, got["sqlite3safe_lock_oldest_wait_seconds"])
}
