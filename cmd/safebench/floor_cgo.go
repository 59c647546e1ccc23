//go:build cgo && unix

package main

/*
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Declared here, defined by the SQLite that go-sqlite3 links in: the floor
// runs on the very library the Go configurations use.
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
extern int sqlite3_open_v2(const char *, sqlite3 **, int, const char *);
extern int sqlite3_close_v2(sqlite3 *);
extern int sqlite3_exec(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, char **);
extern int sqlite3_prepare_v2(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
extern int sqlite3_bind_int64(sqlite3_stmt *, int, long long);
extern int sqlite3_bind_text(sqlite3_stmt *, int, const char *, int, void (*)(void *));
extern int sqlite3_step(sqlite3_stmt *);
extern int sqlite3_reset(sqlite3_stmt *);
extern int sqlite3_finalize(sqlite3_stmt *);
extern const unsigned char *sqlite3_column_text(sqlite3_stmt *, int);
extern int sqlite3_column_bytes(sqlite3_stmt *, int);
extern long long sqlite3_column_int64(sqlite3_stmt *, int);
extern int sqlite3_extended_errcode(sqlite3 *);
extern const char *sqlite3_errmsg(sqlite3 *);

#define FLOOR_OK 0
#define FLOOR_NOMEM 7
#define FLOOR_ROW 100
#define FLOOR_DONE 101
#define FLOOR_OPEN_READWRITE 0x00000002
#define FLOOR_OPEN_CREATE 0x00000004
#define FLOOR_OPEN_URI 0x00000040
#define FLOOR_OPEN_FULLMUTEX 0x00010000
#define FLOOR_STATIC ((void (*)(void *))0)
#define FLOOR_TRANSIENT ((void (*)(void *))-1)

// floor_db is one floor database: its connection, the two statements
// prepared once, and the first failure. Only the goroutine running the
// overhead workload touches it.
typedef struct floor_db {
	sqlite3 *db;
	sqlite3_stmt *sel, *ins;
	int err_code;       // the first failure's extended result code; 0: none
	char err_msg[256];  // and its message
} floor_db;

// floor_result is what one floor_run did.
typedef struct floor_result {
	int64_t ns, ok, failed, bytes;
} floor_result;

// floor_fail keeps the first failure: rc, and msg or else SQLite's message.
static void floor_fail(floor_db *f, int rc, const char *msg) {
	if (f->err_code != 0) {
		return;
	}
	f->err_code = rc;
	if (msg == NULL && f->db != NULL) {
		int ext = sqlite3_extended_errcode(f->db);
		if ((ext & 0xff) == (rc & 0xff)) {
			f->err_code = ext;
		}
		msg = sqlite3_errmsg(f->db);
	}
	snprintf(f->err_msg, sizeof f->err_msg, "%s", msg != NULL ? msg : "out of memory");
}

static int floor_exec(floor_db *f, const char *sql) {
	int rc = sqlite3_exec(f->db, sql, NULL, NULL, NULL);
	if (rc != FLOOR_OK) {
		floor_fail(f, rc, NULL);
	}
	return rc;
}

// floor_open opens path as the sqlite3-wal configuration has it (the
// flags and the PRAGMAs go-sqlite3's Open uses by default, in its order,
// with _journal_mode=WAL), creates the overhead workload's table, seeds
// it with rows rows in one transaction, and prepares the SELECT and the
// INSERT. NULL: out of memory; otherwise the caller reads err_code and
// frees with floor_close.
static floor_db *floor_open(const char *path, int rows) {
	floor_db *f = calloc(1, sizeof *f);
	if (f == NULL) {
		return NULL;
	}
	int rc = sqlite3_open_v2(path, &f->db, FLOOR_OPEN_FULLMUTEX | FLOOR_OPEN_READWRITE | FLOOR_OPEN_CREATE | FLOOR_OPEN_URI, NULL);
	if (rc != FLOOR_OK) {
		floor_fail(f, rc, NULL);
		return f;
	}
	static const char *const setup[] = {
		"PRAGMA busy_timeout = 5000;",
		"PRAGMA journal_mode = WAL;",
		"PRAGMA locking_mode = NORMAL;",
		"PRAGMA synchronous = NORMAL;",
		"CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)",
		"BEGIN",
	};
	for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) {
		if (floor_exec(f, setup[i]) != FLOOR_OK) {
			return f;
		}
	}
	sqlite3_stmt *seed = NULL;
	if ((rc = sqlite3_prepare_v2(f->db, "INSERT INTO kv(k, v) VALUES (?, ?)", -1, &seed, NULL)) != FLOOR_OK) {
		floor_fail(f, rc, NULL);
		return f;
	}
	char v[32];
	for (int k = 1; k <= rows; k++) {
		int n = snprintf(v, sizeof v, "value-%05d", k);
		sqlite3_bind_int64(seed, 1, k);
		sqlite3_bind_text(seed, 2, v, n, FLOOR_TRANSIENT);
		if ((rc = sqlite3_step(seed)) != FLOOR_DONE) {
			floor_fail(f, rc, NULL);
			sqlite3_finalize(seed);
			return f;
		}
		sqlite3_reset(seed);
	}
	sqlite3_finalize(seed);
	if (floor_exec(f, "COMMIT") != FLOOR_OK) {
		return f;
	}
	if ((rc = sqlite3_prepare_v2(f->db, "SELECT v FROM kv WHERE k = ?", -1, &f->sel, NULL)) != FLOOR_OK ||
	    (rc = sqlite3_prepare_v2(f->db, "INSERT INTO kv(v) VALUES (?)", -1, &f->ins, NULL)) != FLOOR_OK) {
		floor_fail(f, rc, NULL);
	}
	return f;
}

static int64_t floor_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// floor_run runs n statements of one kind, each bound, stepped and reset:
// point SELECTs of key *next % rows + 1 after incrementing *next (the Go
// loops' keys), reading the value's text, or INSERTs of 'value'. It reads
// the clock once before the loop and once after each statement: lat[i] is
// statement i's latency, -1 when it failed, and r->ns the loop's time.
static void floor_run(floor_db *f, int insert, int n, long long *next, long long rows, int64_t *lat, floor_result *r) {
	memset(r, 0, sizeof *r);
	int64_t start = floor_now(), prev = start;
	for (int i = 0; i < n; i++) {
		int rc, ok;
		if (insert) {
			sqlite3_bind_text(f->ins, 1, "value", 5, FLOOR_STATIC);
			rc = sqlite3_step(f->ins);
			ok = rc == FLOOR_DONE;
			if (!ok) {
				floor_fail(f, rc, NULL);
			}
			sqlite3_reset(f->ins);
		} else {
			(*next)++;
			sqlite3_bind_int64(f->sel, 1, *next % rows + 1);
			rc = sqlite3_step(f->sel);
			ok = rc == FLOOR_ROW;
			if (ok) {
				const unsigned char *v = sqlite3_column_text(f->sel, 0);
				if (v != NULL) {
					r->bytes += sqlite3_column_bytes(f->sel, 0);
				} else {
					ok = 0;
					floor_fail(f, FLOOR_NOMEM, NULL);
				}
			} else if (rc == FLOOR_DONE) {
				floor_fail(f, rc, "no row");
			} else {
				floor_fail(f, rc, NULL);
			}
			sqlite3_reset(f->sel);
		}
		int64_t now = floor_now();
		lat[i] = ok ? now - prev : -1;
		prev = now;
		if (ok) {
			r->ok++;
		} else {
			r->failed++;
		}
	}
	r->ns = prev - start;
}

// floor_count counts the table's rows: -1 on failure.
static long long floor_count(floor_db *f) {
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(f->db, "SELECT count(*) FROM kv", -1, &st, NULL);
	if (rc != FLOOR_OK) {
		floor_fail(f, rc, NULL);
		return -1;
	}
	long long n = -1;
	if ((rc = sqlite3_step(st)) == FLOOR_ROW) {
		n = sqlite3_column_int64(st, 0);
	} else {
		floor_fail(f, rc, NULL);
	}
	sqlite3_finalize(st);
	return n;
}

// floor_close finalizes the statements, closes the connection and frees
// f: SQLite's result code of the close.
static int floor_close(floor_db *f) {
	sqlite3_finalize(f->sel);
	sqlite3_finalize(f->ins);
	int rc = sqlite3_close_v2(f->db);
	free(f);
	return rc;
}
*/
import "C"

