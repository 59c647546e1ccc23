// Package otel exports the statistics of a database opened with
// sqlite3-safe (github.com/sqlite3safe/sqlite3safe) as OpenTelemetry
// metrics: observable instruments of the file's write lock and
// checkpoints ([sqlite3safe.FileStats]) and of database/sql's connection
// pool ([sql.DBStats]), read on every collection.
//
// It is a module of its own, so that the driver's module does not depend
// on OpenTelemetry.
//
//	reg, err := otel.Register(provider.Meter("myapp"), db, "main")
//	...
//	defer reg.Unregister()
//
// # Instruments
//
// Every data point carries db.client.connection.pool.name, whose value is
// the name given to [Register]; those of the file also carry
// sqlite3safe.file.path, the file's canonical path. Times are in seconds
// ("s"), sizes in bytes ("By").
//
// From [sqlite3safe.Stats] (Counter unless said otherwise):
//
//	sqlite3safe.lock.acquisitions       {acquisition}  write-lock grants
//	sqlite3safe.lock.waits              {wait}         grants and failures that had to queue
//	sqlite3safe.lock.wait.time          s              time spent queueing
//	sqlite3safe.lock.wait.max           s              Gauge: longest single wait
//	sqlite3safe.lock.timeouts           {timeout}      waits that timed out
//	sqlite3safe.lock.queue.full         {write}        writes refused at once: the queue was at its
//	                                                   bound (_safe_max_waiters)
//	sqlite3safe.lock.hand_overs         {transaction}  transactions that had only read and gave the
//	                                                   lock to a write of their own goroutine
//	sqlite3safe.lock.held               {lock}         Gauge: 1 while the lock is held, with
//	                                                   sqlite3safe.lock.holder; none while free
//	sqlite3safe.lock.held.time          s              Gauge: how long the holder has held it (0: free)
//	sqlite3safe.lock.queue.size         {request}      UpDownCounter: requests waiting for the lock
//	sqlite3safe.lock.queue.oldest_wait  s              Gauge: how long the first of them has waited
//	sqlite3safe.checkpoints             {checkpoint}   completed background checkpoints, by
//	                                                   sqlite3safe.checkpoint.mode (PASSIVE,
//	                                                   FULL, RESTART, TRUNCATE)
//	sqlite3safe.checkpoint.busy         {checkpoint}   checkpoints that could not finish
//	sqlite3safe.checkpoint.frames       {frame}        WAL frames copied into the database
//	sqlite3safe.checkpoint.errors       {error}        checkpoints that failed
//	sqlite3safe.checkpoint.escalations  {escalation}   escalated checkpoints, by
//	                                                   sqlite3safe.escalation.outcome (completed,
//	                                                   busy, no_lock, failed)
//	sqlite3safe.wal.brakes              {brake}        times writers were held at 3/4 of the WAL limit
//	sqlite3safe.checkpoint.waits        {wait}         write-lock waits that met a checkpoint
//	sqlite3safe.checkpoint.wait.max     s              Gauge: longest time one wait spent on checkpoints
//	sqlite3safe.wal.pinned              s              Gauge: how long the oldest read has pinned the
//	                                                   WAL (0: not pinned)
//	sqlite3safe.wal.pinned.max          s              Gauge: longest such pin
//	sqlite3safe.wal.pins                {pin}          times reads began to pin the WAL
//	sqlite3safe.wal.limit               By             UpDownCounter: the WAL limit (none without a
//	                                                   checkpointer)
//	sqlite3safe.wal.size                By             UpDownCounter: -wal file size at the last sample
//	sqlite3safe.wal.size.max            By             Gauge: largest -wal file size seen
//
// sqlite3safe.lock.holder takes a few fixed values: "transaction begun",
// "statement", "manual transaction begun", and the checkpointer's
// "catch-up checkpoint", "idle TRUNCATE checkpoint" and "escalated
// checkpoint". Where the holder took the lock (FileStats.LockHolderSite,
// a file:line recorded with debug on) is not exported: its values are
// unbounded, unfit for an attribute; read it from [sqlite3safe.Stats] or
// the lock-timeout error.
//
// From the *sql.DB's Stats method, with the names of OpenTelemetry's
// database client semantic conventions where they have one:
//
//	db.client.connection.count          {connection}   UpDownCounter: connections by
//	                                                   db.client.connection.state (idle, used)
//	db.client.connection.max            {connection}   UpDownCounter: pool limit (none if unlimited)
//	sqlite3safe.pool.waits              {wait}         waits for a connection
//	sqlite3safe.pool.wait.time          s              time spent waiting for a connection
//	sqlite3safe.pool.closed             {connection}   connections closed by the pool's limits, by
//	                                                   sqlite3safe.pool.close.reason (max_idle,
//	                                                   max_idle_time, max_lifetime)
//
// The file's counters count since its first connection in this process
// opened, and start again from zero if every connection to it closes.
// They are the file's, not the *sql.DB's: two *sql.DB values open on one
// file observe the same counts under two pool names, and one
// sqlite3safe.file.path.
//
// # Databases that are not sqlite3-safe
//
// For a *sql.DB of another driver, or one opened with _safe=off, only the
// pool's instruments have data points; the collection reports no error.
package otel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sqlite3safe/sqlite3safe"
)

