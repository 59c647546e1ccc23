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
	conn, ok := sc.(*sqlite3.SQLiteConn)
	if !ok || !canStopStmtCache {
		return
	}
	*(*bool)(unsafe.Add(unsafe.Pointer(conn), stmtCacheField.Offset)) = false
}