import (
	"database/sql"
	"fmt"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// floorAvailable says this build has the floor.
const floorAvailable = true

// floorDB is one floor database (C memory, freed by close). Like the
// overhead workload's *sql.DBs, it is used by one goroutine.
type floorDB struct {
	c *C.floor_db
}

// openFloor opens the floor's database at path, creates the overhead
// workload's table and seeds it with rows rows (value-00001, ...), and
// prepares its statements.
func openFloor(path string, rows int) (*floorDB, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	c := C.floor_open(cpath, C.int(rows))
	if c == nil {
		return nil, fmt.Errorf("%s: opening: out of memory", floorConfig)
	}
	f := &floorDB{c: c}
	if err := f.err(); err != nil {
		f.close()
		return nil, fmt.Errorf("%s: opening: %w", floorConfig, err)
	}
	return f, nil
}

// err is the floor's first failure, as go-sqlite3 would report it (a
// SELECT that found no row: sql.ErrNoRows); nil: none.
func (f *floorDB) err() error {
	code := int(f.c.err_code)
	switch {
	case code == 0:
		return nil
	case code == 101: // SQLITE_DONE from a SELECT
		return sql.ErrNoRows
	}
	msg := C.GoString(&f.c.err_msg[0])
	return fmt.Errorf("%w: %s", sqlite3.Error{Code: sqlite3.ErrNo(code & 0xff), ExtendedCode: sqlite3.ErrNoExtended(code)}, msg)
}

// run runs len(lat) statements of kind op in C and fills lat with their
// latencies in ns (-1: failed). SELECTs take their keys from *next as the
// Go loops do (increment, then *next % rows + 1).
func (f *floorDB) run(op floorOp, lat []int64, next *int, rows int) floorRound {
	if len(lat) == 0 {
		return floorRound{}
	}
	var r C.floor_result
	n := C.longlong(*next)
	C.floor_run(f.c, C.int(op), C.int(len(lat)), &n, C.longlong(rows), (*C.int64_t)(unsafe.Pointer(&lat[0])), &r)
	*next = int(n)
	return floorRound{ns: int64(r.ns), ok: int64(r.ok), failed: int64(r.failed), bytes: int64(r.bytes), err: f.err()}
}

// count returns the number of rows in the floor's table.
func (f *floorDB) count() (int64, error) {
	n := int64(C.floor_count(f.c))
	if n < 0 {
		return 0, f.err()
	}
	return n, nil
}

// close finalizes the statements and closes the database.
func (f *floorDB) close() error {
	if rc := C.floor_close(f.c); rc != 0 {
		return fmt.Errorf("%s: closing: %w", floorConfig, sqlite3.Error{Code: sqlite3.ErrNo(rc)})
	}
	return nil
}
