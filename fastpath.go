package sqlite3safe

import (
	"context"
	"database/sql/driver"

	"github.com/sqlite3safe/sqlite3safe/internal/sqlclass"
)

// safeConn is the connection database/sql holds. Statements that need
// nothing from sqlite3-safe go straight to go-sqlite3: reads outside a
// transaction in WAL mode (readers take no lock), and every statement inside
// a BeginTx transaction (it never waits for the lock again; only a refused
// PRAGMA is looked for). Everything else goes
// through sqlmw's wrapper and the connection's interceptor.
//
// The fast path exists because sqlmw allocates on every call (the parent
// connection boxed into an interface, and for queries the wrapped rows and
// the optional-interface picker): three allocations and about a tenth of a
// point SELECT's time, spent on calls where the interceptor has nothing to
// do.
//
// A safeConn is not safe for concurrent use; database/sql serializes calls
// on a connection.
type safeConn struct {
	c  *conn      // the state; also sqlmw's parent
	mw safeConnMW // sqlmw's wrapper around c
}

// safeConnMW is what sqlmw's connection wrapper implements.
type safeConnMW = interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
}

var (
	_ driver.Conn               = (*safeConn)(nil)
	_ driver.ConnBeginTx        = (*safeConn)(nil)
	_ driver.ConnPrepareContext = (*safeConn)(nil)
	_ driver.ExecerContext      = (*safeConn)(nil)
	_ driver.QueryerContext     = (*safeConn)(nil)
	_ driver.Pinger             = (*safeConn)(nil)
	_ driver.SessionResetter    = (*safeConn)(nil)
	_ driver.Validator          = (*safeConn)(nil)
)

// inBeginTx reports whether the connection is inside a BeginTx
// transaction, where statements need neither a lock nor bookkeeping.
func (s *safeConn) inBeginTx() bool {
	return s.c.tx == txWrite || s.c.tx == txReadOnly
}

// ExecContext runs a statement; outside a transaction it is classified and
// locked by the interceptor.
func (s *safeConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if s.inBeginTx() {
		if err := s.c.refuseInTx(query); err != nil {
			return nil, err
		}
		return s.c.sc.ExecContext(ctx, query, args)
	}
	return s.mw.ExecContext(ctx, query, args)
}

// QueryContext runs a query; a read in WAL mode outside a transaction
// goes straight to go-sqlite3.
func (s *safeConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if s.inBeginTx() {
		if err := s.c.refuseInTx(query); err != nil {
			return nil, err
		}
		return s.c.sc.QueryContext(ctx, query, args)
	}
	if s.c.tx == txNone && !s.c.lockReads && sqlclass.Classify(query).PlainRead() {
		rows, err := s.c.sc.QueryContext(ctx, query, args)
		if err != nil || !s.c.trackReads {
			return rows, err
		}
		return s.c.trackRead(query, rows), nil
	}
	return s.mw.QueryContext(ctx, query, args)
}

// PrepareContext prepares through the interceptor, so the statement's
// executions are intercepted too.
func (s *safeConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return s.mw.PrepareContext(ctx, query)
}

// Prepare is driver.Conn's context-less Prepare.
func (s *safeConn) Prepare(query string) (driver.Stmt, error) {
	return s.mw.PrepareContext(context.Background(), query)
}

// BeginTx starts a transaction through the interceptor.
func (s *safeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return s.mw.BeginTx(ctx, opts)
}

// Begin is refused, as by conn.Begin.
func (s *safeConn) Begin() (driver.Tx, error) { return s.c.Begin() }

// Ping reports whether the connection is open.
func (s *safeConn) Ping(ctx context.Context) error { return s.mw.Ping(ctx) }

// ResetSession: see conn.ResetSession.
func (s *safeConn) ResetSession(ctx context.Context) error { return s.c.ResetSession(ctx) }

// IsValid: see conn.IsValid.
func (s *safeConn) IsValid() bool { return s.c.IsValid() }

// Close: see conn.Close.
func (s *safeConn) Close() error { return s.mw.Close() }
