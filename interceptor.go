package sqlite3safe

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/ngrok/sqlmw"
)

// interceptor is the sqlmw.Interceptor of one connection: every connection
// gets its own (driver.go wraps each conn with sqlmw.Driver and a fresh
// interceptor), so the interceptor reaches its connection's state with no
// lookup on the statement path. Statements that need nothing from it skip
// it (fastpath.go).
//
// It decides, for every statement, which side of the file's lock to take
// and when to give it back. Intercepted: ConnExecContext, ConnQueryContext,
// ConnPrepareContext, StmtExecContext, StmtQueryContext and ConnBeginTx.
// Everything else is sqlmw.NullInterceptor's pass-through, which reaches
// types of ours where a lock must go back: the *tx that ConnBeginTx returns
// (tx.go), the *lockedRows that a locking query returns (rows.go), and the
// *conn for reset and close (conn.go).
//
// Who gives back what (each takes one hold of the connection's lock and
// gives back that one; the lock goes back with the last, hold.go):
//   - an autocommit Exec: the same call, before it returns;
//   - a Query that holds a lock: the returned *lockedRows, at EOF or Close;
//   - a BeginTx transaction: its Commit or Rollback (tx.go);
//   - a manual BEGIN/SAVEPOINT: the statement after which SQLite is back in
//     autocommit, or else conn.Close (IsValid makes database/sql close a
//     connection returned to the pool inside a transaction).
type interceptor struct {
	sqlmw.NullInterceptor
	c *conn
}

var _ sqlmw.Interceptor = (*interceptor)(nil)

// memoLimit bounds conn.memo, the per-connection record of what SQLite
// said about statements the text alone could not class.
const memoLimit = 256

// ConnExecContext runs db.Exec (and tx.Exec inside a manual transaction).
func (i *interceptor) ConnExecContext(ctx context.Context, parent driver.ExecerContext, query string, args []driver.NamedValue) (driver.Result, error) {
	return i.exec(ctx, query, true, func(q string) (driver.Result, error) {
		return parent.ExecContext(ctx, q, args)
	})
}

// StmtExecContext runs a prepared statement's Exec. A prepared BEGIN is
// already compiled: it runs deferred, under the lock all the same.
func (i *interceptor) StmtExecContext(ctx context.Context, stmt driver.StmtExecContext, query string, args []driver.NamedValue) (driver.Result, error) {
	return i.exec(ctx, query, false, func(string) (driver.Result, error) {
		return stmt.ExecContext(ctx, args)
	})
}

// exec runs one Exec under the lock its statement needs. rewrite says run
// may be given other SQL than query (a plain BEGIN made immediate).
func (i *interceptor) exec(ctx context.Context, query string, rewrite bool, run func(string) (driver.Result, error)) (driver.Result, error) {
	c := i.c
	if c.tx != txNone {
		res, err := run(query)
		return res, c.afterInTx(query, err)
	}
	st, err := i.start(ctx, query, rewrite)
	if err != nil {
		return nil, err
	}
	res, err := run(st.query)
	c.savepointStarted(st, err)
	c.afterStatement(st.cl, st.mode != lockNone)
	return res, err
}

// ConnQueryContext runs db.Query when the statement may need a lock (the
// fast path takes plain reads in WAL mode).
func (i *interceptor) ConnQueryContext(ctx context.Context, parent driver.QueryerContext, query string, args []driver.NamedValue) (context.Context, driver.Rows, error) {
	rows, err := i.query(ctx, query, true, func(q string) (driver.Rows, error) {
		return parent.QueryContext(ctx, q, args)
	})
	return ctx, rows, err
}

// StmtQueryContext runs a prepared statement's Query.
func (i *interceptor) StmtQueryContext(ctx context.Context, stmt driver.StmtQueryContext, query string, args []driver.NamedValue) (context.Context, driver.Rows, error) {
	rows, err := i.query(ctx, query, false, func(string) (driver.Rows, error) {
		return stmt.QueryContext(ctx, args)
	})
	return ctx, rows, err
}

// query runs one Query under the lock its statement needs; rows that hold
// a lock give it back at EOF or Close.
func (i *interceptor) query(ctx context.Context, query string, rewrite bool, run func(string) (driver.Rows, error)) (driver.Rows, error) {
	c := i.c
	if c.tx != txNone {
		rows, err := run(query)
		return rows, c.afterInTx(query, err)
	}
	st, err := i.start(ctx, query, rewrite)
	if err != nil {
		return nil, err
	}
	rows, err := run(st.query)
	c.savepointStarted(st, err)
	return i.holdUntilDone(st.mode, st.cl, query, rows, err), err
}

