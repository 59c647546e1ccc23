package sqlite3safe

// What the application sets on a connection through go-sqlite3 (an
// authorizer, commit, rollback and update hooks, limits), in its driver's
// ConnectHook or through Unwrap, must see and decide the application's
// statements as on plain go-sqlite3. Where sqlite3-safe does something
// there that go-sqlite3 would not, ownBegin sets aside, for that moment,
// what would notice: the authorizer (sqlite3_set_authorizer), the commit
// and rollback hooks (sqlite3_commit_hook, sqlite3_rollback_hook), each put
// back by ownEnd as go-sqlite3 installed it, and the statement length
// limit (sqlite3_limit), raised and put back.
//
// A connection on which the application cannot have set anything (its
// driver has no ConnectHook and no Extensions, and it was never lent
// through Unwrap: conn.exposed false) pays nothing. Otherwise ownBegin is
// one cgo call, and ownEnd one more if something was set aside. Setting
// the authorizer aside and back makes SQLite compile the connection's
// statements again at their next use (sqlite3_set_authorizer expires them),
// as registering it did.

// hide is what ownBegin sets aside.
type hide int

const (
	hideAuthorizer   hide = 1 << iota // the authorizer
	hideCommitHook                    // the commit hook
	hideRollbackHook                  // the rollback hook
)
