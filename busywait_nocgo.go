//go:build !cgo

package sqlite3safe

import "context"

// busyWait is a no-op without cgo, where go-sqlite3 opens no connection.
type busyWait struct{}

var canWaitWithContext = false

func (*busyWait) init(sqliteConn)          {}
func (*busyWait) arm(context.Context) bool { return false }
func (*busyWait) disarm(bool)              {}
func (*busyWait) expose(string) bool       { return false }
func (*busyWait) reinstall(bool)           {}
func (*busyWait) close()                   {}

func mentionsBusyTimeout(string) bool { return false }
