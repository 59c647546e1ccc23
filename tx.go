package sqlite3safe

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// tx is a transaction begun by the interceptor's ConnBeginTx. Its Commit
// and Rollback end the SQLite transaction, if one was begun (a write
// transaction begins at its first statement: lazytx.go), and then give
// back the lock the connection took for it. database/sql calls exactly
// one of them, also when the transaction's context ends (it rolls back).
type tx struct {
	c              *conn     // the connection it began on
	s              *safeConn // the connection database/sql holds; nil for a transaction begun on a conn alone
	resetQueryOnly bool      // a read-only transaction set query_only, and turns it off at its end
}

// conn is the connection the transaction runs on: the connector's writer
// while it is routed there (route.go), else the one it began on.
func (t *tx) conn() *conn {
	if t.s != nil {
		return t.s.c
	}
	return t.c
}

var _ driver.Tx = (*tx)(nil)

// Commit runs COMMIT. Like go-sqlite3, if COMMIT fails it runs ROLLBACK,
// because database/sql considers the transaction finished either way.
//
// A write transaction whose statements only read is a write transaction
// in SQLite only because sqlite3-safe began it immediate; on go-sqlite3 it
// is a read transaction, whose COMMIT does not call the commit hook. So its
// COMMIT runs with the commit hook set aside (own.go).
func (t *tx) Commit() error {
	c := t.conn()
	var err error
	if t.begun() {
		var o ownState
		if c.tx == txWrite && !c.wrote {
			o = ownBegin(c.sc, c.exposed, hideCommitHook, 0, 0)
		}
		err = c.runTxStmt(context.Background(), &c.txStmts.commit, "COMMIT")
		ownEnd(o)
		if err != nil && !c.sc.AutoCommit() {
			_, rerr := c.sc.ExecContext(context.Background(), "ROLLBACK", nil)
			t.ended(rerr)
		}
	}
	t.end()
	return err
}

// Rollback runs ROLLBACK.
func (t *tx) Rollback() error {
	var err error
	if t.begun() {
		_, err = t.conn().sc.ExecContext(context.Background(), "ROLLBACK", nil)
		t.ended(err)
	}
	t.end()
	return err
}

// ended makes sure the SQLite transaction is over after the ROLLBACK that
// ended it returned err. The application's authorizer or limits may have
// refused it (as they may refuse COMMIT); go-sqlite3 then leaves the
// connection inside the transaction, holding SQLite's write lock, back in
// the pool. database/sql considers the transaction over, and end gives
// the file's lock back, so the transaction is rolled back here, as a
// statement of sqlite3-safe's own (own.go). The rollback hook sees it: the
// transaction is rolled back.
func (t *tx) ended(err error) {
	c := t.conn()
	if err != nil && !c.sc.AutoCommit() {
		_ = c.ownExec(context.Background(), hideAuthorizer, "ROLLBACK")
	}
}

// begun reports whether SQLite is in the transaction: not when no
// statement ran, nor when a hand-over could not begin it again.
func (t *tx) begun() bool {
	c := t.conn()
	if c.published {
		c.settleYield() // no hand-over from here on
	}
	return c.tx != txPending && !(c.tx == txYielded && c.sc.AutoCommit())
}

// end leaves the transaction state and gives back the lock. It runs only
// after the SQLite transaction is over, so the next writer finds it gone.
func (t *tx) end() {
	c := t.conn()
	if t.resetQueryOnly {
		_ = c.ownExec(context.Background(), hideAuthorizer, "PRAGMA query_only=0")
	}
	if c.txRead {
		c.readEnded()
	}
	c.tx, c.wrote, c.txRead, c.yieldLost, c.relocked = txNone, false, false, false, false
	if c.left.n > 0 {
		c.holdLeft() // what statements left active by Exec still hold (execactive.go)
	}
	if t.s != nil {
		// Before the lock goes back, so that its next holder finds the
		// writer free (a routed transaction takes it only holding the lock).
		t.s.unroute()
	}
	if c.txClaim || c.givenClaim { // a claim routeTx gave that no statement took up: the first was refused
		c.txClaim, c.givenClaim = false, false
		c.unclaim()
	}
}

// checkIsolation accepts the isolation levels SQLite's serializable
// transactions satisfy. Every level up to Serializable gets serializable
// isolation (stronger than asked is allowed); Linearizable is refused
// rather than promised.
func checkIsolation(level driver.IsolationLevel) error {
	switch sql.IsolationLevel(level) {
	case sql.LevelDefault, sql.LevelReadUncommitted, sql.LevelReadCommitted, sql.LevelWriteCommitted,
		sql.LevelRepeatableRead, sql.LevelSnapshot, sql.LevelSerializable:
		return nil
	}
	return fmt.Errorf("sqlite3-safe: isolation level %v is not supported; SQLite transactions are serializable",
		sql.IsolationLevel(level))
}

// txStmts are the statements every write transaction runs, BEGIN IMMEDIATE
// and COMMIT, compiled once per connection: go-sqlite3 compiles a
// statement without arguments anew on every call, and these run while the
// write lock is held, where every microsecond is every writer's. A
// statement that failed is reset by go-sqlite3 and runs again next time;
// SQLite recompiles it if the schema changed (conn.attached drops them
// after an ATTACH, which does not). Owned by the connection's goroutine,
// like the rest of its state.
type txStmts struct {
	begin, commit keptStmt // nil until first used
}

// keptStmt is what a kept statement is used as.
type keptStmt interface {
	driver.Stmt
	driver.StmtExecContext
}

// runTxStmt runs the statement *st (one of c.txStmts) holds, compiling
// query into it on first use. If it cannot be compiled it runs query as
// go-sqlite3 would, so that the error (or success) is SQLite's for that
// text. On a connection with an authorizer nothing is kept: query is
// compiled anew each time, as go-sqlite3 compiles its BEGIN and COMMIT,
// so that the authorizer decides each one (hasAuthorizer).
func (c *conn) runTxStmt(ctx context.Context, st *keptStmt, query string) error {
	if *st == nil && hasAuthorizer(c.sc) {
		_, err := c.sc.ExecContext(ctx, query, nil)
		return err
	}
	if *st == nil {
		if prepared, err := c.sc.PrepareContext(context.Background(), query); err == nil {
			if ks, ok := prepared.(keptStmt); ok {
				*st = ks
			} else {
				_ = prepared.Close()
			}
		}
		if *st == nil {
			_, err := c.sc.ExecContext(ctx, query, nil)
			return err
		}
	}
	_, err := c.execStmt(ctx, *st, nil)
	return err
}

// close finalizes the statements.
func (s *txStmts) close() {
	for _, st := range []*keptStmt{&s.begin, &s.commit} {
		if *st != nil {
			_ = (*st).Close()
			*st = nil
		}
	}
}
