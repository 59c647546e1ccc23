// Command safebench runs the seed scenario on driver "sqlite3" and on
// driver "sqlite3-safe" and prints what happened to each.
//
// The scenario: G goroutines each append K blocks to a hash-chained ledger
// (internal/ledger) in a fresh database file, one transaction per block.
// Both drivers get the same plain DSN, just the file's path, which is what
// existing code that switches from "sqlite3" to "sqlite3-safe" changes. A
// failed append is counted and not retried. At the end the chain is
// verified.
//
// Usage:
//
//	go run ./cmd/safebench [-goroutines G] [-blocks K] [-dir DIR]
//
// Flags:
//
//	-goroutines G  goroutines appending at once (default 100)
//	-blocks K      blocks each goroutine appends (default 20)
//	-dir DIR       put the databases in a new directory under DIR and keep
//	               it; by default they go in a temporary directory that is
//	               removed at the end
//
// The table has one row per driver: blocks committed out of G×K, blocks
// per second, the number of failed appends, whether the chain is intact
// (with the number of blocks ledger.Verify walked) and the first error,
// abbreviated.
//
// Exit status: 0 when the run completed and sqlite3-safe had no errors and
// an intact chain (errors from plain sqlite3 are the expected result, not a
// failure); 1 when sqlite3-safe failed or a database could not be set up;
// 2 for bad flags.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	_ "github.com/mattn/go-sqlite3" // registers "sqlite3"
	"github.com/sqlite3safe/sqlite3safe"
	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// result is one driver's row of the table.
type result struct {
	driver    string
	attempted int
	committed int64
	elapsed   time.Duration
	errors    int64
	firstErr  error // first failed append, or nil
	verified  int64 // blocks ledger.Verify walked
	verifyErr error // nil: chain intact
}

func (r result) ok() bool { return r.errors == 0 && r.verifyErr == nil && r.verified == r.committed }

// run is main without the process: it parses args, runs the scenario on
// both drivers, writes the table to stdout and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("safebench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported on one line below
	goroutines := fs.Int("goroutines", 100, "goroutines appending at once")
	blocks := fs.Int("blocks", 20, "blocks each goroutine appends")
	dir := fs.String("dir", "", "put the databases in a new directory under `DIR` and keep it (default: a temporary directory, removed)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: safebench [-goroutines G] [-blocks K] [-dir DIR]")
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "safebench: %v\n", err)
		return 2
	}
	switch {
	case *goroutines <= 0:
		fmt.Fprintf(stderr, "safebench: -goroutines must be positive, got %d\n", *goroutines)
		return 2
	case *blocks <= 0:
		fmt.Fprintf(stderr, "safebench: -blocks must be positive, got %d\n", *blocks)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "safebench: unexpected argument %q (flags only)\n", fs.Arg(0))
		return 2
	}

	var (
		base string
		err  error
	)
	if *dir == "" {
		base, err = os.MkdirTemp("", "safebench-")
		if err == nil {
			defer os.RemoveAll(base)
		}
	} else {
		base, err = os.MkdirTemp(*dir, "safebench-")
	}
	if err != nil {
		fmt.Fprintf(stderr, "safebench: -dir: %v\n", err)
		return 1
	}

	fmt.Fprintf(stdout, "seed scenario: %d goroutines x %d blocks = %d appends per driver, plain DSN, in %s\n\n",
		*goroutines, *blocks, *goroutines**blocks, base)
	ctx := context.Background()
	var results []result
	for _, driver := range []string{"sqlite3", sqlite3safe.DriverName} {
		r, err := scenario(ctx, driver, filepath.Join(base, driver+".db"), *goroutines, *blocks)
		if err != nil {
			fmt.Fprintf(stderr, "safebench: %s: %v\n", driver, err)
			return 1
		}
		results = append(results, r)
	}
	printTable(stdout, results)

	for _, r := range results {
		if r.driver == sqlite3safe.DriverName && !r.ok() {
			fmt.Fprintf(stderr, "safebench: %s lost appends or broke the chain\n", r.driver)
			return 1
		}
	}
	return 0
}

// scenario runs the seed scenario on one driver in a new database at path.
// It returns an error only when the database cannot be set up; failed
// appends and a broken chain are part of the result.
func scenario(ctx context.Context, driver, path string, goroutines, blocks int) (result, error) {
	r := result{driver: driver, attempted: goroutines * blocks}
	db, err := sql.Open(driver, path)
	if err != nil {
		return r, err
	}
	defer db.Close()
	if err := ledger.Create(ctx, db); err != nil {
		return r, fmt.Errorf("creating the ledger: %w", err)
	}

	var (
		wg        sync.WaitGroup
		committed atomic.Int64
		failed    atomic.Int64
		firstErr  atomic.Pointer[error]
	)
	start := time.Now()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range blocks {
				if _, err := ledger.Append(ctx, db, fmt.Sprintf("g%d-b%d", g, i)); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				committed.Add(1)
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.committed = committed.Load()
	r.errors = failed.Load()
	if p := firstErr.Load(); p != nil {
		r.firstErr = *p
	}
	r.verified, r.verifyErr = ledger.Verify(ctx, db)
	if r.verifyErr == nil && r.verified != r.committed {
		r.verifyErr = fmt.Errorf("chain has %d blocks, %d appends were committed", r.verified, r.committed)
	}
	return r, db.Close()
}

// printTable writes the results as an aligned table. Cells never contain
// two spaces in a row, so the columns can be split on runs of two or more.
func printTable(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DRIVER\tCOMMITTED\tBLOCKS/S\tERRORS\tCHAIN INTACT\tFIRST ERROR")
	for _, r := range results {
		rate := 0.0
		if s := r.elapsed.Seconds(); s > 0 {
			rate = float64(r.committed) / s
		}
		chain := fmt.Sprintf("yes (%d blocks)", r.verified)
		if r.verifyErr != nil {
			chain = fmt.Sprintf("no (%d blocks)", r.verified)
		}
		first := "-"
		if r.firstErr != nil {
			first = abbreviate(r.firstErr.Error(), 60)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%d\t%s\t%s\n",
			r.driver, r.committed, r.attempted, strconv.FormatFloat(rate, 'f', 0, 64), r.errors, chain, first)
	}
	tw.Flush()
	for _, r := range results {
		if r.verifyErr != nil {
			fmt.Fprintf(w, "\n%s: chain check: %v\n", r.driver, r.verifyErr)
		}
	}
}

// abbreviate returns s on one line with runs of spaces collapsed, cut to at
// most n runes with a trailing "…".
func abbreviate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
