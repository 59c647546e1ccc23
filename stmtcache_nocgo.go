//go:build !cgo

package sqlite3safe

// stopStmtCache does nothing without cgo, where go-sqlite3 opens no
// connection.
func stopStmtCache(sqliteConn) {}

// setStmtCache does nothing without cgo.
func setStmtCache(sqliteConn, bool) bool { return false }

// sqliteLimits has no limits to read without cgo.
func sqliteLimits(sqliteConn) []int { return nil }

// hasAuthorizer: without cgo there is no connection to have one.
func hasAuthorizer(sqliteConn) bool { return false }
