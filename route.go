package sqlite3safe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
)

// A write transaction runs on the file's warm writer when it can.
//
// database/sql gives every goroutine a connection of its own (its pool is
// unbounded by default), so under load a hundred SQLite connections take
// turns at the write lock. Each one, when its turn comes, finds that other
// connections have committed since its last transaction, drops its whole
// page cache and reads the pages again. A connection that only ever takes
// the write lock itself never does: nothing else commits. So a connector
// keeps one extra SQLite connection, its writer, and a write transaction
// whose connection holds no state of its own runs on the writer instead:
// at its first statement it waits for the write lock on its own connection
// as always, and if the writer is free the lock's claim moves to the writer
// (conn.giveClaim) and the transaction runs there, from BEGIN IMMEDIATE to
// COMMIT. The two-pool pattern gets its speed from its one writer
// connection; this gives it to the default pool, transparently.
//
// Transparently means: whatever the transaction sees or leaves must be
// what it would have seen or left on its own connection. It does as long
// as the two connections are alike, and they are alike until the
// application gives its connection state of its own. So a connection is
// pinned (conn.pinned), and its transactions run on it, once it has run
// anything but reads, DML, transaction control and changes to the
// database's schema (a PRAGMA, ATTACH, a temporary table, view or trigger:
// connection settings and temporary objects live on the connection), has been lent through Unwrap (functions, hooks, limits),
// or while statements prepared on it are open. And a routed transaction
// that does one of those things itself (a PRAGMA, a temporary table, a
// statement it prepares, Unwrap) makes the writer the connection's own
// from then on (adopt): the connection it had becomes the connector's
// writer, since it held no state. What the application did is then where
// it will look for it.
//
// Who holds what: the writer is the connector's while it is free (in
// connector.writer), a routed transaction's from the claim's move to its
// end (safeConn.wr), given back by safeConn.unroute from the transaction's
// Commit or Rollback (or the connection's Close).

// writerSlot is a connector's writer: one SQLite connection, opened on
// first use, free or lent to one routed transaction at a time.
type writerSlot struct {
	once sync.Once
	mu   sync.Mutex // guards free, closed
	free *safeConn  // the writer when no transaction has it; nil while lent or if none could be opened
	lent bool       // a routed transaction has it
	shut bool       // the connector closed: the writer closes when given back
}

