package sqlite3safe

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"unicode"

	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
	"github.com/sqlite3safe/sqlite3safe/internal/sqlclass"
)

// This file runs manual transactions. It is split from conn.go by
// concern: conn's methods that run transaction control (takeWriteLock,
// execEach, queryEach) are one mechanism with runOne and the argument
// helpers below, and prepareOne, which they call, is compiled apart
// (manualtx_cgo.go, manualtx_nocgo.go).

// Manual transactions (BEGIN, SAVEPOINT, COMMIT, RELEASE, ROLLBACK run as
// statements on a connection) follow SQLite's own state: after every such
// statement the connection asks SQLite whether it is in autocommit
// (sqlite3_get_autocommit) and holds the write lock exactly while it is
// not. SQLite alone decides what commits: a SAVEPOINT runs as written, so
// the RELEASE of the outermost savepoint commits as it would without
// sqlite3-safe, whatever the quoting of its name or the string it is in.
//
// A transaction that a statement opened must be immediate, so that no other
// process can make a later write fail with SQLITE_BUSY_SNAPSHOT: a plain
// BEGIN runs as BEGIN IMMEDIATE, and after any other statement that opened
// one (a SAVEPOINT, a BEGIN among other statements) the connection takes
// SQLite's write lock at once with takeWriteLock, before anything else
// reads. A string of several statements with transaction control runs one
// statement at a time, as go-sqlite3 runs it, so that this happens between
// its statements.

// writeLockProbe takes SQLite's write lock on the main database, as BEGIN
// IMMEDIATE does, and changes nothing: PRAGMA incremental_vacuum starts a
// write transaction and, unless auto_vacuum is INCREMENTAL, finds nothing
// to do, so no page is written. Where it does free a page, the savepoint
// of its own rolls that back (the commit then writes page 1 unchanged).
// The lock stays until the transaction ends.
const (
	writeLockProbe = "SAVEPOINT sqlite3safe_lock; PRAGMA main.incremental_vacuum(1)"
	writeLockUndo  = "ROLLBACK TO sqlite3safe_lock; RELEASE sqlite3safe_lock"
)

// takeWriteLock makes the transaction SQLite has just opened hold SQLite's
// write lock, as BEGIN IMMEDIATE would have. A connection that may not
// write (read-only, query_only) cannot meet SQLITE_BUSY_SNAPSHOT: for it
// this is a no-op. Any other failure (SQLITE_BUSY from another process)
// rolls the new transaction back and is returned, as BEGIN IMMEDIATE
// would have failed.
func (c *conn) takeWriteLock(ctx context.Context) error {
	// The probe, its undo and the ROLLBACK are sqlite3-safe's own: on
	// go-sqlite3 the transaction stays deferred (own.go).
	o := ownBegin(c.sc, c.exposed, hideAuthorizer|hideRollbackHook, len(writeLockProbe), 0)
	defer ownEnd(o)
	_, err := c.sc.ExecContext(ctx, writeLockProbe, nil)
	_, _ = c.sc.ExecContext(context.Background(), writeLockUndo, nil)
	if err == nil || isReadOnly(err) {
		return nil
	}
	if !c.sc.AutoCommit() {
		_, _ = c.sc.ExecContext(context.Background(), "ROLLBACK", nil)
	}
	return ownError(writeLockProbe, err)
}

// runOne runs one statement, text, outside a BeginTx transaction: a plain
// BEGIN as BEGIN IMMEDIATE (rewrite: run may be given other SQL than text;
// the connection holds the write lock), and any other statement that opens
// a transaction followed by takeWriteLock. A connection that may not write
// (query_only, a read-only file) cannot meet SQLITE_BUSY_SNAPSHOT, and
// SQLite refuses BEGIN IMMEDIATE on it: there BEGIN runs as written.
//
// A transaction made immediate so is a write transaction in SQLite even if
// it only reads; on go-sqlite3 it would be a read transaction, whose commit
// does not call the commit hook. So until a statement that may write runs
// in it (c.onlyRead), transaction control runs with the commit hook set
// aside (own.go).
func runOne[T any](ctx context.Context, c *conn, text string, rewrite bool, run func(string) (T, error)) (T, error) {
	var cl sqlclass.Class
	if rewrite && c.locked == rwlock.Exclusive || c.onlyRead {
		cl = sqlclass.Classify(text)
	}
	if rewrite && c.locked == rwlock.Exclusive && cl.PlainBegin {
		// BEGIN IMMEDIATE stands for the application's BEGIN (own.go).
		res, err := standIn(c, "BEGIN IMMEDIATE", len(text), func() (T, error) { return run("BEGIN IMMEDIATE") })
		if !isReadOnly(err) {
			c.onlyRead = err == nil
			return res, err
		}
	}
	var o ownState
	switch {
	case !c.onlyRead:
	case cl.TxControl:
		o = ownBegin(c.sc, c.exposed, hideCommitHook, 0, 0)
	case !cl.PlainRead():
		c.onlyRead = false
	}
	wasAuto := c.sc.AutoCommit()
	res, err := run(text)
	ownEnd(o)
	if err == nil && wasAuto && !c.sc.AutoCommit() && c.locked == rwlock.Exclusive {
		writing := c.sqliteWriting() // the statement took SQLite's write lock itself (BEGIN IMMEDIATE)
		err = c.takeWriteLock(ctx)
		c.onlyRead = err == nil && !writing
	}
	return res, err
}

