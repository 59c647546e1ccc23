//go:build cgo

package sqlite3safe

/*
#include "own.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// hide's flags are own.h's.
var (
	_ [int(hideAuthorizer) ^ C.SAFE_OWN_AUTHORIZER]struct{}      = [0]struct{}{}
	_ [int(hideCommitHook) ^ C.SAFE_OWN_COMMIT_HOOK]struct{}     = [0]struct{}{}
	_ [int(hideRollbackHook) ^ C.SAFE_OWN_ROLLBACK_HOOK]struct{} = [0]struct{}{}
)

// ownState is what ownBegin set aside, for ownEnd to put back.
type ownState struct {
	db unsafe.Pointer // nil: nothing was set aside
	o  C.safe_own
}

// ownBegin sets aside, on sc, what the application set there that must not
// see or refuse the statements sqlite3-safe runs next for itself (see
// hide), and raises SQLite's statement length limit to need, unless it is
// below floor: the length of the statement the application's call runs on
// go-sqlite3, which the limit holds to as it does there (0 for a statement
// only sqlite3-safe runs). exposed says the application could have set
// anything (conn.exposed); if not, nothing is done. One cgo call; ownEnd
// makes a second only if something was set aside.
func ownBegin(sc sqliteConn, exposed bool, h hide, need, floor int) ownState {
	if !exposed {
		return ownState{}
	}
	conn, ok := sc.(*sqlite3.SQLiteConn)
	if !ok {
		return ownState{}
	}
	db := sqliteHandle(conn)
	if db == nil {
		return ownState{}
	}
	var auth unsafe.Pointer
	if h&hideAuthorizer != 0 {
		auth = authorizerHandle(conn)
	}
	o := C.safe_own_enter(db, auth, C.int(h), C.int(need), C.int(floor))
	if o.authorizer == nil && o.commit == nil && o.rollback == nil && o.sql_length < 0 {
		return ownState{}
	}
	return ownState{db: db, o: o}
}

// setAside reports whether ownBegin set anything aside.
func (s ownState) setAside() bool { return s.db != nil }

// ownEnd puts back what ownBegin set aside.
func ownEnd(s ownState) {
	if s.db != nil {
		C.safe_own_leave(s.db, s.o)
	}
}

// isTooBig reports SQLite's SQLITE_TOOBIG (statement too long).
func isTooBig(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrTooBig
}

// isAuth reports SQLite's SQLITE_AUTH (not authorized).
func isAuth(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrAuth
}

// ownConn makes a connection only sqlite3-safe uses (the checkpointer's)
// its own: the driver's ConnectHook ran on it, but the authorizer and
// hooks it registered must not see, nor its limits refuse, what
// sqlite3-safe runs there.
func ownConn(sc sqliteConn) {
	conn, ok := sc.(*sqlite3.SQLiteConn)
	if !ok {
		return
	}
	conn.RegisterAuthorizer(nil)
	conn.RegisterCommitHook(nil)
	conn.RegisterRollbackHook(nil)
	conn.RegisterUpdateHook(nil)
	conn.SetLimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, maxSQLLength)
}
