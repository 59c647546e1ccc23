//go:build !cgo

package sqlite3safe

import "errors"

// errBusy: without cgo go-sqlite3 has no error type (and opens no
// connection, so no lock is ever waited for).
func errBusy() error { return errors.New("database is locked") }

// errReadonly: see errBusy.
func errReadonly() error { return errors.New("attempt to write a readonly database") }

// errBusySnapshot: see errBusy.
func errBusySnapshot() error { return errors.New("database is locked") }

// isBusy: without cgo no statement runs.
func isBusy(error) bool { return false }
