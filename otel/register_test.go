package otel

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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
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

// newMeter returns a meter whose measurements rd collects.
func newMeter(t testing.TB) (metric.Meter, *sdkmetric.ManualReader) {
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp.Meter("github.com/sqlite3safe/sqlite3safe/otel/test"), rd
}

// A point is one collected data point.
type point struct {
	Unit  string
	Kind  string // counter, updowncounter or gauge
	Value float64
	Float bool // a float64 data point
}

// collected is what one collection gave: points by instrument name and
// attributes (other than the pool name and the path, which are in
// pools and paths under the same key), as in
// `sqlite3safe.checkpoints{sqlite3safe.checkpoint.mode=PASSIVE}`.
type collected struct {
	points map[string]point
	pools  map[string]string
	paths  map[string]string
}

// collect collects rd; its error is the error the collection reported.
func collect(rd *sdkmetric.ManualReader) (collected, error) {
	var rm metricdata.ResourceMetrics
	err := rd.Collect(context.Background(), &rm)
	c := collected{points: map[string]point{}, pools: map[string]string{}, paths: map[string]string{}}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			add := func(attrs []string, pool, path string, p point) {
				sort.Strings(attrs)
				key := m.Name
				if len(attrs) > 0 {
					key += "{" + strings.Join(attrs, ",") + "}"
				}
				p.Unit = m.Unit
				c.points[key], c.pools[key], c.paths[key] = p, pool, path
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					attrs, pool, path := splitAttrs(dp.Attributes.ToSlice())
					add(attrs, pool, path, point{Kind: sumKind(d.IsMonotonic), Value: float64(dp.Value)})
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					attrs, pool, path := splitAttrs(dp.Attributes.ToSlice())
					add(attrs, pool, path, point{Kind: sumKind(d.IsMonotonic), Value: dp.Value, Float: true})
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					attrs, pool, path := splitAttrs(dp.Attributes.ToSlice())
					add(attrs, pool, path, point{Kind: "gauge", Value: float64(dp.Value)})
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					attrs, pool, path := splitAttrs(dp.Attributes.ToSlice())
					add(attrs, pool, path, point{Kind: "gauge", Value: dp.Value, Float: true})
				}
			default:
				return c, fmt.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return c, err
}

// splitAttrs returns attributes as key=value strings, less the pool name
// and the path, which it returns apart.
func splitAttrs(kvs []attribute.KeyValue) (attrs []string, pool, path string) {
	for _, kv := range kvs {
		switch kv.Key {
		case poolNameKey:
			pool = kv.Value.String()
		case pathKey:
			path = kv.Value.String()
		default:
			attrs = append(attrs, string(kv.Key)+"="+kv.Value.String())
		}
	}
	return attrs, pool, path
}

func sumKind(monotonic bool) string {
	if monotonic {
		return "counter"
	}
	return "updowncounter"
}

// mustCollect collects rd, which must report no error.
func mustCollect(t testing.TB, rd *sdkmetric.ManualReader) collected {
	t.Helper()
	c, err := collect(rd)
	require.NoError(t, err)
	return c
}

