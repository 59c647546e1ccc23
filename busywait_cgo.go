//go:build cgo

package sqlite3safe

/*
#include <stdint.h>
typedef struct safe_wait safe_wait;
safe_wait *safe_wait_new(void *db, uintptr_t handle);
int safe_wait_arm(safe_wait *w);
void safe_wait_disarm(safe_wait *w);
void safe_wait_free(safe_wait *w);
*/
import "C"

import (
	"context"
	"reflect"
	"runtime/cgo"

	"github.com/mattn/go-sqlite3"
)

// busyWait makes a connection's waits for another process's lock end
// with the statement's context. SQLite's busy handler sleeps without
// looking at the context; while a statement that may wait for SQLite's
// write lock runs under a context that can end, the connection has a
// handler of its own instead (busywait.c): the same retries over the same
// busy timeout, in steps of a millisecond, asking between steps whether
// the context has ended. Once the statement has its first result the
// connection has SQLite's handler back, with the busy timeout it had, so
// outside such statements (PRAGMA busy_timeout included) the connection
// is go-sqlite3's.
//
// A busyWait belongs to its conn and, like it, is used by one goroutine at
// a time: the handler runs, and asks about ctx, inside that goroutine's
// call into SQLite. Arming allocates nothing.
type busyWait struct {
	w      *C.safe_wait    // C memory, freed by close; nil: not available
	handle cgo.Handle      // how the handler finds this busyWait; deleted by close
	ctx    context.Context // the armed statement's context; nil when not armed
}

// connHandleField is go-sqlite3's SQLiteConn's unexported handle
// (*C.sqlite3), read by reflection; without it waits are SQLite's alone
// (a test requires it to be there).
var connHandleField, connHandleOK = reflect.TypeFor[sqlite3.SQLiteConn]().FieldByName("db")

// canWaitWithContext says busyWait can make waits end with the context.
var canWaitWithContext = connHandleOK && len(connHandleField.Index) == 1 && connHandleField.Type.Kind() == reflect.Pointer

// init prepares the handler state for sc. b must not move afterwards
// (it is a field of a conn, which never does).
func (b *busyWait) init(sc sqliteConn) {
	conn, ok := sc.(*sqlite3.SQLiteConn)
	if !ok || !canWaitWithContext {
		return
	}
	db := reflect.ValueOf(conn).Elem().Field(connHandleField.Index[0]).UnsafePointer()
	if db == nil {
		return
	}
	b.handle = cgo.NewHandle(b)
	b.w = C.safe_wait_new(db, C.uintptr_t(b.handle))
	if b.w == nil {
		b.handle.Delete()
	}
}

// arm puts the handler in place for one statement run under ctx and
// reports whether it did (a context that cannot end needs nothing). The
// caller calls disarm once the statement has its first result.
func (b *busyWait) arm(ctx context.Context) bool {
	if b.w == nil || ctx.Done() == nil {
		return false
	}
	if C.safe_wait_arm(b.w) != 0 {
		return false
	}
	b.ctx = ctx
	return true
}

// disarm gives the connection SQLite's handler back after a statement
// that arm armed.
func (b *busyWait) disarm(armed bool) {
	if !armed {
		return
	}
	b.ctx = nil
	C.safe_wait_disarm(b.w)
}

// close frees the state; the connection is about to close.
func (b *busyWait) close() {
	if b.w != nil {
		C.safe_wait_free(b.w)
		b.handle.Delete()
		b.w = nil
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
