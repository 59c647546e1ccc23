package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/sqlite3safe/sqlite3safe"
)

// report is everything one invocation measured: the JSON document, and
// what the table and the charts are made from.
type report struct {
	Settings  settings  `json:"settings"`
	Machine   machine   `json:"machine"`
	Summaries []summary `json:"summaries"`
	Targets   []target  `json:"targets"`
	Runs      []sample  `json:"runs"`

	opts *options
}

type settings struct {
	Workloads      []string  `json:"workloads"`
	Configs        []string  `json:"configs"`
	Count          int       `json:"count"`
	Isolate        bool      `json:"isolate,omitempty"`
	Dir            string    `json:"dir"`
	Goroutines     int       `json:"goroutines"`
	Blocks         int       `json:"blocks"`
	Writers        int       `json:"writers"`
	Readers        int       `json:"readers"`
	DurationS      float64   `json:"duration_s"`
	WALLimit       int64     `json:"wal_limit"`
	Ops            int       `json:"ops"`
	Rows           int       `json:"rows"`
	Procs          int       `json:"procs"`
	ProcGoroutines int       `json:"proc_goroutines"`
	ProcBlocks     int       `json:"proc_blocks"`
	Quantiles      []float64 `json:"latency_quantiles"`
	Started        string    `json:"started"`
	// Ledger2Blocks is ledger2's blocks in all; Pool is -pool (0:
	// database/sql's default pool); AllWorkloads is what -workload all
	// meant to the safebench that made the run. Results of a safebench
	// before ledger2 have none of them.
	Ledger2Blocks int      `json:"ledger2_blocks,omitempty"`
	Pool          int      `json:"pool,omitempty"`
	AllWorkloads  []string `json:"all_workloads,omitempty"`
}

