//go:build cgo

package sqlite3safe_test

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// TestNPlusOneReadsOnNonWAL: on databases where readers take the shared
// side of the lock (in-memory, shared cache), a goroutine that keeps rows
// open and runs one more query through the *sql.DB per row must never wait
// for a writer that is itself waiting for those rows to close. One writer
// runs flat out beside two such readers with a short lock timeout: no
// error, both sides progress, every result is right.
func TestNPlusOneReadsOnNonWAL(t *testing.T) {
	for name, dsn := range map[string]string{
		"memory":       ":memory:?_safe_lock_timeout=300",
		"shared cache": "file:" + filepath.Join(t.TempDir(), "n1.db") + "?cache=shared&_safe_lock_timeout=300",
	} {
		t.Run(name, func(t *testing.T) {
			db := openDB(t, sqlite3safe.DriverName, dsn)
			mustExec(t, db, "CREATE TABLE items(id INTEGER PRIMARY KEY)")
			mustExec(t, db, "CREATE TABLE details(item INTEGER, n INTEGER)")
			mustExec(t, db, "CREATE TABLE log(x)")
			const items, perItem = 20, 3
			for i := 1; i <= items; i++ {
				mustExec(t, db, "INSERT INTO items VALUES (?)", i)
				for j := range perItem {
					mustExec(t, db, "INSERT INTO details VALUES (?, ?)", i, j)
				}
			}

			var (
				stop          atomic.Bool
				reads, writes atomic.Int64
				wg            sync.WaitGroup
				errMu         sync.Mutex
				errs          []error
			)
			fail := func(err error) {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
			wg.Add(1)
			go func() { // the writer
				defer wg.Done()
				for !stop.Load() {
					if _, err := db.Exec("INSERT INTO log VALUES (?)", writes.Load()); err != nil {
						fail(err)
						continue
					}
					writes.Add(1)
				}
			}()
			nPlusOne := func() error {
				rows, err := db.Query("SELECT id FROM items ORDER BY id")
				if err != nil {
					return err
				}
				defer rows.Close()
				seen := 0
				for rows.Next() {
					var id int
					if err := rows.Scan(&id); err != nil {
						return err
					}
					var n int
					if err := db.QueryRow("SELECT count(*) FROM details WHERE item = ?", id).Scan(&n); err != nil {
						return err
					}
					if n != perItem {
						t.Errorf("item %d: %d details, want %d", id, n, perItem)
					}
					seen++
				}
				if err := rows.Err(); err != nil {
					return err
				}
				if seen != items {
					t.Errorf("%d items, want %d", seen, items)
				}
				return nil
			}
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						if err := nPlusOne(); err != nil {
							fail(err)
							continue
						}
						reads.Add(1)
					}
				}()
			}
			time.Sleep(2 * time.Second)
			stop.Store(true)
			wg.Wait()

			errMu.Lock()
			defer errMu.Unlock()
			for i, err := range errs {
				if i < 5 {
					t.Errorf("error: %v", err)
				}
			}
			assert.Zero(t, len(errs), "errors")
			assert.Positive(t, reads.Load(), "N+1 reads completed")
			assert.Positive(t, writes.Load(), "writes completed")
			var logged int64
			require.NoError(t, db.QueryRow("SELECT count(*) FROM log").Scan(&logged))
			assert.Equal(t, writes.Load(), logged, "every acknowledged write is there")
			t.Logf("%d N+1 passes, %d writes, %d errors", reads.Load(), writes.Load(), len(errs))
		})
	}
}

// TestReadLockTimeoutSaysReading: on a database where readers take the
// shared side, a read that runs out of lock timeout says it waited to read,
// not for the write lock, and still matches ErrLockTimeout and
// go-sqlite3's ErrBusy.
func TestReadLockTimeoutSaysReading(t *testing.T) {
	db := openDB(t, sqlite3safe.DriverName, ":memory:?_safe_lock_timeout=50")
	mustExec(t, db, "CREATE TABLE t(x)")
	tx, err := db.Begin()
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.Exec("INSERT INTO t VALUES (1)")
	require.NoError(t, err)

	var n int
	err = db.QueryRow("SELECT count(*) FROM t").Scan(&n)
	require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout)
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, sqlite3.ErrBusy, se.Code)
	var lte *sqlite3safe.LockTimeoutError
	require.ErrorAs(t, err, &lte)
	assert.True(t, lte.Read)
	assert.Contains(t, err.Error(), "for reading")
	assert.NotContains(t, err.Error(), "write lock on")

	// A write that times out still says write lock.
	_, err = db.Exec("INSERT INTO t VALUES (2)")
	require.ErrorAs(t, err, &lte)
	assert.False(t, lte.Read)
	assert.Contains(t, err.Error(), "write lock on")
}
