// Package prometheus exports the statistics of a database opened with
// sqlite3-safe (github.com/sqlite3safe/sqlite3safe) as Prometheus metrics:
// the file's write lock and checkpoints ([sqlite3safe.FileStats]) and
// database/sql's connection pool ([sql.DBStats]).
//
// It is a module of its own, so that the driver's module does not depend
// on the Prometheus client.
//
//	reg.MustRegister(prometheus.NewCollector(db, "main"))
//
// # Metrics
//
// Every metric carries the constant label db, whose value is the name
// given to [NewCollector]. Times are in seconds, sizes in bytes;
// accumulating counts end in _total.
//
// From [sqlite3safe.Stats]:
//
//	sqlite3safe_file_info{path}                 1; path is the file's canonical path
//	sqlite3safe_lock_acquisitions_total         write-lock grants
//	sqlite3safe_lock_waits_total                grants and failures that had to queue
//	sqlite3safe_lock_wait_seconds_total         time spent queueing
//	sqlite3safe_lock_wait_max_seconds           longest single wait
//	sqlite3safe_lock_timeouts_total             waits that timed out
//	sqlite3safe_lock_queue_full_total           writes refused at once: the queue was at its
//	                                            bound (_safe_max_waiters)
//	sqlite3safe_lock_hand_overs_total           transactions that had only read and gave the
//	                                            lock to a write of their own goroutine
//	sqlite3safe_lock_held{holder}               1 while the lock is held, by what holds it;
//	                                            no series while it is free
//	sqlite3safe_lock_held_seconds               how long the holder has held it (0: free)
//	sqlite3safe_lock_queue_length               requests waiting for the lock now
//	sqlite3safe_lock_oldest_wait_seconds        how long the first of them has waited
//	sqlite3safe_checkpoints_total{mode}         completed background checkpoints, by mode
//	                                            (PASSIVE, FULL, RESTART, TRUNCATE)
//	sqlite3safe_checkpoints_busy_total          checkpoints that could not finish
//	sqlite3safe_checkpoint_frames_total         WAL frames copied into the database
//	sqlite3safe_checkpoint_errors_total         checkpoints that failed
//	sqlite3safe_checkpoint_escalations_total{outcome}
//	                                            escalated checkpoints, by outcome (completed,
//	                                            busy, no_lock, failed)
//	sqlite3safe_wal_brakes_total                times writers were held at 3/4 of the WAL limit
//	sqlite3safe_checkpoint_waits_total          write-lock waits that met a checkpoint
//	sqlite3safe_checkpoint_wait_max_seconds     longest time one wait spent on checkpoints
//	sqlite3safe_wal_pinned_seconds              how long the oldest read has pinned the WAL
//	                                            (0: not pinned)
//	sqlite3safe_wal_pinned_max_seconds          longest such pin
//	sqlite3safe_wal_pins_total                  times reads began to pin the WAL
//	sqlite3safe_wal_limit_bytes                 the WAL limit (0: no checkpointer)
//	sqlite3safe_wal_bytes                       -wal file size at the last sample
//	sqlite3safe_wal_max_bytes                   largest -wal file size seen
//
// The holder label of sqlite3safe_lock_held takes a few fixed values:
// "transaction begun", "statement", "manual transaction begun", and the
// checkpointer's "catch-up checkpoint", "idle TRUNCATE checkpoint" and
// "escalated checkpoint". Where the holder took the lock
// (FileStats.LockHolderSite, a file:line recorded with debug on) is not
// exported: its values are unbounded, unfit for a label; read it from
// [sqlite3safe.Stats] or the lock-timeout error.
//
// From the *sql.DB's Stats method:
//
//	sqlite3safe_db_max_open_connections         pool limit (0: unlimited)
//	sqlite3safe_db_open_connections             open connections
//	sqlite3safe_db_in_use_connections           connections in use
//	sqlite3safe_db_idle_connections             idle connections
//	sqlite3safe_db_wait_count_total             waits for a connection
//	sqlite3safe_db_wait_duration_seconds_total  time spent waiting for a connection
//	sqlite3safe_db_max_idle_closed_total        closed by SetMaxIdleConns
//	sqlite3safe_db_max_idle_time_closed_total   closed by SetConnMaxIdleTime
//	sqlite3safe_db_max_lifetime_closed_total    closed by SetConnMaxLifetime
//
// And about the collection itself:
//
//	sqlite3safe_stats_up                        1 if the file's statistics were exported
//
// The file's counters count since its first connection in this process
// opened, and start again from zero if every connection to it closes;
// Prometheus's rate and increase treat that as a counter reset. They are
// the file's, not the *sql.DB's: collectors of two *sql.DB values open on
// one file export the same counts under two db labels (sum by path, joined
// through sqlite3safe_file_info, to count the file once).
//
// # Databases that are not sqlite3-safe
//
// For a *sql.DB of another driver, or one opened with _safe=off, the
// collector exports the pool metrics and sqlite3safe_stats_up 0, and none
// of the file's metrics.
package prometheus

import (
	"database/sql"
	"reflect"
	"slices"
	"sync"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/sqlite3safe/sqlite3safe"
)

