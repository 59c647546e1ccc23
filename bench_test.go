//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlite3safe/sqlite3safe/internal/ledger"

	_ "github.com/sqlite3safe/sqlite3safe" // registers "sqlite3-safe"; go-sqlite3's init registers "sqlite3"
)

// The benchmarks have one sub-benchmark per driver, named driver=NAME, so
// that one run compares them:
//
//	go test -run XXX -bench . -benchmem -count 6 . > bench.txt
//	benchstat -col /driver bench.txt
//
// Every run of a benchmark function (one per b.N) opens a fresh database
// file in b.TempDir(); the setup happens before b.ResetTimer.

// benchDriver is one column of a comparison: a driver name and the DSN
// query string appended to the database file's path.
type benchDriver struct {
	name   string // sub-benchmark name, after "driver="
	driver string // database/sql driver name
	query  string // appended to the path: "" or "?…"
}

// walDrivers are the drivers for the single-goroutine benchmarks. sqlite3-safe
// always runs in WAL mode, so plain sqlite3 is given _journal_mode=WAL: the
// comparison then measures the wrapper (interceptors, statement classifier,
// write lock), not WAL against a rollback journal. Both drivers default to
// synchronous=NORMAL (go-sqlite3 sets it when the DSN does not), so
// durability settings match too.
var walDrivers = []benchDriver{
	{name: "sqlite3", driver: "sqlite3", query: "?_journal_mode=WAL"},
	{name: "sqlite3-safe", driver: "sqlite3-safe"},
}

// openBench opens a fresh database for d in a new temporary directory. The
// database is closed before the directory is removed.
func openBench(b *testing.B, d benchDriver) *sql.DB {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	db, err := sql.Open(d.driver, path+d.query)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Errorf("closing %s database: %v", d.name, err)
		}
	})
	if err := db.PingContext(b.Context()); err != nil {
		b.Fatal(err)
	}
	return db
}

const kvRows = 10_000

func BenchmarkPointSelect(b *testing.B) {
	for _, d := range walDrivers {
		b.Run("driver="+d.name, func(b *testing.B) {
			ctx := b.Context()
			db := openBench(b, d)
			if _, err := db.ExecContext(ctx, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
				b.Fatal(err)
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			for k := 1; k <= kvRows; k++ {
				if _, err := tx.ExecContext(ctx, "INSERT INTO kv(k, v) VALUES (?, ?)", k, fmt.Sprintf("value-%05d", k)); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var v string
			for i := 0; i < b.N; i++ {
				if err := db.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", i%kvRows+1).Scan(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkInsert(b *testing.B) {
	for _, d := range walDrivers {
		b.Run("driver="+d.name, func(b *testing.B) {
			ctx := b.Context()
			db := openBench(b, d)
			if _, err := db.ExecContext(ctx, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := db.ExecContext(ctx, "INSERT INTO kv(v) VALUES (?)", "value"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ledgerGoroutines is the number of goroutines appending at once in
// BenchmarkLedger.
const ledgerGoroutines = 100

// BenchmarkLedger is the seed scenario: 100 goroutines append b.N blocks
// between them with ledger.Append, one transaction each. An op is one
// append attempt; errors/op is the fraction of attempts that failed, and
// ns/block is the wall time per committed block.
//
//   - sqlite3-safe: plain DSN. Any error fails the benchmark, and the chain
//     is verified at the end.
//   - sqlite3-tuned: plain go-sqlite3 with the usual hand tuning, WAL, a
//     busy timeout and immediate transactions.
//   - sqlite3: plain go-sqlite3 with a plain DSN (rollback journal, deferred
//     transactions, go-sqlite3's default 5 s busy timeout).
//
// Errors from the two sqlite3 drivers are counted, not fatal.
func BenchmarkLedger(b *testing.B) {
	drivers := []struct {
		benchDriver
		strict bool // any error is fatal; verify the chain
	}{
		{benchDriver{name: "sqlite3-safe", driver: "sqlite3-safe"}, true},
		{benchDriver{name: "sqlite3-tuned", driver: "sqlite3", query: "?_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate"}, false},
		{benchDriver{name: "sqlite3", driver: "sqlite3"}, false},
	}
	for _, d := range drivers {
		b.Run("driver="+d.name, func(b *testing.B) {
			ctx := b.Context()
			db := openBench(b, d.benchDriver)
			if err := ledger.Create(ctx, db); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			nerr, firstErr := appendBlocks(ctx, db, b.N)
			elapsed := time.Since(start)
			b.StopTimer()

			b.ReportMetric(float64(nerr)/float64(b.N), "errors/op")
			if committed := int64(b.N) - nerr; committed > 0 {
				b.ReportMetric(float64(elapsed.Nanoseconds())/float64(committed), "ns/block")
			}
			if !d.strict {
				return
			}
			if nerr > 0 {
				b.Fatalf("%d of %d appends failed; first: %v", nerr, b.N, firstErr)
			}
			n, err := ledger.Verify(ctx, db)
			if err != nil {
				b.Fatalf("chain broken after %d blocks: %v", n, err)
			}
			if n != int64(b.N) {
				b.Fatalf("chain has %d blocks, want %d", n, b.N)
			}
		})
	}
}

// appendBlocks has ledgerGoroutines goroutines append n blocks to db
// between them, and returns how many appends failed and the first error.
func appendBlocks(ctx context.Context, db *sql.DB, n int) (failed int64, first error) {
	var (
		wg       sync.WaitGroup
		errs     atomic.Int64
		firstErr atomic.Pointer[error]
	)
	for g := range ledgerGoroutines {
		k := n / ledgerGoroutines
		if g < n%ledgerGoroutines {
			k++
		}
		if k == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range k {
				if _, err := ledger.Append(ctx, db, fmt.Sprintf("g%d-%d", g, i)); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		first = *p
	}
	return errs.Load(), first
}
