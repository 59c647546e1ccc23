package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/mattn/go-sqlite3" // registers "sqlite3"
	"github.com/sqlite3safe/sqlite3safe"
)

// tunedQuery is the hand-tuned DSN many teams write for go-sqlite3.
const tunedQuery = "_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate"

// label is the name a configuration is reported under in workload w: in
// overhead, plain sqlite3 runs in WAL mode (see the package comment).
func label(w, config string) string {
	if w == "overhead" && config == "sqlite3" {
		return "sqlite3-wal"
	}
	return config
}

// noCache is the stmtcache workload's second configuration: sqlite3-safe
// with _safe_stmt_cache=0 (no statement cache).
const noCache = "sqlite3-safe-nocache"

// workloadConfigs returns the configurations workload w runs, as labels,
// without duplicates. stmtcache runs sqlite3-safe with and without its
// statement cache, whatever -configs says; overhead adds the C floor
// (floorConfig) whenever the build has it.
func workloadConfigs(w string, configs []string) []string {
	if w == "stmtcache" {
		return []string{sqlite3safe.DriverName, noCache}
	}
	var out []string
	for _, c := range configs {
		if l := label(w, c); !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	if w == "overhead" && floorAvailable {
		out = append(out, floorConfig)
	}
	return out
}

// handle is one configuration's view of a database file: writes and write
// transactions go to w, reads to r. Only two-pool has two pools.
type handle struct {
	w, r *sql.DB
	safe bool // w is a sqlite3-safe database
}

func (h *handle) Close() error {
	err := h.w.Close()
	if h.r != h.w {
		err = errors.Join(err, h.r.Close())
	}
	return err
}

// openConfig opens the database at path the way configuration cfg (a
// label) does. walLimit > 0 gives sqlite3-safe that _safe_wal_limit.
func openConfig(ctx context.Context, cfg, path string, walLimit int64) (*handle, error) {
	open := func(driver, dsn string) (*sql.DB, error) {
		db, err := sql.Open(driver, dsn)
		if err != nil {
			return nil, err
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	var (
		h   = &handle{}
		err error
	)
	switch cfg {
	case "sqlite3":
		h.w, err = open("sqlite3", path)
	case "sqlite3-wal":
		h.w, err = open("sqlite3", path+"?_journal_mode=WAL")
	case "sqlite3-tuned":
		h.w, err = open("sqlite3", path+"?"+tunedQuery)
	case "two-pool":
		if h.w, err = open("sqlite3", path+"?"+tunedQuery); err != nil {
			return nil, err
		}
		h.w.SetMaxOpenConns(1)
		if h.r, err = open("sqlite3", path+"?"+tunedQuery); err != nil {
			h.w.Close()
			return nil, err
		}
		return h, nil
	case sqlite3safe.DriverName:
		dsn := path
		if walLimit > 0 {
			dsn += fmt.Sprintf("?_safe_wal_limit=%d", walLimit)
		}
		h.w, err = open(sqlite3safe.DriverName, dsn)
		h.safe = true
	case noCache:
		h.w, err = open(sqlite3safe.DriverName, path+"?_safe_stmt_cache=0")
		h.safe = true
	default:
		return nil, fmt.Errorf("unknown configuration %q", cfg)
	}
	if err != nil {
		return nil, err
	}
	h.r = h.w
	return h, nil
}

// capPool gives configuration cfg's handle the -pool cap: n > 0 caps
// sqlite3-safe's pool at n connections, open and idle (SetMaxOpenConns,
// SetMaxIdleConns). The other configurations are the baselines as teams
// run them and keep their pools: sqlite3, sqlite3-tuned and sqlite3-wal
// database/sql's default, two-pool its write pool of one and its uncapped
// read pool; so does sqlite3-safe-nocache, which only the stmtcache
// workload runs, on a pool of its own size.
func capPool(h *handle, cfg string, n int) {
	if n <= 0 || cfg != sqlite3safe.DriverName {
		return
	}
	h.w.SetMaxOpenConns(n)
	h.w.SetMaxIdleConns(n)
}

// open opens the database at path the way configuration cfg does, with
// sqlite3-safe's pool capped by -pool.
func (b *bench) open(ctx context.Context, cfg, path string, walLimit int64) (*handle, error) {
	h, err := openConfig(ctx, cfg, path, walLimit)
	if err != nil {
		return nil, err
	}
	capPool(h, cfg, b.opts.pool)
	return h, nil
}

// Latency histograms: nanoseconds, 1 ns to 100 s, 3 significant digits.
const (
	histMin    = 1
	histMax    = 100 * int64(time.Second)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

func record(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(int64(d), histMin), histMax)) // in range: cannot fail
}

// quantiles are the latency percentiles kept for every op; the table shows
// the ones at tableQuantiles.
var quantiles = []float64{50, 90, 99, 99.9, 99.99}

// opCounter collects one kind of op of one run from many goroutines.
type opCounter struct {
	name string
	ok   atomic.Int64
	mu   sync.Mutex
	hist *hdrhistogram.Histogram
	errs map[string]int64
	err1 error // first error
}

func newOp(name string) *opCounter {
	return &opCounter{name: name, hist: newHist(), errs: map[string]int64{}}
}

// merge adds a goroutine's local histogram.
func (c *opCounter) merge(h *hdrhistogram.Histogram) {
	c.mu.Lock()
	c.hist.Merge(h)
	c.mu.Unlock()
}

func (c *opCounter) fail(err error) {
	c.mu.Lock()
	c.errs[errKind(err)]++
	if c.err1 == nil {
		c.err1 = err
	}
	c.mu.Unlock()
}

func (c *opCounter) attempts() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.ok.Load()
	for _, v := range c.errs {
		n += v
	}
	return n
}

// stats turns the counter into the op's part of a sample.
func (c *opCounter) stats(elapsed time.Duration) opStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := opStats{Name: c.name, Ops: c.ok.Load(), Errors: map[string]int64{}}
	if sec := elapsed.Seconds(); sec > 0 {
		s.OpsPerSec = float64(s.Ops) / sec
	}
	if s.Ops > 0 {
		s.NsPerOp = float64(elapsed.Nanoseconds()) / float64(s.Ops)
	}
	s.LatencyNs = c.hist.ValueAtPercentilesSlice(quantiles)
	s.MaxNs = c.hist.Max()
	for k, v := range c.errs {
		s.Errors[k] = v
	}
	if c.err1 != nil {
		s.FirstError = c.err1.Error()
	}
	s.hist = c.hist
	return s
}

