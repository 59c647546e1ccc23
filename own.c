//go:build cgo

// Statements of sqlite3-safe's own run with what the application set on
// the connection set aside (own_cgo.go).

#include <stddef.h>
#include "own.h"

// Declared here, defined by the SQLite that go-sqlite3 links in.
extern int sqlite3_set_authorizer(sqlite3 *, int (*)(void *, int, const char *, const char *, const char *, const char *), void *);
extern void *sqlite3_commit_hook(sqlite3 *, int (*)(void *), void *);
extern void *sqlite3_rollback_hook(sqlite3 *, void (*)(void *), void *);
extern int sqlite3_limit(sqlite3 *, int, int);

// go-sqlite3's callbacks, exported by its cgo code: the only ones its
// RegisterAuthorizer, RegisterCommitHook and RegisterRollbackHook install,
// each with a handle of its own (never 0) as argument.
extern int authorizerTrampoline(void *, int, char *, char *, char *);
extern int commitHookTrampoline(void *);
extern void rollbackHookTrampoline(void *);

typedef int (*safe_auth_fn)(void *, int, const char *, const char *, const char *, const char *);

#define SAFE_LIMIT_SQL_LENGTH 1

// safe_own_enter sets aside, on db, what what names: the authorizer, if
// authorizer (go-sqlite3's handle for it) is not 0, and the commit and
// rollback hooks; and raises SQLITE_LIMIT_SQL_LENGTH to need if it is
// below need but not below floor (the length of the statement the
// application's call would have run on go-sqlite3, which the limit still
// holds to). It returns what safe_own_leave puts back.
safe_own safe_own_enter(void *p, void *authorizer, int what, int need, int floor) {
	sqlite3 *db = p;
	safe_own o = {0, 0, 0, -1};
	if ((what & SAFE_OWN_AUTHORIZER) && authorizer) {
		sqlite3_set_authorizer(db, 0, 0);
		o.authorizer = authorizer;
	}
	if (what & SAFE_OWN_COMMIT_HOOK) {
		o.commit = sqlite3_commit_hook(db, 0, 0);
	}
	if (what & SAFE_OWN_ROLLBACK_HOOK) {
		o.rollback = sqlite3_rollback_hook(db, 0, 0);
	}
	int length = sqlite3_limit(db, SAFE_LIMIT_SQL_LENGTH, -1);
	if (length < need && length >= floor) {
		sqlite3_limit(db, SAFE_LIMIT_SQL_LENGTH, need);
		o.sql_length = length;
	}
	return o;
}

// safe_own_leave puts back what safe_own_enter set aside. A hook that
// had no argument (none, or one installed by C code with a 0 argument) is
// not put back: go-sqlite3 never installs one.
void safe_own_leave(void *p, safe_own o) {
	sqlite3 *db = p;
	if (o.authorizer) {
		sqlite3_set_authorizer(db, (safe_auth_fn)authorizerTrampoline, o.authorizer);
	}
	if (o.commit) {
		sqlite3_commit_hook(db, commitHookTrampoline, o.commit);
	}
	if (o.rollback) {
		sqlite3_rollback_hook(db, rollbackHookTrampoline, o.rollback);
	}
	if (o.sql_length >= 0) {
		sqlite3_limit(db, SAFE_LIMIT_SQL_LENGTH, o.sql_length);
	}
}
