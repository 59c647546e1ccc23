//go:build cgo

package sqlite3safe

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoanKeepsStmtCacheUnlessLimitLowered: a connection lent through
// Unwrap has go-sqlite3's statement cache off while it is lent, and back
// on at its next statement unless a limit is lower than when it was lent
// (a statement compiled under a limit compiles under a higher one, so the
// cached ones stay good). A cache the DSN asked for stays as go-sqlite3
// has it.
func TestLoanKeepsStmtCacheUnlessLimitLowered(t *testing.T) {
	const id = sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
	for _, tc := range []struct {
		name   string
		query  string
		change func(sc *sqlite3.SQLiteConn)
		want   bool
	}{
		{"nothing changed", "", func(*sqlite3.SQLiteConn) {}, true},
		{"a limit raised", "", func(sc *sqlite3.SQLiteConn) { sc.SetLimit(id, 200) }, true},
		{"a limit lowered", "", func(sc *sqlite3.SQLiteConn) { sc.SetLimit(id, 50) }, false},
		{"another limit lowered", "", func(sc *sqlite3.SQLiteConn) { sc.SetLimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 1000) }, false},
		{"lowered and set back", "", func(sc *sqlite3.SQLiteConn) { sc.SetLimit(id, sc.SetLimit(id, 50)) }, true},
		{"the DSN's cache, a limit lowered", "_stmt_cache_size=8", func(sc *sqlite3.SQLiteConn) { sc.SetLimit(id, 50) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The limit starts below its maximum, set before anything is
			// compiled, so that it can be raised.
			d := Wrap(&sqlite3.SQLiteDriver{ConnectHook: func(sc *sqlite3.SQLiteConn) error {
				sc.SetLimit(id, 100)
				return nil
			}})
			dsn := filepath.Join(t.TempDir(), "loan.db")
			if tc.query != "" {
				dsn += "?" + tc.query
			}
			connector, err := d.OpenConnector(dsn)
			require.NoError(t, err)
			db := sql.OpenDB(connector)
			defer db.Close()
			ctx := context.Background()
			c, err := db.Conn(ctx)
			require.NoError(t, err)
			defer c.Close()
			// onIn reads the cache's switch, not lending the connection.
			onIn := func(dc any) bool {
				sc := dc.(*safeConn).c.sc
				on := setStmtCache(sc, true)
				setStmtCache(sc, on)
				return on
			}
			cacheOn := func() (on bool) {
				require.NoError(t, c.Raw(func(dc any) error {
					on = onIn(dc)
					return nil
				}))
				return on
			}
			_, err = c.ExecContext(ctx, "CREATE TABLE t(a)")
			require.NoError(t, err)
			_, err = c.ExecContext(ctx, "INSERT INTO t VALUES (?)", 1)
			require.NoError(t, err)
			require.True(t, cacheOn(), "the cache is on before the loan")

			require.NoError(t, c.Raw(func(dc any) error {
				sc, ok := Unwrap(dc)
				require.True(t, ok)
				assert.Equal(t, tc.query != "", onIn(dc), "cache on while the connection is lent")
				tc.change(sc)
				return nil
			}))
			_, err = c.ExecContext(ctx, "INSERT INTO t VALUES (?)", 2)
			require.NoError(t, err)
			assert.Equal(t, tc.want, cacheOn(), "cache on after the connection came back")
		})
	}
}
