package prometheus

import (
	"fmt"
	"reflect"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
)

// namespace prefixes every metric name.
const namespace = "sqlite3safe"

// A column exports one numeric field of a statistics struct as one metric.
// Its value is read by reflection from the named field, so a row cannot
// read the wrong field; a time.Duration is exported in seconds, and its
// metric name says so.
type column struct {
	field string         // name of the struct field
	name  string         // metric name, without the namespace
	help  string         // HELP text
	kind  prom.ValueType // prom.CounterValue or prom.GaugeValue
}

// fileColumns maps every numeric field of [sqlite3safe.FileStats] to a
// metric. A field that is not a number is exported by hand: see
// fileSpecialFields. A test fails if a field of FileStats is in neither.
var fileColumns = []column{
	{"LockAcquisitions", "lock_acquisitions_total",
		"Grants of the file's write lock (and, in non-WAL mode, of its shared side).", prom.CounterValue},
	{"LockWaits", "lock_waits_total",
		"Write-lock acquisitions and failures that had to queue.", prom.CounterValue},
	{"LockWaitTotal", "lock_wait_seconds_total",
		"Total time spent queueing for the write lock.", prom.CounterValue},
	{"LockWaitMax", "lock_wait_max_seconds",
		"Longest single wait for the write lock.", prom.GaugeValue},
	{"LockTimeouts", "lock_timeouts_total",
		"Waits for the write lock that ended in a lock timeout.", prom.CounterValue},
	{"CheckpointsBusy", "checkpoints_busy_total",
		"Checkpoints that could not finish because readers or writers were in the way (retried later).", prom.CounterValue},
	{"FramesCheckpointed", "checkpoint_frames_total",
		"WAL frames copied into the database by checkpoints.", prom.CounterValue},
	{"CheckpointErrors", "checkpoint_errors_total",
		"Checkpoints that failed with an error (logged, never fatal).", prom.CounterValue},
	{"Escalations", "checkpoint_escalations_total",
		"Checkpoints that held new readers back to let the WAL be reset.", prom.CounterValue},
	{"Brakes", "wal_brakes_total",
		"Times writers were held back because the WAL reached its limit before the checkpointer acted.", prom.CounterValue},
	{"ReaderHoldBacks", "reader_holdbacks_total",
		"Reads that waited for a checkpoint escalation.", prom.CounterValue},
	{"ReaderHoldBackMax", "reader_holdback_max_seconds",
		"Longest single wait of a read held back by a checkpoint escalation.", prom.GaugeValue},
	{"WALBytes", "wal_bytes",
		"Size of the -wal file at the last sample.", prom.GaugeValue},
	{"MaxWALBytes", "wal_max_bytes",
		"Largest size of the -wal file seen.", prom.GaugeValue},
}

// The fields of FileStats that are not numbers, and the metric each is
// exported as:
//   - Path: the path label of sqlite3safe_file_info (always 1);
//   - Checkpoints: sqlite3safe_checkpoints_total, one series per mode label.
var fileSpecialFields = map[string]string{
	"Path":        "file_info",
	"Checkpoints": "checkpoints_total",
}

// poolColumns maps every field of database/sql's [sql.DBStats] to a
// metric. A test fails if a field of DBStats is missing.
var poolColumns = []column{
	{"MaxOpenConnections", "db_max_open_connections",
		"Maximum number of open connections of the database/sql pool (0: unlimited).", prom.GaugeValue},
	{"OpenConnections", "db_open_connections",
		"Connections of the database/sql pool, in use or idle.", prom.GaugeValue},
	{"InUse", "db_in_use_connections",
		"Connections of the database/sql pool in use.", prom.GaugeValue},
	{"Idle", "db_idle_connections",
		"Idle connections of the database/sql pool.", prom.GaugeValue},
	{"WaitCount", "db_wait_count_total",
		"Times a caller waited for a connection of the database/sql pool.", prom.CounterValue},
	{"WaitDuration", "db_wait_duration_seconds_total",
		"Total time callers waited for a connection of the database/sql pool.", prom.CounterValue},
	{"MaxIdleClosed", "db_max_idle_closed_total",
		"Connections closed because of the pool's maximum of idle connections.", prom.CounterValue},
	{"MaxIdleTimeClosed", "db_max_idle_time_closed_total",
		"Connections closed because of the pool's maximum idle time.", prom.CounterValue},
	{"MaxLifetimeClosed", "db_max_lifetime_closed_total",
		"Connections closed because of the pool's maximum connection lifetime.", prom.CounterValue},
}

var durationType = reflect.TypeFor[time.Duration]()

// A boundColumn is a column with its field found in the struct type and
// its descriptor made for one collector.
type boundColumn struct {
	column
	index int // field index in the struct
	desc  *prom.Desc
}

// bind finds each column's field in t and makes its descriptor with the
// given constant labels. It fails if a field is missing or not a number:
// the tables above are checked by the tests, so this is a programming
// error.
func bind(t reflect.Type, cols []column, labels prom.Labels) []boundColumn {
	out := make([]boundColumn, len(cols))
	for i, c := range cols {
		f, ok := t.FieldByName(c.field)
		if !ok || len(f.Index) != 1 {
			panic(fmt.Sprintf("sqlite3-safe/prometheus: %v has no field %s", t, c.field))
		}
		if !isNumber(f.Type) {
			panic(fmt.Sprintf("sqlite3-safe/prometheus: field %v.%s is a %v, not a number", t, c.field, f.Type))
		}
		out[i] = boundColumn{
			column: c,
			index:  f.Index[0],
			desc:   prom.NewDesc(namespace+"_"+c.name, c.help, nil, labels),
		}
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
