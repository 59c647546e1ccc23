//go:build cgo

package sqlite3safe

import (
	"reflect"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// stmtCacheField is go-sqlite3's SQLiteConn's unexported switch for its
// statement cache (_stmt_cache_size), found by reflection; a test
// requires it to be there.
var stmtCacheField, stmtCacheFieldOK = reflect.TypeFor[sqlite3.SQLiteConn]().FieldByName("stmtCacheEnabled")

// canStopStmtCache says stopStmtCache can turn go-sqlite3's statement
// cache off.
var canStopStmtCache = stmtCacheFieldOK && stmtCacheField.Type.Kind() == reflect.Bool && len(stmtCacheField.Index) == 1

// stopStmtCache turns off go-sqlite3's statement cache on sc: no statement
// is taken from it again, so every statement is compiled anew, as with
// the cache off; what it holds is finalized when the connection closes.
// go-sqlite3 reads the switch only on the goroutine that runs a statement
// on the connection, the one calling this.
func stopStmtCache(sc sqliteConn) {
	setStmtCache(sc, false)
}

// setStmtCache turns go-sqlite3's statement cache on sc off or back on,
// and reports whether it was on. Turning it on is for a cache that was on
// when it was turned off (go-sqlite3 made it at open): while it is off no
// statement is taken from it or added to it (go-sqlite3 gives a statement
// compiled meanwhile no cache key), and statements taken from it before
// go back to it when they close. The caller runs statements on sc, as for
// stopStmtCache.
func setStmtCache(sc sqliteConn, on bool) (was bool) {
	conn, ok := sc.(*sqlite3.SQLiteConn)
	if !ok || !canStopStmtCache {
		return false
	}
	p := (*bool)(unsafe.Add(unsafe.Pointer(conn), stmtCacheField.Offset))
	was, *p = *p, on
	return was
}

// authorizerField is go-sqlite3's SQLiteConn's unexported authorizerHandle,
// the argument of the authorizer RegisterAuthorizer installed (nil: none),
// found by reflection; a test requires it to be there.
var authorizerField, authorizerFieldOK = reflect.TypeFor[sqlite3.SQLiteConn]().FieldByName("authorizerHandle")

// canSeeAuthorizer says authorizerHandle can read the field.
var canSeeAuthorizer = authorizerFieldOK && len(authorizerField.Index) == 1 &&
	authorizerField.Type.Kind() == reflect.UnsafePointer

// authorizerHandle is the argument of the authorizer go-sqlite3's
// RegisterAuthorizer gave conn, or nil when it has none (or the field
// cannot be read). One load, no cgo call. RegisterAuthorizer writes it on
// a connection the application holds, which is the goroutine's that uses
// the connection, as the caller is.
func authorizerHandle(conn *sqlite3.SQLiteConn) unsafe.Pointer {
	if !canSeeAuthorizer {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(conn), authorizerField.Offset))
}

// hasAuthorizer reports whether the application gave sc an authorizer.
// SQLite asks it when it compiles a statement, and go-sqlite3 compiles
// every statement given as text anew (without a _stmt_cache_size), so the
// authorizer decides each one as it runs. sqlite3-safe keeps nothing
// compiled for reuse on such a connection: not its BEGIN IMMEDIATE and
// COMMIT (runTxStmt), not go-sqlite3's statement cache it turned on
// (conn.noCacheForAuthorizer, takeBack).
func hasAuthorizer(sc sqliteConn) bool {
	conn, ok := sc.(*sqlite3.SQLiteConn)
	return ok && authorizerHandle(conn) != nil
}

// sqliteLimits reads every run-time limit of sc (sqlite3_limit with a
// negative value changes nothing), in SQLite's order of limit ids, up to
// the first id SQLite does not know. It is nil if sc is closed.
func sqliteLimits(sc sqliteConn) []int {
	conn, ok := sc.(*sqlite3.SQLiteConn)
	if !ok {
		return nil
	}
	var limits []int
	for id := 0; ; id++ {
		v := conn.GetLimit(id)
		if v < 0 {
			return limits
		}
		limits = append(limits, v)
	}
}
