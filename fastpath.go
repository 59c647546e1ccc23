package sqlite3safe

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/sqlite3safe/sqlite3safe/internal/sqlclass"
)

// safeConn is the connection database/sql holds. Statements that need
// nothing from sqlite3-safe go straight to go-sqlite3: reads outside a
// transaction in WAL mode (readers take no lock), and the statements of a
// BeginTx transaction once it has written or if it is read-only (it never
// waits for the lock again; only a refused PRAGMA is looked for). The other
// statements of a BeginTx transaction go through txRun (lazytx.go). Everything else goes to the connection's
// interceptor, whose sqlmw.Interceptor methods safeConn calls itself.
//
// safeConn calls them rather than going through sqlmw's connection
// wrapper because the wrapper allocates on every call (the parent boxed
// into an interface, a wrapped result or wrapped rows and their
// optional-interface picker, a wrapped statement or transaction): two to
// four allocations and about a tenth of a point SELECT's time, on every
// statement. The wrapper is left with what needs no interception (Ping,
// Close); the decisions are all the interceptor's either way.
//
// A safeConn is not safe for concurrent use; database/sql serializes calls
// on a connection.
type safeConn struct {
	c  *conn        // the connection statements run on: own, or the writer during a routed transaction
	i  *interceptor // c's interceptor
	mw safeConnMW   // sqlmw's wrapper around own

	own   *conn        // the connection's own SQLite connection and state
	ownI  *interceptor // own's interceptor
	cn    *connector   // whose writer write transactions may borrow (route.go); nil: never
	wr    *safeConn    // the connector's writer, while a routed transaction runs on it
	adopt bool         // the routed transaction left state on the writer: it becomes own (unroute)
	rowid int64        // the writer's last_insert_rowid() when the routed transaction took it
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

// ExecContext runs a statement; outside a transaction it is classified and
// locked by the interceptor.
func (s *safeConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s.c.reclaim()
	if s.cn != nil {
		if err := s.route(ctx, query); err != nil {
			return nil, err
		}
	}
	w := s.c.waits.enter(ctx, mentionsBusyTimeout(query))
	res, err := s.exec(ctx, query, args)
	s.c.waits.leave(w)
	return res, waitError(ctx, err)
}

func (s *safeConn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c := s.c; c.inBeginTx() {
		if err := c.refuseInTx(query); err != nil {
			return nil, err
		}
		if c.txFast() {
			return c.execConn(ctx, query, args)
		}
		return txRun(ctx, c, sqlclass.Classify(query).PlainRead(), func() (driver.Result, error) {
			return c.execConn(ctx, query, args)
		})
	}
	return s.i.ConnExecContext(ctx, s.c, query, args)
}

// QueryContext runs a query; a read in WAL mode outside a transaction
// goes straight to go-sqlite3.
func (s *safeConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s.c.reclaim()
	if s.cn != nil && (s.wr != nil || s.c.tx != txNone || !s.c.pinned) {
		if err := s.route(ctx, query); err != nil {
			return nil, err
		}
	}
	w := s.c.waits.enter(ctx, mentionsBusyTimeout(query))
	rows, err := s.query(ctx, query, args)
	s.c.waits.leave(w)
	return rows, waitError(ctx, err)
}

func (s *safeConn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c := s.c; c.inBeginTx() {
		if err := c.refuseInTx(query); err != nil {
			return nil, err
		}
		if c.txFast() {
			return c.sc.QueryContext(ctx, query, args)
		}
		return txRun(ctx, c, sqlclass.Classify(query).PlainRead(), func() (driver.Rows, error) {
			return c.sc.QueryContext(ctx, query, args)
		})
	}
	if s.c.tx == txNone && !s.c.lockReads && sqlclass.Classify(query).PlainRead() {
		rows, err := s.c.sc.QueryContext(ctx, query, args)
		if err != nil || !s.c.trackReads {
			return rows, err
		}
		return s.c.trackRead(query, rows), nil
	}
	_, rows, err := s.i.ConnQueryContext(ctx, s.c, query, args)
	return rows, err
}

// PrepareContext prepares through the interceptor; the statement's
// executions go through it too (safeStmt).
func (s *safeConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	// SQLite runs much of a PRAGMA when it compiles it.
	busy := mentionsBusyTimeout(query)
	s.c.reclaim()
	w := s.c.waits.enter(ctx, busy)
	if s.cn != nil {
		s.notePinning(query)
		if s.wr != nil {
			s.adopt = true // compiled on the writer: it becomes the connection's own
		}
	}
	st, cl, err := s.i.prepare(ctx, s.c, query)
	s.c.waits.leave(w)
	if err != nil {
		return nil, waitError(ctx, err)
	}
	ps, ok := st.(preparedStmt)
	if !ok {
		_ = st.Close()
		return nil, fmt.Errorf("sqlite3-safe: go-sqlite3 prepared a %T, not a statement it can use", st)
	}
	s.c.openStmts++
	return &safeStmt{s: s, on: s.c, st: ps, query: query, read: cl.PlainRead(), busy: busy, act: newStmtActivity(ps)}, nil
}

// Prepare is driver.Conn's context-less Prepare.
func (s *safeConn) Prepare(query string) (driver.Stmt, error) {
	return s.PrepareContext(context.Background(), query)
}

// BeginTx starts a transaction through the interceptor.
func (s *safeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	s.c.reclaim()
	w := s.c.waits.enter(ctx, false)
	_, dt, err := s.i.ConnBeginTx(ctx, s.c, opts)
	s.c.waits.leave(w)
	if t, ok := dt.(*tx); ok {
		t.s = s
	}
	return dt, waitError(ctx, err)
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
func (s *safeConn) Close() error {
	if s.wr != nil { // a routed transaction never ended
		_ = (&tx{c: s.c, s: s}).Rollback()
	}
	return s.mw.Close()
}

// preparedStmt is what sqlite3-safe uses of go-sqlite3's *SQLiteStmt.
type preparedStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// safeStmt is a prepared statement of a safeConn. Like the connection's
// statements, a plain read in WAL mode outside a transaction and every
// execution inside a BeginTx transaction go straight to go-sqlite3;
// everything else goes to the interceptor. It implements no more optional
// interfaces than go-sqlite3's statement does, so database/sql converts
// arguments as it does for go-sqlite3.
type safeStmt struct {
	s     *safeConn
	on    *conn // the connection it was compiled on
	st    preparedStmt
	query string
	read  bool         // a plain read (sqlclass.Class.PlainRead)
	busy  bool         // it names busy_timeout (busyWait.expose)
	act   stmtActivity // whether Exec left it active in SQLite (execactive.go)
}

var (
	_ driver.Stmt             = (*safeStmt)(nil)
	_ driver.StmtExecContext  = (*safeStmt)(nil)
	_ driver.StmtQueryContext = (*safeStmt)(nil)
)

// Close finalizes the statement, which ends what Exec may have left it
// holding.
func (p *safeStmt) Close() error {
	p.on.openStmts--
	err := p.st.Close()
	p.afterClose()
	return err
}

// NumInput is go-sqlite3's count of parameters.
func (p *safeStmt) NumInput() int { return p.st.NumInput() }

// Exec is driver.Stmt's context-less Exec; database/sql calls ExecContext.
func (p *safeStmt) Exec(args []driver.Value) (driver.Result, error) {
	return p.ExecContext(context.Background(), namedValues(args))
}

// Query is driver.Stmt's context-less Query; database/sql calls
// QueryContext.
func (p *safeStmt) Query(args []driver.Value) (driver.Rows, error) {
	return p.QueryContext(context.Background(), namedValues(args))
}

// ExecContext runs the statement; outside a BeginTx transaction the
// interceptor classifies and locks it.
func (p *safeStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	p.s.c.reclaim()
	w := p.s.c.waits.enter(ctx, p.busy)
	res, err := p.exec(ctx, args)
	p.s.c.waits.leave(w)
	return res, waitError(ctx, err)
}

func (p *safeStmt) exec(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if c := p.s.c; c.inBeginTx() {
		if c.txFast() {
			return p.execStmt(ctx, args)
		}
		return txRun(ctx, c, p.read, func() (driver.Result, error) { return p.execStmt(ctx, args) })
	}
	return p.s.i.exec(ctx, p.query, args, false, func(string) (driver.Result, error) { return p.execStmt(ctx, args) })
}

// execStmt runs the statement's Exec on go-sqlite3 (conn.execStmt). A
// statement that returns rows may be left active by it (execactive.go).
func (p *safeStmt) execStmt(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	res, err := p.s.c.execStmt(ctx, p.st, args)
	if p.act.rows {
		p.afterExec()
	}
	return res, err
}

// QueryContext runs the statement as a query; a plain read in WAL mode
// outside a transaction goes straight to go-sqlite3.
func (p *safeStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	p.s.c.reclaim()
	w := p.s.c.waits.enter(ctx, p.busy)
	rows, err := p.run(ctx, args)
	if p.act.left {
		p.afterQuery(err)
	}
	p.s.c.waits.leave(w)
	return rows, waitError(ctx, err)
}

func (p *safeStmt) run(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	c := p.s.c
	if c.inBeginTx() {
		if c.txFast() {
			return p.st.QueryContext(ctx, args)
		}
		return txRun(ctx, c, p.read, func() (driver.Rows, error) { return p.st.QueryContext(ctx, args) })
	}
	if p.read && c.tx == txNone && !c.lockReads {
		rows, err := p.st.QueryContext(ctx, args)
		if err != nil || !c.trackReads {
			return rows, err
		}
		return c.trackRead(p.query, rows), nil
	}
	_, rows, err := p.s.i.StmtQueryContext(ctx, p.st, p.query, args)
	return rows, err
}

// namedValues numbers positional arguments as database/sql does.
func namedValues(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}