// Collector is a [prom.Collector] of one *sql.DB's statistics. Make one
// with [NewCollector] and register it; it reads the statistics on every
// collection.
//
// A Collector is safe for concurrent use by multiple goroutines.
type Collector struct {
	db    *sql.DB                                      // immutable
	stats func(*sql.DB) (sqlite3safe.FileStats, error) // immutable; sqlite3safe.Stats but in tests

	file     []boundColumn // immutable
	pool     []boundColumn // immutable
	infoDesc *prom.Desc    // immutable
	ckptDesc *prom.Desc    // immutable
	heldDesc *prom.Desc    // immutable
	upDesc   *prom.Desc    // immutable
	allDescs []*prom.Desc  // immutable: every descriptor above

	mu   sync.Mutex             // guards last
	last *sqlite3safe.FileStats // the last statistics read; nil before the first, and after a failed read
}

// NewCollector returns a Collector of db's statistics, labelled
// db="name". Collectors of different *sql.DB values can be registered
// together as long as their names differ.
//
// db may be of any driver: see the package documentation for what is
// exported when it is not sqlite3-safe.
func NewCollector(db *sql.DB, name string) *Collector {
	labels := prom.Labels{"db": name}
	c := &Collector{
		db:       db,
		stats:    sqlite3safe.Stats,
		file:     bind(reflect.TypeFor[sqlite3safe.FileStats](), fileColumns, labels),
		pool:     bind(reflect.TypeFor[sql.DBStats](), poolColumns, labels),
		infoDesc: prom.NewDesc(namespace+"_"+fileSpecialFields["Path"], "The database file: path is its canonical path (or memory:… for an in-memory database); always 1.", []string{"path"}, labels),
		ckptDesc: prom.NewDesc(namespace+"_"+fileSpecialFields["Checkpoints"], "Completed background checkpoints, by mode.", []string{"mode"}, labels),
		heldDesc: prom.NewDesc(namespace+"_"+fileSpecialFields["LockHolder"], "1 while the file's write lock is held, labelled with what holds it (transaction begun, statement, manual transaction begun, or one of the checkpointer's holds); no series while it is free.", []string{"holder"}, labels),
		upDesc:   prom.NewDesc(namespace+"_stats_up", "1 if the file's statistics were exported, 0 if they could not be read (not a sqlite3-safe database, opened with _safe=off, or an error).", nil, labels),
	}
	for _, b := range append(slices.Clip(c.file), c.pool...) {
		if !slices.Contains(c.allDescs, b.desc) {
			c.allDescs = append(c.allDescs, b.desc)
		}
	}
	c.allDescs = append(c.allDescs, c.infoDesc, c.ckptDesc, c.heldDesc, c.upDesc)
	return c
}

// Describe sends the descriptor of every metric the Collector can export.
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	for _, d := range c.allDescs {
		ch <- d
	}
}

// Collect reads db's statistics and sends them as metrics.
//
// Reading the file's statistics takes a connection from db's pool for a
// moment. When the pool is at its limit (every connection of
// SetMaxOpenConns in use) Collect does not queue for one, which could
// block a scrape for as long as a transaction lasts and would add to the
// pool's wait metrics: it exports the statistics it read last instead
// (none before the first successful read). The check is made just before
// taking the connection, so a connection taken by someone else in between
// still makes Collect wait for the next free one.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	ps := c.db.Stats()
	pv := reflect.ValueOf(ps)
	for i := range c.pool {
		b := &c.pool[i]
		ch <- prom.MustNewConstMetric(b.desc, b.kind, b.value(pv), b.labelValues()...)
	}

	fs, ok := c.fileStats(ps)
	if !ok {
		ch <- prom.MustNewConstMetric(c.upDesc, prom.GaugeValue, 0)
		return
	}
	ch <- prom.MustNewConstMetric(c.upDesc, prom.GaugeValue, 1)
	c.collectFile(ch, fs)
}

// collectFile sends the metrics of one reading of the file's statistics.
func (c *Collector) collectFile(ch chan<- prom.Metric, fs *sqlite3safe.FileStats) {
	ch <- prom.MustNewConstMetric(c.infoDesc, prom.GaugeValue, 1, fs.Path)
	fv := reflect.ValueOf(fs).Elem()
	for i := range c.file {
		b := &c.file[i]
		ch <- prom.MustNewConstMetric(b.desc, b.kind, b.value(fv), b.labelValues()...)
	}
	if fs.LockHolder != "" {
		ch <- prom.MustNewConstMetric(c.heldDesc, prom.GaugeValue, 1, fs.LockHolder)
	}
	// Every mode always has a series, 0 until its first checkpoint, so
	// that rate() sees the first one.
	for _, m := range checkpointModes {
		ch <- prom.MustNewConstMetric(c.ckptDesc, prom.CounterValue, float64(fs.Checkpoints[m]), m.String())
	}
	for m, n := range fs.Checkpoints {
		if !slices.Contains(checkpointModes, m) {
			ch <- prom.MustNewConstMetric(c.ckptDesc, prom.CounterValue, float64(n), m.String())
		}
	}
}

// checkpointModes are the modes exported even before their first
// checkpoint.
var checkpointModes = []sqlite3safe.CheckpointMode{
	sqlite3safe.CheckpointPassive,
	sqlite3safe.CheckpointFull,
	sqlite3safe.CheckpointRestart,
	sqlite3safe.CheckpointTruncate,
}

// fileStats returns the file's statistics: read now, or the last ones
// read if db's pool is at its limit. ok is false if there are none.
func (c *Collector) fileStats(ps sql.DBStats) (_ *sqlite3safe.FileStats, ok bool) {
	if ps.MaxOpenConnections > 0 && ps.InUse >= ps.MaxOpenConnections {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.last, c.last != nil
	}
	fs, err := c.stats(c.db)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.last = nil
		return nil, false
	}
	c.last = &fs
	return &fs, true
}
