//go:build cgo

package sqlite3safe

/*
#include <string.h>
typedef struct sqlite3 sqlite3;
extern const char *sqlite3_db_name(sqlite3 *, int);
extern const char *sqlite3_db_filename(sqlite3 *, const char *);
extern int sqlite3_db_readonly(sqlite3 *, const char *);

// safe_attached_files writes into buf (n bytes) the file names of the
// attached databases of db (not main, not temp) that are writable and on
// disk, each followed by a NUL, as far as they fit, and returns the length
// they need.
static int safe_attached_files(void *db, char *buf, int n) {
	int total = 0;
	for (int i = 2;; i++) {
		const char *name = sqlite3_db_name((sqlite3 *)db, i);
		if (name == 0) {
			break;
		}
		if (sqlite3_db_readonly((sqlite3 *)db, name) != 0) {
			continue;
		}
		const char *file = sqlite3_db_filename((sqlite3 *)db, name);
		if (file == 0 || file[0] == 0) {
			continue;
		}
		int len = (int)strlen(file) + 1;
		if (total + len <= n) {
			memcpy(buf + total, file, len);
		}
		total += len;
	}
	return total;
}
*/
import "C"

import "unsafe"

// attachedFiles appends to buf the file names of the databases attached
// on c (sqlite3_db_name from 2 on: not main, not temp) that are writable
// and on disk, each followed by a NUL.
func (c *conn) attachedFiles(buf []byte) []byte {
	if c.cancel.db == nil {
		return buf[:0]
	}
	for {
		var p *C.char
		if cap(buf) > 0 {
			p = (*C.char)(unsafe.Pointer(unsafe.SliceData(buf[:cap(buf)])))
		}
		n := int(C.safe_attached_files(c.cancel.db, p, C.int(cap(buf))))
		if n <= cap(buf) {
			return buf[:n]
		}
		buf = make([]byte, 0, n+256)
	}
}