// started is a statement outside a transaction that start has made ready.
type started struct {
	cl     class
	mode   lockMode // the hold it took (lockNone: none)
	query  string   // what to run: the statement, or BEGIN IMMEDIATE for a plain BEGIN
	opened bool     // start ran BEGIN IMMEDIATE for a SAVEPOINT (savepoint.go)
}

// start does what a statement outside a transaction needs before it runs,
// for exec and query alike: classify it, refuse what may not run, take
// its hold, make a manual BEGIN immediate (rewrite: run may be given other
// SQL than query), and open the transaction of a SAVEPOINT that starts one.
// On error it holds nothing.
func (i *interceptor) start(ctx context.Context, query string, rewrite bool) (started, error) {
	c := i.c
	st := started{cl: classify(query), query: query}
	if err := c.refuse(st.cl); err != nil {
		return st, err
	}
	var err error
	if st.mode, err = i.lockFor(ctx, st.cl, query); err != nil {
		return st, err
	}
	if rewrite && st.cl.plainBegin && st.mode == lockExclusive {
		// SPEC §3.5: a manual BEGIN runs immediate, so no other process
		// can make it fail with SQLITE_BUSY_SNAPSHOT halfway through.
		st.query = "BEGIN IMMEDIATE"
	}
	if st.opened, err = c.beginForSavepoint(ctx, st.cl, st.mode); err != nil {
		c.afterStatement(st.cl, st.mode != lockNone)
		return st, err
	}
	return st, nil
}

// holdUntilDone hands a lock taken for a query to the rows, which give it
// back at EOF or Close (SPEC §3.6). With no lock, or no rows, there is
// nothing to hand over.
func (i *interceptor) holdUntilDone(mode lockMode, cl class, query string, rows driver.Rows, err error) driver.Rows {
	if mode == lockNone {
		if i.c.trackReads && i.c.tx == txNone && err == nil && rows != nil {
			return i.c.trackRead(query, rows)
		}
		return rows
	}
	if err != nil || rows == nil {
		i.c.afterStatement(cl, true)
		return rows
	}
	return &lockedRows{Rows: rows, c: i.c, cl: cl}
}

// ConnPrepareContext prepares a statement. In non-WAL mode compiling reads
// the schema, so it takes the shared side of the lock meanwhile. If the
// statement is one the text cannot class, SQLite's answer is remembered for
// its executions.
func (i *interceptor) ConnPrepareContext(ctx context.Context, parent driver.ConnPrepareContext, query string) (context.Context, driver.Stmt, error) {
	c := i.c
	cl := classify(query)
	if err := c.refuse(cl); err != nil {
		return ctx, nil, err
	}
	compiled := query
	if cl.plainBegin {
		compiled = "BEGIN IMMEDIATE" // SPEC §3.5, as in exec; runs under the lock like any BEGIN
	}
	if c.lockReads && c.tx == txNone {
		if err := c.hold(ctx, lockShared, ""); err != nil {
			return ctx, nil, err
		}
		defer c.unhold()
	}
	stmt, err := parent.PrepareContext(ctx, compiled)
	if err != nil {
		return ctx, nil, err
	}
	if ss, ok := stmt.(readonlyStmt); ok && cl.ask {
		c.remember(query, !ss.Readonly())
	}
	return ctx, stmt, nil
}

