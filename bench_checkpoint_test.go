//go:build cgo

package sqlite3safe_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkCommitLatency: one writer commits 1 KiB rows as fast as it can
// while 8 readers run range scans. sqlite3-safe (background checkpoints)
// against hand-tuned go-sqlite3 (WAL, busy timeout, immediate
// transactions, SQLite's autocheckpoint on the commit path). Reports the
// commit latency percentiles from a sorted sample of every commit:
//
//	go test -run XXX -bench CommitLatency -benchtime 20000x -count 6 .
func BenchmarkCommitLatency(b *testing.B) {
	for _, d := range []benchDriver{
		{name: "sqlite3-tuned", driver: "sqlite3", query: "?_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate"},
		{name: "sqlite3-safe", driver: "sqlite3-safe"},
	} {
		b.Run("driver="+d.name, func(b *testing.B) {
			db := openBench(b, d)
			if _, err := db.Exec("CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)"); err != nil {
				b.Fatal(err)
			}
			for range 1000 {
				if _, err := db.Exec("INSERT INTO blobs(b) VALUES (randomblob(1024))"); err != nil {
					b.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						rows, err := db.QueryContext(ctx, "SELECT id, length(b) FROM blobs ORDER BY id DESC LIMIT 50")
						if err != nil {
							continue // cancelled at the end
						}
						for rows.Next() {
						}
						_ = rows.Close()
					}
				}()
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if _, err := db.Exec("INSERT INTO blobs(b) VALUES (randomblob(1024))"); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			cancel()
			wg.Wait()
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds())
			}
			b.ReportMetric(pct(0.50), "p50-ns")
			b.ReportMetric(pct(0.99), "p99-ns")
			b.ReportMetric(pct(0.999), "p99.9-ns")
		})
	}
}
