//go:build !cgo

package sqlite3safe

import "unsafe"

// Without cgo no statement is ever prepared (go-sqlite3's stub refuses to
// open); these keep the package compiling.

func stmtHandle(any) unsafe.Pointer { return nil }

func stmtBusy(unsafe.Pointer) bool { return false }

func stmtReadonly(unsafe.Pointer) bool { return false }

func stmtHasColumns(unsafe.Pointer) bool { return false }

func (c *conn) txnState() int { return txnNone }