// zeroResult is go-sqlite3's result of a string with no statement in it.
type zeroResult struct{}

func (zeroResult) LastInsertId() (int64, error) { return 0, nil }
func (zeroResult) RowsAffected() (int64, error) { return 0, nil }

// execEach runs a multi-statement string the way go-sqlite3's Exec does
// (each statement in turn, arguments bound positionally across them), but
// each statement through runOne. SQLite finds the statement boundaries.
func (c *conn) execEach(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	start := 0
	for {
		ss, tail, empty, err := c.prepareOne(ctx, query)
		if err != nil {
			return nil, err
		}
		var res driver.Result
		if !empty {
			var na int
			res, na, err = c.runPiece(ctx, ss, piece(query, tail), args, start, false)
			if err != nil {
				_ = ss.Close()
				return nil, err
			}
			start += na
		}
		_ = ss.Close()
		if tail == "" {
			if res == nil {
				res = zeroResult{}
			}
			return res, nil
		}
		query = tail
	}
}

// queryEach runs a multi-statement string the way go-sqlite3's Query
// does (every statement but the last stepped once and closed, the rows of
// the last returned), each statement through runOne.
func (c *conn) queryEach(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	start := 0
	for {
		ss, tail, empty, err := c.prepareOne(ctx, query)
		if err != nil {
			return nil, err
		}
		if tail == "" {
			// The last statement: go-sqlite3 runs it and returns its rows.
			// Compiling it again is sqlite3-safe's own: the authorizer
			// decided it above (own.go).
			_ = ss.Close()
			return runOne(ctx, c, query, true, func(q string) (driver.Rows, error) {
				o := ownBegin(c.sc, c.exposed, hideAuthorizer, 0, 0)
				defer ownEnd(o)
				return c.sc.QueryContext(ctx, q, restArgs(args, start))
			})
		}
		if !empty {
			_, na, err := c.runPiece(ctx, ss, piece(query, tail), args, start, true)
			if err != nil {
				_ = ss.Close()
				return nil, err
			}
			start += na
		}
		_ = ss.Close()
		query = tail
	}
}

// runPiece runs ss, the compiled statement text of a multi-statement
// string, through runOne, with go-sqlite3's choice of arguments from start
// on, and reports how many positional arguments it took. asQuery says it
// runs as go-sqlite3's Query runs a statement that is not the last one
// (stepped once, its rows closed, no result); else as its Exec does.
func (c *conn) runPiece(ctx context.Context, ss splitStmt, text string, args []driver.NamedValue, start int, asQuery bool) (driver.Result, int, error) {
	na := ss.NumInput()
	if len(args)-start < na {
		return nil, 0, fmt.Errorf("not enough args to execute query: want %d got %d", na, len(args)-start)
	}
	sa := stmtArgs(args, start, na)
	res, err := runOne(ctx, c, text, true, func(q string) (driver.Result, error) {
		switch {
		case q == "BEGIN IMMEDIATE":
			// In place of ss, the application's BEGIN, which its
			// authorizer and limits have decided (own.go).
			o := ownBegin(c.sc, c.exposed, hideAuthorizer, len(q), 0)
			defer ownEnd(o)
			return c.sc.ExecContext(ctx, q, nil)
		case !asQuery:
			return ss.ExecContext(ctx, sa)
		}
		rows, err := ss.QueryContext(ctx, sa)
		if err == nil {
			err = rows.Close()
		}
		return nil, err
	})
	return res, na, err
}

// splitStmt is what the statement-by-statement runners use of a
// go-sqlite3 statement (manualtx_cgo.go compiles it).
type splitStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// piece is the statement of query that tail follows.
func piece(query, tail string) string {
	body := strings.TrimRightFunc(query, unicode.IsSpace)
	return body[:len(body)-len(tail)]
}

// stmtArgs is go-sqlite3's choice of the arguments for a statement that
// takes na of them from start: those, plus every named argument.
func stmtArgs(args []driver.NamedValue, start, na int) []driver.NamedValue {
	if na == 0 {
		return nil
	}
	end := start + na
	out := make([]driver.NamedValue, 0, len(args))
	out = append(out, args[start:end]...)
	for i := range args {
		if args[i].Name != "" && (i < start || i >= end) {
			out = append(out, args[i])
		}
	}
	for i := range out {
		out[i].Ordinal = i + 1
	}
	return out
}

// restArgs is what go-sqlite3 would have left for the statements from
// start on: the arguments from start, plus the named ones before it.
func restArgs(args []driver.NamedValue, start int) []driver.NamedValue {
	if start == 0 {
		return args
	}
	return stmtArgs(args, start, len(args)-start)
}
