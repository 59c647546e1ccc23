package prometheus

import (
	"fmt"
	"reflect"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
)

// namespace prefixes every metric name.
const namespace = "sqlite3safe"

// A column exports one numeric field of a statistics struct as one metric
// (or as one series of a metric that several columns share, told apart by
// a label).
// Its value is read by reflection from the named field, so a row cannot
// read the wrong field; a time.Duration is exported in seconds, and its
// metric name says so.
type column struct {
	field string         // name of the struct field
	name  string         // metric name, without the namespace
	help  string         // HELP text
	kind  prom.ValueType // prom.CounterValue or prom.GaugeValue
	// label is a label name and this field's value of it, for rows that
	// share one metric (same name, help and kind; distinct values); nil
	// for a metric of one row.
	label []string
}

// fileColumns maps every numeric field of [sqlite3safe.FileStats] to a
// metric. A field that is not a number is exported by hand: see
// fileSpecialFields. A test fails if a field of FileStats is in neither.
var fileColumns = []column{
	{"LockAcquisitions", "lock_acquisitions_total",
		"Grants of the file's write lock (and, in non-WAL mode, of its shared side).", prom.CounterValue, nil},
	{"LockWaits", "lock_waits_total",
		"Write-lock acquisitions and failures that had to queue.", prom.CounterValue, nil},
	{"LockWaitTotal", "lock_wait_seconds_total",
		"Total time spent queueing for the write lock.", prom.CounterValue, nil},
	{"LockWaitMax", "lock_wait_max_seconds",
		"Longest single wait for the write lock.", prom.GaugeValue, nil},
	{"LockTimeouts", "lock_timeouts_total",
		"Waits for the write lock that ended in a lock timeout.", prom.CounterValue, nil},
	{"LockQueueFull", "lock_queue_full_total",
		"Writes refused at once because the write lock's queue was at its bound (_safe_max_waiters).", prom.CounterValue, nil},
	{"LockHeldFor", "lock_held_seconds",
		"How long the current holder of the write lock has held it (0 when the lock is free).", prom.GaugeValue, nil},
	{"LockQueue", "lock_queue_length",
		"Requests waiting for the write lock now.", prom.GaugeValue, nil},
	{"LockOldestWait", "lock_oldest_wait_seconds",
		"How long the first request waiting for the write lock has waited (0 when none waits).", prom.GaugeValue, nil},
	{"CheckpointsBusy", "checkpoints_busy_total",
		"Checkpoints that could not finish because readers or writers were in the way (retried later).", prom.CounterValue, nil},
	{"FramesCheckpointed", "checkpoint_frames_total",
		"WAL frames copied into the database by checkpoints.", prom.CounterValue, nil},
	{"CheckpointErrors", "checkpoint_errors_total",
		"Checkpoints that failed with an error (logged, never fatal).", prom.CounterValue, nil},
	{"Escalations", "checkpoint_escalations_total", escalationsHelp, prom.CounterValue, []string{"outcome", "completed"}},
	{"EscalationsBusy", "checkpoint_escalations_total", escalationsHelp, prom.CounterValue, []string{"outcome", "busy"}},
	{"EscalationsNoLock", "checkpoint_escalations_total", escalationsHelp, prom.CounterValue, []string{"outcome", "no_lock"}},
	{"EscalationsFailed", "checkpoint_escalations_total", escalationsHelp, prom.CounterValue, []string{"outcome", "failed"}},
	{"LockHandOvers", "lock_hand_overs_total",
		"Transactions that had only read and gave the write lock to a write of their own goroutine through the pool.", prom.CounterValue, nil},
	{"Brakes", "wal_brakes_total",
		"Times a writer found the WAL at three quarters of its limit and held writers back for the checkpointer.", prom.CounterValue, nil},
	{"CheckpointWaits", "checkpoint_waits_total",
		"Write-lock waits that met a checkpoint (its hold of the lock, or the brake); never counted against the lock timeout.", prom.CounterValue, nil},
	{"CheckpointWaitMax", "checkpoint_wait_max_seconds",
		"Longest time one write-lock wait spent on checkpoints.", prom.GaugeValue, nil},
	{"WALPinned", "wal_pinned_seconds",
		"How long the oldest open read has kept the WAL from being checkpointed, when an escalation could not finish because of it (0 when nothing pins the WAL).", prom.GaugeValue, nil},
	{"WALPinnedMax", "wal_pinned_max_seconds",
		"Longest time a read has pinned the WAL.", prom.GaugeValue, nil},
	{"WALPins", "wal_pins_total",
		"Times reads began to pin the WAL.", prom.CounterValue, nil},
	{"WALLimit", "wal_limit_bytes",
		"WAL size the checkpointer keeps the file under (_safe_wal_limit); 0 when no checkpointer runs.", prom.GaugeValue, nil},
	{"WALBytes", "wal_bytes",
		"Size of the -wal file at the last sample.", prom.GaugeValue, nil},
	{"MaxWALBytes", "wal_max_bytes",
		"Largest size of the -wal file seen.", prom.GaugeValue, nil},
}