// TestObservesEveryFieldWithItsUnit: a FileStats with a distinct value in
// every field gives exactly these instruments, units, kinds, attributes
// and values: durations as float seconds, checkpoints one data point per
// mode (the four modes always, and a mode the exporter does not know by
// its String), escalations one data point per outcome, the lock's holder
// as an attribute of sqlite3safe.lock.held and its call site nowhere, the
// path and pool name as attributes.
func TestObservesEveryFieldWithItsUnit(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "never-opened.db"))
	db.SetMaxOpenConns(7)
	meter, rd := newMeter(t)
	r, err := newObserver(meter, db, "main")
	require.NoError(t, err)
	r.stats = func(*sql.DB) (sqlite3safe.FileStats, error) {
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
	reg, err := meter.RegisterCallback(r.observe, r.observables...)
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Unregister()) }()

	const ckpt = "sqlite3safe.checkpoints{sqlite3safe.checkpoint.mode="
	const esc = "sqlite3safe.checkpoint.escalations{sqlite3safe.escalation.outcome="
	wantFile := map[string]point{
		"sqlite3safe.lock.acquisitions":   {"{acquisition}", "counter", 1, false},
		"sqlite3safe.lock.waits":          {"{wait}", "counter", 2, false},
		"sqlite3safe.lock.wait.time":      {"s", "counter", 1.5, true},
		"sqlite3safe.lock.wait.max":       {"s", "gauge", 0.25, true},
		"sqlite3safe.lock.timeouts":       {"{timeout}", "counter", 3, false},
		ckpt + "PASSIVE}":                 {"{checkpoint}", "counter", 4, false},
		ckpt + "FULL}":                    {"{checkpoint}", "counter", 0, false},
		ckpt + "RESTART}":                 {"{checkpoint}", "counter", 0, false},
		ckpt + "TRUNCATE}":                {"{checkpoint}", "counter", 5, false},
		ckpt + "CheckpointMode(9)}":       {"{checkpoint}", "counter", 1, false},
		"sqlite3safe.checkpoint.busy":     {"{checkpoint}", "counter", 6, false},
		"sqlite3safe.checkpoint.frames":   {"{frame}", "counter", 7, false},
		"sqlite3safe.checkpoint.errors":   {"{error}", "counter", 8, false},
		esc + "completed}":                {"{escalation}", "counter", 9, false},
		esc + "busy}":                     {"{escalation}", "counter", 14, false},
		esc + "no_lock}":                  {"{escalation}", "counter", 15, false},
		esc + "failed}":                   {"{escalation}", "counter", 16, false},
		"sqlite3safe.wal.brakes":          {"{brake}", "counter", 10, false},
		"sqlite3safe.lock.queue.full":     {"{write}", "counter", 17, false},
		"sqlite3safe.lock.hand_overs":     {"{transaction}", "counter", 22, false},
		"sqlite3safe.checkpoint.waits":    {"{wait}", "counter", 18, false},
		"sqlite3safe.checkpoint.wait.max": {"s", "gauge", 0.75, true},
		"sqlite3safe.wal.pinned":          {"s", "gauge", 3, true},
		"sqlite3safe.wal.pinned.max":      {"s", "gauge", 4.5, true},
		"sqlite3safe.wal.pins":            {"{pin}", "counter", 19, false},
		"sqlite3safe.lock.held{sqlite3safe.lock.holder=escalated checkpoint}": {"{lock}", "gauge", 1, false},
		"sqlite3safe.lock.held.time":                                          {"s", "gauge", 0.125, true},
		"sqlite3safe.lock.queue.size":                                         {"{request}", "updowncounter", 20, false},
		"sqlite3safe.lock.queue.oldest_wait":                                  {"s", "gauge", 5, true},
		"sqlite3safe.wal.limit":                                               {"By", "updowncounter", 21, false},
		"sqlite3safe.wal.size":                                                {"By", "updowncounter", 12, false},
		"sqlite3safe.wal.size.max":                                            {"By", "gauge", 13, false},
	}
	wantPool := map[string]point{
		"db.client.connection.max":                                             {"{connection}", "updowncounter", 7, false},
		"db.client.connection.count{db.client.connection.state=used}":          {"{connection}", "updowncounter", 0, false},
		"db.client.connection.count{db.client.connection.state=idle}":          {"{connection}", "updowncounter", 0, false},
		"sqlite3safe.pool.waits":                                               {"{wait}", "counter", 0, false},
		"sqlite3safe.pool.wait.time":                                           {"s", "counter", 0, true},
		"sqlite3safe.pool.closed{sqlite3safe.pool.close.reason=max_idle}":      {"{connection}", "counter", 0, false},
		"sqlite3safe.pool.closed{sqlite3safe.pool.close.reason=max_idle_time}": {"{connection}", "counter", 0, false},
		"sqlite3safe.pool.closed{sqlite3safe.pool.close.reason=max_lifetime}":  {"{connection}", "counter", 0, false},
	}
	want := map[string]point{}
	for k, p := range wantFile {
		want[k] = p
	}
	for k, p := range wantPool {
		want[k] = p
	}

	got := mustCollect(t, rd)
	assert.Equal(t, want, got.points)
	for key := range got.points {
		assert.Equal(t, "main", got.pools[key], "pool name of %s", key)
		if _, ok := wantFile[key]; ok {
			assert.Equal(t, "/data/app.db", got.paths[key], "path of %s", key)
		} else {
			assert.Empty(t, got.paths[key], "path of %s", key)
		}
	}
}

