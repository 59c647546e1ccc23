//go:build cgo

// A busy handler that gives up when the statement's Go context ends
// (busywait_cgo.go).

#include <stdint.h>
#include <stdlib.h>
#include "busywait.h"
#include "own.h"
#include "_cgo_export.h"

#ifdef _WIN32
#include <windows.h>
static long long safe_now_us(void) { return (long long)GetTickCount64() * 1000; }
#else
#include <time.h>
static long long safe_now_us(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
#endif

// Declared here, defined by the SQLite that go-sqlite3 links in.
typedef struct sqlite3_stmt sqlite3_stmt;
extern int sqlite3_busy_handler(sqlite3 *, int (*)(void *, int), void *);
extern int sqlite3_busy_timeout(sqlite3 *, int);
extern int sqlite3_prepare_v2(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
extern int sqlite3_step(sqlite3_stmt *);
extern int sqlite3_column_int(sqlite3_stmt *, int);
extern int sqlite3_finalize(sqlite3_stmt *);
extern int sqlite3_sleep(int);

#define SAFE_SQLITE_ROW 100

// The delays of SQLite's own busy handler (sqliteDefaultBusyCallback):
// the same retries over the same busy timeout, here measured on a clock,
// so that a wait never outlasts the timeout however late its sleeps end.
static const int safe_delays[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};

// safe_wait_busy is SQLite's busy handler but for one thing: while the
// statement is armed it sleeps in steps of a millisecond and gives up as
// soon as the context has ended.
static int safe_wait_busy(void *p, int count) {
	safe_wait *w = p;
	long long now = safe_now_us();
	if (count == 0) {
		w->start_us = now;
	}
	long long left = (long long)w->timeout_ms * 1000 - (now - w->start_us);
	if (left <= 0) {
		return 0;
	}
	long long delay = safe_delays[count < 12 ? count : 11];
	if (delay * 1000 > left) {
		delay = (left + 999) / 1000; // whole milliseconds, so the wait is the whole timeout
	}
	if (!w->armed) {
		sqlite3_sleep((int)delay);
		return 1;
	}
	for (long long i = 0; i < delay; i++) {
		if (sqlite3safeContextEnded(w->handle)) {
			return 0;
		}
		sqlite3_sleep(1);
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

// safe_wait_timeout reads the connection's busy timeout into *ms; 0 when
// it could. SQLite reads the timeout when it compiles the PRAGMA, so it is
// compiled each time. It reads 0 while safe_wait_busy is installed. The
// PRAGMA is sqlite3-safe's own: the application's authorizer is set aside,
// and its length limit raised, meanwhile.
static int safe_wait_timeout(safe_wait *w, void *authorizer, int *ms) {
	static const char q[] = "PRAGMA busy_timeout";
	safe_own o = safe_own_enter(w->db, authorizer, SAFE_OWN_AUTHORIZER, sizeof q - 1, 0);
	sqlite3_stmt *read = 0;
	int rc = sqlite3_prepare_v2(w->db, q, -1, &read, 0);
	if (rc == 0) {
		rc = sqlite3_step(read);
		if (rc == SAFE_SQLITE_ROW) {
			*ms = sqlite3_column_int(read, 0);
			rc = 0;
		} else if (rc == 0 || rc == 101) { // no row: SQLITE_OK, SQLITE_DONE
			rc = 1;
		}
		sqlite3_finalize(read);
	}
	safe_own_leave(w->db, o);
	return rc;
}

// safe_wait_install reads the connection's busy timeout and puts
// safe_wait_busy in place of SQLite's handler, with that timeout; 0 when
// it did.
int safe_wait_install(safe_wait *w, void *authorizer) {
	int rc = safe_wait_timeout(w, authorizer, &w->timeout_ms);
	if (rc != 0) {
		return rc;
	}
	rc = sqlite3_busy_handler(w->db, safe_wait_busy, w);
	w->installed = rc == 0;
	return rc;
}

// safe_wait_expose gives the connection SQLite's own handler back, with
// the busy timeout it had (which PRAGMA busy_timeout then reads, and may
// set). If something put SQLite's handler back meanwhile (go-sqlite3's own
// API used on the connection), that handler and its timeout stay.
void safe_wait_expose(safe_wait *w, void *authorizer) {
	if (!w->installed) {
		return;
	}
	w->installed = 0;
	int ms = -1;
	if (safe_wait_timeout(w, authorizer, &ms) == 0 && ms != 0) {
		w->timeout_ms = ms; // not ours any more
		return;
	}
	sqlite3_busy_timeout(w->db, w->timeout_ms);
}

// safe_wait_free gives the connection SQLite's handler back before it
// frees w: closing the connection may still wait (the last connection of
// a WAL database checkpoints), and must not find w freed.
void safe_wait_free(safe_wait *w, void *authorizer) {
	safe_wait_expose(w, authorizer);
	free(w);
}
