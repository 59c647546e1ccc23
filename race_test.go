//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// runLedger has goroutines append blocks each to a fresh ledger through
// driverName and a plain DSN; it returns the errors seen and the chain's
// verification result.
func runLedger(t *testing.T, driverName string, goroutines, blocks int) (errs []error, verified int64, verifyErr error) {
	t.Helper()
	ctx := context.Background()
	db := openDB(t, driverName, filepath.Join(t.TempDir(), "ledger.db")) // plain DSN: no pragmas
	require.NoError(t, ledger.Create(ctx, db))

	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range blocks {
				if _, err := ledger.Append(ctx, db, fmt.Sprintf("g%d-b%d", g, b)); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	verified, verifyErr = ledger.Verify(ctx, db)
	return errs, verified, verifyErr
}

// TestLedger is the seed's scenario: 100 goroutines each append 20 blocks
// to a hash-chained ledger, each append a transaction that reads the last
// block and inserts the next.
func TestLedger(t *testing.T) {
	const goroutines, blocks = 100, 20
	t.Run("sqlite3-safe", func(t *testing.T) {
		errs, n, err := runLedger(t, sqlite3safe.DriverName, goroutines, blocks)
		require.Empty(t, errs, "first error: %v", firstErr(errs))
		require.NoError(t, err)
		assert.EqualValues(t, goroutines*blocks, n)
	})
	// The control: the same test on plain go-sqlite3 must fail, or the test
	// proves nothing.
	t.Run("sqlite3-control", func(t *testing.T) {
		errs, n, err := runLedger(t, "sqlite3", goroutines, blocks)
		broken := len(errs) > 0 || err != nil || n != goroutines*blocks
		assert.True(t, broken, "plain sqlite3 passed the ledger test: the test cannot tell the drivers apart")
		t.Logf("plain sqlite3: %d errors (first: %v), %d blocks verified, verify error: %v", len(errs), firstErr(errs), n, err)
	})
}

func firstErr(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// TestWritersAndReaders: 50 goroutines of autocommit writes with 20
// readers, zero errors of any kind.
func TestWritersAndReaders(t *testing.T) {
	const writers, readers, perWriter = 50, 20, 40
	db := openDB(t, sqlite3safe.DriverName, filepath.Join(t.TempDir(), "wr.db"))
	mustExec(t, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)")

	var (
		wg      sync.WaitGroup
		failed  atomic.Int64
		first   atomic.Value
		stop    = make(chan struct{})
		readsOK atomic.Int64
	)
	record := func(err error) {
		if err != nil {
			failed.Add(1)
			first.CompareAndSwap(nil, err)
		}
	}
	var rg sync.WaitGroup
	for range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				err := db.QueryRow("SELECT count(*) FROM kv").Scan(&n)
				record(err)
				if err == nil {
					readsOK.Add(1)
				}
				rows, err := db.Query("SELECT k, v FROM kv ORDER BY k DESC LIMIT 5")
				record(err)
				if err == nil {
					for rows.Next() {
					}
					record(rows.Err())
					record(rows.Close())
				}
			}
		}()
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				k := w*perWriter + i
				_, err := db.Exec("INSERT INTO kv(k, v) VALUES (?, ?)", k, "x")
				record(err)
				_, err = db.Exec("UPDATE kv SET v = ? WHERE k = ?", "y", k)
				record(err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	require.Zero(t, failed.Load(), "first error: %v", first.Load())
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM kv WHERE v = 'y'").Scan(&n))
	assert.Equal(t, writers*perWriter, n)
	assert.Positive(t, readsOK.Load())
}

// TestPathSpellingsShareOneLock: *sql.DBs on one file through a relative
// path, an absolute path, a file: URI and a symlink, written at once.
func TestPathSpellingsShareOneLock(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "shared.db")
	link := filepath.Join(dir, "link.db")
	t.Chdir(dir)
	spellings := []string{"shared.db", abs, "file:" + abs + "?cache=private", link}

	setup := openDB(t, sqlite3safe.DriverName, abs)
	mustExec(t, setup, "CREATE TABLE t(id INTEGER PRIMARY KEY, who TEXT)")
	require.NoError(t, os.Symlink(abs, link))

	var dbs []*sql.DB
	for _, s := range spellings {
		// A short busy timeout: if the spellings did not share one lock,
		// SQLite's own locking would surface SQLITE_BUSY quickly.
		dbs = append(dbs, openDB(t, sqlite3safe.DriverName, s+sep(s)+"_busy_timeout=1&_safe_lock_timeout=30000"))
	}
	const perGoroutine = 50
	var wg sync.WaitGroup
	errs := make(chan error, len(dbs)*4*perGoroutine)
	for i, db := range dbs {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perGoroutine {
					tx, err := db.Begin()
					if err != nil {
						errs <- err
						continue
					}
					var n int
					if err := tx.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
						errs <- err
					}
					if _, err := tx.Exec("INSERT INTO t(who) VALUES (?)", spellings[i]); err != nil {
						errs <- err
					}
					if err := tx.Commit(); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write through another spelling failed: %v", err)
	}
	var n int
	require.NoError(t, setup.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, len(dbs)*4*perGoroutine, n)
}

