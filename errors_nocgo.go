//go:build !cgo

package sqlite3safe

import "errors"

// errBusy: without cgo go-sqlite3 has no error type (and opens no
// connection, so no lock is ever waited for).
func errBusy() error { return errors.New("database is locked") }

// errBusySnapshot: see errBusy.
func errBusySnapshot() error { return errors.New("database is locked") }

// isBusy: without cgo no statement runs.
func isBusy(error) bool { return false }
