// The state of sqlite3-safe's busy handler (busywait.c, busywait_cgo.go).

#ifndef SQLITE3SAFE_BUSYWAIT_H
#define SQLITE3SAFE_BUSYWAIT_H

#include <stdint.h>

typedef struct sqlite3 sqlite3;

// safe_wait is one connection's handler state. The goroutine that uses the
// connection writes it between statements; during a statement only the
// handler, on the thread running the statement, touches it.
typedef struct safe_wait {
	sqlite3 *db;
	uintptr_t handle;   // the Go side (a cgo.Handle), asked whether the context has ended
	int timeout_ms;     // the connection's busy timeout (what PRAGMA busy_timeout said last)
	int installed;      // safe_wait_busy is the connection's handler
	int armed;          // the running statement's context can end: ask Go between steps
	long long start_us; // when this wait began, in microseconds
} safe_wait;

// The authorizer argument of these is go-sqlite3's handle for the
// application's authorizer (0: none), set aside while they read the busy
// timeout (own.h).
safe_wait *safe_wait_new(void *db, uintptr_t handle);
int safe_wait_install(safe_wait *w, void *authorizer);
void safe_wait_expose(safe_wait *w, void *authorizer);
void safe_wait_free(safe_wait *w, void *authorizer);

#endif
