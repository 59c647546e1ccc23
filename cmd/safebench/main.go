// Command safebench answers "what does sqlite3-safe cost and buy on my
// machine and disk?": it runs workloads on driver "sqlite3" configured the
// ways teams configure it by hand and on driver "sqlite3-safe" with a plain
// DSN, interleaved and repeated, and reports throughput, latency
// percentiles, errors by kind, whether a hash chain survived and how large
// the WAL grew.
//
// With no flags it runs the seed scenario: 100 goroutines each append 20
// blocks to a hash-chained ledger (internal/ledger), on sqlite3 and
// sqlite3-safe, both with a plain DSN.
//
// Usage:
//
//	go run ./cmd/safebench [flags]
//	go run ./cmd/safebench -workload all -configs all -count 3 -report bench.png -json bench.json
//
// # Workloads (-workload, comma-separated, or "all")
//
//   - ledger: -goroutines G each append -blocks K blocks to a hash-chained
//     ledger, one transaction per block (read the last block, insert the
//     next). A failed append is counted and not retried; at the end the
//     chain is verified. Op: append.
//   - ledger2: the ledger as an independent harness that measured the
//     driver wrote it: -goroutines G goroutines (default 100) append
//     20,000 blocks in all (with -blocks K given: G×K), taken from one
//     budget; each block is one transaction that reads the last row
//     (SELECT id, hash FROM chain ORDER BY id DESC LIMIT 1; id is an
//     INTEGER PRIMARY KEY that SQLite assigns), hashes its hash and a
//     random 64-byte payload with SHA-256 in Go and inserts the new row.
//     A failed block is counted and not retried; at the end the chain is
//     verified (every row's prev_hash is the previous row's hash, so two
//     transactions that read the same last row show as a fork). The
//     targets give its blocks/s against two-pool's in the same run. Op:
//     append.
//   - mixed: -writers W goroutines alternate an autocommit INSERT of a
//     200-byte value and an UPDATE of a random key; -readers R goroutines
//     alternate a point SELECT and a 50-row range scan; for -duration, on a
//     table seeded with 10,000 rows. Ops: write, read.
//   - mixed4x: mixed with four times the goroutines (4×-writers writers,
//     4×-readers readers): does throughput hold up or collapse? Ops:
//     write, read.
//   - starve: one writer inserting four 1 KiB rows per statement while
//     -readers R goroutines always keep a read open (each read holds its
//     first row for 20 ms; the readers are staggered so they overlap), for
//     -duration, with the WAL size sampled every 25 ms. sqlite3-safe gets
//     _safe_wal_limit=-wal-limit; the others have no such setting. Ops:
//     write (one 4-row INSERT), read (time to the first row).
//   - overhead: one goroutine, -ops point SELECTs (db.QueryRow) on a
//     -rows-row table, then -ops autocommit INSERTs (db.Exec), then both
//     again through a *sql.Stmt prepared once, each timed; ns/op, and Go
//     heap allocations per op (MemStats.Mallocs over the timed rounds). Every configuration
//     has its own file and pool, open at once, and they take turns: each
//     kind of op is split into 20 rounds, the configurations run round r one
//     after the other (who goes first rotates), and a configuration's ns/op
//     is the median of its rounds. So a burst of other work on the machine
//     hits them alike. Here "sqlite3" runs as sqlite3-wal (plain DSN plus
//     _journal_mode=WAL), because what is measured is the cost of the
//     wrapper, not WAL against a rollback journal. Built with cgo, one more
//     configuration takes its turns: c-floor, the floor, the same
//     statements written in C against the SQLite go-sqlite3 compiles in
//     (sqlite3-wal's PRAGMAs, the same table and rows), prepared once and
//     bound, stepped and reset per op, timed in C with
//     clock_gettime(CLOCK_MONOTONIC); its select and select-stmt (insert
//     and insert-stmt) are the same loop. Ops: select, insert,
//     select-stmt, insert-stmt.
//   - procs: -procs N processes (this command re-executed; the child is
//     selected by an environment variable, not a flag) each with
//     -proc-goroutines goroutines appending -proc-blocks blocks to one
//     shared ledger file, started together. Errors are counted per process;
//     the chain is verified at the end. Op: append.
//   - stmtcache: what sqlite3-safe's statement cache costs in memory.
//     One *sql.DB with SetMaxOpenConns(100) holds 100 connections (db.Conn)
//     and runs the same 20 distinct statements 5 times on each; the RSS
//     added, divided by 100, is the memory per connection. It runs on two
//     configurations whatever -configs says: sqlite3-safe (the statement
//     cache on, its default) and sqlite3-safe-nocache (_safe_stmt_cache=0);
//     the difference is the cache's cost per connection. Op: statement.
//   - soak (alone, not in "all"): one configuration (sqlite3-safe unless
//     -configs names another) for -duration (meant for minutes: -workload
//     soak -duration 10m): -writers goroutines insert and delete, -readers
//     goroutines run range scans, and a second *sql.DB on the file is
//     opened, used and closed every second. Every second it samples the Go
//     heap, what the Go runtime holds, what SQLite has allocated in C
//     (sqlite3_memory_used, the whole process), RSS, OS threads,
//     goroutines, open file descriptors and the WAL, prints every tenth
//     sample, and ends with the first fifth of the run against the last
//     (medians): a leak shows as growth; the RSS target is the last
//     fifth's at most 1.05× the first's. RSS can grow while SQLite's and
//     Go's own memory stay flat: that is the C allocator keeping freed
//     memory (glibc keeps a heap per thread; MALLOC_ARENA_MAX=2 in the
//     environment bounds them). -json FILE writes the samples.
//
// # Memory
//
// SQLite allocates in C, so every run reports the process's RSS (Linux:
// /proc/self/status VmRSS when the load ends, before the databases close,
// and VmHWM, the peak, reset at the run's start; elsewhere "n/a") and the
// Go heap in use. By default one process runs everything, one
// configuration after the other, and C memory an earlier run freed is not
// given back, so RSS is an upper bound (marked * in the table). -isolate
// runs each workload on each configuration, each repetition, in a process
// of its own (this command re-executed, like procs' children), so that its
// RSS is its own; the memory target is judged only then. overhead runs its
// configurations together in one process (one RSS for them all); procs
// reports the largest of its processes'. The default seed scenario does
// not isolate, and stays as fast as it was.
//
// Every run uses a fresh database file under the run directory and removes
// it afterwards (keep it with -keep). go-sqlite3's default synchronous=NORMAL
// applies to every configuration, as does sqlite3-safe's.
//
// # Configurations (-configs, comma-separated, or "all")
//
//   - sqlite3: driver "sqlite3", plain DSN (the file's path): rollback
//     journal, deferred transactions, go-sqlite3's 5 s busy timeout.
//   - sqlite3-tuned: driver "sqlite3" with
//     ?_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate.
//   - two-pool: two *sql.DB on driver "sqlite3", both with the tuned DSN:
//     writes and write transactions go to one with SetMaxOpenConns(1),
//     reads to the other.
//   - sqlite3-safe: driver "sqlite3-safe", plain DSN.
//   - sqlite3-wal (not in "all"): driver "sqlite3" with ?_journal_mode=WAL.
//
// All pools keep database/sql's defaults otherwise, as code that does not
// tune them does: no cap on open connections (a connection for each
// goroutine that needs one at the moment) and at most two kept idle.
//
// -pool N caps sqlite3-safe's pool instead: SetMaxOpenConns(N) and
// SetMaxIdleConns(N) on its *sql.DB (in every workload but stmtcache,
// which sizes its pool itself; in procs, in every process), to see what
// the pool's size does on your disk: try the ledgers and mixed with 1, a
// few and many. -pool 0, the default, leaves database/sql's default pool.
// The other configurations are the baselines as teams run them and keep
// their pools whatever -pool says: sqlite3, sqlite3-tuned and sqlite3-wal
// database/sql's default, two-pool its own two (a write pool of one
// connection and an uncapped read pool). The output's header says when a
// run had -pool, and so does the -json file (settings.pool). Each repetition (-count) runs every workload on every
// configuration, the configurations in a rotated order, so slow drift of
// the machine hits them alike.
//
// # Output
//
// A table per workload on stdout: for each configuration and op, the
// median of the runs' ops/s (OPS/S) and their lowest and highest (MIN-MAX),
// the ratio of the median to sqlite3-safe's (x SAFE), ns/op (overhead
// only), the medians of the runs' p50, p99 and p99.9 latencies of
// successful ops (from HDR histograms), errors by kind summed over the
// runs, whether the chain was intact in every run, the largest WAL
// file seen, and memory: allocations per op (overhead only), RSS at the
// end, peak RSS and the Go heap (see Memory). After the tables, the
// stmtcache workload's cost per connection in words, and with -pool a line
// per workload on sqlite3-safe's capped pool (connections opened, how
// often and how long goroutines waited for one). A "-" cell means the column does not apply: one run (MIN-MAX),
// not overhead (NS/OP), no successful op (latencies), no chain (CHAIN), no
// -wal file (MAX WAL); the legend under the tables says so too. Then the
// targets that the run can judge, each stated in words (for example
// "write ops/s >= 1.0x two-pool"), met or missed, with the numbers.
//
// -json FILE writes every run and the summaries; -report FILE writes charts
// (.png or .svg): per workload, throughput (one panel per op), latency
// percentiles and the WAL's size over time in one run per configuration
// (the title says which run; on a log scale, except starve's, which is
// linear, up to twice sqlite3-safe's limit, and names the lines that leave
// it). One legend, above the panels, serves them all. Stdout has only the tables.
// Stderr has errors, one line per result file written ("safebench: wrote
// -json FILE", "safebench: wrote -report FILE") and, when it is a
// terminal, a progress bar.
//
// # Flags
//
// Which workloads use a flag is also in -h.
//
//   - -workload LIST, -configs LIST, -count N: what runs, and how often
//     (see above). Soak takes neither -configs nor -count.
//   - -dir DIR: the run directory is made under DIR (default: the system's
//     temporary directory); point it at the disk your service uses.
//   - -keep: with -dir, keep the run directory and its databases.
//   - -isolate: each run in a process of its own (see Memory).
//   - -json FILE, -report FILE: result files (see Output).
//   - -goroutines G, -blocks K: ledger (G goroutines × K blocks each),
//     ledger2 (G goroutines, 20,000 blocks in all, or G×K when -blocks is
//     given).
//   - -pool N: sqlite3-safe's database/sql pool capped at N connections
//     (see Configurations); 0, the default, leaves database/sql's.
//   - -writers W: mixed (mixed4x: 4×W), soak. -readers R: mixed (mixed4x:
//     4×R), starve, soak.
//   - -duration D: mixed, mixed4x, starve, soak.
//   - -wal-limit BYTES: starve (sqlite3-safe's _safe_wal_limit).
//   - -ops N: overhead. -rows N: mixed, mixed4x, overhead, stmtcache (at
//     most 1,000 there).
//   - -procs N, -proc-goroutines G, -proc-blocks K: procs.
//   - -render-docs JSON [-docs MD] [-report FILE]: run nothing; load the
//     results JSON of an earlier -json run, print its tables to stdout as
//     the run did, rewrite the generated regions of the Markdown file MD
//     (between <!-- generated:NAME --> and <!-- /generated:NAME -->) and
//     redraw its charts.
//
// The documentation's numbers come from -render-docs, run from the
// repository root:
//
//	go run ./cmd/safebench -render-docs docs/safebench-results.json -docs docs/performance.md -report docs/safebench-results.png > docs/safebench-results.txt
//
// Soak uses only -duration, -writers, -readers, -json, -dir and -keep, and
// refuses the other flags (exit status 2) rather than ignore them; -pool
// among them.
//
// # Exit status
//
//   - 0: the run completed, and sqlite3-safe had no errors and intact
//     chains (errors of the other configurations are results, not
//     failures; so are missed targets).
//   - 1: sqlite3-safe had errors or broke a chain, or a database or a
//     result file could not be written.
//   - 2: bad flags: a one-line message naming the flag, and nothing
//     written.
//   - 130 (SIGINT) or 143 (SIGTERM): interrupted. The procs children are
//     killed and the run directory is removed before the exit (with -keep
//     and -dir, the directory stays). On Linux a child also dies if the
//     parent is killed outright; anywhere, a child stops when its stdin,
//     the parent's pipe, closes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sqlite3safe/sqlite3safe"
)

