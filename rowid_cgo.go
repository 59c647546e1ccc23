//go:build cgo

package sqlite3safe

/*
#include <stdint.h>
typedef struct sqlite3 sqlite3;
extern int64_t sqlite3_last_insert_rowid(sqlite3 *);
extern void sqlite3_set_last_insert_rowid(sqlite3 *, int64_t);
static int64_t safe_last_rowid(void *db) { return sqlite3_last_insert_rowid((sqlite3 *)db); }
static void safe_set_last_rowid(void *db, int64_t v) { sqlite3_set_last_insert_rowid((sqlite3 *)db, v); }
*/
import "C"

// lastRowid is SQLite's last_insert_rowid() of c, or 0 if its handle
// cannot be read.
func (c *conn) lastRowid() int64 {
	if c.cancel.db == nil {
		return 0
	}
	return int64(C.safe_last_rowid(c.cancel.db))
}

// setLastRowid sets what last_insert_rowid() returns on c.
func (c *conn) setLastRowid(v int64) {
	if c.cancel.db != nil {
		C.safe_set_last_rowid(c.cancel.db, C.int64_t(v))
	}
}
