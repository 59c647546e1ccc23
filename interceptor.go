package sqlite3safe

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/ngrok/sqlmw"
	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
	"github.com/sqlite3safe/sqlite3safe/internal/sqlclass"
)

// interceptor is the sqlmw.Interceptor of one connection: every connection
// gets its own (driver.go wraps each conn with sqlmw.Driver and a fresh
// interceptor), so the interceptor reaches its connection's state with no
// lookup on the statement path. Statements that need nothing from it skip
// it, and the connection calls the methods below itself rather than
// through sqlmw's wrapper, which allocates on every call (fastpath.go).
//
// It decides, for every statement, which side of the file's lock to take
// and when to give it back. Intercepted: ConnExecContext, ConnQueryContext,
// ConnPrepareContext, StmtExecContext, StmtQueryContext and ConnBeginTx.
// Everything else is sqlmw.NullInterceptor's pass-through, which reaches
// types of ours where a lock must go back: the *tx that ConnBeginTx returns
// (tx.go), the *lockedRows that a locking query returns (rows.go), and the
// *conn for reset and close (conn.go).
//
// Who gives back what (each makes one claim on the connection's lock and
// gives back that one; the lock goes back with the last, conn.claim):
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

// ConnExecContext runs db.Exec (and tx.Exec inside a manual transaction).
func (i *interceptor) ConnExecContext(ctx context.Context, parent driver.ExecerContext, query string, args []driver.NamedValue) (driver.Result, error) {
	return i.exec(ctx, query, args, true, func(q string) (driver.Result, error) {
		return i.c.execWith(ctx, parent, q, args)
	})
}

// StmtExecContext runs a prepared statement's Exec. A prepared BEGIN is
// compiled as written; SQLite's write lock is taken right after it runs.
// (safeStmt runs its Exec through exec itself, to see whether go-sqlite3
// left the statement active.)
func (i *interceptor) StmtExecContext(ctx context.Context, stmt driver.StmtExecContext, query string, args []driver.NamedValue) (driver.Result, error) {
	return i.exec(ctx, query, args, false, func(string) (driver.Result, error) {
		return i.c.execStmt(ctx, stmt, args)
	})
}

// exec runs one Exec under the lock its statement needs. onConn says the
// text is run as given (not a compiled statement), so it may be run
// statement by statement, or as other SQL (a plain BEGIN made immediate).
func (i *interceptor) exec(ctx context.Context, query string, args []driver.NamedValue, onConn bool, run func(string) (driver.Result, error)) (driver.Result, error) {
	c := i.c
	if c.inBeginTx() {
		// A prepared statement inside a BeginTx transaction: refused, if
		// at all, when it was prepared.
		if c.txFast() {
			return run(query)
		}
		return txRun(ctx, c, sqlclass.Classify(query).PlainRead(), func() (driver.Result, error) { return run(query) })
	}
	cl, claimed, err := i.start(ctx, query)
	if err != nil {
		return nil, err
	}
	var res driver.Result
	switch {
	case onConn && cl.TxControl && !cl.PlainBegin && canSplit:
		res, err = c.execEach(ctx, query, args)
	case cl.TxControl:
		res, err = runOne(ctx, c, query, onConn, run)
	default:
		c.onlyRead = c.onlyRead && cl.PlainRead()
		res, err = run(query)
	}
	c.settle(claimed)
	return res, err
}

// ConnQueryContext runs db.Query when the statement may need a lock (the
// fast path takes plain reads in WAL mode).
func (i *interceptor) ConnQueryContext(ctx context.Context, parent driver.QueryerContext, query string, args []driver.NamedValue) (context.Context, driver.Rows, error) {
	rows, err := i.query(ctx, query, args, true, func(q string) (driver.Rows, error) {
		return parent.QueryContext(ctx, q, args)
	})
	return ctx, rows, err
}

