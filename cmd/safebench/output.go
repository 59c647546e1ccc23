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
			Workloads: o.workloads, Configs: o.configs, Count: o.count, Dir: b.base,
			Goroutines: o.goroutines, Blocks: o.blocks, Writers: o.writers, Readers: o.readers,
			DurationS: o.duration.Seconds(), WALLimit: o.walLimit, Ops: o.ops, Rows: o.rows,
			Procs: o.procs, ProcGoroutines: o.procGoroutines, ProcBlocks: o.procBlocks,
			Quantiles: quantiles, Started: b.started.Format(time.RFC3339),
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
				var ops, ns, wal []float64
				lat := make([][]float64, len(quantiles))
				for _, s := range runs {
					st := &s.Ops[oi]
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
	case "mixed":
		return fmt.Sprintf("mixed: %d writers (INSERT/UPDATE of %d bytes), %d readers (point SELECT/%d-row scan), %s, %d rows first", o.writers, valueSize, o.readers, scanRows, o.duration, o.rows)
	case "starve":
		return fmt.Sprintf("starve: 1 writer (4 x 1 KiB rows per INSERT), %d readers each holding a read %s, %s; sqlite3-safe _safe_wal_limit=%s", o.readers, starveHold, o.duration, bytesString(float64(o.walLimit)))
	case "overhead":
		return fmt.Sprintf("overhead: 1 goroutine, %d point SELECTs (%d rows) then %d autocommit INSERTs, configurations in turns; plain sqlite3 runs in WAL mode as sqlite3-wal", o.ops, o.rows, o.ops)
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
	fmt.Fprintf(w, "safebench: %s %s/%s, %d CPUs (%s), SQLite %s; %s\n", m.Go, m.OS, m.Arch, m.CPUs, orDash(m.CPU), m.SQLite, runs)
	load := ""
	if m.LoadStart != "" {
		load = fmt.Sprintf("; load average %s at the start, %s at the end", m.LoadStart, m.LoadEnd)
	}
	fmt.Fprintf(w, "databases in %s%s\n", r.Settings.Dir, load)
	if m.SafeEnv != "" {
		fmt.Fprintf(w, "warning: %s=%s is set in the environment: sqlite3-safe may run as plain sqlite3\n", sqlite3safe.EnvVar, m.SafeEnv)
	}
	r.writeTables(w)
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

// writeTables writes one table per workload, each after an empty line and
// its title.
func (r *report) writeTables(w io.Writer) {
	for _, wl := range r.opts.workloads {
		fmt.Fprintf(w, "\n%s\n", r.workloadTitle(wl))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CONFIG\tOP\tOPS/S\tMIN-MAX\tx SAFE\tNS/OP\tP50\tP99\tP99.9\tERRORS\tCHAIN\tMAX WAL")
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
			ns := "-"
			if wl == "overhead" {
				ns = strconv.FormatFloat(s.NsPerOp.Median, 'f', 0, 64)
			}
			lat := func(q int) string {
				if s.LatencyNs[q].N == 0 {
					return "-"
				}
				return durString(s.LatencyNs[q].Median)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				s.Config, s.Op, rate(s.OpsPerSec.Median), rng, ratio, ns, lat(0), lat(2), lat(3),
				errorsString(s), chainString(s), walString(s))
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
	b.WriteString("P50, P99, P99.9: latency of successful ops (HDR histogram), median over the runs of each run's percentile (- : no successful op).\n")
	b.WriteString("ERRORS: failed ops by kind, summed over the runs; 0: none.\n")
	b.WriteString("CHAIN: the hash chain intact, one block per committed append, in every run (- : the workload keeps no chain).\n")
	b.WriteString("MAX WAL: largest -wal file sampled every 25 ms, median of the runs' largest, and (max) the largest (- : no -wal file: rollback journal).\n")
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

	if s, tp := r.find("ledger", safe, "append"), r.find("ledger", "two-pool", "append"); s != nil && tp != nil {
		ratio := s.OpsPerSec.Median / tp.OpsPerSec.Median
		ts = append(ts, zeroErrors("ledger"),
			target{Workload: "ledger", Goal: "chain intact", Met: s.ChainRuns == s.Runs,
				Result: fmt.Sprintf("intact in %d of %d runs", s.ChainRuns, s.Runs)},
			target{Workload: "ledger", Goal: "blocks/s >= 1.0x two-pool", Met: ratio >= 1.0,
				Result: fmt.Sprintf("%.2fx (%s vs %s blocks/s; per repetition %s)", ratio, rate(s.OpsPerSec.Median), rate(tp.OpsPerSec.Median), ratios(perRep(s, tp, opsRatio)))})
	}

	sw, sr := r.find("mixed", safe, "write"), r.find("mixed", safe, "read")
	tw, pr := r.find("mixed", "sqlite3-tuned", "write"), r.find("mixed", "two-pool", "read")
	if sw != nil && (tw != nil || pr != nil) {
		ts = append(ts, zeroErrors("mixed"))
	}
	if sw != nil && tw != nil {
		ratio := sw.OpsPerSec.Median / tw.OpsPerSec.Median
		ts = append(ts, target{Workload: "mixed", Goal: "write ops/s >= 1.0x sqlite3-tuned", Met: ratio >= 1.0,
			Result: fmt.Sprintf("%.2fx (%s vs %s/s; per repetition %s)", ratio, rate(sw.OpsPerSec.Median), rate(tw.OpsPerSec.Median), ratios(perRep(sw, tw, opsRatio)))})
		p99s, p99t := sw.LatencyNs[2].Median, tw.LatencyNs[2].Median
		ts = append(ts, target{Workload: "mixed", Goal: "write p99 <= sqlite3-tuned's", Met: sw.LatencyNs[2].N > 0 && p99s <= p99t,
			Result: fmt.Sprintf("%s vs %s (%.2fx)", durString(p99s), durString(p99t), p99s/p99t)})
	}
	if sr != nil && pr != nil {
		ratio := sr.OpsPerSec.Median / pr.OpsPerSec.Median
		ts = append(ts, target{Workload: "mixed", Goal: "read ops/s >= 0.95x two-pool, same run", Met: ratio >= 0.95,
			Result: fmt.Sprintf("%.2fx (%s vs %s/s; per repetition %s)", ratio, rate(sr.OpsPerSec.Median), rate(pr.OpsPerSec.Median), ratios(perRep(sr, pr, opsRatio)))})
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

	for _, op := range []string{"select", "insert"} {
		s, base := r.find("overhead", safe, op), r.find("overhead", "sqlite3-wal", op)
		if s == nil || base == nil {
			continue
		}
		over := s.NsPerOp.Median/base.NsPerOp.Median - 1
		per := perRep(s, base, func(x, y *opStats) float64 { return x.NsPerOp / y.NsPerOp })
		ts = append(ts, target{Workload: "overhead", Goal: op + " ns/op within 5% of sqlite3-wal", Met: over <= 0.05,
			Result: fmt.Sprintf("%+.1f%% (%.0f vs %.0f ns/op; per repetition x%s)", 100*over, s.NsPerOp.Median, base.NsPerOp.Median, ratios(per))})
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
