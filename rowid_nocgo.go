//go:build !cgo

package sqlite3safe

// lastRowid: without cgo no connection opens.
func (c *conn) lastRowid() int64 { return 0 }

// setLastRowid: without cgo no connection opens.
func (c *conn) setLastRowid(int64) {}
