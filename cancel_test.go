//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlite3safe/sqlite3safe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// longInsert runs for seconds: it inserts ? rows one by one.
const longInsert = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?) INSERT INTO t SELECT i FROM n"

// TestCancelInterruptsLikeGoSQLite3: a statement whose context ends while
// it runs is interrupted and returns the context's error, through every
// way of running one, and what it wrote is rolled back; the connection
// then runs the next statement. The outcomes equal plain go-sqlite3's.
func TestCancelInterruptsLikeGoSQLite3(t *testing.T) {
	const rows = 50_000_000 // far more than 100ms of work
	run := func(db *sql.DB) []string {
		bg := context.Background()
		c, err := db.Conn(bg)
		require.NoError(t, err)
		defer c.Close()
		_, err = c.ExecContext(bg, "CREATE TABLE t(x); CREATE TABLE after(x)")
		require.NoError(t, err)
		var out []string
		for _, tc := range []struct {
			name string
			run  func(ctx context.Context) error
		}{
			{"exec with arguments", func(ctx context.Context) error {
				_, err := c.ExecContext(ctx, longInsert, rows)
				return err
			}},
			{"exec without arguments", func(ctx context.Context) error {
				_, err := c.ExecContext(ctx, fmt.Sprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d) INSERT INTO t SELECT i FROM n", rows))
				return err
			}},
			{"prepared exec", func(ctx context.Context) error {
				st, err := c.PrepareContext(bg, longInsert)
				if err != nil {
					return err
				}
				defer st.Close()
				_, err = st.ExecContext(ctx, rows)
				return err
			}},
			{"exec in a transaction", func(ctx context.Context) error {
				tx, err := c.BeginTx(bg, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback() //nolint:errcheck // the outcome is the statement's
				_, err = tx.ExecContext(ctx, longInsert, rows)
				return err
			}},
			{"prepared exec in a transaction", func(ctx context.Context) error {
				tx, err := c.BeginTx(bg, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback() //nolint:errcheck // the outcome is the statement's
				st, err := tx.PrepareContext(bg, longInsert)
				if err != nil {
					return err
				}
				_, err = st.ExecContext(ctx, rows)
				return err
			}},
			{"query", func(ctx context.Context) error {
				var n int64
				return c.QueryRowContext(ctx, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?) SELECT count(*) FROM n", rows).Scan(&n)
			}},
		} {
			ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
			start := time.Now()
			err := tc.run(ctx)
			took := time.Since(start)
			cancel()
			assert.Less(t, took, 10*time.Second, "%s: the cancel did not interrupt it", tc.name)
			var n int
			require.NoError(t, c.QueryRowContext(bg, "SELECT count(*) FROM t").Scan(&n))
			_, next := c.ExecContext(bg, "INSERT INTO after VALUES (?)", tc.name)
			out = append(out, fmt.Sprintf("%s: deadline %v; rows kept %d; next statement %v", tc.name, errors.Is(err, context.DeadlineExceeded), n, next))
		}
		return out
	}
	plain := run(openDB(t, "sqlite3", tempDSN(t, "_journal_mode=WAL&_txlock=immediate")))
	safe := run(openDB(t, sqlite3safe.DriverName, tempDSN(t, "")))
	assert.Equal(t, plain, safe)
	for _, line := range safe {
		assert.Contains(t, line, "deadline true; rows kept 0; next statement <nil>")
	}
}

// TestCancelNeverReachesTheNextStatement: contexts cancelled around the
// moment their statement finishes never interrupt the statement that
// follows on the same connection; each statement either ran or returned
// its context's error.
func TestCancelNeverReachesTheNextStatement(t *testing.T) {
	for _, d := range []struct{ name, dsn string }{
		{"sqlite3", tempDSN(t, "_journal_mode=WAL&_txlock=immediate")},
		{sqlite3safe.DriverName, tempDSN(t, "")},
	} {
		t.Run(d.name, func(t *testing.T) {
			db := openDB(t, d.name, d.dsn)
			bg := context.Background()
			c, err := db.Conn(bg)
			require.NoError(t, err)
			defer c.Close()
			_, err = c.ExecContext(bg, "CREATE TABLE t(x); CREATE TABLE u(x)")
			require.NoError(t, err)
			st, err := c.PrepareContext(bg, "INSERT INTO t VALUES (?)")
			require.NoError(t, err)
			defer st.Close()
			const n, nextRows = 6000, 300
			ran := 0
			var spun atomic.Int64
			r := rand.New(rand.NewPCG(1, 2))
			for i := range n {
				ctx, cancel := context.WithCancel(bg)
				var wg sync.WaitGroup
				wg.Add(1)
				spin := r.IntN(3000) // a few microseconds at most: the cancel lands before, during or after the statement
				start := make(chan struct{})
				go func() {
					defer wg.Done()
					<-start
					for k := 0; k < spin; k++ {
						spun.Add(1)
					}
					cancel()
				}()
				close(start)
				if i%2 == 0 {
					_, err = c.ExecContext(ctx, "INSERT INTO t VALUES (?)", i)
				} else {
					_, err = st.ExecContext(ctx, i)
				}
				if err == nil {
					ran++
				} else {
					require.ErrorIs(t, err, context.Canceled, "statement %d", i)
				}
				wg.Wait()
				// Long enough (a few hundred rows) for a late cancel to find it running.
				_, err = c.ExecContext(bg, "WITH RECURSIVE n(j) AS (SELECT 1 UNION ALL SELECT j+1 FROM n WHERE j < ?) INSERT INTO u SELECT j FROM n", nextRows)
				require.NoError(t, err, "the statement after a cancelled one, %d", i)
			}
			var inT, inU int
			require.NoError(t, c.QueryRowContext(bg, "SELECT count(*) FROM t").Scan(&inT))
			require.NoError(t, c.QueryRowContext(bg, "SELECT count(*) FROM u").Scan(&inU))
			assert.Equal(t, n*nextRows, inU)
			assert.Equal(t, ran, inT, "statements that returned no error are the rows written")
			t.Logf("%d of %d cancelled statements ran", ran, n)
		})
	}
}
