package otel_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	_ "github.com/sqlite3safe/sqlite3safe" // registers the "sqlite3-safe" driver
	sqlite3safeotel "github.com/sqlite3safe/sqlite3safe/otel"
)

// Register a database's instruments on a meter; any reader or exporter of
// the meter's provider then collects them. Here a ManualReader collects
// once and the instruments are printed with their units
// (db.client.connection.max is absent: this pool has no limit).
func Example() {
	dir, err := os.MkdirTemp("", "sqlite3safe-otel-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sql.Open("sqlite3-safe", filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t(x INTEGER)"); err != nil {
		log.Fatal(err)
	}

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	reg, err := sqlite3safeotel.Register(provider.Meter("example"), db, "app")
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			// sqlite3safe.lock.held has a data point only while the lock is
			// held (here, at most by the background checkpointer): left out.
			if m.Name == "sqlite3safe.lock.held" {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s (%s)", m.Name, m.Unit))
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// db.client.connection.count ({connection})
	// sqlite3safe.checkpoint.busy ({checkpoint})
	// sqlite3safe.checkpoint.errors ({error})
	// sqlite3safe.checkpoint.escalations ({escalation})
	// sqlite3safe.checkpoint.frames ({frame})
	// sqlite3safe.checkpoint.wait.max (s)
	// sqlite3safe.checkpoint.waits ({wait})
	// sqlite3safe.checkpoints ({checkpoint})
	// sqlite3safe.lock.acquisitions ({acquisition})
	// sqlite3safe.lock.hand_overs ({transaction})
	// sqlite3safe.lock.held.time (s)
	// sqlite3safe.lock.queue.full ({write})
	// sqlite3safe.lock.queue.oldest_wait (s)
	// sqlite3safe.lock.queue.size ({request})
	// sqlite3safe.lock.timeouts ({timeout})
	// sqlite3safe.lock.wait.max (s)
	// sqlite3safe.lock.wait.time (s)
	// sqlite3safe.lock.waits ({wait})
	// sqlite3safe.pool.closed ({connection})
	// sqlite3safe.pool.wait.time (s)
	// sqlite3safe.pool.waits ({wait})
	// sqlite3safe.wal.brakes ({brake})
	// sqlite3safe.wal.limit (By)
	// sqlite3safe.wal.pinned (s)
	// sqlite3safe.wal.pinned.max (s)
	// sqlite3safe.wal.pins ({pin})
	// sqlite3safe.wal.size (By)
	// sqlite3safe.wal.size.max (By)
}
