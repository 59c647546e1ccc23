//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// Databases reached through ATTACH: their WAL is kept bounded like the
// main database's, and their journal mode is the application's.

// TestAttachedJournalModeIsTheApplications: what an application does
// with an attached database's journal mode gives what it gives on
// go-sqlite3; only the main database's (by any name that reaches the main
// file) stays WAL.
func TestAttachedJournalModeIsTheApplications(t *testing.T) {
	ctx := context.Background()
	// run opens dir/main.db with driverName, attaches dir/archive.db and
	// runs the statements on one connection: the value or error of each.
	run := func(driverName, dir string, stmts []string) []string {
		db := openDB(t, driverName, filepath.Join(dir, "main.db")+"?_journal_mode=WAL")
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		defer c.Close()
		connExec(t, c, "ATTACH ? AS archive", filepath.Join(dir, "archive.db"))
		var out []string
		for _, q := range stmts {
			var v string
			err := c.QueryRowContext(ctx, q).Scan(&v)
			if err != nil {
				v = "error"
			}
			out = append(out, q+" -> "+v)
		}
		return out
	}
	stmts := []string{
		"PRAGMA archive.journal_mode=WAL",
		"PRAGMA archive.journal_mode=DELETE",
		"PRAGMA archive.journal_mode",
		`PRAGMA "archive".journal_mode = 'truncate'`,
		"PRAGMA [ARCHIVE].journal_mode",
		"PRAGMA archive.journal_mode(wal)",
		"PRAGMA archive.journal_mode=persist",
		"PRAGMA main.journal_mode",
	}
	want := run("sqlite3", t.TempDir(), stmts)
	got := run(sqlite3safe.DriverName, t.TempDir(), stmts)
	assert.Equal(t, want, got)

	t.Run("main stays WAL", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "main.db")
		db := openDB(t, sqlite3safe.DriverName, path)
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		defer c.Close()
		connExec(t, c, "ATTACH ? AS archive", filepath.Join(dir, "archive.db"))
		connExec(t, c, "ATTACH ? AS again", path) // the main file under another name
		for _, q := range []string{
			"PRAGMA journal_mode=DELETE", // every database, main included
			"PRAGMA main.journal_mode=DELETE",
			`PRAGMA "Main".journal_mode = 'delete'`,
			"PRAGMA [MAIN].journal_mode(truncate)",
			"PRAGMA 'journal_mode' = delete", // SQLite takes a string for a name here
			"PRAGMA main.'journal_mode'=truncate",
			"PRAGMA again.journal_mode=DELETE",
			"PRAGMA archive.journal_mode=DELETE; PRAGMA again.journal_mode=OFF",
		} {
			_, err := c.ExecContext(ctx, q)
			if assert.Error(t, err, q) {
				assert.True(t, strings.HasPrefix(err.Error(), "sqlite3-safe: refused"), "%s: %v", q, err)
			}
		}
		var mode string
		require.NoError(t, openDB(t, "sqlite3", path).QueryRow("PRAGMA journal_mode").Scan(&mode))
		assert.Equal(t, "wal", mode, "the main file left WAL")
	})

	t.Run("attached when the connection opens", func(t *testing.T) {
		// A ConnectHook that attaches a database: the attached database
		// keeps its journal mode, as on go-sqlite3.
		modes := map[string]string{}
		for _, name := range []string{"sqlite3", sqlite3safe.DriverName} {
			dir := t.TempDir()
			base := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
				_, err := c.Exec("ATTACH '"+filepath.Join(dir, "archive.db")+"' AS archive", nil)
				return err
			}}
			var db *sql.DB
			if name == "sqlite3" {
				db = sql.OpenDB(dsnConnector{base, filepath.Join(dir, "main.db") + "?_journal_mode=WAL"})
			} else {
				cn, err := sqlite3safe.Wrap(base).OpenConnector(filepath.Join(dir, "main.db"))
				require.NoError(t, err)
				db = sql.OpenDB(cn)
			}
			var mode string
			require.NoError(t, db.QueryRow("PRAGMA archive.journal_mode").Scan(&mode))
			require.NoError(t, db.Close())
			modes[name] = mode
		}
		assert.Equal(t, modes["sqlite3"], modes[sqlite3safe.DriverName])
	})
}

// connExec runs a statement that must succeed on one connection.
func connExec(t testing.TB, c *sql.Conn, query string, args ...any) {
	t.Helper()
	_, err := c.ExecContext(context.Background(), query, args...)
	require.NoError(t, err, query)
}

