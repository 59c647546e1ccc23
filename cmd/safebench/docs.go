package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sqlite3safe/sqlite3safe"
)

// The documentation's numbers are generated, never typed: a Markdown file
// (docs/performance.md) marks regions as
//
//	<!-- generated:NAME -->...<!-- /generated:NAME -->
//
// and renderDocs replaces what is between the markers with fragment NAME
// rendered from a -json results file. A region on one line is inline text
// (a number in a sentence); a fragment that spans lines is a block, and its
// markers stand on lines of their own.

// generatedRegion matches one region; the name is repeated in the closing
// marker (checked by renderDocs).
var generatedRegion = regexp.MustCompile(`(?s)<!-- generated:([a-z0-9-]+) -->(.*?)<!-- /generated:([a-z0-9-]+) -->`)

// renderDocs returns md with every generated region rendered from r. An
// unknown fragment, a closing marker naming another fragment, or a
// fragment the results lack the data for is an error.
func renderDocs(md string, r *report) (string, error) {
	var errs []string
	out := generatedRegion.ReplaceAllStringFunc(md, func(m string) string {
		g := generatedRegion.FindStringSubmatch(m)
		name, closing := g[1], g[3]
		if name != closing {
			errs = append(errs, fmt.Sprintf("generated:%s closed by /generated:%s", name, closing))
			return m
		}
		f, ok := fragments[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("generated:%s: no such fragment", name))
			return m
		}
		text, err := f(r)
		if err != nil {
			errs = append(errs, fmt.Sprintf("generated:%s: %v", name, err))
			return m
		}
		if strings.Contains(text, "\n") {
			text = "\n" + strings.TrimSuffix(text, "\n") + "\n"
		}
		return "<!-- generated:" + name + " -->" + text + "<!-- /generated:" + name + " -->"
	})
	if strings.Count(md, "<!-- generated:") != strings.Count(md, "<!-- /generated:") {
		errs = append(errs, "unbalanced generated markers")
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// runRenderDocs is -render-docs: it loads the results, writes their tables
// to stdout as the run printed them, and with -docs rewrites the Markdown
// file's generated regions, with -report redraws the charts.
func runRenderDocs(o *options, stdout, stderr io.Writer) int {
	r, err := loadReport(o.renderDocs)
	if err != nil {
		fmt.Fprintf(stderr, "safebench: -render-docs: %v\n", err)
		return 1
	}
	r.writeText(stdout)
	if o.docsPath != "" {
		md, err := os.ReadFile(o.docsPath)
		if err == nil {
			var out string
			if out, err = renderDocs(string(md), r); err == nil {
				err = os.WriteFile(o.docsPath, []byte(out), 0o644)
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "safebench: -docs: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "safebench: wrote -docs %s\n", o.docsPath)
	}
	if o.reportPath != "" {
		if err := r.writeCharts(o.reportPath); err != nil {
			fmt.Fprintf(stderr, "safebench: -report: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "safebench: wrote -report %s\n", o.reportPath)
	}
	return 0
}

// fragments are the generated regions' contents, by name.
var fragments = map[string]func(r *report) (string, error){
	"run-command":       fragRunCommand,
	"machine":           fragMachine,
	"runs":              func(r *report) (string, error) { return strconv.Itoa(r.opts.count), nil },
	"cpus":              func(r *report) (string, error) { return strconv.Itoa(r.Machine.CPUs), nil },
	"workloads":         fragWorkloads,
	"tuned-dsn":         func(*report) (string, error) { return "`?" + tunedQuery + "`", nil },
	"tables":            fragTables,
	"meaning":           fragMeaning,
	"headline":          fragHeadline,
	"targets":           fragTargets,
	"ledger-why":        fragLedgerWhy,
	"ledger-memory":     fragLedgerMemory,
	"mixed-write-why":   fragMixedWriteWhy,
	"mixed-lock-queue":  fragMixedLockQueue,
	"mixed-wal":         fragMixedWAL,
	"mixed-read-why":    fragMixedReadWhy,
	"mixed-total":       fragMixedTotal,
	"mixed-checkpoints": fragMixedCheckpoints,
	"mixed-trade-off":   fragMixedTradeOff,
	"mixed4x-why":       fragMixed4xWhy,
	"overhead-prepared": fragOverheadPrepared,
	"overhead-allocs":   fragOverheadAllocs,
	"overhead-floor":    fragOverheadFloor,
	"memory":            fragMemory,
	"stmtcache":         fragStmtCache,
	"soak-rss-growth":   func(*report) (string, error) { return x(soakRSSGrowth), nil },
	"starve-why":        fragStarveWhy,
	"starve-cost":       fragStarveCost,
	"overhead-why":      fragOverheadWhy,
	"overhead-tail":     fragOverheadTail,
	"starve-limit":      func(r *report) (string, error) { return bytesString(float64(r.opts.walLimit)), nil },
	"run-time":          fragRunTime,
	"starve-duration":   func(r *report) (string, error) { return r.opts.duration.String(), nil },
	"overhead-rounds":   func(*report) (string, error) { return strconv.Itoa(overheadRounds), nil },
	"starve-hold":       func(*report) (string, error) { return starveHold.String(), nil },
	"wal-sample-period": func(*report) (string, error) { return walEvery.String(), nil },
	"verdict-ledger":    verdict("ledger", ""),
	"verdict-ledger2":   verdict("ledger2", ""),
	"ledger2-why":       fragLedger2Why,
	"pool":              fragPool,
	"verdict-mixed":     verdict("mixed", ""),
	"verdict-mixed4x":   verdict("mixed4x", ""),
	"verdict-starve":    verdict("starve", ""),
	"verdict-overhead":  verdict("overhead", ""),
}

// verdict returns a fragment saying whether workload w's targets whose
// goal mentions about ("": all of them) were met: "met", or "missed"
// with the goals missed.
func verdict(w, about string) func(r *report) (string, error) {
	return func(r *report) (string, error) {
		var n int
		var missed []string
		for _, t := range r.Targets {
			if t.Workload != w || !strings.Contains(t.Goal, about) {
				continue
			}
			n++
			if !t.Met {
				missed = append(missed, t.Goal)
			}
		}
		switch {
		case n == 0:
			// Results of an older safebench, or a run without the
			// workload (or the configurations it is judged against).
			return "not judged in this run", nil
		case len(missed) == 0:
			return "met", nil
		}
		return "missed (" + strings.Join(missed, "; ") + ")", nil
	}
}

// get returns the summary or an error naming what is missing.
func (r *report) get(w, cfg, op string) (*summary, error) {
	if s := r.find(w, cfg, op); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("the results have no %s %s %s", w, cfg, op)
}

// thousands formats n with commas: 25,405.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// x formats a ratio: 0.89×.
func x(v float64) string { return fmt.Sprintf("%.2f×", v) }

// span formats the lowest and highest of xs: "16" or "16 to 17".
func span(xs []int64, f func(int64) string) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return f(lo)
	}
	return f(lo) + " to " + f(hi)
}

// safeStats returns sqlite3-safe's Stats of each run of workload w.
func (r *report) safeStats(w string) ([]*safeSnapshot, error) {
	var out []*safeSnapshot
	for i := range r.Runs {
		if s := &r.Runs[i]; s.Workload == w && s.Config == sqlite3safe.DriverName && s.Safe != nil {
			out = append(out, s.Safe)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the results have no sqlite3-safe Stats for %s", w)
	}
	return out, nil
}

func fragRunCommand(r *report) (string, error) {
	def := &options{}
	fs, _ := newFlagSet(def)
	if err := fs.Parse(nil); err != nil {
		return "", err
	}
	o := r.opts
	args := []string{"go run ./cmd/safebench"}
	list := func(flag string, got, all []string) {
		switch {
		case slices.Equal(got, all):
			args = append(args, flag+" all")
		default:
			args = append(args, flag+" "+strings.Join(got, ","))
		}
	}
	all := o.allMeant
	if all == nil {
		all = allWorkloads
	}
	list("-workload", o.workloads, all)
	if o.isolate {
		args = append(args, "-isolate")
	}
	if !slices.Equal(o.configs, []string{"sqlite3", sqlite3safe.DriverName}) {
		list("-configs", o.configs, allConfigs)
	}
	for _, f := range []struct {
		name     string
		got, def int64
	}{
		{"-count", int64(o.count), int64(def.count)},
		{"-goroutines", int64(o.goroutines), int64(def.goroutines)},
		{"-blocks", int64(o.blocks), int64(def.blocks)},
		{"-writers", int64(o.writers), int64(def.writers)},
		{"-readers", int64(o.readers), int64(def.readers)},
		{"-wal-limit", o.walLimit, def.walLimit},
		{"-ops", int64(o.ops), int64(def.ops)},
		{"-rows", int64(o.rows), int64(def.rows)},
		{"-procs", int64(o.procs), int64(def.procs)},
		{"-proc-goroutines", int64(o.procGoroutines), int64(def.procGoroutines)},
		{"-proc-blocks", int64(o.procBlocks), int64(def.procBlocks)},
		{"-pool", int64(o.pool), int64(def.pool)},
	} {
		if f.got != f.def {
			args = append(args, fmt.Sprintf("%s %d", f.name, f.got))
		}
		if f.name == "-blocks" && o.duration != def.duration {
			args = append(args, "-duration "+o.duration.String())
		}
	}
	return "```\n" + strings.Join(args, " ") + " \\\n    -json docs/safebench-results.json -report docs/safebench-results.png > docs/safebench-results.txt\n```\n", nil
}

func fragMachine(r *report) (string, error) {
	m := r.Machine
	s := fmt.Sprintf("%s on %s/%s, %d CPUs (%s), SQLite %s as bundled in go-sqlite3", m.Go, m.OS, m.Arch, m.CPUs, orDash(m.CPU), m.SQLite)
	if m.LoadStart != "" {
		s += fmt.Sprintf("; the load average was %s when the run started and %s when it ended", m.LoadStart, m.LoadEnd)
	}
	return s, nil
}

func fragRunTime(r *report) (string, error) {
	var total float64
	for _, s := range r.Runs {
		total += s.Elapsed
	}
	return (time.Duration(total) * time.Second).Round(time.Second).String(), nil
}

func fragWorkloads(r *report) (string, error) {
	o := r.opts
	var b strings.Builder
	for _, w := range o.workloads {
		switch w {
		case "ledger":
			fmt.Fprintf(&b, "- **ledger** — the seed scenario: %d goroutines each append %d blocks to a hash-chained ledger,\n  one transaction per block (read the last block, insert the next); the chain is verified after.\n", o.goroutines, o.blocks)
		case "ledger2":
			fmt.Fprintf(&b, "- **ledger2** — the ledger as an independent harness wrote it: %d goroutines append %s blocks in all,\n  one transaction per block that reads the last row (`ORDER BY id DESC LIMIT 1`), hashes it with SHA-256 in Go\n  and inserts a row with a %d-byte payload; the chain is verified after.\n", o.goroutines, thousands(int64(o.ledger2Blocks)), ledger2PayloadSize)
		case "mixed":
			fmt.Fprintf(&b, "- **mixed** — %d writers alternate an autocommit %d-byte `INSERT` and an `UPDATE` by key; %d readers\n  alternate a point `SELECT` and a %d-row range scan; %s on a table seeded with %s rows.\n", o.writers, valueSize, o.readers, scanRows, o.duration, thousands(int64(o.rows)))
		case "mixed4x":
			fmt.Fprintf(&b, "- **mixed4x** — mixed with %d× the goroutines (%d writers, %d readers), %s: does throughput hold up?\n", mixed4xFactor, mixed4xFactor*o.writers, mixed4xFactor*o.readers, o.duration)
		case "stmtcache":
			fmt.Fprintf(&b, "- **stmtcache** — %d connections held at once (`SetMaxOpenConns(%d)`, `db.Conn`), each running the same %d\n  statements %d times, on sqlite3-safe with its statement cache and without (`_safe_stmt_cache=0`):\n  the RSS it adds per connection.\n", stmtCacheConns, stmtCacheConns, stmtCacheStatements, stmtCacheLoops)
		case "starve":
			fmt.Fprintf(&b, "- **starve** — one writer inserting four 1 KiB rows per statement while %d readers always keep a\n  read open (each holds it %s, staggered), %s: SQLite's checkpoint starvation. sqlite3-safe\n  gets `_safe_wal_limit=%d` (%s); nothing else has a limit.\n", o.readers, starveHold, o.duration, o.walLimit, bytesString(float64(o.walLimit)))
		case "overhead":
			fmt.Fprintf(&b, "- **overhead** — one goroutine: %s point `SELECT`s (`db.QueryRow`) on %s rows, then %s autocommit `INSERT`s\n  (`db.Exec`), then both again through a prepared `*sql.Stmt`. The\n  configurations run at once on their own files and take turns in %d rounds; ns/op is the median\n  of a configuration's rounds. Plain sqlite3 runs here as `sqlite3-wal` (`?_journal_mode=WAL`), so\n  that what is measured is the wrapper, not WAL against a rollback journal.\n", thousands(int64(o.ops)), thousands(int64(o.rows)), thousands(int64(o.ops)), overheadRounds)
			if r.hasFloor() {
				fmt.Fprintf(&b, "  `%s` is the floor: the same statements written in C against the SQLite go-sqlite3 compiles in,\n  with sqlite3-wal's PRAGMAs, prepared once and bound, stepped and reset per operation, timed in C.\n", floorConfig)
			}
		case "procs":
			fmt.Fprintf(&b, "- **procs** — %d processes (the command re-executes itself) × %d goroutines × %d ledger appends\n  on one file; errors are counted per process and the chain is verified.\n", o.procs, o.procGoroutines, o.procBlocks)
		}
	}
	return b.String(), nil
}

func fragTables(r *report) (string, error) {
	var b strings.Builder
	b.WriteString("```\n")
	var t strings.Builder
	r.writeTables(&t)
	b.WriteString(strings.TrimPrefix(t.String(), "\n"))
	b.WriteString("```\n")
	return b.String(), nil
}

// attempts returns the ops tried (successful and failed) and the failed
// ones, over the runs.
func attempts(s *summary) (total, failed int64) {
	for _, op := range s.ops {
		total += op.Ops + op.errorCount()
		failed += op.errorCount()
	}
	return total, failed
}

func fragMeaning(r *report) (string, error) {
	n := r.opts.count
	var b strings.Builder
	fmt.Fprintf(&b, "- **OPS/S** is successful operations per second, the median of the %d runs; **MIN-MAX** is the\n  lowest and the highest of the runs (`-` after a single run); **x SAFE** is a row's OPS/S divided\n  by sqlite3-safe's for the same operation (above 1: that configuration did more). For `overhead`,\n  OPS/S = 10⁹ / NS/OP, and x SAFE above 1 means the other configuration spent less time per\n  operation; NS/OP is `-` in the other workloads.\n", n)
	ledgers := "`ledger` and `procs`"
	if slices.Contains(r.opts.workloads, "ledger2") {
		ledgers = "`ledger`, `ledger2` and `procs`"
	}
	fmt.Fprintf(&b, "- **P50 / P99 / P99.9** are latencies of successful operations from HDR histograms, the median over\n  the runs of each run's percentile (`-`: no successful operation); for %s they\n  include the wait for the write lock, which with %d goroutines queued is most of it. Starve's read\n  latency is the time to the first row (before the reader's deliberate %s hold).\n", ledgers, r.opts.goroutines, starveHold)
	led, err := r.get("ledger", "sqlite3", "append")
	if err != nil {
		return "", err
	}
	pr, err := r.get("procs", "sqlite3", "append")
	if err != nil {
		return "", err
	}
	lt, lf := attempts(led)
	pt, pf := attempts(pr)
	fmt.Fprintf(&b, "- **ERRORS** are failed operations by kind, summed over the %d runs. A failed append is not retried,\n  so plain `sqlite3` lost %s of %s ledger appends to `database is locked`, and %s of %s\n  across processes. Its chain stayed intact: SQLite refuses what it cannot serialize, and the lost\n  blocks are simply missing.\n", n, thousands(lf), thousands(lt), thousands(pf), thousands(pt))
	fmt.Fprintf(&b, "- **CHAIN** is whether `ledger.Verify` found an unbroken chain with one block per committed append,\n  in every run (`-`: the workload keeps no chain). **MAX WAL** is the largest `-wal` file sampled\n  every %s (median of the runs' largest, and the largest); `-` means no WAL (rollback journal).\n", walEvery)
	fmt.Fprintf(&b, "- **ALLOCS/OP** (overhead only) is Go heap allocations per operation in the timed rounds, counted for\n  the whole process: a statement allocates a whole number of times, and a fraction is background work\n  (the garbage collector's, sqlite3-safe's checkpointer's) spread over the statements, so the target\n  compares whole allocations. **RSS END**\n  and **PEAK RSS** are the process's resident memory when the load ended and its peak during the\n  run, **HEAP** the Go heap in use at the end, medians over the runs; SQLite's page caches and\n  compiled statements live in C, so RSS is the number to watch. A `*` marks runs that shared one\n  process with earlier runs (an upper bound); overhead's configurations share one process; `-`:\n  not measured.\n")
	return b.String(), nil
}

func fragHeadline(r *report) (string, error) {
	safe := sqlite3safe.DriverName
	got := map[string]*summary{}
	for _, n := range []struct{ w, cfg, op string }{
		{"mixed", "sqlite3", "read"}, {"starve", "sqlite3", "read"}, {"ledger", "sqlite3", "append"},
		{"ledger", "sqlite3-tuned", "append"}, {"starve", "sqlite3-tuned", "write"}, {"mixed", "sqlite3-tuned", "write"},
		{"ledger", safe, "append"}, {"ledger", "two-pool", "append"}, {"starve", safe, "write"},
	} {
		s, err := r.get(n.w, n.cfg, n.op)
		if err != nil {
			return "", err
		}
		got[n.w+" "+n.cfg] = s
	}
	p99 := func(k string) string { return durString(got[k].LatencyNs[2].Median) }
	p999 := func(k string) string { return durString(got[k].LatencyNs[3].Median) }
	errorsOf := func(cfg string) (n int64, workloads []string) {
		for _, s := range r.Summaries {
			if s.Config == cfg || (cfg == "sqlite3" && s.Config == "sqlite3-wal") {
				n += s.errorCount()
				if !slices.Contains(workloads, s.Workload) {
					workloads = append(workloads, s.Workload)
				}
			}
		}
		return n, workloads
	}
	count := func(n int64) string {
		if n == 0 {
			return "zero errors"
		}
		return thousands(n) + " errors"
	}
	var b strings.Builder
	if _, failed := attempts(got["ledger sqlite3"]); failed > 0 {
		fmt.Fprintf(&b, "What plain go-sqlite3 costs a program that does not tune it: concurrent writes fail (%s of\nthe ledger's appends), ", thousands(failed))
	} else {
		b.WriteString("What plain go-sqlite3 costs a program that does not tune it: ")
	}
	fmt.Fprintf(&b, "and readers wait while a writer commits, because the rollback journal locks\nthem out (mixed read p99 %s, starve read p99 %s). ", p99("mixed sqlite3"), p99("starve sqlite3"))
	tunedErrs, _ := errorsOf("sqlite3-tuned")
	fmt.Fprintf(&b, "The hand-tuned DSN had %s; its ledger appends have a\np99.9 of %s, and under readers that overlap its WAL grows without bound (%s in %s in\nstarve, %s in mixed; medians of the runs' largest). ",
		count(tunedErrs), p999("ledger sqlite3-tuned"), bytesString(got["starve sqlite3-tuned"].MaxWAL.Median), r.opts.duration,
		bytesString(got["mixed sqlite3-tuned"].MaxWAL.Median))
	safeErrs, workloads := errorsOf(safe)
	fmt.Fprintf(&b, "sqlite3-safe had %s in the %d workloads (%s);\n", count(safeErrs), len(workloads), strings.Join(workloads, ", "))
	led := got["ledger "+safe]
	flattest := true
	for _, s := range r.Summaries {
		if s.Workload == "ledger" && s.Config != safe && s.LatencyNs[3].N > 0 && s.LatencyNs[3].Median < led.LatencyNs[3].Median {
			flattest = false
		}
	}
	tail := "its ledger p99.9 was"
	if flattest {
		tail = "the flattest latency tail in `ledger`:"
	}
	fmt.Fprintf(&b, "%s %s against two-pool's %s and the tuned DSN's %s; ", tail, p999("ledger "+safe), p999("ledger two-pool"), p999("ledger sqlite3-tuned"))
	limit := float64(r.opts.walLimit)
	if sw := got["starve "+safe]; sw.MaxWAL.Max <= limit {
		fmt.Fprintf(&b, "and in starve its WAL\nstayed under its %s limit in every run (at most %s).\n", bytesString(limit), bytesString(sw.MaxWAL.Max))
	} else {
		fmt.Fprintf(&b, "and in starve its WAL\nwent over its %s limit (at most %s).\n", bytesString(limit), bytesString(sw.MaxWAL.Max))
	}
	return b.String(), nil
}

func fragTargets(r *report) (string, error) {
	if len(r.Targets) == 0 {
		return "", fmt.Errorf("the results judge no target")
	}
	var b strings.Builder
	b.WriteString("| workload | target | result | |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		verdict := "**missed**"
		if t.Met {
			verdict = "met"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Workload, mdEscape(t.Goal), mdEscape(t.Result), verdict)
	}
	return b.String(), nil
}

// mdEscape keeps a table cell one cell.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// ratioLine is "0.89× two-pool's blocks/s (per repetition 0.97, 0.89,
// 0.88)" for a's ops/s over b's, what naming b's.
func ratioLine(a, b *summary, what string) string {
	s := x(a.OpsPerSec.Median/b.OpsPerSec.Median) + " " + what
	if per := perRep(a, b, opsRatio); len(per) > 1 {
		s += " (per repetition " + ratios(per) + ")"
	}
	return s
}

func fragLedgerWhy(r *report) (string, error) {
	s, err := r.get("ledger", sqlite3safe.DriverName, "append")
	if err != nil {
		return "", err
	}
	tp, err := r.get("ledger", "two-pool", "append")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s, with a p99.9 of %s against %s", ratioLine(s, tp, "two-pool's blocks/s"),
		durString(s.LatencyNs[3].Median), durString(tp.LatencyNs[3].Median)), nil
}

// fragLedger2Why is ledger2 on sqlite3-safe against two-pool in the same
// run.
func fragLedger2Why(r *report) (string, error) {
	s, tp := r.find("ledger2", sqlite3safe.DriverName, "append"), r.find("ledger2", "two-pool", "append")
	if s == nil || tp == nil {
		return "not measured in this run", nil
	}
	return fmt.Sprintf("%s, with a p99.9 of %s against %s", ratioLine(s, tp, "two-pool's blocks/s"),
		durString(s.LatencyNs[3].Median), durString(tp.LatencyNs[3].Median)), nil
}

// fragPool says what pool sqlite3-safe ran with.
func fragPool(r *report) (string, error) {
	if r.opts.pool <= 0 {
		return "database/sql's default pool", nil
	}
	if r.opts.pool == 1 {
		return "a pool of one connection (`-pool 1`)", nil
	}
	return fmt.Sprintf("a pool capped at %d connections (`-pool %d`)", r.opts.pool, r.opts.pool), nil
}

func fragMixedWriteWhy(r *report) (string, error) {
	s, err := r.get("mixed", sqlite3safe.DriverName, "write")
	if err != nil {
		return "", err
	}
	t, err := r.get("mixed", "two-pool", "write")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s; write p50 %s against %s, p99 %s against %s, p99.9 %s against %s",
		ratioLine(s, t, "two-pool's writes/s"), durString(s.LatencyNs[0].Median), durString(t.LatencyNs[0].Median),
		durString(s.LatencyNs[2].Median), durString(t.LatencyNs[2].Median),
		durString(s.LatencyNs[3].Median), durString(t.LatencyNs[3].Median)), nil
}

// fragMixedTotal is sqlite3-safe's writes+reads against the best raw
// configuration's.
func fragMixedTotal(r *report) (string, error) {
	_, safeMed, ok := r.totals("mixed", sqlite3safe.DriverName)
	if !ok {
		return "", fmt.Errorf("the results have no mixed sqlite3-safe writes and reads")
	}
	var parts []string
	for _, cfg := range []string{"sqlite3-tuned", "two-pool"} {
		if _, med, ok := r.totals("mixed", cfg); ok {
			parts = append(parts, fmt.Sprintf("%s %s/s", cfg, rate(med)))
		}
	}
	return fmt.Sprintf("%s writes and reads per second together, against %s", rate(safeMed), strings.Join(parts, " and ")), nil
}

// fragMixedCheckpoints says what the checkpointer did in mixed: escalated
// checkpoints, the ones that gave up on old readers, writers' waits behind
// checkpoints and how long reads kept the WAL from restarting.
func fragMixedCheckpoints(r *report) (string, error) {
	return checkpointStory(r, "mixed")
}

func checkpointStory(r *report, w string) (string, error) {
	st, err := r.safeStats(w)
	if err != nil {
		return "", err
	}
	var esc, busy, waits, pins []int64
	var longestWait, longestPin int64
	measured := false
	for _, s := range st {
		esc = append(esc, s.Escalations)
		busy = append(busy, s.EscalationsBusy)
		waits = append(waits, s.CheckpointWaits)
		pins = append(pins, s.WALPins)
		longestWait = max(longestWait, s.CheckpointWaitMaxNs)
		longestPin = max(longestPin, s.WALPinnedMaxNs)
		// Results of a safebench that did not record the waits and pins
		// have none of these (the fields are left out when zero); a run
		// that recorded them has the WAL limit, which a checkpointer
		// always has, so a short run without a single escalation is
		// reported as zeros, not as unmeasured.
		measured = measured || s.WALLimit > 0 || s.CheckpointWaits > 0 || s.WALPins > 0 || s.EscalationsBusy > 0 || s.WALPinnedMaxNs > 0
	}
	out := fmt.Sprintf("%s escalated checkpoints per run", span(esc, thousands))
	if !measured {
		return out + " (writers' waits behind checkpoints and the WAL's pins were not measured in this run)", nil
	}
	out += fmt.Sprintf(", %s of which could not finish because older reads were still open (writers went on); writers met a checkpoint %s times per run, waiting at most %s",
		span(busy, thousands), span(waits, thousands), durString(float64(longestWait)))
	if slices.Max(pins) == 0 {
		return out + "; no open read kept an escalation from finishing", nil
	}
	return out + fmt.Sprintf("; open reads kept an escalation from finishing %s times per run, the longest for %s", span(pins, thousands), durString(float64(longestPin))), nil
}

// fragMixed4xWhy compares mixed4x's throughput with mixed's.
func fragMixed4xWhy(r *report) (string, error) {
	byRep4, med4, ok := r.totals("mixed4x", sqlite3safe.DriverName)
	if !ok {
		return "not measured in this run", nil
	}
	byRep, med, ok := r.totals("mixed", sqlite3safe.DriverName)
	if !ok {
		return "", fmt.Errorf("mixed4x without mixed")
	}
	out := fmt.Sprintf("with %d× the goroutines sqlite3-safe did %s writes and reads per second together, %s its mixed rate", mixed4xFactor, rate(med4), x(med4/med))
	if per := perRepMaps(byRep4, byRep); len(per) > 1 {
		out += " (per repetition " + ratios(per) + ")"
	}
	if tp, sw := r.find("mixed4x", "two-pool", "write"), r.find("mixed4x", sqlite3safe.DriverName, "write"); tp != nil && sw != nil {
		out += fmt.Sprintf("; its writes were %s two-pool's", x(sw.OpsPerSec.Median/tp.OpsPerSec.Median))
	}
	return out, nil
}

func fragMixedLockQueue(r *report) (string, error) {
	st, err := r.safeStats("mixed")
	if err != nil {
		return "", err
	}
	var acq, waits int64
	for _, s := range st {
		acq += s.LockAcquisitions
		waits += s.LockWaits
	}
	if acq == 0 {
		return "", fmt.Errorf("no lock acquisitions in mixed")
	}
	return fmt.Sprintf("%.0f%% of sqlite3-safe's lock acquisitions had to wait (its Stats over the %d runs: %s waits in %s acquisitions)",
		100*float64(waits)/float64(acq), len(st), thousands(waits), thousands(acq)), nil
}

func fragMixedWAL(r *report) (string, error) {
	t, err := r.get("mixed", "sqlite3-tuned", "write")
	if err != nil {
		return "", err
	}
	s, err := r.get("mixed", sqlite3safe.DriverName, "write")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("its WAL reached %s (median of the runs' largest; up to %s) in %s, against sqlite3-safe's %s (up to %s)",
		bytesString(t.MaxWAL.Median), bytesString(t.MaxWAL.Max), r.opts.duration, bytesString(s.MaxWAL.Median), bytesString(s.MaxWAL.Max)), nil
}

func fragMixedReadWhy(r *report) (string, error) {
	s, err := r.get("mixed", sqlite3safe.DriverName, "read")
	if err != nil {
		return "", err
	}
	tp, err := r.get("mixed", "two-pool", "read")
	if err != nil {
		return "", err
	}
	return ratioLine(s, tp, "two-pool's reads/s"), nil
}

func fragMixedTradeOff(r *report) (string, error) {
	tr, err := r.get("mixed", "sqlite3-tuned", "read")
	if err != nil {
		return "", err
	}
	pw, err := r.get("mixed", "two-pool", "write")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("the tuned DSN had the writes and %s sqlite3-safe's reads; two-pool had the reads and %s sqlite3-safe's writes",
		x(tr.Ratio), x(pw.Ratio)), nil
}

func fragStarveWhy(r *report) (string, error) {
	t, err := r.get("starve", "sqlite3-tuned", "write")
	if err != nil {
		return "", err
	}
	s, err := r.get("starve", sqlite3safe.DriverName, "write")
	if err != nil {
		return "", err
	}
	limit := float64(r.opts.walLimit)
	return fmt.Sprintf("The tuned DSN's WAL grew to %s in %s (%.0f× the limit; median of the runs' largest) while sqlite3-safe's peaked at %s in the worst of %d runs (%s the %s limit)",
		bytesString(t.MaxWAL.Median), r.opts.duration, t.MaxWAL.Median/limit, bytesString(s.MaxWAL.Max), s.Runs, x(s.MaxWAL.Max/limit), bytesString(limit)), nil
}

func fragStarveCost(r *report) (string, error) {
	story, err := checkpointStory(r, "starve")
	if err != nil {
		return "", err
	}
	sw, err := r.get("starve", sqlite3safe.DriverName, "write")
	if err != nil {
		return "", err
	}
	tw, err := r.get("starve", "sqlite3-tuned", "write")
	if err != nil {
		return "", err
	}
	sr, err := r.get("starve", sqlite3safe.DriverName, "read")
	if err != nil {
		return "", err
	}
	tr, err := r.get("starve", "sqlite3-tuned", "read")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s; the writer did %s the tuned DSN's statements, and the readers %s reads/s against %s (read p50 %s against %s)",
		story, x(sw.OpsPerSec.Median/tw.OpsPerSec.Median), rate(sr.OpsPerSec.Median), rate(tr.OpsPerSec.Median),
		durString(sr.LatencyNs[0].Median), durString(tr.LatencyNs[0].Median)), nil
}

// overheadPct is sqlite3-safe's ns/op over sqlite3-wal's for op, minus one.
func (r *report) overheadPct(op string) (s, base *summary, pct float64, err error) {
	if s, err = r.get("overhead", sqlite3safe.DriverName, op); err != nil {
		return
	}
	if base, err = r.get("overhead", "sqlite3-wal", op); err != nil {
		return
	}
	if base.NsPerOp.Median == 0 || math.IsNaN(s.NsPerOp.Median) {
		err = fmt.Errorf("no ns/op for overhead %s", op)
		return
	}
	pct = 100 * (s.NsPerOp.Median/base.NsPerOp.Median - 1)
	return
}

func fragOverheadWhy(r *report) (string, error) {
	s, base, _, err := r.overheadPct("select")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s sqlite3-wal's ns/op (%.0f vs %.0f ns; p50 %s vs %s)", x(s.NsPerOp.Median/base.NsPerOp.Median), s.NsPerOp.Median, base.NsPerOp.Median,
		durString(s.LatencyNs[0].Median), durString(base.LatencyNs[0].Median)), nil
}

