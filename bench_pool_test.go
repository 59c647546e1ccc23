//go:build cgo

package sqlite3safe_test

import (
	"fmt"
	"testing"

	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// BenchmarkLedgerPool is BenchmarkLedger on sqlite3-safe with the pool
// capped at 1, 4 and 100 connections (idle ones kept): the same 100
// goroutines and transactions, on fewer or more connections. With fewer,
// goroutines wait for a connection in database/sql's pool instead of for
// the write lock, and each connection's page cache is warmer.
func BenchmarkLedgerPool(b *testing.B) {
	for _, conns := range []int{1, 4, 100} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			ctx := b.Context()
			db := openBench(b, benchDriver{name: "sqlite3-safe", driver: "sqlite3-safe"})
			db.SetMaxOpenConns(conns)
			db.SetMaxIdleConns(conns)
			if err := ledger.Create(ctx, db); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			failed, first := appendBlocks(ctx, db, b.N)
			b.StopTimer()
			if failed > 0 {
				b.Fatalf("%d of %d appends failed; first: %v", failed, b.N, first)
			}
			if n, err := ledger.Verify(ctx, db); err != nil || n != int64(b.N) {
				b.Fatalf("chain: %d blocks of %d, %v", n, b.N, err)
			}
		})
	}
}
