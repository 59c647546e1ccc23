//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sqlite3safe/sqlite3safe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInMemorySharingMatchesGoSQLite3: two *sql.DB opened with one
// in-memory DSN share one database exactly when they do on plain
// go-sqlite3. With cache=shared in a file: URI (go-sqlite3's recipe for an
// in-memory database two pools share) SQLite keeps one database per
// process under that name, which every *sql.DB that opens it sees. Without
// it, or in a DSN that does not start with "file:" (go-sqlite3 drops
// SQLite's URI parameters there), each *sql.DB has a database of its own
// (on go-sqlite3 each connection does; TestMemoryDatabase holds the rest).
func TestInMemorySharingMatchesGoSQLite3(t *testing.T) {
	name := fmt.Sprintf("sqlite3safe-sharing-%d", time.Now().UnixNano())
	for _, dsn := range []string{
		"file::memory:?cache=shared",
		"file::memory:?mode=memory&cache=shared",
		"file:%3Amemory%3A?cache=shared",
		"file::memory:?_fk=1&cache=shared&_busy_timeout=100",
		"file::memory:?cache=shared&cache=private",
		"file::memory:?cache=private",
		"file::memory:",
		"file:?cache=shared", // the temporary database, never shared
		"file:" + name + "?mode=memory&cache=shared",
		"file:" + name + "?mode=memory",
		":memory:?cache=shared",
		":memory:?mode=memory&cache=shared",
		":memory:",
	} {
		t.Run(dsn, func(t *testing.T) {
			run := func(driverName string) string {
				db1, err := sql.Open(driverName, dsn)
				require.NoError(t, err)
				defer db1.Close()
				db2, err := sql.Open(driverName, dsn)
				require.NoError(t, err)
				defer db2.Close()
				if _, err := db1.Exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)"); err != nil {
					return "db1: " + err.Error()
				}
				var n int
				err = db2.QueryRow("SELECT count(*) FROM t").Scan(&n)
				return fmt.Sprintf("db2: %d rows, %v", n, err)
			}
			plain := run("sqlite3")
			safe := run(sqlite3safe.DriverName)
			assert.Equal(t, plain, safe)
			t.Log(safe)
		})
	}
}

// TestSharedMemorySpellingsShareOneLock: every spelling of one shared
// in-memory database (SQLite decodes the name, and keeps one database per
// name) takes one lock, so a write through one *sql.DB waits for a read
// that another has open, instead of failing with SQLite's shared-cache
// SQLITE_LOCKED ("database table is locked").
func TestSharedMemorySpellingsShareOneLock(t *testing.T) {
	name := fmt.Sprintf("sqlite3safe-spelling-%d", time.Now().UnixNano())
	escaped := "%" + fmt.Sprintf("%02X", name[0]) + name[1:]
	for _, pair := range [][2]string{
		{"file::memory:?cache=shared", "file:%3Amemory%3A?cache=shared&mode=memory"},
		{"file:" + name + "?mode=memory&cache=shared", "file:" + escaped + "?cache=shared&mode=memory"},
	} {
		t.Run(strings.Join(pair[:], " and "), func(t *testing.T) {
			reader := openDB(t, sqlite3safe.DriverName, pair[0]+"&_safe_lock_timeout=5000")
			writer := openDB(t, sqlite3safe.DriverName, pair[1]+"&_safe_lock_timeout=5000")
			mustExec(t, reader, "CREATE TABLE t(x); INSERT INTO t VALUES (1)")

			ctx := context.Background()
			rows, err := reader.QueryContext(ctx, "SELECT x FROM t")
			require.NoError(t, err)
			require.True(t, rows.Next(), "the read is open")
			wrote := make(chan error, 1)
			go func() {
				_, err := writer.ExecContext(ctx, "INSERT INTO t VALUES (2)")
				wrote <- err
			}()
			select {
			case err := <-wrote:
				t.Fatalf("the write ran beside an open read of the same database: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
			require.NoError(t, rows.Close())
			require.NoError(t, <-wrote)
			var n int
			require.NoError(t, reader.QueryRow("SELECT count(*) FROM t").Scan(&n))
			assert.Equal(t, 2, n, "both names are one database")
		})
	}
}
