//go:build cgo

package sqlite3safe

/*
typedef struct sqlite3 sqlite3;
extern int sqlite3_txn_state(sqlite3 *, const char *);
static int safe_txn_writing(void *db) { return sqlite3_txn_state((sqlite3 *)db, 0) == 2; } // SQLITE_TXN_WRITE
*/
import "C"

// sqliteWriting reports whether SQLite's transaction on c holds SQLite's
// write lock on any of its databases (sqlite3_txn_state). When the handle
// cannot be read it says true, which keeps what c holds.
func (c *conn) sqliteWriting() bool {
	if c.cancel.db == nil {
		return true
	}
	return C.safe_txn_writing(c.cancel.db) != 0
}
