package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// ledger is the seed scenario: G goroutines × K appends, then the chain is
// verified.
func (b *bench) ledger(ctx context.Context, cfg, path string, s *sample) error {
	h, err := b.open(ctx, cfg, path, 0)
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
	s.Mem = measureMem("")
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
				if ctx.Err() != nil {
					return // a procs child whose parent is gone
				}
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
	return chainOf(n, err, committed)
}

// chainOf is the chain's verdict: n blocks walked (err: the walk's
// problem) against the committed appends.
func chainOf(n int64, err error, committed int64) *chainResult {
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

// mixed4xFactor is how many times mixed's writers and readers mixed4x runs.
const mixed4xFactor = 4

// mixed runs factor×W writers (INSERT, UPDATE by key) and factor×R readers
// (point SELECT, 50-row range scan) for the duration, all autocommit.
func (b *bench) mixed(ctx context.Context, cfg, path string, s *sample, factor int) error {
	h, err := b.open(ctx, cfg, path, 0)
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
	for w := range factor * b.opts.writers {
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
	for rd := range factor * b.opts.readers {
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
	s.Mem = measureMem("")
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
	h, err := b.open(ctx, cfg, path, b.opts.walLimit)
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
	s.Mem = measureMem("")
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

// overheadRounds is the number of rounds each kind of op is split into.
// The configurations take turns round by round, so that whatever else the
// machine does in the meantime hits them alike, and each configuration's
// ns/op is the median of its rounds.
const overheadRounds = 20

// overheadDB is one configuration's database in the overhead workload:
// a handle, or for the C floor (floorConfig) a floorDB.
type overheadDB struct {
	cfg, path string
	h         *handle
	floor     *floorDB
	sel, ins  *sql.Stmt // the prepared select and insert
	wal       *walSampler
	s         sample
	next      int // the next key index of the current phase
}

// floorRun runs per statements of kind op on the C floor and returns the
// time the loop took, timed in C. It counts failures in op, and with timed
// the successes and their latencies too (not in the warm-up). lat is
// scratch space for the latencies, at least per long.
func (d *overheadDB) floorRun(kind floorOp, per int, op *opCounter, lat []int64, rows int, timed bool) time.Duration {
	lat = lat[:per]
	r := d.floor.run(kind, lat, &d.next, rows)
	for range r.failed {
		op.fail(r.err)
	}
	if !timed {
		return 0
	}
	for _, l := range lat {
		if l >= 0 {
			record(op.hist, time.Duration(l))
		}
	}
	op.ok.Add(r.ok)
	return time.Duration(r.ns)
}

// overheadAll times -ops point SELECTs, then -ops autocommit INSERTs, from
// one goroutine, on every configuration at once: each configuration has
// its own file and pool, and they take turns in rounds.
func (b *bench) overheadAll(ctx context.Context, cfgs []string, rep int) (out []sample, err error) {
	var dbs []*overheadDB
	defer func() {
		for _, d := range dbs {
			if d.wal != nil {
				d.wal.end()
			}
			for _, st := range []*sql.Stmt{d.sel, d.ins} {
				if st != nil {
					err = errors.Join(err, st.Close())
				}
			}
			if d.h != nil {
				err = errors.Join(err, d.h.Close())
			}
			if d.floor != nil {
				err = errors.Join(err, d.floor.close())
			}
			b.removeDB(d.path)
		}
		if err != nil {
			out = nil
		}
	}()
	for _, cfg := range cfgs {
		path := b.dbPath("overhead", cfg, rep)
		if cfg == floorConfig {
			f, err := openFloor(path, b.opts.rows)
			if err != nil {
				b.removeDB(path)
				return nil, err
			}
			dbs = append(dbs, &overheadDB{cfg: cfg, path: path, floor: f, s: sample{Workload: "overhead", Config: cfg, Rep: rep + 1}})
			continue
		}
		h, err := b.open(ctx, cfg, path, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg, err)
		}
		dbs = append(dbs, &overheadDB{cfg: cfg, path: path, h: h, s: sample{Workload: "overhead", Config: cfg, Rep: rep + 1}})
		if err := seedKV(ctx, h.w, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)", b.opts.rows, func(_ *rand.Rand, k int) any {
			return fmt.Sprintf("value-%05d", k)
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg, err)
		}
		d := dbs[len(dbs)-1]
		if d.sel, err = h.r.PrepareContext(ctx, "SELECT v FROM kv WHERE k = ?"); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg, err)
		}
		if d.ins, err = h.w.PrepareContext(ctx, "INSERT INTO kv(v) VALUES (?)"); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg, err)
		}
	}

	n, rounds := b.opts.ops, min(overheadRounds, b.opts.ops)
	var done atomic.Int64
	total := float64(len(dbs) * 4 * (n + overheadWarmup))
	for i, d := range dbs {
		var progress func() float64
		if i == 0 {
			progress = func() float64 { return float64(done.Load()) / total }
		}
		d.wal = startWAL(d.path, b.progress, progress)
	}
	var v string
	// The C floor runs each phase's statement prepared once, for
	// db.QueryRow and db.Exec too: no Go driver compiles less.
	phases := []struct {
		name  string
		f     func(d *overheadDB) error
		floor floorOp
	}{
		{"select", func(d *overheadDB) error {
			d.next++
			return d.h.r.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", d.next%b.opts.rows+1).Scan(&v)
		}, floorSelect},
		{"insert", func(d *overheadDB) error {
			_, err := d.h.w.ExecContext(ctx, "INSERT INTO kv(v) VALUES (?)", "value")
			return err
		}, floorInsert},
		{"select-stmt", func(d *overheadDB) error {
			d.next++
			return d.sel.QueryRowContext(ctx, d.next%b.opts.rows+1).Scan(&v)
		}, floorSelect},
		{"insert-stmt", func(d *overheadDB) error {
			_, err := d.ins.ExecContext(ctx, "value")
			return err
		}, floorInsert},
	}
	lat := make([]int64, max(overheadWarmup, n/rounds+1)) // the floor's latencies, reused
	allocs := newAllocCounter()
	for _, ph := range phases {
		ops := make([]*opCounter, len(dbs))
		roundNs := make([][]float64, len(dbs))
		elapsed := make([]time.Duration, len(dbs))
		allocated := make([]uint64, len(dbs))
		for i, d := range dbs {
			ops[i] = newOp(ph.name)
			d.next = 0
			if d.floor != nil {
				d.floorRun(ph.floor, overheadWarmup, ops[i], lat, b.opts.rows, false)
				done.Add(overheadWarmup)
				continue
			}
			for range overheadWarmup {
				if err := ph.f(d); err != nil {
					ops[i].fail(err)
				}
				done.Add(1)
			}
		}
		for r := range rounds {
			per := n / rounds
			if r < n%rounds {
				per++
			}
			for j := range dbs {
				i := (r + j) % len(dbs) // who goes first rotates
				d, op := dbs[i], ops[i]
				if d.floor != nil {
					// Timed in C; its Go allocations are not its own.
					dt := d.floorRun(ph.floor, per, op, lat, b.opts.rows, true)
					done.Add(int64(per))
					elapsed[i] += dt
					roundNs[i] = append(roundNs[i], float64(dt.Nanoseconds())/float64(per))
					continue
				}
				a0 := allocs.read()
				t := time.Now()
				for range per {
					t0 := time.Now()
					if err := ph.f(d); err != nil {
						op.fail(err)
					} else {
						record(op.hist, time.Since(t0))
						op.ok.Add(1)
					}
				}
				dt := time.Since(t)
				allocated[i] += allocs.read() - a0
				done.Add(int64(per))
				elapsed[i] += dt
				roundNs[i] = append(roundNs[i], float64(dt.Nanoseconds())/float64(per))
			}
		}
		for i, d := range dbs {
			st := ops[i].stats(elapsed[i])
			st.NsPerOp = spreadOf(roundNs[i]).Median
			st.OpsPerSec = 1e9 / st.NsPerOp
			st.AllocsPerOp = float64(allocated[i]) / float64(n)
			d.s.Ops = append(d.s.Ops, st)
			d.s.Elapsed += elapsed[i].Seconds()
		}
	}
	// Every configuration is open in this one process: the memory is
	// theirs together, the same for each.
	mem := measureMem("together")
	for _, d := range dbs {
		d.s.WAL = d.wal.end()
		d.wal = nil
		if d.h != nil {
			d.s.Safe = snapshotSafe(d.h)
			d.s.Pools = poolsOf(d.h)
		}
		d.s.Mem = mem
		out = append(out, d.s)
	}
	return out, nil
}

