package sqlite3safe

import (
	"database/sql/driver"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Open reads are tracked so the checkpointer can tell a WAL that readers
// pin (an escalation could not finish) from one that is merely busy, say
// for how long, and name the statement. A read is open from the query
// that starts it until its rows are closed (or reach EOF); a read-only
// transaction from BeginTx until it ends. Every connection of a WAL file
// tracks its reads, whatever its pool's settings: the file's checkpointer
// may be another pool's, or start later.
//
// Cost on the read path: an atomic store when a read begins and one when
// it ends (see readMark), no clock read (a read's start is the file's
// clock, which the checkpointer sets around every tick's work: see
// conn.readBegan), and no allocation: the rows wrappers are reused per
// connection.

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
//
// The read path pays one atomic store to begin a read and one to end it:
// the statement is written (under mu) only when it differs from the last
// one published, which a prepared statement run in a loop never does. A
// reader may thus pair a read's start with the statement of a read that
// began just after it; the pair only names a pin in a log, and a pin is
// a read open for seconds, long past such a race.
type readMark struct {
	since atomic.Int64 // unix nanoseconds when the open read began; 0: none open

	mu    sync.Mutex // guards query and site; the owning connection reads them without it
	query string     // the statement of the last read begun
	site  string     // where it began, with debug on; else ""
}

// begin publishes a read that began at since (unix nanoseconds, not 0).
// Only the owning connection calls it.
func (m *readMark) begin(since int64, query, site string) {
	if query != m.query || site != m.site { // the owner's own writes: no lock to read them
		m.mu.Lock()
		m.query, m.site = query, site
		m.mu.Unlock()
	}
	m.since.Store(since)
}

// end publishes that no read is open.
func (m *readMark) end() { m.since.Store(0) }

func (m *readMark) get() (openRead, bool) {
	since := m.since.Load()
	if since == 0 {
		return openRead{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return openRead{since: time.Unix(0, since), query: m.query, site: m.site}, true
}

// trackedRows are the rows of a read on a WAL file: they
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
