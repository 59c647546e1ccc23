package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// ledger is the seed scenario: G goroutines × K appends, then the chain is
// verified.
func (b *bench) ledger(ctx context.Context, cfg, path string, s *sample) error {
	h, err := openConfig(ctx, cfg, path, 0)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := ledger.Create(ctx, h.w); err != nil {
		return fmt.Errorf("creating the ledger: %w", err)
	}
	g, k := b.opts.goroutines, b.opts.blocks
	op := newOp("append")
	total := float64(g * k)
	wal := startWAL(path, b.progress, func() float64 { return float64(op.attempts()) / total })
	start := time.Now()
	appendBlocks(ctx, h.w, g, k, "", op)
	elapsed := time.Since(start)
	s.WAL = wal.end()
	s.Elapsed = elapsed.Seconds()
	s.Ops = []opStats{op.stats(elapsed)}
	s.Chain = verifyChain(ctx, h.r, op.ok.Load())
	s.Safe = snapshotSafe(h)
	s.Pools = poolsOf(h)
	return h.Close()
}

// appendBlocks runs g goroutines that each append k blocks to the ledger
// in db, and waits for them. Payloads start with prefix.
func appendBlocks(ctx context.Context, db *sql.DB, g, k int, prefix string, op *opCounter) {
	var wg sync.WaitGroup
	for gi := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := newHist()
			defer op.merge(local)
			for i := range k {
				t0 := time.Now()
				if _, err := ledger.Append(ctx, db, fmt.Sprintf("%sg%d-b%d", prefix, gi, i)); err != nil {
					op.fail(err)
					continue
				}
				record(local, time.Since(t0))
				op.ok.Add(1)
			}
		}()
	}
	wg.Wait()
}

// verifyChain walks the ledger and compares it with the committed appends.
func verifyChain(ctx context.Context, db *sql.DB, committed int64) *chainResult {
	n, err := ledger.Verify(ctx, db)
	c := &chainResult{Blocks: n, Committed: committed, Intact: err == nil && n == committed}
	switch {
	case err != nil:
		c.Error = err.Error()
	case n != committed:
		c.Error = fmt.Sprintf("chain has %d blocks, %d appends were committed", n, committed)
	}
	return c
}

// The mixed workload's values and scans.
const (
	valueSize = 200
	scanRows  = 50
)

// mixed runs W writers (INSERT, UPDATE by key) and R readers (point SELECT,
// 50-row range scan) for the duration, all autocommit.
func (b *bench) mixed(ctx context.Context, cfg, path string, s *sample) error {
	h, err := openConfig(ctx, cfg, path, 0)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := seedKV(ctx, h.w, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v BLOB NOT NULL)", b.opts.rows, func(r *rand.Rand, k int) any {
		return randomValue(r, make([]byte, valueSize))
	}); err != nil {
		return err
	}
	var (
		maxKey  atomic.Int64
		stopped atomic.Bool
		wg      sync.WaitGroup
		writes  = newOp("write")
		reads   = newOp("read")
		d       = b.opts.duration
	)
	maxKey.Store(int64(b.opts.rows))
	wal := startWAL(path, b.progress, timeFraction(time.Now(), d))
	start := time.Now()
	timer := time.AfterFunc(d, func() { stopped.Store(true) })
	defer timer.Stop()
	for w := range b.opts.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(1, uint64(w)))
			buf := make([]byte, valueSize)
			local := newHist()
			defer writes.merge(local)
			for i := 0; !stopped.Load(); i++ {
				randomValue(r, buf)
				t0 := time.Now()
				var err error
				if i%2 == 0 {
					var res sql.Result
					if res, err = h.w.ExecContext(ctx, "INSERT INTO kv(v) VALUES (?)", buf); err == nil {
						id, _ := res.LastInsertId()
						for cur := maxKey.Load(); id > cur && !maxKey.CompareAndSwap(cur, id); cur = maxKey.Load() {
						}
					}
				} else {
					_, err = h.w.ExecContext(ctx, "UPDATE kv SET v = ? WHERE k = ?", buf, 1+r.Int64N(maxKey.Load()))
				}
				if err != nil {
					writes.fail(err)
					continue
				}
				record(local, time.Since(t0))
				writes.ok.Add(1)
			}
		}()
	}
	for rd := range b.opts.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(2, uint64(rd)))
			local := newHist()
			defer reads.merge(local)
			var v []byte
			for i := 0; !stopped.Load(); i++ {
				t0 := time.Now()
				var err error
				if i%2 == 0 {
					err = h.r.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", 1+r.Int64N(maxKey.Load())).Scan(&v)
				} else {
					err = rangeScan(ctx, h.r, 1+r.Int64N(max(1, maxKey.Load()-scanRows+1)))
				}
				if err != nil {
					reads.fail(err)
					continue
				}
				record(local, time.Since(t0))
				reads.ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s.WAL = wal.end()
	s.Elapsed = elapsed.Seconds()
	s.Ops = []opStats{writes.stats(elapsed), reads.stats(elapsed)}
	s.Safe = snapshotSafe(h)
	s.Pools = poolsOf(h)
	return h.Close()
}