// TestAttachedJournalModeAfterCheckpoints: once the checkpointer has
// worked on an attached database, the application can still take it out
// of WAL, as on go-sqlite3 (SQLite lets a database leave WAL only when no
// other connection has it open in WAL mode: the checkpointer keeps none
// open between its checkpoints).
func TestAttachedJournalModeAfterCheckpoints(t *testing.T) {
	ctx := context.Background()
	got := map[string]string{}
	for _, name := range []string{"sqlite3", sqlite3safe.DriverName} {
		dir := t.TempDir()
		archive := filepath.Join(dir, "archive.db")
		db := openDB(t, name, filepath.Join(dir, "main.db")+"?_journal_mode=WAL")
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		connExec(t, c, "ATTACH ? AS archive", archive)
		connExec(t, c, "PRAGMA archive.journal_mode=WAL")
		connExec(t, c, "CREATE TABLE archive.t(b)")
		for range 1500 { // past 1000 pages: a PASSIVE checkpoint, then an idle TRUNCATE
			connExec(t, c, "INSERT INTO archive.t VALUES (randomblob(3000))")
		}
		if name == sqlite3safe.DriverName {
			require.Eventually(t, func() bool { return walSize(archive) == 0 }, 30*time.Second, 10*time.Millisecond,
				"the checkpointer never truncated the attached WAL")
		}
		var mode string
		err = c.QueryRowContext(ctx, "PRAGMA archive.journal_mode=DELETE").Scan(&mode)
		if err != nil {
			mode = err.Error()
		}
		got[name] = mode
		require.NoError(t, c.Close())
	}
	assert.Equal(t, got["sqlite3"], got[sqlite3safe.DriverName])
}

// dsnConnector opens dsn with a go-sqlite3 driver, for sql.OpenDB.
type dsnConnector struct {
	d   *sqlite3.SQLiteDriver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// TestAttachedWALStaysBounded: one writer flat out into a WAL database
// attached to a sqlite3-safe connection, with and without readers that
// always overlap: the attached -wal stays within twice the WAL limit
// (plain go-sqlite3's autocheckpoint keeps it near 4 MB; sqlite3-safe's
// connections have no autocheckpoint, for any of their databases).
func TestAttachedWALStaysBounded(t *testing.T) {
	const limit = 256 << 10
	d := 3 * time.Second
	if testing.Short() {
		d = 1500 * time.Millisecond
	}
	for _, how := range []string{"statement", "ConnectHook"} {
		for _, readers := range []int{0, 3} {
			t.Run(fmt.Sprintf("attached by %s/readers=%d", how, readers), func(t *testing.T) {
				dir := t.TempDir()
				archive := filepath.Join(dir, "archive.db")
				prep := openDB(t, "sqlite3", archive+"?_journal_mode=WAL")
				mustExec(t, prep, "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)")
				mustExec(t, prep, "INSERT INTO blobs(b) VALUES (randomblob(1024))")
				require.NoError(t, prep.Close())

				base := &sqlite3.SQLiteDriver{}
				if how == "ConnectHook" {
					base.ConnectHook = func(c *sqlite3.SQLiteConn) error {
						_, err := c.Exec("ATTACH '"+archive+"' AS archive", nil)
						return err
					}
				}
				cn, err := sqlite3safe.Wrap(base).OpenConnector(filepath.Join(dir, "main.db") + fmt.Sprintf("?_safe_wal_limit=%d", limit))
				require.NoError(t, err)
				db := sql.OpenDB(cn)
				t.Cleanup(func() { db.Close() })
				ctx, cancel := context.WithTimeout(context.Background(), d)
				defer cancel()
				// conn is a connection with the archive attached.
				conn := func() *sql.Conn {
					c, err := db.Conn(context.Background())
					require.NoError(t, err)
					t.Cleanup(func() { c.Close() })
					if how == "statement" {
						connExec(t, c, "ATTACH ? AS archive", archive)
					}
					return c
				}
				errs := make(chan error, 16)
				var wg sync.WaitGroup
				var writes atomic.Int64
				w := conn()
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						if _, err := w.ExecContext(ctx, "INSERT INTO archive.blobs(b) VALUES (randomblob(1024))"); err != nil {
							report(ctx, errs, "writer", err)
							return
						}
						writes.Add(1)
					}
				}()
				for r := range readers {
					rc := conn()
					wg.Add(1)
					go func() {
						defer wg.Done()
						time.Sleep(time.Duration(r) * 7 * time.Millisecond)
						for ctx.Err() == nil {
							rs, err := rc.QueryContext(ctx, "SELECT id FROM archive.blobs ORDER BY id DESC LIMIT 10")
							if err != nil {
								report(ctx, errs, "reader", err)
								return
							}
							rs.Next()
							time.Sleep(20 * time.Millisecond)
							_ = rs.Close()
						}
					}()
				}
				var maxWAL int64
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
			sample:
				for {
					select {
					case <-ctx.Done():
						break sample
					case <-tick.C:
						maxWAL = max(maxWAL, walSize(archive))
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				t.Logf("%d writes, largest attached -wal %d bytes (%.2fx the limit)", writes.Load(), maxWAL, float64(maxWAL)/limit)
				assert.Positive(t, writes.Load(), "the writer made no progress")
				assert.LessOrEqual(t, maxWAL, int64(2*limit), "the attached WAL grew past twice the limit")
			})
		}
	}
}