// escalationsHelp is the HELP text of checkpoint_escalations_total.
const escalationsHelp = "Escalated checkpoints (a TRUNCATE with writers held, when the WAL reaches half its limit), by outcome: " +
	"completed; busy (older readers did not finish within the hold); no_lock (a write transaction kept the lock past the wait); " +
	"failed (an error, also in checkpoint_errors_total)."

// The fields of FileStats that are not numbers, and the metric each is
// exported as:
//   - Path: the path label of sqlite3safe_file_info (always 1);
//   - Checkpoints: sqlite3safe_checkpoints_total, one series per mode label;
//   - LockHolder: sqlite3safe_lock_held{holder} 1 while the lock is held,
//     no series while it is free (the holders are a small fixed set of
//     the driver's own words).
var fileSpecialFields = map[string]string{
	"Path":        "file_info",
	"Checkpoints": "checkpoints_total",
	"LockHolder":  "lock_held",
}

// The fields of FileStats that are deliberately not exported, and why.
var fileLeftOutFields = map[string]string{
	"LockHolderSite": "a file:line of the caller's code: unbounded values, unfit for a label",
}

// poolColumns maps every field of database/sql's [sql.DBStats] to a
// metric. A test fails if a field of DBStats is missing.
var poolColumns = []column{
	{"MaxOpenConnections", "db_max_open_connections",
		"Maximum number of open connections of the database/sql pool (0: unlimited).", prom.GaugeValue, nil},
	{"OpenConnections", "db_open_connections",
		"Connections of the database/sql pool, in use or idle.", prom.GaugeValue, nil},
	{"InUse", "db_in_use_connections",
		"Connections of the database/sql pool in use.", prom.GaugeValue, nil},
	{"Idle", "db_idle_connections",
		"Idle connections of the database/sql pool.", prom.GaugeValue, nil},
	{"WaitCount", "db_wait_count_total",
		"Times a caller waited for a connection of the database/sql pool.", prom.CounterValue, nil},
	{"WaitDuration", "db_wait_duration_seconds_total",
		"Total time callers waited for a connection of the database/sql pool.", prom.CounterValue, nil},
	{"MaxIdleClosed", "db_max_idle_closed_total",
		"Connections closed because of the pool's maximum of idle connections.", prom.CounterValue, nil},
	{"MaxIdleTimeClosed", "db_max_idle_time_closed_total",
		"Connections closed because of the pool's maximum idle time.", prom.CounterValue, nil},
	{"MaxLifetimeClosed", "db_max_lifetime_closed_total",
		"Connections closed because of the pool's maximum connection lifetime.", prom.CounterValue, nil},
}

var durationType = reflect.TypeFor[time.Duration]()

// A boundColumn is a column with its field found in the struct type and
// its descriptor made for one collector.
type boundColumn struct {
	column
	index int        // field index in the struct
	desc  *prom.Desc // shared by the columns of one metric
}

// bind finds each column's field in t and makes the descriptor of each
// metric (one for the columns that share it) with the given constant
// labels. It fails if a field is missing or not a number: the tables
// above are checked by the tests, so this is a programming error.
func bind(t reflect.Type, cols []column, labels prom.Labels) []boundColumn {
	out := make([]boundColumn, len(cols))
	descs := map[string]*prom.Desc{}
	for i, c := range cols {
		f, ok := t.FieldByName(c.field)
		if !ok || len(f.Index) != 1 {
			panic(fmt.Sprintf("sqlite3-safe/prometheus: %v has no field %s", t, c.field))
		}
		if !isNumber(f.Type) {
			panic(fmt.Sprintf("sqlite3-safe/prometheus: field %v.%s is a %v, not a number", t, c.field, f.Type))
		}
		d, ok := descs[c.name]
		if !ok {
			var variable []string
			if c.label != nil {
				variable = []string{c.label[0]}
			}
			d = prom.NewDesc(namespace+"_"+c.name, c.help, variable, labels)
			descs[c.name] = d
		}
		out[i] = boundColumn{column: c, index: f.Index[0], desc: d}
	}
	return out
}

// labelValues are the values of the column's variable labels.
func (c *column) labelValues() []string {
	if c.label == nil {
		return nil
	}
	return c.label[1:]
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

// value reads the column's field from v (a struct value); a
// time.Duration is converted to seconds.
func (c *boundColumn) value(v reflect.Value) float64 {
	f := v.Field(c.index)
	switch {
	case f.Type() == durationType:
		return time.Duration(f.Int()).Seconds()
	case f.CanInt():
		return float64(f.Int())
	case f.CanUint():
		return float64(f.Uint())
	default:
		return f.Float()
	}
}
