package sqlite3safe

import (
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
)

// lockedRows are the rows of a query that holds a lock: a write (INSERT …
// RETURNING, a CTE that writes) holds the exclusive side, a read in non-WAL
// mode the shared side. The lock goes back at EOF or Close, whichever comes
// first (SPEC §3.6): Next and Close see to it, whoever calls them. sqlmw
// asks the optional column-type methods of lockedRows itself, so it
// forwards every one go-sqlite3's rows have.
type lockedRows struct {
	driver.Rows
	c    *conn
	took bool // the query took a hold of its own
	done bool // the connection's state is settled
}

var (
	_ driver.RowsColumnTypeDatabaseTypeName = (*lockedRows)(nil)
	_ driver.RowsColumnTypeLength           = (*lockedRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*lockedRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*lockedRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*lockedRows)(nil)
)

// Next gives the lock back when the rows reach EOF.
func (r *lockedRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if errors.Is(err, io.EOF) {
		r.finish()
	}
	return err
}

// Close gives the lock back if the rows still hold it.
func (r *lockedRows) Close() error {
	err := r.Rows.Close()
	r.finish()
	return err
}

func (r *lockedRows) finish() {
	if !r.done {
		r.done = true
		r.c.settle(r.took)
	}
}

// Unwrap returns go-sqlite3's rows (sqlmw.RowsUnwrapper).
func (r *lockedRows) Unwrap() driver.Rows { return r.Rows }

// ColumnTypeDatabaseTypeName forwards to go-sqlite3.
func (r *lockedRows) ColumnTypeDatabaseTypeName(index int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

// ColumnTypeLength forwards to go-sqlite3.
func (r *lockedRows) ColumnTypeLength(index int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(index)
	}
	return 0, false
}

// ColumnTypeNullable forwards to go-sqlite3.
func (r *lockedRows) ColumnTypeNullable(index int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(index)
	}
	return false, false
}

// ColumnTypePrecisionScale forwards to go-sqlite3.
func (r *lockedRows) ColumnTypePrecisionScale(index int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

// ColumnTypeScanType forwards to go-sqlite3.
func (r *lockedRows) ColumnTypeScanType(index int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}
