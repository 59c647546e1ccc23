//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/sqlite3safe/sqlite3safe"
)

// hookedDriver is sqlite3-safe over a go-sqlite3 driver with a
// ConnectHook (that does nothing): what the application may set on such
// connections is set aside around sqlite3-safe's own statements (own.go),
// which costs cgo calls that connections without one do not pay.
const hookedDriver = "sqlite3-safe-bench-hooked"

func init() {
	sqlite3safe.Register(hookedDriver, &sqlite3.SQLiteDriver{ConnectHook: func(*sqlite3.SQLiteConn) error { return nil }})
}

// BenchmarkTxInsert is the statement path inside a BeginTx transaction:
// one INSERT per op, committed every 1000.
func BenchmarkTxInsert(b *testing.B) {
	for _, d := range walDrivers {
		b.Run("driver="+d.name, func(b *testing.B) {
			ctx := b.Context()
			db := openBench(b, d)
			if _, err := db.ExecContext(ctx, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += 1000 {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				for j := i; j < i+1000 && j < b.N; j++ {
					if _, err := tx.ExecContext(ctx, "INSERT INTO kv(v) VALUES (?)", "value"); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTxSmall is a transaction per op, as a service writes a small
// unit of work: BeginTx, one INSERT, Commit, on one goroutine; with a
// context that cannot end, and with one that can (a request's), which
// makes go-sqlite3 watch every exec's context.
func BenchmarkTxSmall(b *testing.B) {
	for _, cancellable := range []bool{false, true} {
		for _, d := range walDrivers {
			name := "ctx=background/driver=" + d.name
			if cancellable {
				name = "ctx=cancellable/driver=" + d.name
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				if cancellable {
					ctx = b.Context()
				}
				db := openBench(b, d)
				mustExec(b, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := tx.ExecContext(ctx, "INSERT INTO kv(v) VALUES (?)", "value"); err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTxReadOnly is a read-only transaction per op: BeginTx with
// ReadOnly, one point SELECT, Commit. sqlite3-safe sets query_only around
// it; on a driver with a ConnectHook (hooked) those PRAGMAs run with the
// application's authorizer set aside.
func BenchmarkTxReadOnly(b *testing.B) {
	drivers := append(walDrivers[:len(walDrivers):len(walDrivers)], benchDriver{name: "sqlite3-safe-hooked", driver: hookedDriver})
	for _, d := range drivers {
		b.Run("driver="+d.name, func(b *testing.B) {
			ctx := context.Background()
			db := openBench(b, d)
			mustExec(b, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
			mustExec(b, db, "INSERT INTO kv(v) VALUES ('value')")
			opts := &sql.TxOptions{ReadOnly: true}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tx, err := db.BeginTx(ctx, opts)
				if err != nil {
					b.Fatal(err)
				}
				var v string
				if err := tx.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 1).Scan(&v); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
