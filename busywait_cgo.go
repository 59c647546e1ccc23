//go:build cgo

package sqlite3safe

/*
#include <stdint.h>
typedef struct safe_wait safe_wait;
safe_wait *safe_wait_new(void *db, uintptr_t handle);
int safe_wait_install(safe_wait *w);
void safe_wait_expose(safe_wait *w);
void safe_wait_free(safe_wait *w);
*/
import "C"

import (
	"context"
	"reflect"
	"runtime/cgo"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// busyWait makes a connection's waits for another process's lock end
// with the statement's context. SQLite's busy handler sleeps without
// looking at the context, so each connection has a handler of its own
// instead (busywait.c): SQLite's retries over the connection's busy
// timeout, in steps of a millisecond, asking between steps whether the
// context of the armed statement has ended. Arming is setting a field:
// the handler calls back into Go only while it waits.
//
// SQLite keeps a busy timeout only with its own handler: PRAGMA
// busy_timeout would read 0 and, when it sets one, put SQLite's handler
// back. So a statement that names busy_timeout runs with SQLite's handler
// and the timeout it had (expose), and the connection reads the timeout
// again and takes its handler back afterwards (reinstall): PRAGMA
// busy_timeout reads and sets what it does in go-sqlite3.
//
// A busyWait belongs to its conn and, like it, is used by one goroutine at
// a time: the handler runs, and asks about ctx, inside that goroutine's
// call into SQLite.
type busyWait struct {
	w      *C.safe_wait    // C memory, freed by close; nil: SQLite's own handler
	handle cgo.Handle      // how the handler finds this busyWait; deleted by close
	ctx    context.Context // the armed statement's context; nil when not armed
}

// connHandleField is go-sqlite3's SQLiteConn's unexported handle
// (*C.sqlite3), read by reflection; without it waits are SQLite's alone
// (a test requires it to be there).
var connHandleField, connHandleOK = reflect.TypeFor[sqlite3.SQLiteConn]().FieldByName("db")

// canWaitWithContext says busyWait can make waits end with the context.
var canWaitWithContext = connHandleOK && len(connHandleField.Index) == 1 && connHandleField.Type.Kind() == reflect.Pointer

// init gives sc the handler. b must not move afterwards (it is a field of
// a conn, which never does). If anything fails, sc keeps SQLite's handler.
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
		return
	}
	if C.safe_wait_install(b.w) != 0 {
		b.close()
	}
}

// arm makes the waits of the statement about to run end when ctx does,
// and reports whether it did (a context that cannot end needs nothing).
// The caller calls disarm once the statement has its first result.
func (b *busyWait) arm(ctx context.Context) bool {
	if b.w == nil || ctx.Done() == nil {
		return false
	}
	b.ctx = ctx
	return true
}

// disarm ends what arm began.
func (b *busyWait) disarm(armed bool) {
	if armed {
		b.ctx = nil
	}
}

// expose gives the connection SQLite's handler, with its busy timeout,
// for a statement that names busy_timeout, and reports whether it did;
// then the caller calls reinstall after the statement's first result.
func (b *busyWait) expose(query string) bool {
	if b.w == nil || !mentionsBusyTimeout(query) {
		return false
	}
	C.safe_wait_expose(b.w)
	return true
}

// reinstall reads the busy timeout again and takes the handler back, after
// a statement expose saw; if it cannot, the connection keeps SQLite's.
func (b *busyWait) reinstall(exposed bool) {
	if exposed && C.safe_wait_install(b.w) != 0 {
		b.close()
	}
}

// close frees the state: the connection is about to close, or has
// SQLite's handler for good.
func (b *busyWait) close() {
	if b.w != nil {
		C.safe_wait_free(b.w)
		b.handle.Delete()
		b.w = nil
	}
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
