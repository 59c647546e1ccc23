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
// first: Next and Close see to it, whoever calls them. sqlmw
// asks the optional column-type methods of lockedRows itself, so it
// forwards every one go-sqlite3's rows have.
type lockedRows struct {
	driver.Rows
	c       *conn
	claimed bool // the query made a lock claim of its own (conn.claim)
	done    bool // the connection's state is settled
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
		r.c.settle(r.claimed)
	}
}

// Unwrap returns go-sqlite3's rows (sqlmw.RowsUnwrapper).
func (r *lockedRows) Unwrap() driver.Rows { return r.Rows }

// ColumnTypeDatabaseTypeName forwards to go-sqlite3.
func (r *lockedRows) ColumnTypeDatabaseTypeName(index int) string {
	return columnTypeDatabaseTypeName(r.Rows, index)
}

// ColumnTypeLength forwards to go-sqlite3.
func (r *lockedRows) ColumnTypeLength(index int) (int64, bool) {
	return columnTypeLength(r.Rows, index)
}

// ColumnTypeNullable forwards to go-sqlite3.
func (r *lockedRows) ColumnTypeNullable(index int) (bool, bool) {
	return columnTypeNullable(r.Rows, index)
}

// ColumnTypePrecisionScale forwards to go-sqlite3.
func (r *lockedRows) ColumnTypePrecisionScale(index int) (int64, int64, bool) {
	return columnTypePrecisionScale(r.Rows, index)
}

// ColumnTypeScanType forwards to go-sqlite3.
func (r *lockedRows) ColumnTypeScanType(index int) reflect.Type {
	return columnTypeScanType(r.Rows, index)
}

// The column-type methods of go-sqlite3's rows, for the wrappers of this
// package: sqlmw and database/sql ask the wrapper for them, so every
// wrapper forwards every one.

func columnTypeDatabaseTypeName(rows driver.Rows, index int) string {
	if t, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

func columnTypeLength(rows driver.Rows, index int) (int64, bool) {
	if t, ok := rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(index)
	}
	return 0, false
}

func columnTypeNullable(rows driver.Rows, index int) (bool, bool) {
	if t, ok := rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(index)
	}
	return false, false
}

func columnTypePrecisionScale(rows driver.Rows, index int) (int64, int64, bool) {
	if t, ok := rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

func columnTypeScanType(rows driver.Rows, index int) reflect.Type {
	if t, ok := rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}
