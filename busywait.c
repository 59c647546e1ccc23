//go:build cgo

// A busy handler that gives up when the statement's Go context ends
// (busywait_cgo.go).

#include <stdint.h>
#include <stdlib.h>
#include "_cgo_export.h"

// Declared here, defined by the SQLite that go-sqlite3 links in.
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
extern int sqlite3_busy_handler(sqlite3 *, int (*)(void *, int), void *);
extern int sqlite3_busy_timeout(sqlite3 *, int);
extern int sqlite3_prepare_v2(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
extern int sqlite3_step(sqlite3_stmt *);
extern int sqlite3_column_int(sqlite3_stmt *, int);
extern int sqlite3_finalize(sqlite3_stmt *);
extern int sqlite3_sleep(int);

#define SAFE_SQLITE_ROW 100

// safe_wait is one connection's handler state. Only the goroutine that
// uses the connection touches it: the handler runs inside that
// goroutine's call of sqlite3_step.
typedef struct safe_wait {
	sqlite3 *db;
	uintptr_t handle;   // the Go side (a cgo.Handle), asked whether the context has ended
	int timeout_ms;     // the connection's busy timeout (what PRAGMA busy_timeout said last)
	int waited_ms;      // slept so far in this wait
	int installed;      // safe_wait_busy is the connection's handler
} safe_wait;

// The delays of SQLite's own busy handler (sqliteDefaultBusyCallback):
// the same retries over the same busy timeout.
static const int safe_delays[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};

// safe_wait_busy is SQLite's busy handler but for one thing: it sleeps in
// steps of a millisecond and gives up as soon as the context has ended.
static int safe_wait_busy(void *p, int count) {
	safe_wait *w = p;
	if (count == 0) {
		w->waited_ms = 0;
	}
	int delay = safe_delays[count < 12 ? count : 11];
	if (w->waited_ms + delay > w->timeout_ms) {
		delay = w->timeout_ms - w->waited_ms;
	}
	if (delay <= 0) {
		return 0;
	}
	for (int i = 0; i < delay; i++) {
		if (sqlite3safeContextEnded(w->handle)) {
			return 0;
		}
		sqlite3_sleep(1);
		w->waited_ms++;
	}
	return 1;
}

safe_wait *safe_wait_new(void *db, uintptr_t handle) {
	safe_wait *w = calloc(1, sizeof *w);
	if (w) {
		w->db = db;
		w->handle = handle;
	}
	return w;
}

// safe_wait_install reads the connection's busy timeout and puts
// safe_wait_busy in place of SQLite's handler, with that timeout; 0 when
// it did.
// SQLite reads the timeout when it compiles the PRAGMA, so it is compiled
// each time (which is only when the connection opens and after a
// statement that names busy_timeout).
int safe_wait_install(safe_wait *w) {
	sqlite3_stmt *read = 0;
	int rc = sqlite3_prepare_v2(w->db, "PRAGMA busy_timeout", -1, &read, 0);
	if (rc != 0) {
		return rc;
	}
	rc = sqlite3_step(read);
	if (rc == SAFE_SQLITE_ROW) {
		w->timeout_ms = sqlite3_column_int(read, 0);
		rc = 0;
	} else if (rc == 0 || rc == 101) { // no row: SQLITE_OK, SQLITE_DONE
		rc = 1;
	}
	sqlite3_finalize(read);
	if (rc != 0) {
		return rc;
	}
	rc = sqlite3_busy_handler(w->db, safe_wait_busy, w);
	w->installed = rc == 0;
	return rc;
}

// safe_wait_expose gives the connection SQLite's own handler back, with
// the busy timeout it had (which PRAGMA busy_timeout then reads, and may
// set).
void safe_wait_expose(safe_wait *w) {
	if (w->installed) {
		sqlite3_busy_timeout(w->db, w->timeout_ms);
		w->installed = 0;
	}
}

// safe_wait_free gives the connection SQLite's handler back before it
// frees w: closing the connection may still wait (the last connection of
// a WAL database checkpoints), and must not find w freed.
void safe_wait_free(safe_wait *w) {
	safe_wait_expose(w);
	free(w);
}