// TestCountsRealWork: after known work on a real file, the lock
// instruments count it: N inserts are at least N acquisitions, one lock
// timeout is one timeout and at least its wait; the pool and the file's
// path are what they are.
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

	meter, rd := newMeter(t)
	reg, err := Register(meter, db, "work")
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Unregister()) }()
	got := mustCollect(t, rd)
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)

	p := got.points
	assert.GreaterOrEqual(t, p["sqlite3safe.lock.acquisitions"].Value, float64(inserts+1))
	assert.Equal(t, float64(st.LockAcquisitions), p["sqlite3safe.lock.acquisitions"].Value, "no write since")
	assert.Equal(t, 1.0, p["sqlite3safe.lock.timeouts"].Value)
	assert.GreaterOrEqual(t, p["sqlite3safe.lock.waits"].Value, 1.0)
	// The timed-out wait lasted at least the timeout (less a little for
	// the clock's grain).
	minWait := (timeout - 5*time.Millisecond).Seconds()
	assert.GreaterOrEqual(t, p["sqlite3safe.lock.wait.time"].Value, minWait)
	assert.GreaterOrEqual(t, p["sqlite3safe.lock.wait.max"].Value, minWait)
	assert.LessOrEqual(t, p["sqlite3safe.lock.wait.max"].Value, p["sqlite3safe.lock.wait.time"].Value)
	assert.Equal(t, "s", p["sqlite3safe.lock.wait.time"].Unit)
	assert.Equal(t, st.Path, got.paths["sqlite3safe.lock.acquisitions"])
	assert.Equal(t, "work", got.pools["sqlite3safe.lock.acquisitions"])
	assert.Equal(t, 4.0, p["db.client.connection.max"].Value)
	assert.Equal(t, 0.0, p["db.client.connection.count{db.client.connection.state=used}"].Value)
	assert.Positive(t, p["db.client.connection.count{db.client.connection.state=idle}"].Value)
}

// TestCountsCheckpointsByMode: writes followed by a pause end in a
// background TRUNCATE checkpoint, which is counted under its mode, with
// the frames it copied.
func TestCountsCheckpointsByMode(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "ckpt.db"))
	mustExec(t, db, "CREATE TABLE t(x BLOB)")
	for range 200 {
		mustExec(t, db, "INSERT INTO t VALUES (randomblob(1024))")
	}
	meter, rd := newMeter(t)
	reg, err := Register(meter, db, "ckpt")
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Unregister()) }()
	const ckpt = "sqlite3safe.checkpoints{sqlite3safe.checkpoint.mode="
	var got collected
	require.Eventually(t, func() bool {
		got = mustCollect(t, rd)
		return got.points[ckpt+"TRUNCATE}"].Value > 0
	}, 30*time.Second, 20*time.Millisecond, "no TRUNCATE checkpoint counted")
	assert.Positive(t, got.points["sqlite3safe.checkpoint.frames"].Value)
	assert.Zero(t, got.points["sqlite3safe.checkpoint.errors"].Value)
	for _, mode := range []string{"PASSIVE", "FULL", "RESTART", "TRUNCATE"} {
		assert.Contains(t, got.points, ckpt+mode+"}")
	}
}

// TestOtherDatabases: for a plain go-sqlite3 database, and for a
// sqlite3-safe one opened with _safe=off, only the pool's instruments
// have data points, and the collection reports no error.
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

			meter, rd := newMeter(t)
			reg, err := Register(meter, db, "other")
			require.NoError(t, err)
			defer func() { require.NoError(t, reg.Unregister()) }()
			got := mustCollect(t, rd)
			assert.Equal(t, 1.0, got.points["db.client.connection.count{db.client.connection.state=idle}"].Value)
			for key := range got.points {
				if !strings.HasPrefix(key, "db.client.") && !strings.HasPrefix(key, "sqlite3safe.pool.") {
					t.Errorf("observed %s for a database that is not sqlite3-safe", key)
				}
			}
		})
	}
}

// TestReadErrorIsReported: an error reading the file's statistics (other
// than not being sqlite3-safe) is reported by the collection, prefixed,
// and the pool's data points are still there.
func TestReadErrorIsReported(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "err.db"))
	meter, rd := newMeter(t)
	r, err := newObserver(meter, db, "err")
	require.NoError(t, err)
	broken := errors.New("broken")
	r.stats = func(*sql.DB) (sqlite3safe.FileStats, error) { return sqlite3safe.FileStats{}, broken }
	reg, err := meter.RegisterCallback(r.observe, r.observables...)
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Unregister()) }()

	got, err := collect(rd)
	require.ErrorIs(t, err, broken)
	assert.Contains(t, err.Error(), `sqlite3-safe: reading the statistics of database "err"`)
	assert.Contains(t, got.points, "sqlite3safe.pool.waits")
	assert.NotContains(t, got.points, "sqlite3safe.lock.acquisitions")
}