type machine struct {
	Go         string `json:"go"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPU        string `json:"cpu,omitempty"`
	SQLite     string `json:"sqlite"`
	SafeEnv    string `json:"sqlite3_safe_env,omitempty"`
	// LoadStart and LoadEnd are /proc/loadavg's 1-minute load average
	// when the benchmark started and ended (other work on the machine).
	LoadStart string `json:"load_start,omitempty"`
	LoadEnd   string `json:"load_end,omitempty"`
}

// summary is one row of the table: one op of one workload on one
// configuration, over the runs.
type summary struct {
	Workload  string           `json:"workload"`
	Config    string           `json:"config"`
	Op        string           `json:"op"`
	Runs      int              `json:"runs"`
	OpsPerSec spread           `json:"ops_per_sec"`
	NsPerOp   spread           `json:"ns_per_op"`
	LatencyNs []spread         `json:"latency_ns"` // at quantiles: each run's percentile, over the runs
	Errors    map[string]int64 `json:"errors"`     // summed over the runs
	PerProc   []int64          `json:"per_proc_errors,omitempty"`
	// ChainRuns is the number of runs whose chain was intact (-1: no chain).
	ChainRuns  int     `json:"chain_intact_runs"`
	WALSeen    bool    `json:"wal_seen"`
	MaxWAL     spread  `json:"max_wal_bytes"` // each run's largest sample, over the runs
	FirstError string  `json:"first_error,omitempty"`
	Ratio      float64 `json:"ratio_to_sqlite3_safe,omitempty"` // ops/s median ÷ sqlite3-safe's
	// AllocsPerOp is Go heap allocations per op, over the runs (overhead).
	AllocsPerOp spread `json:"allocs_per_op"`
	// RSSEnd, PeakRSS and HeapInuse are the runs' memory (memResult), over
	// the runs that measured RSS; MemProcess is where it was measured
	// ("isolated", "shared", "together", "children"; "" when not at all).
	RSSEnd     spread `json:"rss_end_bytes"`
	PeakRSS    spread `json:"peak_rss_bytes"`
	HeapInuse  spread `json:"heap_inuse_bytes"`
	MemProcess string `json:"memory_process,omitempty"`

	runs []*sample // the runs, in repetition order
	ops  []*opStats
}

func (s *summary) errorCount() int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// target is one goal for sqlite3-safe, stated in words, that the run
// could judge.
type target struct {
	Workload string `json:"workload"`
	Goal     string `json:"goal"`
	Result   string `json:"result"`
	Met      bool   `json:"met"`
}

// summarize builds the report from the samples.
func (b *bench) summarize() *report {
	o := b.opts
	r := &report{
		Settings: settings{
			Workloads: o.workloads, Configs: o.configs, Count: o.count, Isolate: o.isolate, Dir: b.base,
			Goroutines: o.goroutines, Blocks: o.blocks, Writers: o.writers, Readers: o.readers,
			DurationS: o.duration.Seconds(), WALLimit: o.walLimit, Ops: o.ops, Rows: o.rows,
			Procs: o.procs, ProcGoroutines: o.procGoroutines, ProcBlocks: o.procBlocks,
			Quantiles: quantiles, Started: b.started.Format(time.RFC3339),
			Ledger2Blocks: o.ledger2Blocks, Pool: o.pool, AllWorkloads: allWorkloads,
		},
		Machine: machineInfo(b.loadStart),
		Runs:    b.samples,
		opts:    o,
	}
	for _, w := range o.workloads {
		for _, cfg := range workloadConfigs(w, o.configs) {
			var runs []*sample
			for i := range b.samples {
				if s := &b.samples[i]; s.Workload == w && s.Config == cfg {
					runs = append(runs, s)
				}
			}
			if len(runs) == 0 {
				continue
			}
			for oi, op := range runs[0].Ops {
				sm := summary{Workload: w, Config: cfg, Op: op.Name, Runs: len(runs), Errors: map[string]int64{}, ChainRuns: -1, runs: runs}
				var ops, ns, wal, allocs, rss, peak, heap []float64
				lat := make([][]float64, len(quantiles))
				for _, s := range runs {
					st := &s.Ops[oi]
					if st.AllocsPerOp > 0 {
						allocs = append(allocs, st.AllocsPerOp)
					}
					if m := s.Mem; m != nil {
						heap = append(heap, float64(m.HeapInuseBytes))
						if m.RSS {
							rss = append(rss, float64(m.RSSEndBytes))
							peak = append(peak, float64(m.PeakRSSBytes))
						}
						if sm.MemProcess == "" || sm.MemProcess == m.Process {
							sm.MemProcess = m.Process
						} else {
							sm.MemProcess = "mixed"
						}
					}
					sm.ops = append(sm.ops, st)
					ops = append(ops, st.OpsPerSec)
					ns = append(ns, st.NsPerOp)
					if st.Ops > 0 {
						for q, v := range st.LatencyNs {
							lat[q] = append(lat[q], float64(v))
						}
					}
					for k, v := range st.Errors {
						sm.Errors[k] += v
					}
					if sm.FirstError == "" {
						sm.FirstError = st.FirstError
					}
					if st.PerProc != nil {
						if sm.PerProc == nil {
							sm.PerProc = make([]int64, len(st.PerProc))
						}
						for i, v := range st.PerProc {
							sm.PerProc[i] += v
						}
					}
					if s.Chain != nil {
						sm.ChainRuns = max(sm.ChainRuns, 0)
						if s.Chain.Intact {
							sm.ChainRuns++
						}
					}
					sm.WALSeen = sm.WALSeen || s.WAL.Seen
					wal = append(wal, float64(s.WAL.MaxBytes))
				}
				sm.OpsPerSec, sm.NsPerOp, sm.MaxWAL = spreadOf(ops), spreadOf(ns), spreadOf(wal)
				sm.AllocsPerOp, sm.RSSEnd, sm.PeakRSS, sm.HeapInuse = spreadOf(allocs), spreadOf(rss), spreadOf(peak), spreadOf(heap)
				for _, l := range lat {
					sm.LatencyNs = append(sm.LatencyNs, spreadOf(l))
				}
				r.Summaries = append(r.Summaries, sm)
			}
		}
	}
	for i := range r.Summaries {
		s := &r.Summaries[i]
		if safe := r.find(s.Workload, sqlite3safe.DriverName, s.Op); safe != nil && safe.OpsPerSec.Median > 0 {
			s.Ratio = s.OpsPerSec.Median / safe.OpsPerSec.Median
		}
	}
	r.Targets = r.judge()
	return r
}

// hasFloor says the results have the C floor's overhead rows.
func (r *report) hasFloor() bool {
	for _, s := range r.Summaries {
		if s.Workload == "overhead" && s.Config == floorConfig {
			return true
		}
	}
	return false
}

func (r *report) find(workload, config, op string) *summary {
	for i := range r.Summaries {
		if s := &r.Summaries[i]; s.Workload == workload && s.Config == config && s.Op == op {
			return s
		}
	}
	return nil
}

// loadAvg returns the 1-minute load average, or "" where there is none.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func machineInfo(loadStart string) machine {
	v, _, _ := sqlite3.Version()
	m := machine{
		Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), SQLite: v,
		SafeEnv: os.Getenv(sqlite3safe.EnvVar), LoadStart: loadStart, LoadEnd: loadAvg(),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// workloadTitle describes a workload's sizes.
func (r *report) workloadTitle(w string) string {
	o := r.opts
	switch w {
	case "ledger":
		return fmt.Sprintf("ledger: %d goroutines x %d blocks, one transaction per block", o.goroutines, o.blocks)
	case "ledger2":
		return fmt.Sprintf("ledger2: the harness's ledger: %d goroutines, %d blocks in all, one transaction per block (SELECT the last row ORDER BY id DESC LIMIT 1, SHA-256 in Go, INSERT a %d-byte payload)", o.goroutines, o.ledger2Blocks, ledger2PayloadSize)
	case "mixed":
		return fmt.Sprintf("mixed: %d writers (INSERT/UPDATE of %d bytes), %d readers (point SELECT/%d-row scan), %s, %d rows first", o.writers, valueSize, o.readers, scanRows, o.duration, o.rows)
	case "mixed4x":
		return fmt.Sprintf("mixed4x: mixed with %dx the goroutines: %d writers, %d readers, %s", mixed4xFactor, mixed4xFactor*o.writers, mixed4xFactor*o.readers, o.duration)
	case "stmtcache":
		return fmt.Sprintf("stmtcache: %d connections held, each running the same %d statements %d times; sqlite3-safe with its statement cache and without (_safe_stmt_cache=0)", stmtCacheConns, stmtCacheStatements, stmtCacheLoops)
	case "starve":
		return fmt.Sprintf("starve: 1 writer (4 x 1 KiB rows per INSERT), %d readers each holding a read %s, %s; sqlite3-safe _safe_wal_limit=%s", o.readers, starveHold, o.duration, bytesString(float64(o.walLimit)))
	case "overhead":
		t := fmt.Sprintf("overhead: 1 goroutine, %d point SELECTs (%d rows), %d autocommit INSERTs, then both again through a prepared *sql.Stmt (-stmt), configurations in turns; plain sqlite3 runs in WAL mode as sqlite3-wal", o.ops, o.rows, o.ops)
		if r.hasFloor() {
			t += "; " + floorConfig + ": the same statements in C on the same SQLite, prepared once, bind/step/reset per op, timed in C"
		}
		return t
	case "procs":
		return fmt.Sprintf("procs: %d processes x %d goroutines x %d blocks on one ledger file", o.procs, o.procGoroutines, o.procBlocks)
	}
	return w
}

// writeText writes the header, the tables, the legend, the first errors
// and the targets.
func (r *report) writeText(w io.Writer) {
	o := r.opts
	m := r.Machine
	runs := "1 run"
	if o.count > 1 {
		runs = fmt.Sprintf("%d runs, interleaved (configurations in rotated order); medians, MIN-MAX over the runs", o.count)
	}
	procs := ""
	if m.GOMAXPROCS != 0 && m.GOMAXPROCS != m.CPUs {
		procs = fmt.Sprintf(", GOMAXPROCS %d", m.GOMAXPROCS)
	}
	fmt.Fprintf(w, "safebench: %s %s/%s, %d CPUs (%s)%s, SQLite %s; %s\n", m.Go, m.OS, m.Arch, m.CPUs, orDash(m.CPU), procs, m.SQLite, runs)
	load := ""
	if m.LoadStart != "" {
		load = fmt.Sprintf("; load average %s at the start, %s at the end", m.LoadStart, m.LoadEnd)
	}
	fmt.Fprintf(w, "databases in %s%s\n", r.Settings.Dir, load)
	if line := poolLine(o.pool); line != "" {
		fmt.Fprintln(w, line)
	}
	if m.SafeEnv != "" {
		fmt.Fprintf(w, "warning: %s=%s is set in the environment: sqlite3-safe may run as plain sqlite3\n", sqlite3safe.EnvVar, m.SafeEnv)
	}
	r.writeTables(w)
	if line := r.stmtCacheLine(); line != "" {
		fmt.Fprintln(w, "\n"+line)
	}
	if lines := r.poolLines(); len(lines) > 0 {
		fmt.Fprintln(w, "\n"+strings.Join(lines, "\n"))
	}
	fmt.Fprint(w, "\n"+legend(slices.Contains(o.workloads, "overhead")))
	for _, s := range r.Summaries {
		if s.FirstError != "" {
			fmt.Fprintf(w, "first error, %s %s %s: %s\n", s.Workload, s.Config, s.Op, abbreviate(s.FirstError, 100))
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets (sqlite3-safe, plain DSN, against the best hand-made configuration):")
		for _, t := range r.Targets {
			verdict := "MISSED"
			if t.Met {
				verdict = "met"
			}
			fmt.Fprintf(w, "  %-6s %s: %s -- %s\n", verdict, t.Workload, t.Goal, t.Result)
		}
	}
}

// poolLine says how -pool set sqlite3-safe's pool, or "" for the default.
func poolLine(pool int) string {
	if pool <= 0 {
		return ""
	}
	conns := "connections"
	if pool == 1 {
		conns = "connection"
	}
	return fmt.Sprintf("pool: sqlite3-safe's database/sql pool capped at %d %s (-pool %d: SetMaxOpenConns(%d), SetMaxIdleConns(%d)); the other configurations keep their own pools (two-pool: a write pool of 1, an uncapped read pool)", pool, conns, pool, pool, pool)
}

// poolLines say, with -pool, how sqlite3-safe's capped pool went in each
// workload: connections opened, and how often and how long goroutines
// waited for one (database/sql's DBStats, medians over the runs).
func (r *report) poolLines() []string {
	if r.opts.pool <= 0 {
		return nil
	}
	var out []string
	for _, w := range r.opts.workloads {
		var opened, waits, waitNs []float64
		for _, s := range r.Runs {
			if s.Workload != w || s.Config != sqlite3safe.DriverName || len(s.Pools) != 1 {
				continue
			}
			opened = append(opened, float64(s.Pools[0].Opened))
			waits = append(waits, float64(s.Pools[0].WaitCount))
			waitNs = append(waitNs, float64(s.Pools[0].WaitNs))
		}
		if len(opened) == 0 {
			continue
		}
		conns := "connections"
		if spreadOf(opened).Median == 1 {
			conns = "connection"
		}
		out = append(out, fmt.Sprintf("pool, %s: sqlite3-safe opened %.0f %s, goroutines waited for one %.0f times, %s in all (medians over the runs)",
			w, spreadOf(opened).Median, conns, spreadOf(waits).Median, durString(spreadOf(waitNs).Median)))
	}
	return out
}

// writeTables writes one table per workload, each after an empty line and
// its title.
func (r *report) writeTables(w io.Writer) {
	for _, wl := range r.opts.workloads {
		fmt.Fprintf(w, "\n%s\n", r.workloadTitle(wl))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CONFIG\tOP\tOPS/S\tMIN-MAX\tx SAFE\tNS/OP\tALLOCS/OP\tP50\tP99\tP99.9\tERRORS\tCHAIN\tMAX WAL\tRSS END\tPEAK RSS\tHEAP")
		for i := range r.Summaries {
			s := &r.Summaries[i]
			if s.Workload != wl {
				continue
			}
			rng := "-"
			if s.Runs > 1 {
				rng = rate(s.OpsPerSec.Min) + "-" + rate(s.OpsPerSec.Max)
			}
			ratio := "-"
			if s.Ratio > 0 {
				ratio = fmt.Sprintf("%.2f", s.Ratio)
			}
			ns, allocs := "-", "-"
			if wl == "overhead" {
				ns = strconv.FormatFloat(s.NsPerOp.Median, 'f', 0, 64)
				if s.AllocsPerOp.N > 0 {
					allocs = strconv.FormatFloat(s.AllocsPerOp.Median, 'f', 1, 64)
				}
			}
			lat := func(q int) string {
				if s.LatencyNs[q].N == 0 {
					return "-"
				}
				return durString(s.LatencyNs[q].Median)
			}
			rss, peak, heap := memStrings(s)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				s.Config, s.Op, rate(s.OpsPerSec.Median), rng, ratio, ns, allocs, lat(0), lat(2), lat(3),
				errorsString(s), chainString(s), walString(s), rss, peak, heap)
		}
		tw.Flush()
	}
}

// legend explains the table's columns, and what a "-" cell means in each.
func legend(overhead bool) string {
	var b strings.Builder
	b.WriteString("OPS/S: successful ops per second, median over the runs.\n")
	b.WriteString("MIN-MAX: the lowest and the highest OPS/S of the runs (- : a single run, nothing to compare).\n")
	b.WriteString("x SAFE: OPS/S divided by sqlite3-safe's for the same op; above 1, that configuration did more (- : no sqlite3-safe row to divide by).\n")
	if overhead {
		b.WriteString("NS/OP: overhead only: wall time per op, median of 20 rounds taken in turns by the configurations; OPS/S = 1e9/NS/OP (- : other workloads).\n")
	} else {
		b.WriteString("NS/OP: overhead only (- : other workloads).\n")
	}
	if overhead {
		b.WriteString("ALLOCS/OP: overhead only: Go heap allocations per op in the timed rounds, median over the runs (- : other workloads, or not measured).\n")
	} else {
		b.WriteString("ALLOCS/OP: overhead only (- : other workloads).\n")
	}
	b.WriteString("P50, P99, P99.9: latency of successful ops (HDR histogram), median over the runs of each run's percentile (- : no successful op).\n")
	b.WriteString("ERRORS: failed ops by kind, summed over the runs; 0: none.\n")
	b.WriteString("CHAIN: the hash chain intact, one block per committed append, in every run (- : the workload keeps no chain).\n")
	b.WriteString("MAX WAL: largest -wal file sampled every 25 ms, median of the runs' largest, and (max) the largest (- : no -wal file: rollback journal).\n")
	b.WriteString("RSS END, PEAK RSS: the process's resident memory when the load ended and its peak during the run (Linux /proc/self/status), median over the runs;\n")
	b.WriteString("  a * marks runs that shared one process with earlier runs (no -isolate: C memory is not given back, so this is an upper bound),\n")
	b.WriteString("  overhead's configurations ran together in one process, procs shows the largest child's (n/a: no RSS on this system; - : not measured).\n")
	b.WriteString("HEAP: the Go heap in use (HeapInuse) at the end, median over the runs (- : not measured).\n")
	return b.String()
}

// rate formats ops/s.
func rate(v float64) string {
	if v >= 100 || v == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// durString formats nanoseconds with 3 significant digits.
func durString(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%.0fns", ns)
	case d < time.Millisecond:
		return sig3(ns/1e3) + "us"
	case d < time.Second:
		return sig3(ns/1e6) + "ms"
	}
	return sig3(ns/1e9) + "s"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// bytesString formats a size in B, KiB or MiB.
func bytesString(b float64) string {
	switch {
	case b >= 1<<20:
		return sig3(b/(1<<20)) + "MiB"
	case b >= 1<<10:
		return sig3(b/(1<<10)) + "KiB"
	}
	return strconv.FormatFloat(b, 'f', 0, 64) + "B"
}

func errorsString(s *summary) string {
	if s.errorCount() == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
		if s.Errors[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", k, s.Errors[k]))
		}
	}
	out := strings.Join(parts, ",")
	if s.PerProc != nil {
		per := make([]string, len(s.PerProc))
		for i, v := range s.PerProc {
			per[i] = strconv.FormatInt(v, 10)
		}
		out += " (per process " + strings.Join(per, "/") + ")"
	}
	return out
}

func chainString(s *summary) string {
	switch {
	case s.ChainRuns < 0:
		return "-"
	case s.ChainRuns == s.Runs:
		return "yes"
	}
	return fmt.Sprintf("no (%d/%d runs broken)", s.Runs-s.ChainRuns, s.Runs)
}

func walString(s *summary) string {
	if !s.WALSeen {
		return "-"
	}
	out := bytesString(s.MaxWAL.Median)
	if s.Runs > 1 {
		out += " (max " + bytesString(s.MaxWAL.Max) + ")"
	}
	return out
}

// memStrings formats a summary's RSS at the end, peak RSS and heap.
func memStrings(s *summary) (rss, peak, heap string) {
	if s.HeapInuse.N == 0 {
		return "-", "-", "-"
	}
	heap = bytesString(s.HeapInuse.Median)
	if s.RSSEnd.N == 0 {
		return "n/a", "n/a", heap
	}
	mark := ""
	if s.MemProcess == "shared" || s.MemProcess == "mixed" {
		mark = "*"
	}
	return bytesString(s.RSSEnd.Median) + mark, bytesString(s.PeakRSS.Median) + mark, heap
}

// stmtCacheCost returns the stmtcache workload's RSS per held connection
// with sqlite3-safe's statement cache and without (medians over the
// runs), and the number of runs of each; ok is false when the run did not
// measure it.
func (r *report) stmtCacheCost() (with, without float64, runs int, ok bool) {
	var w, wo []float64
	for _, s := range r.Runs {
		if s.Workload != "stmtcache" || s.StmtCache == nil || !s.StmtCache.RSS {
			continue
		}
		switch s.Config {
		case sqlite3safe.DriverName:
			w = append(w, float64(s.StmtCache.PerConn))
		case noCache:
			wo = append(wo, float64(s.StmtCache.PerConn))
		}
	}
	if len(w) == 0 || len(wo) == 0 {
		return 0, 0, 0, false
	}
	return spreadOf(w).Median, spreadOf(wo).Median, min(len(w), len(wo)), true
}

// stmtCacheLine is the stmtcache workload's result in words, or "".
func (r *report) stmtCacheLine() string {
	if !slices.Contains(r.opts.workloads, "stmtcache") {
		return ""
	}
	with, without, _, ok := r.stmtCacheCost()
	if !ok {
		return "stmtcache: no RSS on this system: the statement cache's memory was not measured"
	}
	return fmt.Sprintf("stmtcache: RSS per held connection after %d statements: %s with the statement cache, %s without; the cache costs %s per connection",
		stmtCacheStatements, signedBytes(with), signedBytes(without), signedBytes(with-without))
}

// signedBytes is bytesString for a size that may be negative.
func signedBytes(b float64) string {
	if b < 0 {
		return "-" + bytesString(-b)
	}
	return bytesString(b)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// abbreviate returns s on one line with runs of spaces collapsed, cut to at
// most n runes with a trailing "...".
func abbreviate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}

// perRep returns, for each repetition both a and b ran, f(a's run, b's run).
func perRep(a, b *summary, f func(x, y *opStats) float64) []float64 {
	var out []float64
	for i, ra := range a.runs {
		for j, rb := range b.runs {
			if ra.Rep == rb.Rep {
				out = append(out, f(a.ops[i], b.ops[j]))
			}
		}
	}
	return out
}

func ratios(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ")
}

func opsRatio(x, y *opStats) float64 {
	if y.OpsPerSec == 0 {
		return math.Inf(1)
	}
	return x.OpsPerSec / y.OpsPerSec
}

// The targets' thresholds.
const (
	ledgerVsTwoPool    = 1.1  // sqlite3-safe's blocks/s against two-pool's
	ledger2VsTwoPool   = 1.0  // ledger2: sqlite3-safe's blocks/s against two-pool's
	ledgerRSSVsSqlite3 = 1.1  // sqlite3-safe's RSS at the end against plain sqlite3's
	mixed4xVsMixed     = 0.9  // mixed4x's writes+reads against mixed's
	overheadSelect     = 0.75 // db.QueryRow point SELECT ns/op against sqlite3-wal's
	overheadInsert     = 0.95 // db.Exec INSERT ns/op against sqlite3-wal's
	overheadPrepared   = 1.02 // through a prepared *sql.Stmt
	soakRSSGrowth      = 1.05 // soak: last fifth's RSS against the first's
)

// totals returns the writes+reads ops/s of each run of workload w on
// configuration cfg, by repetition, and their median; ok is false when
// the run lacks either op.
func (r *report) totals(w, cfg string) (byRep map[int]float64, median float64, ok bool) {
	wr, rd := r.find(w, cfg, "write"), r.find(w, cfg, "read")
	if wr == nil || rd == nil {
		return nil, 0, false
	}
	byRep = map[int]float64{}
	var xs []float64
	for i, run := range wr.runs {
		for j, run2 := range rd.runs {
			if run.Rep == run2.Rep {
				t := wr.ops[i].OpsPerSec + rd.ops[j].OpsPerSec
				byRep[run.Rep] = t
				xs = append(xs, t)
			}
		}
	}
	return byRep, spreadOf(xs).Median, len(xs) > 0
}

// perRepMaps returns a[rep]/b[rep] for each repetition both have, in
// repetition order.
func perRepMaps(a, b map[int]float64) []float64 {
	var reps []int
	for k := range a {
		if _, ok := b[k]; ok {
			reps = append(reps, k)
		}
	}
	slices.Sort(reps)
	out := make([]float64, len(reps))
	for i, k := range reps {
		out[i] = a[k] / b[k]
	}
	return out
}

// walLimitOf is the WAL limit sqlite3-safe ran workload w with: the one
// its Stats report, else the driver's default.
func (r *report) walLimitOf(w string) int64 {
	for _, s := range r.Runs {
		if s.Workload == w && s.Safe != nil && s.Safe.WALLimit > 0 {
			return s.Safe.WALLimit
		}
	}
	if w == "starve" {
		return r.opts.walLimit
	}
	return sqlite3safe.DefaultWALLimit
}

// judge evaluates the targets the run has the data for: sqlite3-safe,
// with a plain DSN, against the best hand-made configuration.
func (r *report) judge() []target {
	var ts []target
	safe := sqlite3safe.DriverName
	errs := func(w string) (n int64, kinds string) {
		for i := range r.Summaries {
			if s := &r.Summaries[i]; s.Workload == w && s.Config == safe && s.errorCount() > 0 {
				n += s.errorCount()
				kinds += " " + s.Op + ":" + errorsString(s)
			}
		}
		return n, kinds
	}
	zeroErrors := func(w string) target {
		n, kinds := errs(w)
		t := target{Workload: w, Goal: "sqlite3-safe has zero errors", Met: n == 0, Result: "0 errors"}
		if n > 0 {
			t.Result = fmt.Sprintf("%d errors (%s)", n, strings.TrimSpace(kinds))
		}
		return t
	}
	ratioTarget := func(w, goal string, a, b *summary, min float64, unit string) target {
		ratio := a.OpsPerSec.Median / b.OpsPerSec.Median
		return target{Workload: w, Goal: goal, Met: ratio >= min,
			Result: fmt.Sprintf("%.2fx (%s vs %s%s; per repetition %s)", ratio, rate(a.OpsPerSec.Median), rate(b.OpsPerSec.Median), unit, ratios(perRep(a, b, opsRatio)))}
	}

	if s, tp := r.find("ledger", safe, "append"), r.find("ledger", "two-pool", "append"); s != nil && tp != nil {
		ts = append(ts, zeroErrors("ledger"),
			target{Workload: "ledger", Goal: "chain intact", Met: s.ChainRuns == s.Runs,
				Result: fmt.Sprintf("intact in %d of %d runs", s.ChainRuns, s.Runs)},
			ratioTarget("ledger", fmt.Sprintf("blocks/s >= %.1fx two-pool", ledgerVsTwoPool), s, tp, ledgerVsTwoPool, " blocks/s"))
	}
	if s, tp := r.find("ledger2", safe, "append"), r.find("ledger2", "two-pool", "append"); s != nil && tp != nil {
		ts = append(ts, zeroErrors("ledger2"),
			target{Workload: "ledger2", Goal: "chain intact", Met: s.ChainRuns == s.Runs,
				Result: fmt.Sprintf("intact in %d of %d runs", s.ChainRuns, s.Runs)},
			ratioTarget("ledger2", fmt.Sprintf("blocks/s >= %.1fx two-pool", ledger2VsTwoPool), s, tp, ledger2VsTwoPool, " blocks/s"))
	}
	// Memory is judged only from runs in processes of their own: in a
	// shared process a run's RSS includes what earlier runs left.
	if s, p := r.find("ledger", safe, "append"), r.find("ledger", "sqlite3", "append"); s != nil && p != nil &&
		s.RSSEnd.N > 0 && p.RSSEnd.N > 0 && s.MemProcess == "isolated" && p.MemProcess == "isolated" {
		ratio := s.RSSEnd.Median / p.RSSEnd.Median
		ts = append(ts, target{Workload: "ledger", Goal: fmt.Sprintf("RSS at the end <= %.1fx sqlite3's", ledgerRSSVsSqlite3), Met: ratio <= ledgerRSSVsSqlite3,
			Result: fmt.Sprintf("%.2fx (%s vs %s; peak %s vs %s)", ratio, bytesString(s.RSSEnd.Median), bytesString(p.RSSEnd.Median), bytesString(s.PeakRSS.Median), bytesString(p.PeakRSS.Median))})
	}

	sw, sr := r.find("mixed", safe, "write"), r.find("mixed", safe, "read")
	pw, pr := r.find("mixed", "two-pool", "write"), r.find("mixed", "two-pool", "read")
	if sw != nil && sr != nil && pw != nil && pr != nil {
		ts = append(ts, zeroErrors("mixed"),
			ratioTarget("mixed", "write ops/s >= 1.0x two-pool", sw, pw, 1.0, "/s"),
			ratioTarget("mixed", "read ops/s >= 1.0x two-pool", sr, pr, 1.0, "/s"))
		safeTot, safeMed, _ := r.totals("mixed", safe)
		best, bestName, bestMed := map[int]float64(nil), "", 0.0
		for _, cfg := range []string{"sqlite3-tuned", "two-pool"} {
			if byRep, med, ok := r.totals("mixed", cfg); ok && med > bestMed {
				best, bestName, bestMed = byRep, cfg, med
			}
		}
		ratio := safeMed / bestMed
		ts = append(ts, target{Workload: "mixed", Goal: "writes+reads ops/s >= 1.0x the best raw total (sqlite3-tuned or two-pool)", Met: ratio >= 1.0,
			Result: fmt.Sprintf("%.2fx (%s vs %s's %s/s; per repetition %s)", ratio, rate(safeMed), bestName, rate(bestMed), ratios(perRepMaps(safeTot, best)))})
		limit := float64(r.walLimitOf("mixed"))
		ts = append(ts, target{Workload: "mixed", Goal: "sqlite3-safe's WAL within its limit in every run", Met: sw.MaxWAL.Max <= limit,
			Result: fmt.Sprintf("largest %s (%.2fx the %s limit)", bytesString(sw.MaxWAL.Max), sw.MaxWAL.Max/limit, bytesString(limit))})
		p999s, p999p := sw.LatencyNs[3].Median, pw.LatencyNs[3].Median
		ts = append(ts, target{Workload: "mixed", Goal: "write p99.9 <= two-pool's", Met: sw.LatencyNs[3].N > 0 && p999s <= p999p,
			Result: fmt.Sprintf("%s vs %s (%.2fx)", durString(p999s), durString(p999p), p999s/p999p)})
	}

	if byRep4, med4, ok := r.totals("mixed4x", safe); ok {
		ts = append(ts, zeroErrors("mixed4x"))
		if byRep, med, ok := r.totals("mixed", safe); ok {
			ratio := med4 / med
			ts = append(ts, target{Workload: "mixed4x", Goal: fmt.Sprintf("writes+reads ops/s >= %.1fx mixed's (no collapse at %dx the goroutines)", mixed4xVsMixed, mixed4xFactor), Met: ratio >= mixed4xVsMixed,
				Result: fmt.Sprintf("%.2fx (%s vs %s/s; per repetition %s)", ratio, rate(med4), rate(med), ratios(perRepMaps(byRep4, byRep)))})
		}
	}

	if s, t := r.find("starve", safe, "write"), r.find("starve", "sqlite3-tuned", "write"); s != nil && t != nil {
		limit := float64(r.opts.walLimit)
		ts = append(ts, zeroErrors("starve"),
			target{Workload: "starve", Goal: fmt.Sprintf("sqlite3-safe's WAL under the limit (%s) in every run", bytesString(limit)),
				Met:    s.MaxWAL.Max <= limit,
				Result: fmt.Sprintf("largest %s (%.2fx the limit)", bytesString(s.MaxWAL.Max), s.MaxWAL.Max/limit)},
			target{Workload: "starve", Goal: "sqlite3-tuned's WAL grows past the limit", Met: t.MaxWAL.Median > limit,
				Result: fmt.Sprintf("%s median of the runs' largest (%.1fx the limit)", bytesString(t.MaxWAL.Median), t.MaxWAL.Median/limit)})
	}

	var allocs []string
	allocsMet, allocsJudged := true, false
	for _, o := range []struct {
		op, what string
		max      float64
	}{
		{"select", "db.QueryRow point SELECT", overheadSelect},
		{"insert", "db.Exec INSERT", overheadInsert},
		{"select-stmt", "prepared *sql.Stmt SELECT", overheadPrepared},
		{"insert-stmt", "prepared *sql.Stmt INSERT", overheadPrepared},
	} {
		s, base := r.find("overhead", safe, o.op), r.find("overhead", "sqlite3-wal", o.op)
		if s == nil || base == nil {
			continue
		}
		ratio := s.NsPerOp.Median / base.NsPerOp.Median
		per := perRep(s, base, func(x, y *opStats) float64 { return x.NsPerOp / y.NsPerOp })
		ts = append(ts, target{Workload: "overhead", Goal: fmt.Sprintf("%s ns/op <= %.2fx sqlite3-wal", o.what, o.max), Met: ratio <= o.max,
			Result: fmt.Sprintf("%.2fx (%.0f vs %.0f ns/op; per repetition %s)", ratio, s.NsPerOp.Median, base.NsPerOp.Median, ratios(per))})
		if s.AllocsPerOp.N > 0 && base.AllocsPerOp.N > 0 {
			// A statement allocates a whole number of times; the count is
			// the process's, so the fraction is background work (the
			// garbage collector's, sqlite3-safe's checkpointer's) spread
			// over the statements. The target compares whole allocations.
			allocsJudged = true
			allocsMet = allocsMet && math.Round(s.AllocsPerOp.Median) <= math.Round(base.AllocsPerOp.Median)
			allocs = append(allocs, fmt.Sprintf("%s %.3f vs %.3f", o.op, s.AllocsPerOp.Median, base.AllocsPerOp.Median))
		}
	}
	if allocsJudged {
		ts = append(ts, target{Workload: "overhead", Goal: "allocations per statement <= sqlite3-wal's (whole allocations)", Met: allocsMet,
			Result: strings.Join(allocs, "; ")})
	}
	return ts
}

// safeFailures describes what went wrong for sqlite3-safe, or returns "".
func (r *report) safeFailures() string {
	var bad []string
	for _, s := range r.Runs {
		if s.Config != sqlite3safe.DriverName {
			continue
		}
		for _, op := range s.Ops {
			if n := op.errorCount(); n > 0 {
				bad = append(bad, fmt.Sprintf("%s run %d: %d failed %s ops (%s)", s.Workload, s.Rep, n, op.Name, abbreviate(op.FirstError, 80)))
			}
		}
		if s.Chain != nil && !s.Chain.Intact {
			bad = append(bad, fmt.Sprintf("%s run %d: chain broken: %s", s.Workload, s.Rep, s.Chain.Error))
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return "sqlite3-safe failed: " + strings.Join(bad, "; ")
}

// writeJSON writes the report to path.
func (r *report) writeJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