// The stmtcache workload's shape: stmtCacheConns connections held at once,
// each running the same stmtCacheStatements distinct statements
// stmtCacheLoops times.
const (
	stmtCacheConns      = 100
	stmtCacheStatements = 20
	stmtCacheLoops      = 5
)

// stmtCacheResult is what holding stmtCacheConns connections that have
// each run stmtCacheStatements statements costs in memory.
type stmtCacheResult struct {
	Conns      int   `json:"conns"`
	Statements int   `json:"statements"`
	RSS        bool  `json:"rss"`                // the RSS fields were read (Linux)
	RSSBase    int64 `json:"rss_base_bytes"`     // one connection open, before
	RSSHeld    int64 `json:"rss_held_bytes"`     // every connection held, after
	PerConn    int64 `json:"rss_per_conn_bytes"` // (RSSHeld - RSSBase) / Conns
	HeapBase   int64 `json:"heap_base_bytes"`
	HeapHeld   int64 `json:"heap_held_bytes"`
}

// stmtCacheSQL returns the workload's distinct statements: reads and
// writes of the kind a service repeats.
func stmtCacheSQL() []string {
	var q []string
	for i := range stmtCacheStatements {
		switch i % 4 {
		case 0, 1:
			q = append(q, fmt.Sprintf("SELECT k, v, %d AS q FROM kv WHERE k = ?", i))
		case 2:
			q = append(q, fmt.Sprintf("SELECT count(*) + %d FROM kv WHERE k BETWEEN ? AND ? + 10", i))
		case 3:
			q = append(q, fmt.Sprintf("UPDATE kv SET v = v WHERE k = ? AND %d >= 0", i))
		}
	}
	return q
}

