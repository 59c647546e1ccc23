package main

// The floor: the overhead workload's loops written in C against the SQLite
// that go-sqlite3 compiles in (floor_cgo.go). It is what a statement costs
// with no Go, no database/sql and no driver in the way, and it runs as one
// more configuration of the overhead workload, floorConfig, taking its
// turns with the others. Without cgo there is no floor.

// floorConfig is the floor's configuration label.
const floorConfig = "c-floor"

// floorOp is a kind of statement the floor's loop runs.
type floorOp int

const (
	floorSelect floorOp = iota // SELECT v FROM kv WHERE k = ?, the key from the phase's counter
	floorInsert                // INSERT INTO kv(v) VALUES ('value')
)

// floorRound is what one call of the C loop did.
type floorRound struct {
	ns     int64 // the loop's wall time, timed in C
	ok     int64 // statements that succeeded
	failed int64
	bytes  int64 // bytes of the values the SELECTs read
	err    error // the first failure of the floor's life, if any
}
