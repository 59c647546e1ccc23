package sqlite3safe

import (
	"unsafe"

	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
)

// Statements that Exec leaves active.
//
// go-sqlite3's Exec of a prepared statement binds, takes one step and
// returns, without resetting the statement. A statement that returns rows
// (INSERT … RETURNING, a SELECT, a PRAGMA that answers) is then still
// active in SQLite, and SQLite keeps what it holds until the statement is
// reset: outside a transaction an INSERT … RETURNING keeps its implicit
// transaction open, uncommitted, and with it SQLite's write lock; a SELECT
// keeps its read snapshot, which pins the WAL. Only go-sqlite3's calls on
// that statement reset it: its next Exec or Query (go-sqlite3 resets before
// it binds) and its Close (finalize), which database/sql also calls when
// the connection closes and, for a statement prepared on a Tx, when the
// Tx ends. Nothing else on the connection does: a COMMIT is refused while
// such a write is active ("SQL statements in progress"), a COMMIT leaves
// such a read open, and a ROLLBACK takes the write's changes but leaves the
// statement to be reset. An unprepared db.Exec leaves nothing active:
// go-sqlite3 resets its statement (or finalizes it) before returning, and
// the statements sqlite3-safe runs for itself return no rows or are closed
// at once.
//
// So the connection holds what SQLite holds, for as long as SQLite holds
// it (holdLeft): while a statement left active keeps SQLite's write lock
// outside a transaction, the connection keeps a claim on the file's write
// lock, which the statement ran under; while one keeps a read, the
// connection publishes a read for the checkpointer (the pin is reported),
// or in non-WAL mode keeps a claim on the shared side. Inside a transaction
// the transaction's claim covers it; when the transaction ends, what the
// statements still hold is looked at again. A connection whose only claim
// is such a hold goes back to the pool with it (IsValid), as go-sqlite3's
// connection goes back with SQLite's lock: its next user runs beside the
// statement, and other writers wait for the lock until the statement is
// reset, or fail after their lock timeout with [ErrLockTimeout] naming it.
//
// The statement path pays for this only where it can matter: a statement
// with no result columns always runs to its end in one step, so only
// statements with result columns (a flag read at Prepare) ask SQLite after
// their Exec whether they are still active.

// leftHolder is what holds the write lock while a statement left active
// by Exec holds it (LockTimeoutError and Stats name it).
const leftHolder = "a prepared statement left active by Exec (it returns rows and keeps SQLite's transaction " +
	"open until it is reset: Close it, or run it again)"

// stmtActivity is what a prepared statement knows of its state in SQLite.
// Owned like its connection's state.
type stmtActivity struct {
	handle unsafe.Pointer // go-sqlite3's sqlite3_stmt, valid until Close; nil when it cannot be read
	rows   bool           // it has result columns: Exec may leave it active
	left   bool           // Exec left it active; counted in its connection's leftStmts
	write  bool           // while left: SQLite says it may write (sqlite3_stmt_readonly)
}

// newStmtActivity reads what Exec may leave of st, go-sqlite3's statement.
func newStmtActivity(st any) stmtActivity {
	h := stmtHandle(st)
	return stmtActivity{handle: h, rows: h != nil && stmtHasColumns(h)}
}

// leftStmts are a connection's statements that Exec left active, and what
// the connection holds for them. Owned like the connection's other state.
type leftStmts struct {
	n      int    // statements left active
	writes int    // of them, those that may write
	query  string // the last one left, naming the read for the checkpointer
	claim  bool   // holds one of the connection's claims for them
	read   bool   // published a read for them (readBegan)
}

// afterExec is called after go-sqlite3 ran the statement's Exec, for a
// statement with result columns: it notes whether SQLite left it active,
// and makes the connection hold what SQLite holds.
func (p *safeStmt) afterExec() {
	c := p.s.c
	busy := stmtBusy(p.act.handle)
	switch {
	case busy && !p.act.left:
		p.act.left, p.act.write = true, !stmtReadonly(p.act.handle)
		c.left.n++
		if p.act.write {
			c.left.writes++
		}
		c.left.query = p.query
	case !busy && p.act.left:
		p.unleave()
	case !busy:
		return // ran to its end, as before
	}
	c.holdLeft()
}

// afterQuery is called after the statement's Query, if Exec had left it
// active: go-sqlite3 reset it before running it, and its rows (if any) now
// hold what it holds. A Query that failed before reaching go-sqlite3 (a
// lock wait that ended) left it as it was.
func (p *safeStmt) afterQuery(err error) {
	if err == nil || !stmtBusy(p.act.handle) {
		p.unleave()
		p.s.c.holdLeft()
	}
}

// afterClose is called after the statement is finalized.
func (p *safeStmt) afterClose() {
	if p.act.left {
		p.unleave()
		p.s.c.holdLeft()
	}
	p.act.handle = nil
}

// unleave stops counting the statement as left active.
func (p *safeStmt) unleave() {
	c := p.s.c
	p.act.left = false
	c.left.n--
	if p.act.write {
		c.left.writes--
	}
}

// holdLeft makes what c holds for its statements left active by Exec
// follow what SQLite holds for them. Outside a transaction, while a
// statement that may write is left active and SQLite holds a write
// transaction, c keeps a claim on the write lock (which that statement ran
// under); else while SQLite holds a read, c publishes a read (or, in
// non-WAL mode, keeps a claim on the shared side it ran under). Inside a
// transaction, the transaction's claim holds the lock. A claim is only
// added where c's lock covers it, so holdLeft never waits; what is no
// longer needed is given back after what is, so the lock is never let go
// in between.
func (c *conn) holdLeft() {
	if c.closed {
		c.left = leftStmts{} // Close gave the lock and the read back
		return
	}
	var claim, read bool
	if c.left.n > 0 && c.sc.AutoCommit() {
		switch st := c.txnState(); {
		case st == txnWrite && c.left.writes > 0 && c.locked == rwlock.Exclusive:
			claim = true
		case st != txnNone:
			read = c.trackReads
			claim = c.lockReads && c.locked != rwlock.None
		}
	}
	if claim && !c.left.claim {
		c.left.claim = true
		c.claims++
		if c.locked == rwlock.Exclusive {
			c.file.owner.set(leftHolder, c.debug)
		}
	}
	if read && !c.left.read {
		c.left.read = true
		c.readBegan(c.left.query)
	}
	if !read && c.left.read {
		c.left.read = false
		c.readEnded()
	}
	if !claim && c.left.claim {
		c.left.claim = false
		c.unclaim()
	}
}

// txnState values, as sqlite3_txn_state gives them.
const (
	txnNone  = 0 // SQLITE_TXN_NONE
	txnRead  = 1 // SQLITE_TXN_READ
	txnWrite = 2 // SQLITE_TXN_WRITE
)