// stmtCache holds stmtCacheConns connections (SetMaxOpenConns) and runs
// the same statements on each; the RSS it adds, per connection, with the
// statement cache (sqlite3-safe) and without (sqlite3-safe-nocache), is
// what the cache costs. Op: statement.
func (b *bench) stmtCache(ctx context.Context, cfg, path string, s *sample) error {
	h, err := openConfig(ctx, cfg, path, 0)
	if err != nil {
		return err
	}
	defer h.Close()
	db := h.w
	db.SetMaxOpenConns(stmtCacheConns)
	db.SetMaxIdleConns(stmtCacheConns)
	if err := seedKV(ctx, db, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT NOT NULL)", min(b.opts.rows, 1000), func(_ *rand.Rand, k int) any {
		return fmt.Sprintf("value-%05d", k)
	}); err != nil {
		return err
	}
	res := &stmtCacheResult{Conns: stmtCacheConns, Statements: stmtCacheStatements}
	runtime.GC()
	res.RSSBase, _, res.RSS = readRSS()
	res.HeapBase = heapInuse()

	op := newOp("statement")
	queries := stmtCacheSQL()
	conns := make([]*sql.Conn, 0, stmtCacheConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	total := float64(stmtCacheConns * stmtCacheStatements * stmtCacheLoops)
	wal := startWAL(path, b.progress, func() float64 { return float64(op.attempts()) / total })
	start := time.Now()
	for range stmtCacheConns {
		c, err := db.Conn(ctx)
		if err != nil {
			wal.end()
			return fmt.Errorf("holding %d connections: %w", stmtCacheConns, err)
		}
		conns = append(conns, c)
	}
	var n int64
	for loop := range stmtCacheLoops {
		for ci, c := range conns {
			for qi, q := range queries {
				key := 1 + (ci*stmtCacheStatements+qi+loop)%min(b.opts.rows, 1000)
				t0 := time.Now()
				var err error
				switch qi % 4 {
				case 0, 1:
					var (
						k       int64
						v       string
						ignored int64
					)
					err = c.QueryRowContext(ctx, q, key).Scan(&k, &v, &ignored)
				case 2:
					err = c.QueryRowContext(ctx, q, key, key).Scan(&n)
				case 3:
					_, err = c.ExecContext(ctx, q, key)
				}
				if err != nil {
					op.fail(err)
					continue
				}
				record(op.hist, time.Since(t0))
				op.ok.Add(1)
			}
		}
	}
	elapsed := time.Since(start)
	runtime.GC()
	var held int64
	held, _, _ = readRSS()
	res.RSSHeld = held
	res.HeapHeld = heapInuse()
	if res.RSS {
		res.PerConn = (res.RSSHeld - res.RSSBase) / stmtCacheConns
	}
	s.WAL = wal.end()
	s.Elapsed = elapsed.Seconds()
	s.Ops = []opStats{op.stats(elapsed)}
	s.Mem = measureMem("")
	s.StmtCache = res
	for _, c := range conns {
		if err := c.Close(); err != nil {
			return err
		}
	}
	conns = nil
	// Stats needs a connection: only now is one free.
	s.Safe = snapshotSafe(h)
	s.Pools = poolsOf(h)
	return h.Close()
}