// ConnBeginTx starts a database/sql transaction (SPEC §3.4). A write
// transaction waits for the lock and runs BEGIN IMMEDIATE; a read-only one
// runs a deferred BEGIN with query_only set, and takes the shared side of
// the lock only in non-WAL mode. The returned *tx gives the lock back.
func (i *interceptor) ConnBeginTx(ctx context.Context, _ driver.ConnBeginTx, opts driver.TxOptions) (context.Context, driver.Tx, error) {
	c := i.c
	if err := checkIsolation(opts.Isolation); err != nil {
		return ctx, nil, err
	}
	if c.tx != txNone {
		return ctx, nil, errors.New("sqlite3-safe: BeginTx on a connection already in a transaction")
	}
	if opts.ReadOnly {
		took := c.lockReads
		if took {
			if err := c.hold(ctx, lockShared, ""); err != nil {
				return ctx, nil, err
			}
		}
		begin := "BEGIN"
		if !c.queryOnly {
			begin = "PRAGMA query_only=1; BEGIN"
		}
		if _, err := c.sc.ExecContext(ctx, begin, nil); err != nil {
			if !c.queryOnly {
				_, _ = c.sc.ExecContext(context.Background(), "PRAGMA query_only=0", nil)
			}
			if took {
				c.unhold()
			}
			return ctx, nil, err
		}
		c.tx = txReadOnly
		if c.trackReads {
			c.readBegan("read-only transaction")
		}
		return ctx, &tx{c: c, held: took}, nil
	}
	if err := c.hold(ctx, lockExclusive, "transaction begun"); err != nil {
		return ctx, nil, err
	}
	if _, err := c.sc.ExecContext(ctx, "BEGIN IMMEDIATE", nil); err != nil {
		c.unhold()
		return ctx, nil, err
	}
	c.tx = txWrite
	return ctx, &tx{c: c, held: true}, nil
}

// lockFor takes what a statement of class cl needs outside a transaction:
// the exclusive side for a write, the shared side for a read in non-WAL
// mode, nothing for a read in WAL mode (SPEC §3.3).
func (i *interceptor) lockFor(ctx context.Context, cl class, query string) (lockMode, error) {
	c := i.c
	write := cl.write
	if cl.ask {
		var err error
		if write, err = i.askSQLite(ctx, query); err != nil {
			return lockNone, err
		}
	}
	mode := lockNone
	switch {
	case write:
		mode = lockExclusive
	case c.lockReads:
		mode = lockShared
	default:
		return lockNone, nil
	}
	what := "statement"
	if cl.txControl {
		what = "manual transaction begun"
	}
	if err := c.hold(ctx, mode, what); err != nil {
		return lockNone, err
	}
	return mode, nil
}

// askSQLite reports whether query may modify the database, by SQLite's
// own answer (sqlite3_stmt_readonly) for the statement compiled on this
// connection. Answers are remembered per connection. If the statement does
// not compile, it is called a write: running it will report the error.
func (i *interceptor) askSQLite(ctx context.Context, query string) (bool, error) {
	c := i.c
	if w, ok := c.memo[query]; ok {
		return w, nil
	}
	if c.lockReads {
		// Compiling reads the schema (see ConnPrepareContext).
		if err := c.hold(ctx, lockShared, ""); err != nil {
			return false, err
		}
		defer c.unhold()
	}
	stmt, err := c.sc.PrepareContext(ctx, query)
	if err != nil {
		return true, nil
	}
	ro, ok := stmt.(readonlyStmt)
	write := !ok || !ro.Readonly() // when unsure: a write
	_ = stmt.Close()
	c.remember(query, write)
	return write, nil
}

// afterStatement runs after an autocommit statement; took says whether it
// took a hold. A statement that opened a transaction (BEGIN, SAVEPOINT)
// hands its hold to the transaction: the connection is now in a manual
// transaction. Anything else gives back what it took.
func (c *conn) afterStatement(cl class, took bool) {
	if !took {
		return
	}
	if cl.txControl && c.held == lockExclusive && !c.sc.AutoCommit() {
		c.tx = txManual
		return
	}
	c.unhold()
}

// afterInTx runs after a statement inside a transaction, with the
// statement's error, and returns the error the caller gets. A manual
// transaction ends when SQLite is back in autocommit: after COMMIT,
// ROLLBACK, the outer RELEASE, or an error that rolled it back.
func (c *conn) afterInTx(query string, err error) error {
	if c.tx != txManual {
		return err
	}
	if err == nil && c.savepoints != nil {
		err = c.trackSavepoint(query)
	}
	if c.sc.AutoCommit() {
		c.tx = txNone
		c.savepoints = nil
		c.unhold() // the hold the opening statement handed over
	}
	return err
}

// refuse returns the error for a statement that may not run here.
func (c *conn) refuse(cl class) error {
	if cl.forbidden != "" && c.wal {
		return fmt.Errorf("sqlite3-safe: refused: %s; open the database with _safe=off to manage it yourself", cl.forbidden)
	}
	return nil
}

func (c *conn) remember(query string, write bool) {
	if c.memo == nil || len(c.memo) >= memoLimit {
		c.memo = make(map[string]bool)
	}
	c.memo[query] = write
}