// StmtQueryContext runs a prepared statement's Query.
func (i *interceptor) StmtQueryContext(ctx context.Context, stmt driver.StmtQueryContext, query string, args []driver.NamedValue) (context.Context, driver.Rows, error) {
	rows, err := i.query(ctx, query, args, false, func(string) (driver.Rows, error) {
		return stmt.QueryContext(ctx, args)
	})
	return ctx, rows, err
}

// query runs one Query under the lock its statement needs; rows that hold
// a lock, or run inside a manual transaction, settle the connection's
// state at EOF or Close. go-sqlite3 takes a query's first step at once, so
// a statement that opens or ends a transaction has done so on return.
func (i *interceptor) query(ctx context.Context, query string, args []driver.NamedValue, onConn bool, run func(string) (driver.Rows, error)) (driver.Rows, error) {
	c := i.c
	if c.inBeginTx() {
		if c.txFast() { // as in exec
			return run(query)
		}
		return txRun(ctx, c, sqlclass.Classify(query).PlainRead(), func() (driver.Rows, error) { return run(query) })
	}
	cl, claimed, err := i.start(ctx, query)
	if err != nil {
		return nil, err
	}
	var rows driver.Rows
	switch {
	case onConn && cl.TxControl && !cl.PlainBegin && canSplit:
		rows, err = c.queryEach(ctx, query, args)
	case cl.TxControl:
		rows, err = runOne(ctx, c, query, onConn, run)
	default:
		c.onlyRead = c.onlyRead && cl.PlainRead()
		rows, err = run(query)
	}
	if err != nil || rows == nil {
		c.settle(claimed)
		return rows, err
	}
	if !claimed && c.tx != txManual {
		if c.trackReads && c.tx == txNone {
			return c.trackRead(query, rows), nil // a read: the checkpointer wants to know it is open
		}
		return rows, nil
	}
	// In a manual transaction a later step may still end it (an error
	// that rolls back), so the state is read again at EOF or Close.
	c.settle(false)
	return &lockedRows{Rows: rows, c: c, claimed: claimed}, nil
}

// start does what a statement outside a BeginTx transaction needs before
// it runs, for exec and query alike: classify it, refuse what may not run
// (inside a manual transaction as outside), outside a transaction take its
// claim (claimed), and for a text that holds an ATTACH drop what the
// connection keeps compiled (conn.attached). On error it holds nothing.
func (i *interceptor) start(ctx context.Context, query string) (cl sqlclass.Class, claimed bool, err error) {
	c := i.c
	cl = sqlclass.Classify(query)
	if err := c.refuse(cl); err != nil {
		return cl, false, err
	}
	mode := rwlock.None
	if c.tx == txNone {
		if mode, err = i.lockFor(ctx, cl, query); err != nil {
			return cl, false, err
		}
	}
	if cl.Attach {
		// Before the text runs, not after: the statements that follow
		// the ATTACH in the same string are compiled, or taken from
		// go-sqlite3's cache, as the string runs, one after the other.
		c.attached()
	}
	return cl, mode != rwlock.None, nil
}

// ConnPrepareContext prepares a statement. In non-WAL mode compiling reads
// the schema, so it takes the shared side of the lock meanwhile. If the
// statement is one the text cannot class, SQLite's answer is remembered for
// its executions.
func (i *interceptor) ConnPrepareContext(ctx context.Context, parent driver.ConnPrepareContext, query string) (context.Context, driver.Stmt, error) {
	stmt, _, err := i.prepare(ctx, parent, query)
	return ctx, stmt, err
}

// prepare is ConnPrepareContext, and also returns the statement's class.
func (i *interceptor) prepare(ctx context.Context, parent driver.ConnPrepareContext, query string) (driver.Stmt, sqlclass.Class, error) {
	c := i.c
	cl := sqlclass.Classify(query)
	if err := c.refuse(cl); err != nil {
		return nil, cl, err
	}
	if c.lockReads && c.locked == rwlock.None {
		if err := c.claim(ctx, rwlock.Shared, ""); err != nil {
			return nil, cl, err
		}
		defer c.unclaim()
	}
	stmt, err := parent.PrepareContext(ctx, query)
	if err != nil {
		return nil, cl, err
	}
	if ss, ok := stmt.(readonlyStmt); ok && cl.Ask {
		c.remember(query, !ss.Readonly())
	}
	return stmt, cl, nil
}

