package sqlite3safe

import (
	"context"
	"database/sql/driver"

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
// write lock: use it for what database/sql cannot do, not for writes.
// Unwrap also accepts a *sqlite3.SQLiteConn (as _safe=off gives) and
// returns it. It reports false for anything else.
func Unwrap(driverConn any) (*sqlite3.SQLiteConn, bool) {
	switch c := driverConn.(type) {
	case *sqlite3.SQLiteConn:
		return c, true
	case *conn:
		return c.sc, true
	}
	// sqlmw's connection wrapper has no accessor; its Ping goes through
	// the interceptor, which answers a request carried in the context.
	p, ok := driverConn.(driver.Pinger)
	if !ok {
		return nil, false
	}
	req := &unwrapRequest{}
	if err := p.Ping(context.WithValue(context.Background(), unwrapKey{}, req)); err != nil || req.conn == nil {
		return nil, false
	}
	return req.conn, true
}

type unwrapKey struct{}

// unwrapRequest is filled in by interceptor.ConnPing.
type unwrapRequest struct {
	conn *sqlite3.SQLiteConn
}
