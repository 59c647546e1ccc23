//go:build cgo

package sqlite3safe

/*
#include "busywait.h"
*/
import "C"

import (
	"context"
	"reflect"
	"runtime/cgo"
	"strings"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// busyWait makes a connection's waits for another process's lock end
// with the statement's context. SQLite's busy handler sleeps without
// looking at the context, so each connection has a handler of its own
// instead (busywait.c): SQLite's retries over the connection's busy
// timeout, measured on a clock, asking Go between steps of a millisecond
// whether the running statement's context has ended, if it can end.
// Arming a statement is setting two fields: the handler calls into Go only
// while an armed statement waits.
//
// SQLite keeps a busy timeout only with its own handler: PRAGMA
// busy_timeout would read 0 and, when it sets one, put SQLite's handler
// back. So a statement that names busy_timeout runs, and is compiled, with
// SQLite's handler and the timeout it had (exposed), and the connection
// reads the timeout again and takes its handler back afterwards. A
// connection lent out through Unwrap has SQLite's handler until its next
// statement through database/sql. PRAGMA busy_timeout so reads and sets
// what it does in go-sqlite3.
//
// A busyWait belongs to its conn and, like it, is used by one goroutine at
// a time. During a statement go-sqlite3 may step it on a goroutine of its
// own, which it starts after enter and waits for before leave: the handler
// reads what enter wrote, and nothing writes it meanwhile.
type busyWait struct {
	w      *C.safe_wait        // C memory, freed by close; nil: SQLite's own handler
	handle cgo.Handle          // how the handler finds this busyWait; deleted by close
	conn   *sqlite3.SQLiteConn // whose authorizer is set aside while the busy timeout is read; immutable
	ctx    context.Context     // the armed statement's context; nil when none is armed
	lent   bool                // exposed by Unwrap: take the handler back at the next statement
}

// waitState is what enter did, for leave to undo.
type waitState struct{ armed, exposed bool }

// connHandleField is go-sqlite3's SQLiteConn's unexported handle
// (*C.sqlite3), read by reflection; without it waits are SQLite's alone
// (a test requires it to be there).
var connHandleField, connHandleOK = reflect.TypeFor[sqlite3.SQLiteConn]().FieldByName("db")

// canWaitWithContext says busyWait can make waits end with the context.
var canWaitWithContext = connHandleOK && len(connHandleField.Index) == 1 && connHandleField.Type.Kind() == reflect.Pointer

// sqliteHandle is conn's sqlite3 handle, or nil when it cannot be read
// (canWaitWithContext false) or the connection is closed.
func sqliteHandle(conn *sqlite3.SQLiteConn) unsafe.Pointer {
	if !canWaitWithContext {
		return nil
	}
	return reflect.ValueOf(conn).Elem().Field(connHandleField.Index[0]).UnsafePointer()
}

// newBusyWait gives sc the handler. If anything fails, sc keeps SQLite's
// handler, and the busyWait does nothing.
func newBusyWait(sc sqliteConn) *busyWait {
	b := &busyWait{}
	conn, ok := sc.(*sqlite3.SQLiteConn)
	if !ok || !canWaitWithContext {
		return b
	}
	db := sqliteHandle(conn)
	if db == nil {
		return b
	}
	b.conn = conn
	b.handle = cgo.NewHandle(b)
	b.w = C.safe_wait_new(db, C.uintptr_t(b.handle))
	if b.w == nil {
		b.handle.Delete()
		return b
	}
	if C.safe_wait_install(b.w, b.authorizer()) != 0 {
		b.close()
	}
	return b
}

// enter prepares the connection for one statement, query, run under ctx:
// if it names busy_timeout (names), SQLite's handler; otherwise, if ctx
// can end, the handler asks about ctx while the statement waits. The
// caller calls leave with the result once the statement has its first
// result.
func (b *busyWait) enter(ctx context.Context, names bool) waitState {
	if b.w == nil {
		return waitState{}
	}
	if b.lent {
		b.lent = false
		if C.safe_wait_install(b.w, b.authorizer()) != 0 {
			b.close()
			return waitState{}
		}
	}
	if names {
		C.safe_wait_expose(b.w, b.authorizer())
		return waitState{exposed: true}
	}
	if ctx.Done() == nil {
		return waitState{}
	}
	b.ctx, b.w.armed = ctx, 1
	return waitState{armed: true}
}

// leave undoes what enter did.
func (b *busyWait) leave(st waitState) {
	if st.armed {
		b.ctx, b.w.armed = nil, 0
	}
	if st.exposed && C.safe_wait_install(b.w, b.authorizer()) != 0 {
		b.close()
	}
}

// lend gives the connection SQLite's handler while it is used through
// go-sqlite3's own API; the next statement through database/sql takes the
// handler back, with whatever busy timeout was set meanwhile.
func (b *busyWait) lend() {
	if b.w != nil && !b.lent {
		C.safe_wait_expose(b.w, b.authorizer())
		b.lent = true
	}
}

// close frees the state: the connection is about to close, or has
// SQLite's handler for good.
func (b *busyWait) close() {
	if b.w != nil {
		C.safe_wait_free(b.w, b.authorizer())
		b.handle.Delete()
		b.w = nil
	}
}

// authorizer is go-sqlite3's handle for the application's authorizer on
// the connection, which busywait.c sets aside while it reads the busy
// timeout (own.go), or nil.
func (b *busyWait) authorizer() unsafe.Pointer {
	if b.conn == nil {
		return nil
	}
	return authorizerHandle(b.conn)
}

// mentionsBusyTimeout reports whether query holds "busy_timeout" in any
// case: the only way SQL reads or sets the busy timeout.
func mentionsBusyTimeout(query string) bool {
	const word = "busy_timeout"
	for i := 0; ; {
		j := strings.IndexByte(query[i:], '_')
		if j < 0 {
			return false
		}
		i += j
		if i >= 4 && i+8 <= len(query) && strings.EqualFold(query[i-4:i+8], word) {
			return true
		}
		i++
	}
}

// sqlite3safeContextEnded is what the handler asks between its steps.
//
//export sqlite3safeContextEnded
func sqlite3safeContextEnded(h C.uintptr_t) C.int {
	b := cgo.Handle(h).Value().(*busyWait)
	if b.ctx != nil && b.ctx.Err() != nil {
		return 1
	}
	return 0
}