// ConnBeginTx starts a database/sql transaction. A write transaction
// takes nothing yet: its first statement waits for the lock and runs
// BEGIN IMMEDIATE (lazytx.go). A read-only one runs a deferred BEGIN with
// query_only set, and takes the shared side of the lock only in non-WAL
// mode. The returned *tx gives back whatever the transaction took.
func (i *interceptor) ConnBeginTx(ctx context.Context, _ driver.ConnBeginTx, opts driver.TxOptions) (context.Context, driver.Tx, error) {
	c := i.c
	if err := checkIsolation(opts.Isolation); err != nil {
		return ctx, nil, err
	}
	if c.tx != txNone {
		return ctx, nil, errors.New("sqlite3-safe: BeginTx on a connection already in a transaction")
	}
	if !opts.ReadOnly {
		c.tx = txPending
		return ctx, &tx{c: c}, nil
	}
	// query_only makes writes fail with SQLite's read-only error; one the
	// application set stays as it was when the transaction ends. The
	// PRAGMAs are sqlite3-safe's own (own.go); the BEGIN is the one
	// go-sqlite3 runs.
	setQueryOnly := !c.queryOnly
	if setQueryOnly {
		v, err := c.ownQuery(ctx, hideAuthorizer, "PRAGMA query_only")
		if err != nil {
			return ctx, nil, err
		}
		if setQueryOnly = v != "1"; setQueryOnly {
			if err := c.ownExec(ctx, hideAuthorizer, "PRAGMA query_only=1"); err != nil {
				return ctx, nil, err
			}
		}
	}
	if err := c.beginRead(ctx, "BEGIN", "read-only transaction"); err != nil {
		if setQueryOnly {
			_ = c.ownExec(context.Background(), hideAuthorizer, "PRAGMA query_only=0")
		}
		return ctx, nil, err
	}
	return ctx, &tx{c: c, resetQueryOnly: setQueryOnly}, nil
}

// lockFor takes what a statement of class cl needs outside a transaction:
// the exclusive side for a write, the shared side for a read in non-WAL
// mode, nothing for a read in WAL mode (readers never wait for writers there).
func (i *interceptor) lockFor(ctx context.Context, cl sqlclass.Class, query string) (rwlock.Mode, error) {
	c := i.c
	write := cl.Write
	if cl.Ask {
		var err error
		if write, err = i.askSQLite(ctx, query); err != nil {
			return rwlock.None, err
		}
	}
	mode := rwlock.None
	switch {
	case write:
		mode = rwlock.Exclusive
	case c.lockReads:
		mode = rwlock.Shared
	default:
		return rwlock.None, nil
	}
	what := "statement"
	if cl.TxControl {
		what = "manual transaction begun"
	}
	if err := c.claim(ctx, mode, what); err != nil {
		return rwlock.None, err
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
		if err := c.claim(ctx, rwlock.Shared, ""); err != nil {
			return false, err
		}
		defer c.unclaim()
	}
	// The application's authorizer decides the statement when it runs;
	// this compilation is sqlite3-safe's own (own.go).
	o := ownBegin(c.sc, c.exposed, hideAuthorizer, 0, 0)
	stmt, err := c.sc.PrepareContext(ctx, query)
	ownEnd(o)
	if err != nil {
		return true, nil
	}
	ro, ok := stmt.(readonlyStmt)
	write := !ok || !ro.Readonly() // when unsure: a write
	_ = stmt.Close()
	c.remember(query, write)
	return write, nil
}
