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
