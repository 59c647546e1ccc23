//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// A busy timeout set on the go-sqlite3 connection under a Raw connection
// (sqlite3safe.Unwrap) is the connection's busy timeout, as in
// go-sqlite3: PRAGMA busy_timeout then reads it, through the Raw
// connection and through database/sql.
func TestRawBusyTimeoutMatchesGoSQLite3(t *testing.T) {
	run := func(t *testing.T, driverName string) []int {
		db := openDB(t, driverName, tempDSN(t, "_busy_timeout=4321"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		var seen []int
		raw := func(q string) {
			require.NoError(t, conn.Raw(func(dc any) error {
				sc, ok := sqlite3safe.Unwrap(dc)
				if !ok {
					return errors.New("not a go-sqlite3 connection")
				}
				rows, err := sc.QueryContext(ctx, q, nil)
				if err != nil {
					return err
				}
				defer rows.Close()
				dest := make([]driver.Value, len(rows.Columns()))
				if len(dest) == 0 {
					return nil
				}
				if err := rows.Next(dest); err != nil {
					return err
				}
				seen = append(seen, int(dest[0].(int64)))
				return nil
			}))
		}
		read := func() {
			var ms int
			require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&ms))
			seen = append(seen, ms)
		}
		read()
		raw("PRAGMA busy_timeout") // read through Raw
		raw("PRAGMA busy_timeout=100")
		read()
		return seen
	}
	want := run(t, "sqlite3")
	require.Equal(t, []int{4321, 4321, 100, 100}, want)
	assert.Equal(t, want, run(t, sqlite3safe.DriverName))
}
