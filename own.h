// Statements of sqlite3-safe's own, kept from what the application set on
// its connection (own.c, own_cgo.go).

#ifndef SQLITE3SAFE_OWN_H
#define SQLITE3SAFE_OWN_H

typedef struct sqlite3 sqlite3;

// What to set aside.
#define SAFE_OWN_AUTHORIZER 1    // the authorizer (go-sqlite3's RegisterAuthorizer)
#define SAFE_OWN_COMMIT_HOOK 2   // the commit hook (RegisterCommitHook)
#define SAFE_OWN_ROLLBACK_HOOK 4 // the rollback hook (RegisterRollbackHook)

// safe_own is what safe_own_enter set aside, for safe_own_leave to put
// back.
typedef struct safe_own {
	void *authorizer; // the authorizer's argument (go-sqlite3's handle), or 0
	void *commit;     // the commit hook's argument, or 0
	void *rollback;   // the rollback hook's argument, or 0
	int sql_length;   // SQLITE_LIMIT_SQL_LENGTH before it was raised, or -1
} safe_own;

safe_own safe_own_enter(void *db, void *authorizer, int what, int need, int floor);
void safe_own_leave(void *db, safe_own o);

#endif