func main() {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(childMain(spec, os.Stdin, os.Stdout, os.Stderr))
	}
	// An interrupted run kills its procs children (they would go on
	// writing into a deleted directory) and still removes its directory:
	// a stopped starve or mixed run can leave gigabytes of WAL behind.
	// The exit status is 128 + the signal's number: 130 for SIGINT, 143
	// for SIGTERM. The goroutine ends the process; nothing waits for it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		killChildren()
		if dir := removeOnInterrupt.Load(); dir != nil {
			os.RemoveAll(*dir)
		}
		fmt.Fprintf(os.Stderr, "safebench: interrupted (%v)\n", s)
		os.Exit(signalStatus(s))
	}()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// signalStatus is the exit status after signal s: 128 + its number, as a
// shell reports a process the signal killed.
func signalStatus(s os.Signal) int {
	if s == syscall.SIGTERM {
		return 128 + int(syscall.SIGTERM)
	}
	return 128 + int(syscall.SIGINT)
}

// removeOnInterrupt is the run directory main removes if the run is
// interrupted (nil: none, or -keep).
var removeOnInterrupt atomic.Pointer[string]

// Workload names, in the order they run and are reported.
var allWorkloads = []string{"ledger", "ledger2", "mixed", "mixed4x", "starve", "overhead", "procs", "stmtcache"}