func fragOverheadTail(r *report) (string, error) {
	s, base, _, err := r.overheadPct("insert")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s sqlite3-wal's ns/op (%.0f vs %.0f ns; insert p99.9 %s vs %s)", x(s.NsPerOp.Median/base.NsPerOp.Median), s.NsPerOp.Median, base.NsPerOp.Median,
		durString(s.LatencyNs[3].Median), durString(base.LatencyNs[3].Median)), nil
}

// fragOverheadPrepared compares the prepared-statement paths.
func fragOverheadPrepared(r *report) (string, error) {
	var parts []string
	for _, op := range []string{"select-stmt", "insert-stmt"} {
		s, base := r.find("overhead", sqlite3safe.DriverName, op), r.find("overhead", "sqlite3-wal", op)
		if s == nil || base == nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s (%.0f vs %.0f ns)", strings.TrimSuffix(op, "-stmt"), x(s.NsPerOp.Median/base.NsPerOp.Median), s.NsPerOp.Median, base.NsPerOp.Median))
	}
	if len(parts) == 0 {
		return "not measured in this run", nil
	}
	return strings.Join(parts, ", "), nil
}

// fragOverheadFloor is the C floor's ns/op, and each Go configuration's
// against it, phase by phase.
func fragOverheadFloor(r *report) (string, error) {
	var floor []string
	for _, op := range []string{"select", "insert"} {
		if f := r.find("overhead", floorConfig, op); f != nil && f.NsPerOp.Median > 0 {
			floor = append(floor, op+" "+durString(f.NsPerOp.Median))
		}
	}
	if len(floor) == 0 {
		return "not measured in this run", nil
	}
	out := "the same statements in C, prepared once: " + strings.Join(floor, ", ")
	for _, cfg := range []string{sqlite3safe.DriverName, "sqlite3-wal"} {
		var parts []string
		for _, op := range []string{"select-stmt", "insert-stmt", "select", "insert"} {
			s, f := r.find("overhead", cfg, op), r.find("overhead", floorConfig, op)
			if s == nil || f == nil || f.NsPerOp.Median <= 0 {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s", op, x(s.NsPerOp.Median/f.NsPerOp.Median)))
		}
		if len(parts) > 0 {
			out += fmt.Sprintf("; %s's ns/op over the floor's: %s", cfg, strings.Join(parts, ", "))
		}
	}
	return out, nil
}

// fragOverheadAllocs compares Go allocations per op.
func fragOverheadAllocs(r *report) (string, error) {
	var parts []string
	for _, op := range []string{"select", "insert", "select-stmt", "insert-stmt"} {
		s, base := r.find("overhead", sqlite3safe.DriverName, op), r.find("overhead", "sqlite3-wal", op)
		if s == nil || base == nil || s.AllocsPerOp.N == 0 || base.AllocsPerOp.N == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1f against %.1f", op, s.AllocsPerOp.Median, base.AllocsPerOp.Median))
	}
	if len(parts) == 0 {
		return "not measured in this run", nil
	}
	return strings.Join(parts, "; "), nil
}

// memoryWorkloads are the workloads the memory table shows.
var memoryWorkloads = []string{"ledger", "ledger2", "mixed", "mixed4x", "starve", "procs"}

// fragMemory is a table: each workload's RSS at the end and peak RSS,
// per configuration, or a sentence when the run measured none.
func fragMemory(r *report) (string, error) {
	var b strings.Builder
	var cfgs []string
	for _, s := range r.Summaries {
		if slices.Contains(memoryWorkloads, s.Workload) && !slices.Contains(cfgs, s.Config) {
			cfgs = append(cfgs, s.Config)
		}
	}
	rows := 0
	b.WriteString("| workload | " + strings.Join(cfgs, " | ") + " |\n|---|" + strings.Repeat("---|", len(cfgs)) + "\n")
	isolated := true
	for _, w := range memoryWorkloads {
		var cells []string
		any := false
		for _, cfg := range cfgs {
			var s *summary
			for i := range r.Summaries {
				if m := &r.Summaries[i]; m.Workload == w && m.Config == cfg {
					s = m
					break
				}
			}
			if s == nil || s.RSSEnd.N == 0 {
				cells = append(cells, "-")
				continue
			}
			any = true
			isolated = isolated && (s.MemProcess == "isolated" || s.MemProcess == "children")
			cells = append(cells, fmt.Sprintf("%s (peak %s)", bytesString(s.RSSEnd.Median), bytesString(s.PeakRSS.Median)))
		}
		if any {
			rows++
			fmt.Fprintf(&b, "| %s | %s |\n", w, strings.Join(cells, " | "))
		}
	}
	if rows == 0 {
		return "Memory (RSS) was not measured in this run.\n", nil
	}
	if isolated {
		b.WriteString("\nEach run's process was its own (`-isolate`; procs: the largest of its processes).\n")
	} else {
		b.WriteString("\nThe runs shared one process (no `-isolate`): each number includes what earlier runs left, an upper bound.\n")
	}
	return b.String(), nil
}

// fragStmtCache is the statement cache's memory per connection.
func fragStmtCache(r *report) (string, error) {
	with, without, runs, ok := r.stmtCacheCost()
	if !ok {
		return "not measured in this run", nil
	}
	return fmt.Sprintf("with %d connections held, each having run the same %d statements, RSS grew by %s per connection with the cache and %s without (medians of %d runs): the cache costs %s per connection",
		stmtCacheConns, stmtCacheStatements, signedBytes(with), signedBytes(without), runs, signedBytes(with-without)), nil
}

// fragLedgerMemory is ledger's RSS on sqlite3-safe against plain sqlite3.
func fragLedgerMemory(r *report) (string, error) {
	s, p := r.find("ledger", sqlite3safe.DriverName, "append"), r.find("ledger", "sqlite3", "append")
	if s == nil || p == nil || s.RSSEnd.N == 0 || p.RSSEnd.N == 0 {
		return "memory was not measured in this run", nil
	}
	out := fmt.Sprintf("its RSS at the end was %s against plain sqlite3's %s (peak %s against %s)",
		bytesString(s.RSSEnd.Median), bytesString(p.RSSEnd.Median), bytesString(s.PeakRSS.Median), bytesString(p.PeakRSS.Median))
	if s.MemProcess != "isolated" || p.MemProcess != "isolated" {
		out += ", in one shared process (upper bounds, not judged)"
	}
	return out, nil
}