// TestFullPoolDoesNotBlockCollect: with every connection of the pool in
// use, a collection returns at once with the statistics read last, and
// does not queue for a connection (the pool's wait count stays 0);
// before any successful read there are none, and after a failed read
// the ones from before it are not brought back.
func TestFullPoolDoesNotBlockCollect(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "full.db"))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	meter, rd := newMeter(t)
	reg, err := Register(meter, db, "full")
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Unregister()) }()
	before := mustCollect(t, rd)
	require.Contains(t, before.points, "sqlite3safe.lock.acquisitions")

	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()

	type result struct {
		got collected
		err error
	}
	done := make(chan result)
	go func() {
		got, err := collect(rd)
		done <- result{got, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		require.NoError(t, conn.Close()) // lets the collection finish
		<-done
		t.Fatal("the collection waited for a connection of a full pool")
	}
	require.NoError(t, r.err)
	during := r.got.points
	assert.Equal(t, before.points["sqlite3safe.lock.acquisitions"], during["sqlite3safe.lock.acquisitions"])
	assert.Equal(t, 1.0, during["db.client.connection.count{db.client.connection.state=used}"].Value)
	assert.Equal(t, 0.0, during["sqlite3safe.pool.waits"].Value)

	// A second registration has read nothing yet.
	meter2, rd2 := newMeter(t)
	reg2, err := Register(meter2, db, "fresh")
	require.NoError(t, err)
	defer func() { require.NoError(t, reg2.Unregister()) }()
	assert.NotContains(t, mustCollect(t, rd2).points, "sqlite3safe.lock.acquisitions")
}

// TestSeveralDatabases: two databases registered on one meter under
// different names each get their own data points; after Unregister, a
// database's data points are gone.
func TestSeveralDatabases(t *testing.T) {
	dir := t.TempDir()
	a := openDB(t, sqlite3safe.DriverName, filepath.Join(dir, "a.db"))
	b := openDB(t, sqlite3safe.DriverName, filepath.Join(dir, "b.db"))
	a.SetMaxOpenConns(2)
	b.SetMaxOpenConns(3)
	meter, rd := newMeter(t)
	regA, err := Register(meter, a, "a")
	require.NoError(t, err)
	regB, err := Register(meter, b, "b")
	require.NoError(t, err)
	defer func() { require.NoError(t, regB.Unregister()) }()

	maxByPool := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		require.NoError(t, rd.Collect(context.Background(), &rm))
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name == "db.client.connection.max" {
					for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
						pool, _ := dp.Attributes.Value(poolNameKey)
						out[pool.String()] = dp.Value
					}
				}
			}
		}
		return out
	}
	assert.Equal(t, map[string]int64{"a": 2, "b": 3}, maxByPool())
	require.NoError(t, regA.Unregister())
	assert.Equal(t, map[string]int64{"b": 3}, maxByPool())
}

// TestLockHolderAndWALLimitOfARealFile: while a transaction holds a real
// file's write lock, sqlite3safe.lock.held has one data point, 1, with the
// holder Stats names, and sqlite3safe.lock.held.time grows; once the lock
// is free the data point is gone and the time is 0. The WAL limit is the
// DSN's; without a checkpointer it has no data point.
func TestLockHolderAndWALLimitOfARealFile(t *testing.T) {
	const limit = 8 << 20
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "held.db")+
		fmt.Sprintf("?_safe_wal_limit=%d", limit))
	mustExec(t, db, "CREATE TABLE t(x)")
	meter, rd := newMeter(t)
	reg, err := Register(meter, db, "held")
	require.NoError(t, err)
	defer func() { require.NoError(t, reg.Unregister()) }()

	held := func(c collected) []string {
		var out []string
		for k := range c.points {
			if strings.HasPrefix(k, "sqlite3safe.lock.held{") {
				out = append(out, k)
			}
		}
		return out
	}
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	st, err := sqlite3safe.Stats(db)
	require.NoError(t, err)
	require.NotEmpty(t, st.LockHolder)
	got := mustCollect(t, rd)
	key := "sqlite3safe.lock.held{sqlite3safe.lock.holder=" + st.LockHolder + "}"
	assert.Equal(t, []string{key}, held(got))
	assert.Equal(t, 1.0, got.points[key].Value)
	assert.Equal(t, st.Path, got.paths[key])
	assert.GreaterOrEqual(t, got.points["sqlite3safe.lock.held.time"].Value, 0.015)
	assert.Equal(t, float64(limit), got.points["sqlite3safe.wal.limit"].Value)
	require.NoError(t, tx.Rollback())

	require.Eventually(t, func() bool {
		got = mustCollect(t, rd)
		return len(held(got)) == 0 && got.points["sqlite3safe.lock.held.time"].Value == 0
	}, 10*time.Second, 10*time.Millisecond, "the lock is free, but a holder is still observed")
	assert.Equal(t, 0.0, got.points["sqlite3safe.lock.queue.size"].Value)
	assert.Contains(t, got.points, "sqlite3safe.lock.queue.size")

	off := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "off.db")+"?_safe_checkpoint=off")
	mustExec(t, off, "CREATE TABLE t(x)")
	meter2, rd2 := newMeter(t)
	reg2, err := Register(meter2, off, "off")
	require.NoError(t, err)
	defer func() { require.NoError(t, reg2.Unregister()) }()
	got = mustCollect(t, rd2)
	assert.Contains(t, got.points, "sqlite3safe.lock.acquisitions")
	assert.NotContains(t, got.points, "sqlite3safe.wal.limit")
}
