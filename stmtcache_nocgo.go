//go:build !cgo

package sqlite3safe

// stopStmtCache does nothing without cgo, where go-sqlite3 opens no
// connection.
func stopStmtCache(sqliteConn) {}