func sep(dsn string) string {
	for _, c := range dsn {
		if c == '?' {
			return "&"
		}
	}
	return "?"
}

// TestLockComesBackAfterFailures runs 1000 statements that fail in every
// way the spec lists, then checks a write takes the lock at once.
func TestLockComesBackAfterFailures(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	// A transaction whose context ends is rolled back by database/sql's own
	// goroutine, a moment after Commit has returned, so the loop allows
	// short waits; the check at the end allows none.
	db := openDB(t, sqlite3safe.DriverName, path+"?_safe_lock_timeout=10000")
	db.SetMaxOpenConns(4)
	mustExec(t, db, "CREATE TABLE t(id INTEGER PRIMARY KEY, x UNIQUE)")
	mustExec(t, db, "INSERT INTO t(x) VALUES (0)")

	failures := 0
	fail := func(kind string, err error) {
		t.Helper()
		require.Error(t, err, kind)
		require.NotErrorIs(t, err, sqlite3safe.ErrLockTimeout, "%s: the lock was left held", kind)
		failures++
	}
	for i := 0; failures < 1000; i++ {
		switch i % 7 {
		case 0: // a failing write
			_, err := db.Exec("INSERT INTO t(x) VALUES (0)")
			fail("constraint", err)
		case 1: // a cancelled context
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := db.ExecContext(cctx, "INSERT INTO t(x) VALUES (?)", -i)
			fail("cancelled", err)
		case 2: // rows that write, closed before EOF
			rows, err := db.Query("INSERT INTO t(x) VALUES (?), (?) RETURNING id", i*10+1, i*10+2)
			require.NoError(t, err)
			require.True(t, rows.Next())
			require.NoError(t, rows.Close())
			_, err = db.Exec("INSERT INTO t(x) VALUES (0)")
			fail("rows closed early, then constraint", err)
		case 3: // a transaction whose context ends
			tctx, cancel := context.WithCancel(ctx)
			tx, err := db.BeginTx(tctx, nil)
			require.NoError(t, err)
			_, err = tx.Exec("INSERT INTO t(x) VALUES (?)", i*10+3)
			require.NoError(t, err)
			cancel()
			// database/sql rolls back from its own goroutine; Commit fails.
			fail("tx context ended", tx.Commit())
		case 4: // a failing statement inside a transaction, then rollback
			tx, err := db.Begin()
			require.NoError(t, err)
			_, err = tx.Exec("INSERT INTO t(x) VALUES (0)")
			fail("constraint in tx", err)
			require.NoError(t, tx.Rollback())
		case 5: // a connection closed inside a manual transaction
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			_, err = conn.ExecContext(ctx, "BEGIN")
			require.NoError(t, err)
			_, err = conn.ExecContext(ctx, "INSERT INTO t(x) VALUES (0)")
			fail("constraint in manual tx", err)
			require.NoError(t, conn.Close())
		case 6: // a query that fails to compile, and a syntax error
			_, err := db.Query("INSERT INTO nope VALUES (1) RETURNING *")
			fail("no such table", err)
			_, err = db.Exec("INSRT INTO t VALUES (1)")
			fail("syntax", err)
		}
	}
	// Everything came back: through another *sql.DB on the file, whose lock
	// timeout is 0, a write takes the lock at once, and so does a write
	// transaction.
	mustExec(t, db, "INSERT INTO t(x) VALUES (-999999)") // waits out an async rollback, if one is left
	now := openDB(t, sqlite3safe.DriverName, path+"?_safe_lock_timeout=0")
	mustExec(t, now, "INSERT INTO t(x) VALUES (-1000000)")
	tx, err := now.Begin()
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	// The cancelled transactions' rows are not there.
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t WHERE x % 10 = 3 AND x > 0").Scan(&n))
	assert.Zero(t, n)
}

// TestManyDatabasesConcurrently opens, uses and closes databases from many
// goroutines: the per-file registry must neither leak nor mix entries.
func TestManyDatabasesConcurrently(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sql.Open(sqlite3safe.DriverName, filepath.Join(dir, fmt.Sprintf("db%d.db", i%4)))
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE IF NOT EXISTS t(x)"); err != nil {
				errs <- err
				return
			}
			for j := range 20 {
				if _, err := db.Exec("INSERT INTO t VALUES (?)", j); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := 0
	for i := range 4 {
		db := openDB(t, sqlite3safe.DriverName, filepath.Join(dir, fmt.Sprintf("db%d.db", i)))
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
		total += n
	}
	assert.Equal(t, 40*20, total)
}
