//go:build cgo

package sqlite3safe

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// errBusy is the go-sqlite3 error a lock timeout also is.
func errBusy() error {
	return sqlite3.Error{Code: sqlite3.ErrBusy, ExtendedCode: sqlite3.ErrNoExtended(sqlite3.ErrBusy)}
}

// errReadonly is the go-sqlite3 error a write refused on a replica also is.
func errReadonly() error {
	return sqlite3.Error{Code: sqlite3.ErrReadonly, ExtendedCode: sqlite3.ErrNoExtended(sqlite3.ErrReadonly)}
}

// errBusySnapshot is go-sqlite3's SQLITE_BUSY_SNAPSHOT.
func errBusySnapshot() error {
	return sqlite3.Error{Code: sqlite3.ErrBusy, ExtendedCode: sqlite3.ErrBusySnapshot}
}

// isBusy reports SQLite's SQLITE_BUSY (with any extended code).
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrBusy
}
