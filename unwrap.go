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
// The connection still belongs to database/sql: do not Close it (it keeps
// compiled statements of sqlite3-safe's, which SQLite would keep it open
// for), and ATTACH through database/sql, which sees it and compiles its
// kept statements again, rather than here. Unwrap also accepts a *sqlite3.SQLiteConn (as _safe=off gives) and
// returns it. It reports false for anything else.
func Unwrap(driverConn any) (*sqlite3.SQLiteConn, bool) {
	switch c := driverConn.(type) {
	case *sqlite3.SQLiteConn:
		return c, true
	case *safeConn:
		sc, ok := any(c.c.sc).(*sqlite3.SQLiteConn)
		if ok {
			c.c.waits.lend()
		}
		return sc, ok
	}
	return nil, false
}
