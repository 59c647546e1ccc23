//go:build cgo

package sqlite3safe

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"
)

// A write transaction on a connection without state of its own runs on the
// connector's writer, which it holds until it ends; a connection that has
// state (here a PRAGMA it ran) keeps its transactions.
func TestWriteTransactionRunsOnWriter(t *testing.T) {
	cn, err := Wrap(&sqlite3.SQLiteDriver{}).openConnector(filepath.Join(t.TempDir(), "w.db"))
	require.NoError(t, err)
	db := sql.OpenDB(cn)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE t(k)")
	require.NoError(t, err)
	ctx := context.Background()

	lent := func() bool {
		cn.writer.mu.Lock()
		defer cn.writer.mu.Unlock()
		return cn.writer.lent
	}
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.False(t, lent(), "a transaction takes nothing before its first statement")
	_, err = tx.Exec("INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	require.True(t, lent(), "the transaction runs on the writer")
	require.NoError(t, tx.Commit())
	require.False(t, lent(), "the writer is given back at the transaction's end")

	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.ExecContext(ctx, "PRAGMA cache_size=100")
	require.NoError(t, err)
	tx, err = c.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO t VALUES (2)")
	require.NoError(t, err)
	require.False(t, lent(), "a connection with a setting of its own keeps its transactions")
	require.NoError(t, tx.Commit())

	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	require.Equal(t, 2, n)
}
