//go:build !cgo

package sqlite3safe

// sqliteWriting: without cgo no connection opens.
func (c *conn) sqliteWriting() bool { return true }
