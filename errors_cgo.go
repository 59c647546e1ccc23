//go:build cgo

package sqlite3safe

import "github.com/mattn/go-sqlite3"

// errBusy is the go-sqlite3 error a lock timeout also is.
func errBusy() error {
	return sqlite3.Error{Code: sqlite3.ErrBusy, ExtendedCode: sqlite3.ErrNoExtended(sqlite3.ErrBusy)}
}
