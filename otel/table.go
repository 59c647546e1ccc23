package otel

import (
	"fmt"
	"reflect"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// The kind of instrument a column is observed with.
type kind int

const (
	counter       kind = iota // a monotonic sum: an observable counter
	upDownCounter             // an additive value that goes up and down
	gauge                     // a value that is not additive (a maximum)
)

// Attribute keys.
const (
	// poolNameKey is on every instrument: the name given to Register. It is
	// the attribute the database semantic conventions require on their
	// connection-pool metrics.
	poolNameKey = attribute.Key("db.client.connection.pool.name")
	// stateKey tells idle from used connections (semantic conventions).
	stateKey = attribute.Key("db.client.connection.state")
	// pathKey is on the file's instruments: its canonical path.
	pathKey = attribute.Key("sqlite3safe.file.path")
	// modeKey is the checkpoint mode of sqlite3safe.checkpoints.
	modeKey = attribute.Key("sqlite3safe.checkpoint.mode")
	// outcomeKey is the outcome of an escalated checkpoint.
	outcomeKey = attribute.Key("sqlite3safe.escalation.outcome")
	// holderKey is what holds the write lock (sqlite3safe.lock.held).
	holderKey = attribute.Key("sqlite3safe.lock.holder")
	// closeReasonKey tells why the pool closed a connection.
	closeReasonKey = attribute.Key("sqlite3safe.pool.close.reason")
)

// A column exports one numeric field of a statistics struct as one
// instrument (several columns may share an instrument, told apart by
// their attrs). Its value is read by reflection from the named field, so a
// row cannot read the wrong field; a time.Duration is observed as a float
// in seconds (unit "s"), other numbers as int64.
type column struct {
	field    string               // name of the struct field
	name     string               // instrument name
	unit     string               // UCUM unit
	desc     string               // instrument description
	kind     kind                 //
	attrs    []attribute.KeyValue // attributes of this field's data point, beside the common ones
	omitZero bool                 // 0 means "not set": observe nothing
}

// fileColumns maps every numeric field of sqlite3safe.FileStats to an
// instrument. A field that is not a number is exported by hand: see
// fileSpecialFields. A test fails if a field of FileStats is in neither.
var fileColumns = []column{
	{field: "LockAcquisitions", name: "sqlite3safe.lock.acquisitions", unit: "{acquisition}", kind: counter,
		desc: "Grants of the file's write lock (and, in non-WAL mode, of its shared side)."},
	{field: "LockWaits", name: "sqlite3safe.lock.waits", unit: "{wait}", kind: counter,
		desc: "Write-lock acquisitions and failures that had to queue."},
	{field: "LockWaitTotal", name: "sqlite3safe.lock.wait.time", unit: "s", kind: counter,
		desc: "Total time spent queueing for the write lock."},
	{field: "LockWaitMax", name: "sqlite3safe.lock.wait.max", unit: "s", kind: gauge,
		desc: "Longest single wait for the write lock."},
	{field: "LockTimeouts", name: "sqlite3safe.lock.timeouts", unit: "{timeout}", kind: counter,
		desc: "Waits for the write lock that ended in a lock timeout."},
	{field: "CheckpointsBusy", name: "sqlite3safe.checkpoint.busy", unit: "{checkpoint}", kind: counter,
		desc: "Checkpoints that could not finish because readers or writers were in the way (retried later)."},
	{field: "FramesCheckpointed", name: "sqlite3safe.checkpoint.frames", unit: "{frame}", kind: counter,
		desc: "WAL frames copied into the database by checkpoints."},
	{field: "CheckpointErrors", name: "sqlite3safe.checkpoint.errors", unit: "{error}", kind: counter,
		desc: "Checkpoints that failed with an error (logged, never fatal)."},
	{field: "Escalations", name: "sqlite3safe.checkpoint.escalations", unit: "{escalation}", kind: counter, desc: escalationsDesc,
		attrs: []attribute.KeyValue{outcomeKey.String("completed")}},
	{field: "EscalationsBusy", name: "sqlite3safe.checkpoint.escalations", unit: "{escalation}", kind: counter, desc: escalationsDesc,
		attrs: []attribute.KeyValue{outcomeKey.String("busy")}},
	{field: "EscalationsNoLock", name: "sqlite3safe.checkpoint.escalations", unit: "{escalation}", kind: counter, desc: escalationsDesc,
		attrs: []attribute.KeyValue{outcomeKey.String("no_lock")}},
	{field: "EscalationsFailed", name: "sqlite3safe.checkpoint.escalations", unit: "{escalation}", kind: counter, desc: escalationsDesc,
		attrs: []attribute.KeyValue{outcomeKey.String("failed")}},
	{field: "LockHandOvers", name: "sqlite3safe.lock.hand_overs", unit: "{transaction}", kind: counter,
		desc: "Transactions that had only read and gave the write lock to a write of their own goroutine through the pool."},
	{field: "Brakes", name: "sqlite3safe.wal.brakes", unit: "{brake}", kind: counter,
		desc: "Times a writer found the WAL at three quarters of its limit and held writers back for the checkpointer."},
	{field: "CheckpointWaits", name: "sqlite3safe.checkpoint.waits", unit: "{wait}", kind: counter,
		desc: "Write-lock waits that met a checkpoint (its hold of the lock, or the brake); never counted against the lock timeout."},
	{field: "CheckpointWaitMax", name: "sqlite3safe.checkpoint.wait.max", unit: "s", kind: gauge,
		desc: "Longest time one write-lock wait spent on checkpoints."},
	{field: "WALPinned", name: "sqlite3safe.wal.pinned", unit: "s", kind: gauge,
		desc: "How long the oldest open read has kept the WAL from being checkpointed, when an escalation could not finish because of it (0 when nothing pins the WAL)."},
	{field: "WALPinnedMax", name: "sqlite3safe.wal.pinned.max", unit: "s", kind: gauge,
		desc: "Longest time a read has pinned the WAL."},
	{field: "WALPins", name: "sqlite3safe.wal.pins", unit: "{pin}", kind: counter,
		desc: "Times reads began to pin the WAL."},
	{field: "LockQueueFull", name: "sqlite3safe.lock.queue.full", unit: "{write}", kind: counter,
		desc: "Writes refused at once because the write lock's queue was at its bound (_safe_max_waiters)."},
	{field: "LockHeldFor", name: "sqlite3safe.lock.held.time", unit: "s", kind: gauge,
		desc: "How long the current holder of the write lock has held it (0 when the lock is free)."},
	{field: "LockQueue", name: "sqlite3safe.lock.queue.size", unit: "{request}", kind: upDownCounter,
		desc: "Requests waiting for the write lock now."},
	{field: "LockOldestWait", name: "sqlite3safe.lock.queue.oldest_wait", unit: "s", kind: gauge,
		desc: "How long the first request waiting for the write lock has waited (0 when none waits)."},
	{field: "WALLimit", name: "sqlite3safe.wal.limit", unit: "By", kind: upDownCounter, omitZero: true,
		desc: "WAL size the checkpointer keeps the file under (_safe_wal_limit); none when no checkpointer runs."},
	{field: "WALBytes", name: "sqlite3safe.wal.size", unit: "By", kind: upDownCounter,
		desc: "Size of the -wal file at the last sample."},
	{field: "MaxWALBytes", name: "sqlite3safe.wal.size.max", unit: "By", kind: gauge,
		desc: "Largest size of the -wal file seen."},
}

// checkpointsColumn is the instrument of FileStats.Checkpoints, a map: one
// data point per mode, with the mode's name in modeKey.
var checkpointsColumn = column{
	name: "sqlite3safe.checkpoints", unit: "{checkpoint}", kind: counter,
	desc: "Completed background checkpoints, by mode.",
}

// escalationsDesc describes sqlite3safe.checkpoint.escalations.
const escalationsDesc = "Escalated checkpoints (a TRUNCATE with writers held, when the WAL reaches half its limit), by outcome: " +
	"completed; busy (older readers did not finish within the hold); no_lock (a write transaction kept the lock past the wait); " +
	"failed (an error, also in sqlite3safe.checkpoint.errors)."

// lockHeldColumn is the instrument of FileStats.LockHolder, a string: one
// data point, 1, with the holder in holderKey while the lock is held;
// none while it is free. The holders are a small fixed set of the
// driver's own words.
var lockHeldColumn = column{
	name: "sqlite3safe.lock.held", unit: "{lock}", kind: gauge,
	desc: "1 while the file's write lock is held, with what holds it in sqlite3safe.lock.holder; no data point while it is free.",
}

// The fields of FileStats that are not numbers, and how each is exported.
var fileSpecialFields = map[string]string{
	"Path":        "the sqlite3safe.file.path attribute of every instrument of the file",
	"Checkpoints": "sqlite3safe.checkpoints, one data point per sqlite3safe.checkpoint.mode",
	"LockHolder":  "sqlite3safe.lock.held, 1 with sqlite3safe.lock.holder while the lock is held",
}

// The fields of FileStats that are deliberately not exported, and why.
var fileLeftOutFields = map[string]string{
	"LockHolderSite": "a file:line of the caller's code: unbounded values, unfit for an attribute",
}

// poolColumns maps every field of database/sql's sql.DBStats to an
// instrument; the database semantic conventions' names where they have
// one. A test fails if a field of DBStats is in neither this table nor
// poolSpecialFields.
var poolColumns = []column{
	{field: "MaxOpenConnections", name: "db.client.connection.max", unit: "{connection}", kind: upDownCounter, omitZero: true,
		desc: "The maximum number of open connections allowed."},
	{field: "InUse", name: "db.client.connection.count", unit: "{connection}", kind: upDownCounter,
		attrs: []attribute.KeyValue{stateKey.String("used")},
		desc:  "The number of connections that are currently in state described by the state attribute."},
	{field: "Idle", name: "db.client.connection.count", unit: "{connection}", kind: upDownCounter,
		attrs: []attribute.KeyValue{stateKey.String("idle")},
		desc:  "The number of connections that are currently in state described by the state attribute."},
	{field: "WaitCount", name: "sqlite3safe.pool.waits", unit: "{wait}", kind: counter,
		desc: "Times a caller waited for a connection of the database/sql pool."},
	{field: "WaitDuration", name: "sqlite3safe.pool.wait.time", unit: "s", kind: counter,
		desc: "Total time callers waited for a connection of the database/sql pool."},
	{field: "MaxIdleClosed", name: "sqlite3safe.pool.closed", unit: "{connection}", kind: counter,
		attrs: []attribute.KeyValue{closeReasonKey.String("max_idle")},
		desc:  "Connections the database/sql pool closed because of its limits, by reason."},
	{field: "MaxIdleTimeClosed", name: "sqlite3safe.pool.closed", unit: "{connection}", kind: counter,
		attrs: []attribute.KeyValue{closeReasonKey.String("max_idle_time")},
		desc:  "Connections the database/sql pool closed because of its limits, by reason."},
	{field: "MaxLifetimeClosed", name: "sqlite3safe.pool.closed", unit: "{connection}", kind: counter,
		attrs: []attribute.KeyValue{closeReasonKey.String("max_lifetime")},
		desc:  "Connections the database/sql pool closed because of its limits, by reason."},
}

// The fields of DBStats that need no instrument of their own.
var poolSpecialFields = map[string]string{
	"OpenConnections": "the sum of db.client.connection.count over db.client.connection.state (InUse + Idle)",
}

var durationType = reflect.TypeFor[time.Duration]()

// A boundColumn is a column with its field found in the struct type.
type boundColumn struct {
	column
	index int // field index in the struct
}

// bind finds each column's field in t. It fails if a field is missing or
// not a number: the tables above are checked by the tests, so this is a
// programming error.
func bind(t reflect.Type, cols []column) []boundColumn {
	out := make([]boundColumn, len(cols))
	for i, c := range cols {
		f, ok := t.FieldByName(c.field)
		if !ok || len(f.Index) != 1 {
			panic(fmt.Sprintf("sqlite3-safe/otel: %v has no field %s", t, c.field))
		}
		if !isNumber(f.Type) {
			panic(fmt.Sprintf("sqlite3-safe/otel: field %v.%s is a %v, not a number", t, c.field, f.Type))
		}
		out[i] = boundColumn{column: c, index: f.Index[0]}
	}
	return out
}

// isNumber reports whether a field of type t can be exported by a column.
func isNumber(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// isFloat reports whether a field of type t is observed as a float64: a
// duration (in seconds) or a float.
func isFloat(t reflect.Type) bool {
	return t == durationType || t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64
}
