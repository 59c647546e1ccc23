//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sqlite3safe/sqlite3safe"
)

// Open a file with "sqlite3-safe" instead of "sqlite3" and write from many
// goroutines at once: no "database is locked".
func Example() {
	dir, err := os.MkdirTemp("", "sqlite3safe-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sql.Open("sqlite3-safe", filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE counter(n INTEGER)"); err != nil {
		log.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO counter VALUES (0)"); err != nil {
		log.Fatal(err)
	}

	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A read-modify-write transaction: BEGIN IMMEDIATE under the
			// file's write lock, so no update is lost.
			tx, err := db.Begin()
			if err != nil {
				log.Fatal(err)
			}
			var n int
			if err := tx.QueryRow("SELECT n FROM counter").Scan(&n); err != nil {
				log.Fatal(err)
			}
			if _, err := tx.Exec("UPDATE counter SET n = ?", n+1); err != nil {
				log.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()

	var n int
	if err := db.QueryRow("SELECT n FROM counter").Scan(&n); err != nil {
		log.Fatal(err)
	}
	fmt.Println("counter:", n)
	// Output: counter: 50
}

// Reach go-sqlite3's own API through (*sql.Conn).Raw.
func ExampleUnwrap() {
	db, err := sql.Open("sqlite3-safe", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(driverConn any) error {
		sc, ok := sqlite3safe.Unwrap(driverConn)
		if !ok {
			return errors.New("not a sqlite3-safe connection")
		}
		return sc.RegisterFunc("double", func(x int) int { return 2 * x }, true)
	})
	if err != nil {
		log.Fatal(err)
	}
	var v int
	if err := conn.QueryRowContext(ctx, "SELECT double(21)").Scan(&v); err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)
	// Output: 42
}

// A connector with options, for sql.OpenDB. A goroutine that holds a
// transaction and writes through the *sql.DB gets ErrLockTimeout after the
// lock timeout instead of hanging.
func ExampleNewConnector() {
	connector, err := sqlite3safe.NewConnector(":memory:", sqlite3safe.WithLockTimeout(100*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t(x)"); err != nil {
		log.Fatal(err)
	}

	tx, err := db.Begin()
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO t VALUES (1)"); err != nil { // the transaction takes the lock
		log.Fatal(err)
	}
	_, err = db.Exec("INSERT INTO t VALUES (2)") // should have been tx.Exec
	fmt.Println(errors.Is(err, sqlite3safe.ErrLockTimeout))
	// Output: true
}

// Stats reports, per database file, what the write lock and the
// background checkpointer did.
func ExampleStats() {
	dir, err := os.MkdirTemp("", "sqlite3safe-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite3-safe", filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE TABLE t(x)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)"} {
		if _, err := db.Exec(q); err != nil {
			log.Fatal(err)
		}
	}
	st, err := sqlite3safe.Stats(db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("lock acquisitions:", st.LockAcquisitions, "timeouts:", st.LockTimeouts)
	fmt.Println("file:", filepath.Base(st.Path), "checkpoint errors:", st.CheckpointErrors)
	// Output:
	// lock acquisitions: 3 timeouts: 0
	// file: app.db checkpoint errors: 0
}
