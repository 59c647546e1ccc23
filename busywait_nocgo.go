//go:build !cgo

package sqlite3safe

import "context"

// busyWait is a no-op without cgo, where go-sqlite3 opens no connection.
type busyWait struct{}

type waitState struct{}

var canWaitWithContext = false

func (*busyWait) init(sqliteConn)                       {}
func (*busyWait) enter(context.Context, bool) waitState { return waitState{} }
func (*busyWait) leave(waitState)                       {}
func (*busyWait) lend()                                 {}
func (*busyWait) close()                                {}

func mentionsBusyTimeout(string) bool { return false }

func newBusyWait(sqliteConn) *busyWait { return &busyWait{} }