// takeWriter returns the connector's writer if it is free, opening it on
// first use, else nil.
func (c *connector) takeWriter(ctx context.Context) *safeConn {
	w := &c.writer
	w.once.Do(func() {
		dc, err := c.connect(ctx, true)
		if err != nil {
			return // no writer: transactions run on their own connections
		}
		w.mu.Lock()
		if w.shut {
			w.mu.Unlock()
			_ = dc.Close()
			return
		}
		w.free = dc.(*safeConn)
		w.mu.Unlock()
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	sc := w.free
	if sc == nil || w.lent {
		return nil
	}
	w.free, w.lent = nil, true
	return sc
}

// putWriter gives the writer (or the connection that becomes the writer)
// back.
func (c *connector) putWriter(sc *safeConn) {
	w := &c.writer
	w.mu.Lock()
	if w.shut {
		w.mu.Unlock()
		_ = sc.Close()
		return
	}
	w.free, w.lent = sc, false
	w.mu.Unlock()
}

// closeWriter closes the writer, or has it closed when given back.
func (c *connector) closeWriter() error {
	w := &c.writer
	w.mu.Lock()
	w.shut = true
	sc := w.free
	w.free = nil
	w.mu.Unlock()
	if sc != nil {
		return sc.Close()
	}
	return nil
}

// route is called before a statement of query's text runs on s (only
// when s.cn is set): it notes what the statement does to the connection's
// likeness with the writer, and routes a pending write transaction.
func (s *safeConn) route(ctx context.Context, query string) error {
	s.notePinning(query)
	if s.c.tx == txPending && s.wr == nil {
		return s.routeTx(ctx)
	}
	return nil
}

// routeTx is called at the first statement of the connection's pending
// write transaction. If the connection may route, it waits for the write
// lock on its own connection, as txBegin would, and then moves the
// transaction to the connector's writer if that is free. On return s.c is
// the connection the transaction runs on, which then holds the lock's
// claim, marked as given (txBegin begins the transaction without claiming
// again). On error nothing is held.
func (s *safeConn) routeTx(ctx context.Context) error {
	own := s.c
	if s.cn == nil || own.pinned || own.openStmts > 0 || own.queryOnly || own.locked != rwlock.None {
		return nil
	}
	if err := own.claim(ctx, rwlock.Exclusive, "transaction begun"); err != nil {
		if errors.Is(err, ErrReadOnlyReplica) {
			return nil // txBegin decides what a transaction on a replica does
		}
		return err
	}
	w := s.cn.takeWriter(ctx)
	if w == nil {
		// The writer is busy (a handed-over transaction keeps it) or
		// absent: run here, on the claim just taken.
		own.givenClaim = true
		return nil
	}
	own.giveClaim(w.c)
	own.tx, w.c.tx = txNone, txPending
	s.wr, s.c, s.i, s.rowid = w, w.c, w.i, w.c.lastRowid()
	return nil
}

// giveClaim moves c's one claim on the file's lock to to, a connection to
// the same file that holds nothing: the lock stays held, by to now.
func (c *conn) giveClaim(to *conn) {
	if to.claims != 0 || to.locked != rwlock.None {
		panic(fmt.Sprintf("sqlite3-safe: a lock claim moved to a connection that holds one (%d)", to.claims))
	}
	to.locked, to.claims, to.lockedBy = c.locked, c.claims, c.lockedBy
	c.locked, c.claims, c.lockedBy = rwlock.None, 0, 0
	to.givenClaim = true
}

// unroute ends a routed transaction's use of the writer, after the
// transaction ended: the writer goes back to the connector, or, if the
// transaction gave it state the application will look for (adopt), it
// becomes the connection's own and the connection's former SQLite
// connection becomes the writer.
func (s *safeConn) unroute() {
	w := s.wr
	if w == nil {
		return
	}
	s.wr = nil
	if v := w.c.lastRowid(); v != s.rowid {
		// The transaction inserted: last_insert_rowid() on the connection
		// says so afterwards, as it would had it run there.
		s.own.setLastRowid(v)
	}
	if s.adopt {
		s.adopt = false
		former := &safeConn{c: s.own, i: s.ownI, mw: s.mw}
		s.own, s.ownI, s.mw = w.c, w.i, w.mw
		s.own.pinned = true
		w = former
	}
	s.c, s.i = s.own, s.ownI
	s.cn.putWriter(w)
}

// notePinning records what a statement run on the connection does to its
// likeness with the writer: outside a routed transaction, a statement that
// may leave state on the connection pins it; inside one, it makes the
// writer the connection's own.
func (s *safeConn) notePinning(query string) {
	switch {
	case s.wr != nil:
		if !s.adopt && !stateless(query) {
			s.adopt = true
		}
	case !s.c.pinned && s.cn != nil && !stateless(query):
		s.c.pinned = true
	}
}

// stateless reports a text that leaves nothing on the connection that runs
// it, beyond its transaction: one statement that reads, writes rows, or
// controls a transaction. Anything else (a PRAGMA, ATTACH, CREATE, a
// string of several statements, …) may.
func stateless(query string) bool {
	if !oneStatement(query) {
		return false
	}
	kw := firstKeyword(query)
	for _, k := range statelessVerbs {
		if strings.EqualFold(kw, k) {
			return true
		}
	}
	// The schema is the database's, but a temporary object is the
	// connection's (any text that says TEMP, to be sure).
	for _, k := range schemaVerbs {
		if strings.EqualFold(kw, k) {
			return !containsFold(query, "TEMP")
		}
	}
	return false
}

// schemaVerbs begin the statements that change the database's schema.
var schemaVerbs = [...]string{"CREATE", "DROP", "ALTER"}

// containsFold reports whether s holds word in any case.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}

// statelessVerbs begin the statements that leave no state on a connection.
var statelessVerbs = [...]string{"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "VALUES", "WITH",
	"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"}

// firstKeyword is the first word of query after white space and comments.
func firstKeyword(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\n\r\f\v(")
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
			continue
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q[2:], "*/")
			if i < 0 {
				return ""
			}
			q = q[i+4:]
			continue
		}
		break
	}
	end := 0
	for end < len(q) && (q[end] >= 'a' && q[end] <= 'z' || q[end] >= 'A' && q[end] <= 'Z') {
		end++
	}
	return q[:end]
}