// opStats is one op kind's result in one run.
type opStats struct {
	Name      string  `json:"name"`
	Ops       int64   `json:"ops"` // successful
	OpsPerSec float64 `json:"ops_per_sec"`
	NsPerOp   float64 `json:"ns_per_op"` // wall time per successful op
	// AllocsPerOp is Go heap allocations per op (overhead only): the
	// process's allocations during the timed rounds over the ops.
	AllocsPerOp float64          `json:"allocs_per_op,omitempty"`
	LatencyNs   []int64          `json:"latency_ns"`                // at quantiles, successful ops
	MaxNs       int64            `json:"latency_max_ns"`            // successful ops
	Errors      map[string]int64 `json:"errors"`                    // by kind
	PerProc     []int64          `json:"per_proc_errors,omitempty"` // procs: errors of each process
	FirstError  string           `json:"first_error,omitempty"`

	hist *hdrhistogram.Histogram
}

func (s *opStats) errorCount() int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// walPoint is one sample of the -wal file's size.
type walPoint struct {
	T     float64 `json:"t"` // seconds since the run started
	Bytes int64   `json:"bytes"`
}

// sample is the result of one run: one workload on one configuration.
type sample struct {
	Workload string        `json:"workload"`
	Config   string        `json:"config"`
	Rep      int           `json:"rep"`
	Elapsed  float64       `json:"elapsed_s"`
	Ops      []opStats     `json:"ops"`
	Chain    *chainResult  `json:"chain,omitempty"` // ledger, procs
	WAL      walResult     `json:"wal"`
	Safe     *safeSnapshot `json:"sqlite3_safe_stats,omitempty"`
	Pools    []poolStats   `json:"pools,omitempty"` // database/sql's counters, per *sql.DB
	Mem      *memResult    `json:"memory,omitempty"`
	// StmtCache is the stmtcache workload's measurement.
	StmtCache *stmtCacheResult `json:"stmt_cache,omitempty"`
}

// poolStats is the part of sql.DBStats that shows connection churn.
type poolStats struct {
	Pool          string `json:"pool"`            // "db", or "write"/"read" for two-pool
	Opened        int64  `json:"opened"`          // connections opened (closed + still open)
	MaxIdleClosed int64  `json:"max_idle_closed"` // closed because the idle pool was full
	WaitCount     int64  `json:"wait_count"`      // waits for a connection (MaxOpenConns)
	WaitNs        int64  `json:"wait_ns"`
}

// poolsOf reads h's pools' counters.
func poolsOf(h *handle) []poolStats {
	get := func(name string, db *sql.DB) poolStats {
		st := db.Stats()
		return poolStats{Pool: name, Opened: int64(st.OpenConnections) + st.MaxIdleClosed + st.MaxIdleTimeClosed + st.MaxLifetimeClosed,
			MaxIdleClosed: st.MaxIdleClosed, WaitCount: st.WaitCount, WaitNs: int64(st.WaitDuration)}
	}
	if h.r == h.w {
		return []poolStats{get("db", h.w)}
	}
	return []poolStats{get("write", h.w), get("read", h.r)}
}