// Register creates the package's observable instruments on meter and
// registers a callback that observes db's statistics, with
// db.client.connection.pool.name set to name. Several databases can be
// registered on one meter, under different names. Unregister the
// returned Registration before closing db.
//
// db may be of any driver: see the package documentation for what is
// observed when it is not sqlite3-safe.
func Register(meter metric.Meter, db *sql.DB, name string) (metric.Registration, error) {
	r, err := newObserver(meter, db, name)
	if err != nil {
		return nil, err
	}
	reg, err := meter.RegisterCallback(r.observe, r.observables...)
	if err != nil {
		return nil, fmt.Errorf("sqlite3-safe: registering the metrics callback: %w", err)
	}
	return reg, nil
}

// instrument is an observable instrument of either number type.
type instrument struct {
	i metric.Int64Observable   // nil for a float instrument
	f metric.Float64Observable // nil for an int instrument
}

// A boundInstrument is a column with its instrument.
type boundInstrument struct {
	boundColumn
	float bool // the field is observed as a float64 (see isFloat)
	inst  instrument
}

// observe observes the column's field of v (a struct value) with set.
func (b *boundInstrument) observe(o metric.Observer, v reflect.Value, set attribute.Set) {
	f := v.Field(b.index)
	var n int64
	var x float64
	switch {
	case f.Type() == durationType:
		x = time.Duration(f.Int()).Seconds()
	case f.CanFloat():
		x = f.Float()
	case f.CanInt():
		n = f.Int()
	default:
		n = int64(f.Uint())
	}
	if b.omitZero && n == 0 && x == 0 {
		return
	}
	if b.float {
		o.ObserveFloat64(b.inst.f, x, metric.WithAttributeSet(set))
	} else {
		o.ObserveInt64(b.inst.i, n, metric.WithAttributeSet(set))
	}
}

// observer reads one *sql.DB's statistics for its callback.
type observer struct {
	db    *sql.DB                                      // immutable
	name  string                                       // immutable
	stats func(*sql.DB) (sqlite3safe.FileStats, error) // immutable; sqlite3safe.Stats but in tests

	file        []boundInstrument   // immutable
	pool        []boundInstrument   // immutable
	poolSets    []attribute.Set     // immutable: attributes of pool[i]
	checkpoints instrument          // immutable
	lockHeld    instrument          // immutable
	observables []metric.Observable // immutable: every instrument, once

	mu   sync.Mutex             // guards last
	last *sqlite3safe.FileStats // the last statistics read; nil before the first, and after a failed read
}

func newObserver(meter metric.Meter, db *sql.DB, name string) (*observer, error) {
	r := &observer{db: db, name: name, stats: sqlite3safe.Stats}
	byName := map[string]instrument{}
	bindAll := func(t reflect.Type, cols []column) ([]boundInstrument, error) {
		var out []boundInstrument
		for _, b := range bind(t, cols) {
			sf, _ := t.FieldByName(b.field)
			bi := boundInstrument{boundColumn: b, float: isFloat(sf.Type)}
			inst, ok := byName[b.name]
			if !ok {
				var err error
				if inst, err = newInstrument(meter, b.column, bi.float); err != nil {
					return nil, err
				}
				byName[b.name] = inst
				r.observables = append(r.observables, inst.observable())
			}
			bi.inst = inst
			out = append(out, bi)
		}
		return out, nil
	}
	var err error
	if r.file, err = bindAll(reflect.TypeFor[sqlite3safe.FileStats](), fileColumns); err != nil {
		return nil, err
	}
	if r.pool, err = bindAll(reflect.TypeFor[sql.DBStats](), poolColumns); err != nil {
		return nil, err
	}
	if r.checkpoints, err = newInstrument(meter, checkpointsColumn, false); err != nil {
		return nil, err
	}
	r.observables = append(r.observables, r.checkpoints.observable())
	if r.lockHeld, err = newInstrument(meter, lockHeldColumn, false); err != nil {
		return nil, err
	}
	r.observables = append(r.observables, r.lockHeld.observable())
	for _, b := range r.pool {
		r.poolSets = append(r.poolSets, attribute.NewSet(append([]attribute.KeyValue{poolNameKey.String(name)}, b.attrs...)...))
	}
	return r, nil
}

