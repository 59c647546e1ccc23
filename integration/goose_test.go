package integration

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// The migration set: 1 creates tables, 2 seeds 1000 rows, 3 adds a
// column and backfills it, 4 (Go, in a transaction) reads and writes
// through the *sql.Tx, 5 rebuilds the events table (CREATE, INSERT …
// SELECT, DROP, RENAME), 6 creates an index outside a transaction
// (-- +goose NO TRANSACTION), 7 adds a trigger (StatementBegin/End) and
// stamps the rows the application wrote meanwhile.
const latestVersion = 7

func init() {
	goose.AddNamedMigrationContext("00004_count_seed.go", countSeedUp, countSeedDown)
}

func countSeedUp(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE kind = 'seed'`).Scan(&n); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('seed_count', ?)`, fmt.Sprint(n))
	return err
}

func countSeedDown(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = 'seed_count'`)
	return err
}

// appWriters is the application: goroutines that insert events (one
// transaction with a read and a write, or a plain INSERT) and read them
// back, through every schema version from 1 on, until stopped.
type appWriters struct {
	db      *sql.DB
	stop    chan struct{}
	wg      sync.WaitGroup
	e       errs
	mu      sync.Mutex
	written []string // payloads of committed inserts
	reads   atomic.Int64
}

func startAppWriters(db *sql.DB, n int) *appWriters {
	w := &appWriters{db: db, stop: make(chan struct{})}
	for g := 0; g < n; g++ {
		w.wg.Add(1)
		go w.run(g)
	}
	return w
}

func (w *appWriters) run(g int) {
	defer w.wg.Done()
	ctx := context.Background()
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		payload := fmt.Sprintf("app-%d-%d", g, i)
		var err error
		if i%2 == 0 {
			_, err = w.db.ExecContext(ctx, `INSERT INTO events (kind, payload) VALUES ('app', ?)`, payload)
		} else {
			err = func() error {
				tx, err := w.db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer func() { _ = tx.Rollback() }()
				var last int64
				if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&last); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO events (kind, payload) VALUES ('app', ?)`, payload); err != nil {
					return err
				}
				return tx.Commit()
			}()
		}
		if err != nil {
			w.e.add(fmt.Errorf("write %s: %w", payload, err))
			continue
		}
		w.mu.Lock()
		w.written = append(w.written, payload)
		w.mu.Unlock()
		var n int64
		if err := w.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE kind = 'app'`).Scan(&n); err != nil {
			w.e.add(fmt.Errorf("read: %w", err))
		}
		w.reads.Add(1)
		time.Sleep(time.Millisecond)
	}
}

func (w *appWriters) finish(t *testing.T) []string {
	t.Helper()
	close(w.stop)
	w.wg.Wait()
	w.e.check(t)
	return w.written
}

// checkMigrated checks the schema and data at the latest version, and
// that every committed application write is there exactly once.
func checkMigrated(t *testing.T, db *sql.DB, written []string) {
	t.Helper()
	var schema, seedCount string
	if err := db.QueryRow(`SELECT value FROM settings WHERE key = 'schema'`).Scan(&schema); err != nil || schema != "v7" {
		t.Fatalf("settings.schema = %q, %v; want v7", schema, err)
	}
	if err := db.QueryRow(`SELECT value FROM settings WHERE key = 'seed_count'`).Scan(&seedCount); err != nil || seedCount != "1000" {
		t.Fatalf("settings.seed_count = %q, %v; want 1000 (Go migration)", seedCount, err)
	}
	for _, q := range []struct{ typ, name string }{
		{"table", "events"}, {"table", "settings"}, {"index", "events_kind_created"}, {"trigger", "events_stamp"},
	} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = ? AND name = ?`, q.typ, q.name).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s %s missing (%v)", q.typ, q.name, err)
		}
	}
	var leftovers int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_new'`).Scan(&leftovers); err != nil || leftovers != 0 {
		t.Fatalf("events_new left over: %d, %v", leftovers, err)
	}
	// The rebuilt table has its CHECK constraint.
	if _, err := db.Exec(`INSERT INTO events (kind, payload) VALUES ('bogus', 'x')`); err == nil {
		t.Fatal("CHECK constraint from migration 5 missing")
	}
	var seeds, unstamped int
	if err := db.QueryRow(`SELECT COUNT(*) FROM events WHERE kind = 'seed'`).Scan(&seeds); err != nil || seeds != 1000 {
		t.Fatalf("seed rows = %d, %v; want 1000", seeds, err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM events WHERE created_at != id OR size != length(payload)`).Scan(&unstamped); err != nil || unstamped != 0 {
		t.Fatalf("rows not stamped by migrations 3/5/7 or the trigger: %d, %v", unstamped, err)
	}
	rows, err := db.Query(`SELECT payload, COUNT(*) FROM events WHERE kind = 'app' GROUP BY payload`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var p string
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			t.Fatal(err)
		}
		got[p] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range written {
		if got[p] != 1 {
			t.Fatalf("application write %s present %d times, want 1", p, got[p])
		}
	}
	if len(got) != len(written) {
		t.Fatalf("%d application rows in the table, %d committed", len(got), len(written))
	}
	if len(written) == 0 {
		t.Fatal("the application wrote nothing while migrating")
	}
	integrityCheck(t, db)
}

// TestGooseProviderWhileWriting: goose's Provider API migrates from an
// embed.FS to the latest version while 8 application goroutines keep
// writing and reading; then down one and up again, still under writes.
func TestGooseProviderWhileWriting(t *testing.T) {
	db := openSafe(t, dbPath(t, "goose.db"))
	fsys, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	ctx := context.Background()
	if _, err := p.UpByOne(ctx); err != nil { // the application's table exists from version 1 on
		t.Fatalf("UpByOne: %v", err)
	}
	w := startAppWriters(db, 8)
	time.Sleep(50 * time.Millisecond)
	results, err := p.Up(ctx)
	if err != nil {
		w.finish(t)
		t.Fatalf("Up: %v", err)
	}
	if len(results) != latestVersion-1 {
		t.Errorf("Up applied %d migrations, want %d", len(results), latestVersion-1)
	}
	// Down one (drops the trigger) and up again, under writes.
	if _, err := p.Down(ctx); err != nil {
		w.finish(t)
		t.Fatalf("Down: %v", err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := p.Up(ctx); err != nil {
		w.finish(t)
		t.Fatalf("Up again: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	written := w.finish(t)
	v, err := p.GetDBVersion(ctx)
	if err != nil || v != latestVersion {
		t.Fatalf("GetDBVersion = %d, %v; want %d", v, err, latestVersion)
	}
	if st, err := p.Status(ctx); err != nil || len(st) != latestVersion || st[latestVersion-1].State != goose.StateApplied {
		t.Fatalf("Status: %v", err)
	}
	checkMigrated(t, db, written)
	t.Logf("%d application writes and %d reads while migrating", len(written), w.reads.Load())
}

// TestGooseClassicWhileWriting: the same with goose's package-level API
// (SetBaseFS, SetDialect, UpContext), which runs each migration in a
// transaction begun on the *sql.DB.
func TestGooseClassicWhileWriting(t *testing.T) {
	db := openSafe(t, dbPath(t, "goose-classic.db"))
	goose.SetBaseFS(migrationsFS)
	t.Cleanup(func() { goose.SetBaseFS(nil) })
	goose.SetLogger(goose.NopLogger())
	if err := goose.SetDialect(string(goose.DialectSQLite3)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := goose.UpToContext(ctx, db, "migrations", 1); err != nil {
		t.Fatalf("UpTo 1: %v", err)
	}
	w := startAppWriters(db, 8)
	time.Sleep(50 * time.Millisecond)
	err := goose.UpContext(ctx, db, "migrations")
	time.Sleep(50 * time.Millisecond)
	written := w.finish(t)
	if err != nil {
		t.Fatalf("UpContext: %v", err)
	}
	v, err := goose.GetDBVersionContext(ctx, db)
	if err != nil || v != latestVersion {
		t.Fatalf("GetDBVersion = %d, %v; want %d", v, err, latestVersion)
	}
	checkMigrated(t, db, written)
}