type chainResult struct {
	Intact    bool   `json:"intact"`
	Blocks    int64  `json:"blocks"`    // walked by ledger.Verify
	Committed int64  `json:"committed"` // appends that reported success
	Error     string `json:"error,omitempty"`
}

type walResult struct {
	Seen     bool       `json:"seen"` // a -wal file existed at some sample
	MaxBytes int64      `json:"max_bytes"`
	Series   []walPoint `json:"series"`
}

// safeSnapshot is the part of sqlite3safe.Stats kept with a run.
type safeSnapshot struct {
	LockAcquisitions int64            `json:"lock_acquisitions"`
	LockWaits        int64            `json:"lock_waits"`
	LockWaitMaxNs    int64            `json:"lock_wait_max_ns"`
	LockTimeouts     int64            `json:"lock_timeouts"`
	Checkpoints      map[string]int64 `json:"checkpoints"`
	CheckpointsBusy  int64            `json:"checkpoints_busy"`
	CheckpointErrors int64            `json:"checkpoint_errors"`
	Escalations      int64            `json:"escalations"`
	Brakes           int64            `json:"brakes"`
	// Writer waits that met a checkpoint (its hold of the write lock, or
	// the brake), and the longest.
	CheckpointWaits     int64 `json:"checkpoint_waits,omitempty"`
	CheckpointWaitMaxNs int64 `json:"checkpoint_wait_max_ns,omitempty"`
	EscalationsBusy     int64 `json:"escalations_busy,omitempty"`
	WALPinnedMaxNs      int64 `json:"wal_pinned_max_ns,omitempty"`
	// WALPins counts the times reads began to keep the WAL from being
	// restarted; WALLimit is the limit the checkpointer kept the file
	// under.
	WALPins  int64 `json:"wal_pins,omitempty"`
	WALLimit int64 `json:"wal_limit,omitempty"`
	// Reads held back by an escalation: results of driver versions that
	// held new readers back during escalations; today's never do.
	ReaderHoldBacks   int64 `json:"reader_hold_backs,omitempty"`
	ReaderHoldBackMax int64 `json:"reader_hold_back_max_ns,omitempty"`
	MaxWALBytes       int64 `json:"max_wal_bytes"`
}

func snapshotSafe(h *handle) *safeSnapshot {
	if h == nil || !h.safe {
		return nil
	}
	st, err := sqlite3safe.Stats(h.w)
	if err != nil {
		return nil // SQLITE3_SAFE=off: nothing to report
	}
	s := &safeSnapshot{
		LockAcquisitions: st.LockAcquisitions, LockWaits: st.LockWaits,
		LockWaitMaxNs: int64(st.LockWaitMax), LockTimeouts: st.LockTimeouts,
		Checkpoints: map[string]int64{}, CheckpointsBusy: st.CheckpointsBusy,
		CheckpointErrors: st.CheckpointErrors, Escalations: st.Escalations, Brakes: st.Brakes,
		CheckpointWaits: st.CheckpointWaits, CheckpointWaitMaxNs: int64(st.CheckpointWaitMax),
		EscalationsBusy: st.EscalationsBusy, WALPinnedMaxNs: int64(st.WALPinnedMax),
		WALPins: st.WALPins, WALLimit: st.WALLimit,
		MaxWALBytes: st.MaxWALBytes,
	}
	for m, n := range st.Checkpoints {
		s.Checkpoints[m.String()] = n
	}
	return s
}

// errKind names the kind of a failed op's error for the table.
func errKind(err error) string {
	var se sqlite3.Error
	switch {
	case errors.Is(err, sqlite3safe.ErrLockTimeout):
		return "lock_timeout"
	case errors.As(err, &se):
		switch {
		case se.ExtendedCode == sqlite3.ErrBusySnapshot:
			return "busy_snapshot"
		case se.Code == sqlite3.ErrBusy:
			return "busy"
		case se.Code == sqlite3.ErrLocked:
			return "locked"
		}
		return strings.ReplaceAll(strings.ToLower(se.Code.Error()), " ", "_")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context"
	}
	return "other"
}

// walSampler samples path's -wal file every walEvery until stopped, and
// reports the run's progress.
type walSampler struct {
	path     string
	start    time.Time
	stop     chan struct{}
	done     chan struct{}
	res      walResult
	progress func() float64
	bar      *progress
}

