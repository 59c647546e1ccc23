package sqlite3safe

import (
	"github.com/mattn/go-sqlite3"
)

// Unwrap returns the go-sqlite3 connection under a driver connection
// obtained with (*sql.Conn).Raw, for go-sqlite3's own API: Backup,
// RegisterFunc, Serialize, hooks.
//
//	err := conn.Raw(func(driverConn any) error {
//		sc, ok := sqlite3safe.Unwrap(driverConn)
//		if !ok {
//			return errors.New("not an sqlite3-safe connection")
//		}
//		return sc.RegisterFunc("double", func(x int) int { return 2 * x }, true)
//	})
//
// Statements run directly on the returned connection bypass sqlite3-safe's
// write lock: use it for what database/sql cannot do, not for writes. Until
// the connection's next statement through database/sql it has SQLite's own
// busy handler, so PRAGMA busy_timeout reads and sets what it does in
// go-sqlite3, and its waits for other processes do not end with a context.
// Limits set here (SetLimit) apply to the statements the connection has
// kept compiled as to new ones, as on plain go-sqlite3, which compiles
// anew: a statement over a lowered limit is refused whether it ran before
// or not. An authorizer registered here (RegisterAuthorizer) is asked at
// every statement from then on, as on plain go-sqlite3: the connection
// keeps nothing compiled for reuse any more. The connection still belongs
// to database/sql: do not Close it (it keeps compiled statements of
// sqlite3-safe's, which SQLite would keep it open for), and ATTACH through
// database/sql, which sees it and compiles its kept statements again,
// rather than here. Unwrap also accepts a *sqlite3.SQLiteConn (as
// _safe=off gives) and returns it. It reports false for anything else.
func Unwrap(driverConn any) (*sqlite3.SQLiteConn, bool) {
	switch c := driverConn.(type) {
	case *sqlite3.SQLiteConn:
		return c, true
	case *safeConn:
		// What the application does with it is the connection's own state.
		if c.wr != nil {
			c.adopt = true
		} else {
			c.c.pinned = true
		}
		sc, ok := any(c.c.sc).(*sqlite3.SQLiteConn)
		if ok {
			c.c.lend()
		}
		return sc, ok
	}
	return nil, false
}

// loan is what a connection lent out through Unwrap must look at when
// database/sql uses it again. The application may change there what SQLite
// checks when it compiles a statement: its limits (SetLimit: too many SQL
// variables, statement too long, …). A statement compiled earlier and kept
// for reuse would escape the change, where plain go-sqlite3, which compiles
// anew, refuses it. So what the connection keeps compiled must not outlive
// a limit lowered while it was lent:
//
//   - its BEGIN IMMEDIATE and COMMIT (tx.go) are finalized whenever it is
//     lent, and compiled again at their next use: two compilations per
//     Unwrap at most, and no check on the transaction path;
//   - go-sqlite3's statement cache, where sqlite3-safe turned it on, is off
//     while the connection is lent (the application's statements run
//     through go-sqlite3's API are compiled anew, as on plain go-sqlite3),
//     and at the next statement through database/sql it goes back on
//     unless a limit is now lower than when the connection was lent. A
//     statement that compiled under a limit compiles under a higher one,
//     so a raised limit keeps the cache; go-sqlite3 has no call to empty
//     it, so a lowered one turns it off for the rest of the connection's
//     life, as an ATTACH does (conn.attached);
//   - an authorizer registered while the connection is lent turns the
//     cache off for the rest of its life, as one registered in a
//     ConnectHook does from the start (hasAuthorizer): SQLite asks it
//     when it compiles a statement, and on plain go-sqlite3 it decides
//     each statement as it runs;
//   - a cache the DSN asked go-sqlite3 for (_stmt_cache_size) is
//     go-sqlite3's, and behaves as on plain go-sqlite3.
//
// The limits are compared when the connection comes back, not at every
// statement: reading them is a cgo call each (SQLite has fifteen), about
// 1.1µs for all, measured, against some 14µs for a point SELECT through the
// statement cache, while the flag that says the connection was lent is one
// load per statement. The connection cannot see the end of the Raw
// callback, so it comes back at its next statement through database/sql
// (reclaim). What it cannot see at all are calls on a *sqlite3.SQLiteConn
// kept from a ConnectHook and used outside Raw: a limit lowered that way
// does not reach the cache.
type loan struct {
	ownCache bool  // immutable: go-sqlite3's statement cache is sqlite3-safe's (the DSN gave no _stmt_cache_size)
	out      bool  // lent through Unwrap and not used through database/sql since
	cacheOff bool  // the cache was on when the connection was lent, and was turned off for the loan
	limits   []int // SQLite's limits when the connection was lent (sqliteLimits), if cacheOff
}

// lend prepares c to be used through go-sqlite3's own API (Unwrap). A
// connection lent again before it came back keeps the limits of the first
// loan to compare with: the cache has held nothing newer since.
func (c *conn) lend() {
	c.exposed = true
	c.waits.lend()
	c.txStmts.close() // a COMMIT compiled since the last loan, too
	if c.loan.out {
		return
	}
	c.loan.out = true
	if c.loan.ownCache && setStmtCache(c.sc, false) {
		c.loan.cacheOff = true
		c.loan.limits = sqliteLimits(c.sc)
	}
}

// reclaim takes back a connection lent through Unwrap, if it was (see
// loan). Every statement, prepare and transaction through database/sql
// calls it first (fastpath.go), so none runs on a connection still lent.
func (c *conn) reclaim() {
	if c.loan.out {
		c.takeBack()
	}
}

// takeBack turns go-sqlite3's statement cache back on after a loan,
// unless a limit was lowered meanwhile.
func (c *conn) takeBack() {
	l := &c.loan
	l.out = false
	if !l.cacheOff {
		return
	}
	l.cacheOff = false
	then := l.limits
	l.limits = nil
	if hasAuthorizer(c.sc) {
		return // an authorizer set while lent: no cache (hasAuthorizer)
	}
	now := sqliteLimits(c.sc)
	if len(now) < len(then) {
		return // closed, or fewer limits: keep the cache off
	}
	for id, v := range then {
		if now[id] < v {
			return
		}
	}
	setStmtCache(c.sc, true)
}

// noCacheForAuthorizer turns off, for the rest of the connection's life,
// go-sqlite3's statement cache that sqlite3-safe turned on, if the
// application gave the connection an authorizer in its driver's
// ConnectHook (hasAuthorizer). One set later through Unwrap is seen when
// the connection comes back (takeBack).
func (c *conn) noCacheForAuthorizer() {
	if c.loan.ownCache && hasAuthorizer(c.sc) {
		stopStmtCache(c.sc)
	}
}