// allWorkloadsBeforeLedger2 is what "all" meant before ledger2 was added:
// results files written then do not record it (settings.AllWorkloads).
var allWorkloadsBeforeLedger2 = []string{"ledger", "mixed", "mixed4x", "starve", "overhead", "procs", "stmtcache"}

// ledger2DefaultBlocks is how many blocks ledger2 appends in all when
// -blocks is not given.
const ledger2DefaultBlocks = 20000

// Configuration names accepted by -configs; "all" means allConfigs.
var (
	allConfigs   = []string{"sqlite3", "sqlite3-tuned", "two-pool", sqlite3safe.DriverName}
	knownConfigs = append(slices.Clone(allConfigs), "sqlite3-wal")
)

// options are the parsed and checked flags.
type options struct {
	workloads  []string
	configs    []string
	count      int
	dir        string
	keep       bool
	isolate    bool // run each workload on each configuration in a process of its own
	jsonPath   string
	reportPath string
	renderDocs string // -render-docs: a results JSON to render from instead of running
	docsPath   string // -docs: the Markdown file whose generated regions are rewritten

	goroutines, blocks                int           // ledger
	ledger2Blocks                     int           // ledger2: blocks in all (-blocks given: goroutines × blocks)
	pool                              int           // -pool: sqlite3-safe's SetMaxOpenConns/SetMaxIdleConns; 0: database/sql's default
	allMeant                          []string      // what "all" meant for -workload (results of an older safebench: less)
	writers, readers                  int           // mixed (both), starve (readers)
	duration                          time.Duration // mixed, starve
	walLimit                          int64         // starve
	ops                               int           // overhead
	rows                              int           // mixed, overhead: rows the table is seeded with
	procs, procGoroutines, procBlocks int           // procs
}

