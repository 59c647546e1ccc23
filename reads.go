package sqlite3safe

import (
	"database/sql/driver"
	"reflect"
	"sync"
	"time"
)

// Open reads are tracked so the checkpointer can tell a WAL that readers
// pin (an escalation could not finish) from one that is merely busy, say
// for how long, and name the statement. A read is open from the query
// that starts it until its rows are closed (or reach EOF); a read-only
// transaction from BeginTx until it ends. Only files with a checkpointer
// track reads.
//
// Cost on the read path: an uncontended mutex per query, twice, no clock
// read (a read's start is the file's clock, which the checkpointer sets
// around every tick's work: see conn.readBegan), and no allocation: the
// rows wrappers are reused per connection.

// readTracker is the set of a file's connections, for finding the oldest
// open read. The checkpointer scans it only when it needs to know.
type readTracker struct {
	mu    sync.Mutex         // guards conns
	conns map[*conn]struct{} // connections of the file that track reads
}

func (r *readTracker) add(c *conn) {
	r.mu.Lock()
	if r.conns == nil {
		r.conns = make(map[*conn]struct{})
	}
	r.conns[c] = struct{}{}
	r.mu.Unlock()
}

func (r *readTracker) remove(c *conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// openRead is the oldest read open on the file.
type openRead struct {
	since time.Time
	query string
	site  string // where it began, with debug on; else ""
}

// oldest returns the oldest open read, if any.
func (r *readTracker) oldest() (openRead, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best openRead
	found := false
	for c := range r.conns {
		if m, ok := c.read.get(); ok && (!found || m.since.Before(best.since)) {
			best, found = m, true
		}
	}
	return best, found
}

// readMark is what a connection publishes while it has a read open: when
// the oldest of its open reads began, and which statement it was. Its
// connection writes it; the checkpointer reads it.
type readMark struct {
	mu   sync.Mutex // guards open
	open openRead   // since.IsZero(): no read open
}

func (m *readMark) get() (openRead, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.open, !m.open.since.IsZero()
}

func (m *readMark) set(r openRead) {
	m.mu.Lock()
	m.open = r
	m.mu.Unlock()
}

// trackedRows are the rows of a read on a file with a checkpointer: they
// end the read at EOF or Close. Reused per connection (conn.freeRows):
// database/sql calls nothing on driver rows after Close.
type trackedRows struct {
	driver.Rows
	c    *conn
	done bool
}

var (
	_ driver.RowsColumnTypeDatabaseTypeName = (*trackedRows)(nil)
	_ driver.RowsColumnTypeLength           = (*trackedRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*trackedRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*trackedRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*trackedRows)(nil)
)

// Next ends the read at EOF.
func (r *trackedRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err != nil && !r.done {
		// EOF or an error: SQLite has reset the statement, the read is over.
		r.done = true
		r.c.readEnded()
	}
	return err
}

// Close ends the read if it is still open and puts the wrapper back for
// reuse.
func (r *trackedRows) Close() error {
	err := r.Rows.Close()
	if !r.done {
		r.done = true
		r.c.readEnded()
	}
	r.Rows = nil
	if len(r.c.freeRows) < maxFreeRows {
		r.c.freeRows = append(r.c.freeRows, r)
	}
	return err
}

// maxFreeRows bounds the wrappers a connection keeps for reuse.
const maxFreeRows = 4

// Unwrap returns go-sqlite3's rows (sqlmw.RowsUnwrapper).
func (r *trackedRows) Unwrap() driver.Rows { return r.Rows }

// ColumnTypeDatabaseTypeName forwards to go-sqlite3.
func (r *trackedRows) ColumnTypeDatabaseTypeName(index int) string {
	return columnTypeDatabaseTypeName(r.Rows, index)
}

// ColumnTypeLength forwards to go-sqlite3.
func (r *trackedRows) ColumnTypeLength(index int) (int64, bool) {
	return columnTypeLength(r.Rows, index)
}

// ColumnTypeNullable forwards to go-sqlite3.
func (r *trackedRows) ColumnTypeNullable(index int) (bool, bool) {
	return columnTypeNullable(r.Rows, index)
}

// ColumnTypePrecisionScale forwards to go-sqlite3.
func (r *trackedRows) ColumnTypePrecisionScale(index int) (int64, int64, bool) {
	return columnTypePrecisionScale(r.Rows, index)
}

// ColumnTypeScanType forwards to go-sqlite3.
func (r *trackedRows) ColumnTypeScanType(index int) reflect.Type {
	return columnTypeScanType(r.Rows, index)
}