// newInstrument creates c's instrument, observing int64 or float64.
func newInstrument(m metric.Meter, c column, float bool) (instrument, error) {
	unit, desc := metric.WithUnit(c.unit), metric.WithDescription(c.desc)
	var inst instrument
	var err error
	switch {
	case c.kind == counter && float:
		inst.f, err = m.Float64ObservableCounter(c.name, unit, desc)
	case c.kind == counter:
		inst.i, err = m.Int64ObservableCounter(c.name, unit, desc)
	case c.kind == upDownCounter && float:
		inst.f, err = m.Float64ObservableUpDownCounter(c.name, unit, desc)
	case c.kind == upDownCounter:
		inst.i, err = m.Int64ObservableUpDownCounter(c.name, unit, desc)
	case float:
		inst.f, err = m.Float64ObservableGauge(c.name, unit, desc)
	default:
		inst.i, err = m.Int64ObservableGauge(c.name, unit, desc)
	}
	if err != nil {
		return instrument{}, fmt.Errorf("sqlite3-safe: creating instrument %s: %w", c.name, err)
	}
	return inst, nil
}

func (i instrument) observable() metric.Observable {
	if i.f != nil {
		return i.f
	}
	return i.i
}

// checkpointModes are the modes observed even before their first
// checkpoint.
var checkpointModes = []sqlite3safe.CheckpointMode{
	sqlite3safe.CheckpointPassive,
	sqlite3safe.CheckpointFull,
	sqlite3safe.CheckpointRestart,
	sqlite3safe.CheckpointTruncate,
}

// observe is the registered callback: it observes the pool's statistics,
// then the file's. Reading the file's takes a connection from db's pool
// for a moment. When the pool is at its limit (every connection of
// SetMaxOpenConns in use) it does not queue for one, which could block
// the collection for as long as a transaction lasts and would add to the
// pool's wait statistics: it observes the statistics it read last instead
// (none before the first successful read). The check is made just before
// taking the connection, so a connection taken by someone else in between
// still makes the callback wait for the next free one.
//
// A database that is not sqlite3-safe is no error: its file instruments
// are not observed.
func (r *observer) observe(_ context.Context, o metric.Observer) error {
	ps := r.db.Stats()
	pv := reflect.ValueOf(ps)
	for i := range r.pool {
		r.pool[i].observe(o, pv, r.poolSets[i])
	}

	fs, err := r.fileStats(ps)
	if errors.Is(err, sqlite3safe.ErrNotSafe) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite3-safe: reading the statistics of database %q: %w", r.name, err)
	}
	if fs == nil {
		return nil
	}
	common := []attribute.KeyValue{poolNameKey.String(r.name), pathKey.String(fs.Path)}
	fv := reflect.ValueOf(fs).Elem()
	for i := range r.file {
		b := &r.file[i]
		b.observe(o, fv, attribute.NewSet(append(slices.Clip(common), b.attrs...)...))
	}
	if fs.LockHolder != "" {
		o.ObserveInt64(r.lockHeld.i, 1, metric.WithAttributes(append(slices.Clip(common), holderKey.String(fs.LockHolder))...))
	}
	// Every mode always has a data point, 0 until its first checkpoint.
	for _, m := range checkpointModes {
		o.ObserveInt64(r.checkpoints.i, fs.Checkpoints[m], metric.WithAttributes(append(slices.Clip(common), modeKey.String(m.String()))...))
	}
	for m, n := range fs.Checkpoints {
		if !slices.Contains(checkpointModes, m) {
			o.ObserveInt64(r.checkpoints.i, n, metric.WithAttributes(append(slices.Clip(common), modeKey.String(m.String()))...))
		}
	}
	return nil
}

// fileStats returns the file's statistics: read now, or the last ones
// read if db's pool is at its limit (nil and no error if there are none).
func (r *observer) fileStats(ps sql.DBStats) (*sqlite3safe.FileStats, error) {
	if ps.MaxOpenConnections > 0 && ps.InUse >= ps.MaxOpenConnections {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.last, nil
	}
	fs, err := r.stats(r.db)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.last = nil
		return nil, err
	}
	r.last = &fs
	return &fs, nil
}
