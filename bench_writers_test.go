//go:build cgo

package sqlite3safe_test

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkConcurrentInserts: 4 goroutines insert flat out (autocommit,
// one row per statement), as the mixed workload's writers do. ns/op is
// per insert.
func BenchmarkConcurrentInserts(b *testing.B) {
	for _, d := range []benchDriver{
		{name: "sqlite3-tuned", driver: "sqlite3", query: "?_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate"},
		{name: "sqlite3-safe", driver: "sqlite3-safe"},
	} {
		b.Run("driver="+d.name, func(b *testing.B) {
			db := openBench(b, d)
			if _, err := db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"); err != nil {
				b.Fatal(err)
			}
			const writers = 4
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				n := b.N / writers
				if w < b.N%writers {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n {
						if _, err := db.Exec("INSERT INTO t(v) VALUES (randomblob(200))"); err != nil {
							panic(fmt.Sprint(err))
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}
