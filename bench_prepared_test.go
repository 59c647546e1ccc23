//go:build cgo

package sqlite3safe_test

import (
	"fmt"
	"testing"
)

// BenchmarkPreparedSelect is BenchmarkPointSelect through a prepared
// *sql.Stmt: the statement is compiled once, so what is left is the
// driver's path per execution.
func BenchmarkPreparedSelect(b *testing.B) {
	for _, d := range walDrivers {
		b.Run("driver="+d.name, func(b *testing.B) {
			ctx := b.Context()
			db := openBench(b, d)
			mustExec(b, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
			for k := 1; k <= kvRows; k++ {
				mustExec(b, db, "INSERT INTO kv(k, v) VALUES (?, ?)", k, fmt.Sprintf("value-%05d", k))
			}
			stmt, err := db.PrepareContext(ctx, "SELECT v FROM kv WHERE k = ?")
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			b.ReportAllocs()
			b.ResetTimer()
			var v string
			for i := 0; i < b.N; i++ {
				if err := stmt.QueryRowContext(ctx, i%kvRows+1).Scan(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPreparedInsert is BenchmarkInsert through a prepared *sql.Stmt.
func BenchmarkPreparedInsert(b *testing.B) {
	for _, d := range walDrivers {
		b.Run("driver="+d.name, func(b *testing.B) {
			ctx := b.Context()
			db := openBench(b, d)
			mustExec(b, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
			stmt, err := db.PrepareContext(ctx, "INSERT INTO kv(v) VALUES (?)")
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := stmt.ExecContext(ctx, "value"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
