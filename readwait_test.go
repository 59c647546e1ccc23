//go:build cgo

package sqlite3safe_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// A read that waits for another connection's lock on the file (here a
// plain go-sqlite3 connection, which SQLite treats as another process:
// it holds the file EXCLUSIVE) ends with its context, like a write does,
// with the context's error, not after the busy timeout (3 s).
func TestReadWaitEndsWithContext(t *testing.T) {
	for _, c := range []struct {
		name    string
		journal string // the file's journal mode
		hold    []string
		query   string // the DSN's parameters for sqlite3-safe
	}{
		{"read-only rollback-journal file", "DELETE",
			[]string{"BEGIN EXCLUSIVE", "INSERT INTO t VALUES ('x')"}, "mode=ro&_busy_timeout=3000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := tempDSN(t, "")
			setup := openDB(t, "sqlite3", path)
			mustExec(t, setup, "PRAGMA journal_mode="+c.journal)
			mustExec(t, setup, "CREATE TABLE t(v TEXT)")
			require.NoError(t, setup.Close())

			// The connection is open before the other one takes its lock:
			// go-sqlite3 runs its own set-up statements, with SQLite's
			// handler, before sqlite3-safe has the connection.
			db := openDB(t, sqlite3safe.DriverName, "file:"+path+"?"+c.query+"&_safe_checkpoint=off")
			db.SetMaxOpenConns(1)
			require.NoError(t, db.Ping())

			other := openDB(t, "sqlite3", path)
			conn, err := other.Conn(context.Background())
			require.NoError(t, err)
			defer conn.Close()
			for _, q := range c.hold {
				_, err := conn.ExecContext(context.Background(), q)
				require.NoError(t, err, q)
			}
			defer func() { _, _ = conn.ExecContext(context.Background(), "ROLLBACK") }()

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			var n int
			err = db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n)
			took := time.Since(start)
			t.Logf("took %v, err %v", took, err)
			require.Error(t, err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, took, 2*time.Second, "waited past the context's end")
		})
	}
}