// usageError is bad input: reported on one line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run is main without the process: it parses args, runs the benchmark,
// writes the tables to stdout and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "safebench: %v\n", err)
		return 2
	}

	if o.renderDocs != "" {
		return runRenderDocs(o, stdout, stderr)
	}

	// The run directory is the last check of the input: a -dir that cannot
	// hold it is bad input, and nothing has been written before this.
	var base string
	if o.dir == "" {
		base, err = os.MkdirTemp("", "safebench-")
		if err == nil {
			defer os.RemoveAll(base)
		}
	} else {
		base, err = os.MkdirTemp(o.dir, "safebench-")
		if err == nil && !o.keep {
			defer os.RemoveAll(base)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "safebench: -dir: %v\n", err)
		return 2
	}
	if o.dir == "" || !o.keep {
		removeOnInterrupt.Store(&base)
		defer removeOnInterrupt.Store(nil)
	}

	if slices.Equal(o.workloads, []string{"soak"}) {
		return runSoak(o, base, stdout, stderr)
	}

	b := &bench{opts: o, base: base, progress: newProgress(stderr), memProcess: "shared"}
	if err := b.runAll(context.Background()); err != nil {
		b.progress.finish()
		fmt.Fprintf(stderr, "safebench: %v\n", err)
		return 1
	}
	b.progress.finish()

	rep := b.summarize()
	rep.writeText(stdout)
	if o.jsonPath != "" {
		if err := rep.writeJSON(o.jsonPath); err != nil {
			fmt.Fprintf(stderr, "safebench: -json: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "safebench: wrote -json %s\n", o.jsonPath)
	}
	if o.reportPath != "" {
		if err := rep.writeCharts(o.reportPath); err != nil {
			fmt.Fprintf(stderr, "safebench: -report: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "safebench: wrote -report %s\n", o.reportPath)
	}
	if bad := rep.safeFailures(); bad != "" {
		fmt.Fprintf(stderr, "safebench: %s\n", bad)
		return 1
	}
	return 0
}

// listFlags are the flags newFlagSet keeps as text, parsed by parseFlags.
type listFlags struct{ workloads, configs *string }

// renderFlags are the flags -render-docs takes.
var renderFlags = []string{"render-docs", "docs", "report"}

// soakFlags are the flags -workload soak uses; it refuses the others
// rather than ignore them.
var soakFlags = []string{"workload", "configs", "duration", "writers", "readers", "json", "dir", "keep"}

// newFlagSet defines every flag, storing into o. Each flag's usage starts
// with the workloads that use it, when not all do.
func newFlagSet(o *options) (*flag.FlagSet, listFlags) {
	fs := flag.NewFlagSet("safebench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported on one line by run
	var l listFlags
	l.workloads = fs.String("workload", "ledger", "workloads to run, comma-separated: "+strings.Join(allWorkloads, ", ")+", or all; or soak alone (one configuration, sqlite3-safe unless -configs names another, for -duration; uses only -configs, -duration, -writers, -readers, -json, -dir, -keep)")
	l.configs = fs.String("configs", "sqlite3,"+sqlite3safe.DriverName, "configurations, comma-separated: "+strings.Join(knownConfigs, ", ")+", or all (the first four); soak: one of them (default sqlite3-safe)")
	fs.IntVar(&o.count, "count", 1, "all but soak: repeat every workload on every configuration `N` times (interleaved); medians are reported")
	fs.StringVar(&o.dir, "dir", "", "put the databases in a new directory under `DIR` (default: a temporary directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the databases and the run directory under -dir")
	fs.BoolVar(&o.isolate, "isolate", false, "all but soak: run each workload on each configuration, each repetition, in a process of its own (this command re-executed), so that its memory (RSS) is its own; overhead runs its configurations together in one and procs has its own processes anyway")
	fs.StringVar(&o.jsonPath, "json", "", "write every run and the summaries as JSON to `FILE` (soak: its samples)")
	fs.StringVar(&o.reportPath, "report", "", "all but soak: write charts to `FILE` (.png or .svg)")
	fs.IntVar(&o.goroutines, "goroutines", 100, "ledger, ledger2: goroutines appending at once")
	fs.IntVar(&o.blocks, "blocks", 20, "ledger: blocks each goroutine appends; ledger2: when given, goroutines × `K` blocks in all (not given: 20000 in all)")
	fs.IntVar(&o.pool, "pool", 0, "all but soak and stmtcache: cap sqlite3-safe's database/sql pool at `N` connections (SetMaxOpenConns(N) and SetMaxIdleConns(N)); 0: database/sql's default (no cap on open connections, a connection per busy goroutine, at most 2 kept idle). sqlite3, sqlite3-tuned, sqlite3-wal and two-pool keep their own pools (two-pool: a write pool of 1 and an uncapped read pool)")
	fs.IntVar(&o.writers, "writers", 4, "mixed, mixed4x (times 4), soak: writer goroutines")
	fs.IntVar(&o.readers, "readers", 4, "mixed, mixed4x (times 4), starve, soak: reader goroutines")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "mixed, mixed4x, starve, soak: how long each run lasts")
	fs.Int64Var(&o.walLimit, "wal-limit", 4<<20, "starve: sqlite3-safe's _safe_wal_limit in `BYTES`, and the limit its WAL is judged by")
	fs.IntVar(&o.ops, "ops", 20000, "overhead: timed operations of each kind per run")
	fs.IntVar(&o.rows, "rows", 10000, "mixed, mixed4x, overhead, stmtcache (at most 1000): rows the table is seeded with before the timing starts")
	fs.IntVar(&o.procs, "procs", 4, "procs: processes writing the file at once")
	fs.IntVar(&o.procGoroutines, "proc-goroutines", 4, "procs: goroutines appending in each process")
	fs.IntVar(&o.procBlocks, "proc-blocks", 50, "procs: blocks each goroutine appends")
	fs.StringVar(&o.renderDocs, "render-docs", "", "run nothing: load the results `JSON` of an earlier -json run, print its tables, and with -docs and -report rewrite those files from it")
	fs.StringVar(&o.docsPath, "docs", "", "with -render-docs: rewrite the regions of the Markdown `FILE` between <!-- generated:NAME --> and <!-- /generated:NAME -->")
	return fs, l
}

// helpTrailer follows the flags in -h.
const helpTrailer = `
Tables go to stdout. Messages go to stderr: errors, the progress bar (on a
terminal), and one line for each result file written:
  safebench: wrote -json FILE
  safebench: wrote -report FILE

Exit status:
  0    the run completed; sqlite3-safe had no errors and intact chains
  1    sqlite3-safe had errors or broke a chain, or a database or result file could not be written
  2    bad flags (one line naming the flag; nothing written)
  130  interrupted by SIGINT (children killed, run directory removed)
  143  terminated by SIGTERM (children killed, run directory removed)
`

// parseFlags parses and checks args. Every error names the flag.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs, lists := newFlagSet(o)
	workloads, configs := lists.workloads, lists.configs
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: safebench [flags]   (go doc ./cmd/safebench for the workloads and configurations)")
			fs.PrintDefaults()
			fmt.Fprint(stderr, helpTrailer)
			return nil, err
		}
		// The flag package's messages name the flag: "invalid value "x"
		// for flag -blocks: parse error", "flag provided but not defined: -nosuch".
		return nil, usagef("%s", firstLine(err.Error()))
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (flags only)", fs.Arg(0))
	}
	if o.renderDocs != "" {
		var others []string
		fs.Visit(func(f *flag.Flag) {
			if !slices.Contains(renderFlags, f.Name) {
				others = append(others, "-"+f.Name)
			}
		})
		if len(others) > 0 {
			return nil, usagef("%s: -render-docs runs nothing and takes only -docs and -report", strings.Join(others, ", "))
		}
		if fi, err := os.Stat(o.renderDocs); err != nil {
			return nil, usagef("-render-docs: %v", err)
		} else if fi.IsDir() {
			return nil, usagef("-render-docs: %s is a directory", o.renderDocs)
		}
		if o.docsPath != "" {
			if fi, err := os.Stat(o.docsPath); err != nil {
				return nil, usagef("-docs: %v", err)
			} else if fi.IsDir() {
				return nil, usagef("-docs: %s is a directory", o.docsPath)
			}
		}
	} else if o.docsPath != "" {
		return nil, usagef("-docs: only with -render-docs")
	}

	var err error
	if o.workloads, err = parseList("-workload", *workloads, append(slices.Clone(allWorkloads), "soak"), allWorkloads); err != nil {
		return nil, err
	}
	if slices.Contains(o.workloads, "soak") && len(o.workloads) > 1 {
		return nil, usagef("-workload: soak runs alone")
	}
	if slices.Contains(o.workloads, "soak") {
		var ignored []string
		fs.Visit(func(f *flag.Flag) {
			if !slices.Contains(soakFlags, f.Name) {
				ignored = append(ignored, "-"+f.Name)
			}
		})
		if len(ignored) > 0 {
			return nil, usagef("%s: -workload soak does not use it (soak takes -configs, -duration, -writers, -readers, -json, -dir, -keep)", strings.Join(ignored, ", "))
		}
	}
	if o.configs, err = parseList("-configs", *configs, knownConfigs, allConfigs); err != nil {
		return nil, err
	}
	if slices.Contains(o.workloads, "soak") {
		configsGiven := false
		fs.Visit(func(f *flag.Flag) { configsGiven = configsGiven || f.Name == "configs" })
		switch {
		case !configsGiven:
			o.configs = []string{sqlite3safe.DriverName}
		case len(o.configs) != 1:
			return nil, usagef("-configs: -workload soak runs one configuration, got %q", *configs)
		}
	}
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"-count", int64(o.count)},
		{"-goroutines", int64(o.goroutines)},
		{"-blocks", int64(o.blocks)},
		{"-writers", int64(o.writers)},
		{"-readers", int64(o.readers)},
		{"-duration", int64(o.duration)},
		{"-wal-limit", o.walLimit},
		{"-ops", int64(o.ops)},
		{"-rows", int64(o.rows)},
		{"-procs", int64(o.procs)},
		{"-proc-goroutines", int64(o.procGoroutines)},
		{"-proc-blocks", int64(o.procBlocks)},
	} {
		if c.v <= 0 {
			v := fmt.Sprint(c.v)
			if c.name == "-duration" {
				v = o.duration.String()
			}
			return nil, usagef("%s must be positive, got %s", c.name, v)
		}
	}
	if o.pool < 0 {
		return nil, usagef("-pool must be 0 (database/sql's default pool) or positive, got %d", o.pool)
	}
	o.ledger2Blocks = ledger2DefaultBlocks
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "blocks" {
			o.ledger2Blocks = o.goroutines * o.blocks
		}
	})
	if o.reportPath != "" {
		switch strings.ToLower(filepath.Ext(o.reportPath)) {
		case ".png", ".svg":
		default:
			return nil, usagef("-report: %q: the file name must end in .png or .svg", o.reportPath)
		}
		if err := checkOutputDir(o.reportPath); err != nil {
			return nil, usagef("-report: %v", err)
		}
	}
	if o.jsonPath != "" {
		if err := checkOutputDir(o.jsonPath); err != nil {
			return nil, usagef("-json: %v", err)
		}
	}
	if o.dir != "" {
		if fi, err := os.Stat(o.dir); err != nil {
			return nil, usagef("-dir: %v", err)
		} else if !fi.IsDir() {
			return nil, usagef("-dir: %s is not a directory", o.dir)
		}
	}
	return o, nil
}

// parseList splits a comma-separated flag value, checks each name against
// known and expands "all"; duplicates are dropped, the order is kept.
func parseList(flagName, value string, known, all []string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(value, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			return nil, usagef("%s: empty name in %q", flagName, value)
		case name == "all":
			for _, a := range all {
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		case !slices.Contains(known, name):
			return nil, usagef("%s: unknown name %q (want %s or all)", flagName, name, strings.Join(known, ", "))
		case !slices.Contains(out, name):
			out = append(out, name)
		}
	}
	return out, nil
}

// checkOutputDir checks that the directory a result file goes into exists,
// without creating anything.
func checkOutputDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