// rangeScan reads scanRows rows from key on.
func rangeScan(ctx context.Context, db *sql.DB, key int64) error {
	rows, err := db.QueryContext(ctx, "SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?", key, scanRows)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		k int64
		v []byte
	)
	for rows.Next() {
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// randomValue fills buf with random printable bytes and returns it.
func randomValue(r *rand.Rand, buf []byte) []byte {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range buf {
		buf[i] = letters[r.IntN(len(letters))]
	}
	return buf
}

// seedKV creates a table with schema and fills it with n rows (k = 1…n, v
// from value) in one transaction, before anything is timed.
func seedKV(ctx context.Context, db *sql.DB, schema string, n int, value func(*rand.Rand, int) any) error {
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("creating the table: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("seeding the table: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	r := rand.New(rand.NewPCG(0, 0))
	for k := 1; k <= n; k++ {
		if _, err := tx.ExecContext(ctx, "INSERT INTO kv(k, v) VALUES (?, ?)", k, value(r, k)); err != nil {
			return fmt.Errorf("seeding the table: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("seeding the table: %w", err)
	}
	return nil
}

// timeFraction reports the part of d that has passed since start.
func timeFraction(start time.Time, d time.Duration) func() float64 {
	return func() float64 { return min(1, float64(time.Since(start))/float64(d)) }
}

// starve is TestCheckpointStarvation's load: one writer inserting four
// 1 KiB rows per statement, readers that each hold a read open for 20 ms,
// staggered so that one is always open.
func (b *bench) starve(ctx context.Context, cfg, path string, s *sample) error {
	h, err := openConfig(ctx, cfg, path, b.opts.walLimit)
	if err != nil {
		return err
	}
	defer h.Close()
	for _, q := range []string{
		"CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)",
		"INSERT INTO blobs(b) VALUES (randomblob(1024))",
	} {
		if _, err := h.w.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating the table: %w", err)
		}
	}
	var (
		stopped atomic.Bool
		wg      sync.WaitGroup
		writes  = newOp("write")
		reads   = newOp("read")
		d       = b.opts.duration
	)
	wal := startWAL(path, b.progress, timeFraction(time.Now(), d))
	start := time.Now()
	timer := time.AfterFunc(d, func() { stopped.Store(true) })
	defer timer.Stop()
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		local := newHist()
		defer writes.merge(local)
		for !stopped.Load() {
			t0 := time.Now()
			if _, err := h.w.ExecContext(ctx, "INSERT INTO blobs(b) VALUES (randomblob(1024)), (randomblob(1024)), (randomblob(1024)), (randomblob(1024))"); err != nil {
				writes.fail(err)
				continue
			}
			record(local, time.Since(t0))
			writes.ok.Add(1)
		}
	}()
	for r := range b.opts.readers {
		wg.Add(1)
		go func() { // a reader that keeps a read open
			defer wg.Done()
			local := newHist()
			defer reads.merge(local)
			time.Sleep(time.Duration(r) * 5 * time.Millisecond) // stagger
			for !stopped.Load() {
				if err := holdRead(ctx, h.r, local); err != nil {
					reads.fail(err)
					time.Sleep(time.Millisecond)
					continue
				}
				reads.ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s.WAL = wal.end()
	s.Elapsed = elapsed.Seconds()
	s.Ops = []opStats{writes.stats(elapsed), reads.stats(elapsed)}
	s.Safe = snapshotSafe(h)
	s.Pools = poolsOf(h)
	return h.Close()
}

// starveHold is how long each starve reader keeps its read open.
const starveHold = 20 * time.Millisecond

// holdRead opens a read, records the time to its first row, keeps it open
// for starveHold and closes it.
func holdRead(ctx context.Context, db *sql.DB, hist interface{ RecordValue(int64) error }) error {
	t0 := time.Now()
	rows, err := db.QueryContext(ctx, "SELECT id FROM blobs ORDER BY id DESC LIMIT 10")
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("starve: no rows")
	}
	_ = hist.RecordValue(min(max(int64(time.Since(t0)), histMin), histMax))
	time.Sleep(starveHold) // the read transaction is open now
	return rows.Close()
}

// overheadWarmup is the number of untimed ops of each kind first.
const overheadWarmup = 1000

// overhead times -ops point SELECTs, then -ops autocommit INSERTs, from one
// goroutine.
func (b *bench) overhead(ctx context.Context, cfg, path string, s *sample) error {
	h, err := openConfig(ctx, cfg, path, 0)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := seedKV(ctx, h.w, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)", b.opts.rows, func(_ *rand.Rand, k int) any {
		return fmt.Sprintf("value-%05d", k)
	}); err != nil {
		return err
	}
	n := b.opts.ops
	var done atomic.Int64
	wal := startWAL(path, b.progress, func() float64 { return float64(done.Load()) / float64(2*(n+overheadWarmup)) })
	var v string
	sel := func(i int) error {
		return h.r.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", i%b.opts.rows+1).Scan(&v)
	}
	ins := func(int) error {
		_, err := h.w.ExecContext(ctx, "INSERT INTO kv(v) VALUES (?)", "value")
		return err
	}
	start := time.Now()
	for _, phase := range []struct {
		name string
		f    func(int) error
	}{{"select", sel}, {"insert", ins}} {
		op := newOp(phase.name)
		for i := range overheadWarmup {
			if err := phase.f(i); err != nil {
				op.fail(err)
			}
			done.Add(1)
		}
		t := time.Now()
		for i := range n {
			t0 := time.Now()
			if err := phase.f(i); err != nil {
				op.fail(err)
			} else {
				record(op.hist, time.Since(t0))
				op.ok.Add(1)
			}
			done.Add(1)
		}
		s.Ops = append(s.Ops, op.stats(time.Since(t)))
	}
	s.Elapsed = time.Since(start).Seconds()
	s.WAL = wal.end()
	s.Safe = snapshotSafe(h)
	s.Pools = poolsOf(h)
	return h.Close()
}
