package sqlite3safe

import (
	"context"
	"fmt"
)

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

// maxSQLLength raises SQLite's statement length limit to its most (SQLite
// caps what sqlite3_limit is given at the limit it was built with).
const maxSQLLength = 1<<31 - 1

// The statements sqlite3-safe runs on the application's connections for
// itself — a connection's set-up (journal_mode, journal_size_limit,
// wal_autocheckpoint), the busy timeout read by its busy handler
// (busywait.c), a read-only transaction's query_only, the write-lock probe
// of a manual transaction and its undo, a hand-over's data_version,
// ROLLBACK and BEGIN (lazytx.go), the ROLLBACK of a connection closed
// inside a transaction or of a transaction whose end was refused
// (tx.ended), the compilation that asks SQLite whether a statement writes
// (askSQLite), the second compilation of a multi-statement Query's last
// statement (queryEach) — run with the authorizer set aside, the hooks
// they would call where go-sqlite3 would not (the commit hook for a
// journal mode change, the rollback hook for a hand-over's or a failed
// probe's ROLLBACK; a closing connection's rolls back on go-sqlite3 too),
// and the length limit raised to theirs. None of them changes a row, so the update hook
// never sees them. The connection only sqlite3-safe uses, the
// checkpointer's, has the authorizer and hooks the ConnectHook gave it
// removed and no length limit (ownConn).
//
// Statements that stand for one the application's call runs on go-sqlite3
// are the application's: BEGIN IMMEDIATE for its BEGIN (a BeginTx
// transaction's, a BEGIN run as a statement), the COMMIT and ROLLBACK of a
// BeginTx transaction. The authorizer sees them, and the length limit
// holds them to the length of go-sqlite3's statement (standIn).
//
// What SQLite gives no way to set aside is left alone: an authorizer or
// hook installed by C code rather than through go-sqlite3 (an extension's),
// and a trace (go-sqlite3's SetTrace, under its sqlite_trace build tag),
// which sees sqlite3-safe's statements as it sees go-sqlite3's own. Should
// such an authorizer refuse one, the error says so (ownError).

// ownExec runs q, a statement of sqlite3-safe's own, with h set aside.
func (c *conn) ownExec(ctx context.Context, h hide, q string) error {
	o := ownBegin(c.sc, c.exposed, h, len(q), 0)
	_, err := c.sc.ExecContext(ctx, q, nil)
	ownEnd(o)
	return ownError(q, err)
}

// ownQuery runs q, a statement of sqlite3-safe's own that returns one text
// value, with h set aside.
func (c *conn) ownQuery(ctx context.Context, h hide, q string) (string, error) {
	o := ownBegin(c.sc, c.exposed, h, len(q), 0)
	v, err := queryString(ctx, c.sc, q)
	ownEnd(o)
	return v, ownError(q, err)
}

// ownError is the error of q, a statement of sqlite3-safe's own: err, or
// if an authorizer sqlite3-safe could not set aside refused q, an error
// that says so (and wraps err).
func ownError(q string, err error) error {
	if err == nil || !isAuth(err) {
		return err
	}
	return fmt.Errorf("sqlite3-safe: %q, which sqlite3-safe runs for itself, was refused by an authorizer it "+
		"cannot set aside (one not registered with go-sqlite3's RegisterAuthorizer, such as an extension's): %w", q, err)
}

// standIn runs run, which runs text in place of the application's shorter
// statement of length floor (BEGIN IMMEDIATE for a BEGIN). If SQLite's
// statement length limit refuses text, it runs run again with the limit
// raised to text's length, unless the limit refuses floor bytes too: then
// the application's statement would have been refused on go-sqlite3, with
// the same error. A statement refused for its length did not run.
func standIn[T any](c *conn, text string, floor int, run func() (T, error)) (T, error) {
	res, err := run()
	if err == nil || !c.exposed || !isTooBig(err) {
		return res, err
	}
	o := ownBegin(c.sc, true, 0, len(text), floor)
	if !o.setAside() {
		return res, err
	}
	res, err = run()
	ownEnd(o)
	return res, err
}