const walEvery = 25 * time.Millisecond

func startWAL(path string, bar *progress, progress func() float64) *walSampler {
	s := &walSampler{path: path + "-wal", start: time.Now(), stop: make(chan struct{}), done: make(chan struct{}), progress: progress, bar: bar}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(walEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
				if s.progress != nil {
					s.bar.within(s.progress())
				}
			}
		}
	}()
	return s
}

func (s *walSampler) sample() {
	p := walPoint{T: time.Since(s.start).Seconds()}
	if fi, err := os.Stat(s.path); err == nil {
		s.res.Seen = true
		p.Bytes = fi.Size()
	}
	s.res.MaxBytes = max(s.res.MaxBytes, p.Bytes)
	s.res.Series = append(s.res.Series, p)
}

// end stops the sampler after one last sample and returns what it saw.
func (s *walSampler) end() walResult {
	close(s.stop)
	<-s.done
	s.sample()
	return s.res
}

// bench is one invocation: the options, the run directory and the samples.
type bench struct {
	opts      *options
	base      string
	progress  *progress
	samples   []sample
	started   time.Time
	loadStart string
	// memProcess is what memResult.Process says of runs made in this
	// process: "shared", or "isolated" in an -isolate child.
	memProcess string
}

// runAll runs every workload on every configuration, -count times,
// interleaved: repetition by repetition, each repetition rotating the
// order of the configurations.
func (b *bench) runAll(ctx context.Context) error {
	o := b.opts
	b.started = time.Now()
	b.loadStart = loadAvg()
	total := 0
	for _, w := range o.workloads {
		if w == "overhead" {
			total += o.count // one run covers every configuration
		} else {
			total += len(workloadConfigs(w, o.configs)) * o.count
		}
	}
	b.progress.start(total)
	for rep := range o.count {
		for _, w := range o.workloads {
			cfgs := workloadConfigs(w, o.configs)
			k := rep % len(cfgs)
			cfgs = append(cfgs[k:], cfgs[:k]...)
			if w == "overhead" {
				b.progress.next(fmt.Sprintf("%s, configurations in turns (%d/%d)", w, rep+1, o.count))
				resetPeakRSS()
				ss, err := b.overheadAll(ctx, cfgs, rep)
				if err != nil {
					return fmt.Errorf("%s: %w", w, err)
				}
				b.samples = append(b.samples, ss...)
				continue
			}
			for _, cfg := range cfgs {
				b.progress.next(fmt.Sprintf("%s %s (%d/%d)", w, cfg, rep+1, o.count))
				var (
					s   sample
					err error
				)
				if o.isolate && w != "procs" {
					s, err = b.runIsolated(ctx, w, cfg, rep)
				} else {
					s, err = b.runOne(ctx, w, cfg, rep)
				}
				if err != nil {
					return fmt.Errorf("%s on %s: %w", w, cfg, err)
				}
				b.samples = append(b.samples, s)
			}
		}
	}
	return nil
}

// dbPath is the database file of one run.
func (b *bench) dbPath(w, cfg string, rep int) string {
	return filepath.Join(b.base, fmt.Sprintf("%s-%s-%d.db", w, cfg, rep+1))
}

// removeDB removes a run's database files, unless -keep.
func (b *bench) removeDB(path string) {
	if b.opts.keep {
		return
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
}

// runOne runs workload w on configuration cfg in a fresh file, removed
// afterwards unless -keep.
func (b *bench) runOne(ctx context.Context, w, cfg string, rep int) (sample, error) {
	path := b.dbPath(w, cfg, rep)
	defer b.removeDB(path)
	s := sample{Workload: w, Config: cfg, Rep: rep + 1}
	resetPeakRSS()
	var err error
	switch w {
	case "ledger":
		err = b.ledger(ctx, cfg, path, &s)
	case "ledger2":
		err = b.ledger2(ctx, cfg, path, &s)
	case "mixed":
		err = b.mixed(ctx, cfg, path, &s, 1)
	case "mixed4x":
		err = b.mixed(ctx, cfg, path, &s, mixed4xFactor)
	case "stmtcache":
		err = b.stmtCache(ctx, cfg, path, &s)
	case "starve":
		err = b.starve(ctx, cfg, path, &s)
	case "procs":
		err = b.procsRun(ctx, cfg, path, &s)
	default:
		err = fmt.Errorf("unknown workload %q", w)
	}
	if s.Mem != nil && s.Mem.Process == "" {
		s.Mem.Process = b.memProcess
	}
	return s, err
}

// stats helpers for the summaries.

// spread is the median, min and max of one number over the runs.
type spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Median: m, Min: s[0], Max: s[len(s)-1], N: len(s)}
}
