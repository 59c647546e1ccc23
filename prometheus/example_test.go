package prometheus_test

import (
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	prom "github.com/prometheus/client_golang/prometheus"

	_ "github.com/sqlite3safe/sqlite3safe" // registers the "sqlite3-safe" driver
	sqlite3safeprom "github.com/sqlite3safe/sqlite3safe/prometheus"
)

// Register a collector of one database with a registry; serve the
// registry with promhttp.HandlerFor as usual. Here the gathered lock
// metrics are printed instead.
func Example() {
	dir, err := os.MkdirTemp("", "sqlite3safe-prometheus-example")
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

	reg := prom.NewRegistry()
	reg.MustRegister(sqlite3safeprom.NewCollector(db, "app"))
	// http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		// sqlite3safe_lock_held has a series only while the lock is held
		// (here, at most by the background checkpointer): left out.
		if mf.GetName() == "sqlite3safe_lock_held" {
			continue
		}
		if strings.HasPrefix(mf.GetName(), "sqlite3safe_lock_") || mf.GetName() == "sqlite3safe_stats_up" {
			m := mf.GetMetric()[0]
			fmt.Printf("%s %s{db=%q}\n", mf.GetType(), mf.GetName(), m.GetLabel()[0].GetValue())
		}
	}
	// Output:
	// COUNTER sqlite3safe_lock_acquisitions_total{db="app"}
	// COUNTER sqlite3safe_lock_hand_overs_total{db="app"}
	// GAUGE sqlite3safe_lock_held_seconds{db="app"}
	// GAUGE sqlite3safe_lock_oldest_wait_seconds{db="app"}
	// COUNTER sqlite3safe_lock_queue_full_total{db="app"}
	// GAUGE sqlite3safe_lock_queue_length{db="app"}
	// COUNTER sqlite3safe_lock_timeouts_total{db="app"}
	// GAUGE sqlite3safe_lock_wait_max_seconds{db="app"}
	// COUNTER sqlite3safe_lock_wait_seconds_total{db="app"}
	// COUNTER sqlite3safe_lock_waits_total{db="app"}
	// GAUGE sqlite3safe_stats_up{db="app"}
}
