package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// soakSample is one second of a soak run.
type soakSample struct {
	At        float64 `json:"at_s"`
	HeapBytes uint64  `json:"heap_bytes"`
	RSSBytes  int64   `json:"rss_bytes"` // 0 where there is no RSS (not Linux)
	// SQLiteBytes is what SQLite has allocated and not freed (in C, the
	// whole process), -1 where unknown: against RSS it tells SQLite's own
	// use from what the C allocator keeps after SQLite frees it.
	SQLiteBytes int64 `json:"sqlite_bytes"`
	// SQLitePeakBytes is the most SQLite had allocated at any moment
	// since the previous sample (-1 where unknown): steadier than
	// SQLiteBytes, as page caches empty and fill within a second.
	SQLitePeakBytes int64 `json:"sqlite_peak_bytes"`
	// GoBytes is what the Go runtime holds from the system and has not
	// given back (MemStats.Sys - HeapReleased), heap and all.
	GoBytes    uint64 `json:"go_bytes"`
	Threads    int    `json:"threads"` // OS threads the Go runtime has made
	Goroutines int    `json:"goroutines"`
	OpenFDs    int    `json:"open_fds"`
	WALBytes   int64  `json:"wal_bytes"`
	Writes     int64  `json:"writes"`
	Reads      int64  `json:"reads"`
	Errors     int64  `json:"errors"`
}

// soakKeys is the soak's key space: the table starts with a row for every
// key and the writers replace and delete rows of it, so the data stays the
// same size however long the soak runs (about soakKeys·valueSize bytes);
// memory that grows then is not data that grew.
const soakKeys = 100_000

// runSoak is -workload soak: one configuration under a mixed load for
// -duration (writers, readers, and a second *sql.DB on the same file
// opened and closed every second, which starts and stops connections and
// the file's registry entry), sampling memory, goroutines, open file
// descriptors and the WAL every second. It is not part of "all": it is
// meant to run for minutes (-duration 10m), outside CI.
func runSoak(o *options, base string, stdout, stderr io.Writer) int {
	path := filepath.Join(base, "soak.db")
	ctx := context.Background()
	cfg := o.configs[0]
	h, err := openConfig(ctx, cfg, path, 0)
	if err != nil {
		fmt.Fprintf(stderr, "safebench: soak: %v\n", err)
		return 1
	}
	defer h.Close()
	if _, err := h.w.ExecContext(ctx, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v BLOB NOT NULL)"); err != nil {
		fmt.Fprintf(stderr, "safebench: soak: %v\n", err)
		return 1
	}
	if _, err := h.w.ExecContext(ctx, `WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k+1 FROM n WHERE k < ?)
		INSERT INTO kv(k, v) SELECT k, randomblob(?) FROM n`, soakKeys, valueSize); err != nil {
		fmt.Fprintf(stderr, "safebench: soak: filling the table: %v\n", err)
		return 1
	}

	var (
		writes, reads, errs atomic.Int64
		stop                = make(chan struct{})
		wg                  sync.WaitGroup
	)
	const upsert = "INSERT INTO kv(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v"
	fail := func(err error) {
		if err != nil {
			errs.Add(1)
		}
	}
	for w := range o.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(3, uint64(w)))
			buf := make([]byte, valueSize)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				randomValue(r, buf)
				var err error
				key := 1 + r.Int64N(soakKeys)
				switch i % 3 {
				case 0, 1: // a row comes back, or gets a new value
					_, err = h.w.ExecContext(ctx, upsert, key, buf)
				case 2:
					_, err = h.w.ExecContext(ctx, "DELETE FROM kv WHERE k = ?", key)
				}
				fail(err)
				if err == nil {
					writes.Add(1)
				}
			}
		}()
	}
	for rd := range o.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(4, uint64(rd)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := rangeScan(ctx, h.r, 1+r.Int64N(soakKeys))
				fail(err)
				if err == nil {
					reads.Add(1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // a second *sql.DB on the file, opened and closed every second
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			other, err := openConfig(ctx, cfg, path, 0)
			if err == nil {
				var n int64
				err = other.r.QueryRowContext(ctx, "SELECT count(*) FROM kv").Scan(&n)
				if err == nil {
					_, err = other.w.ExecContext(ctx, upsert, 1+rand.Int64N(soakKeys), []byte{0})
				}
				fail(other.Close())
			}
			fail(err)
		}
	}()

	start := time.Now()
	samples := []soakSample{}
	tick := time.NewTicker(time.Second)
	fmt.Fprintf(stdout, "soak: %s, %d writers, %d readers, a second *sql.DB opened and closed every second, %v\n",
		cfg, o.writers, o.readers, o.duration)
	fmt.Fprintf(stdout, "%8s  %10s  %10s  %11s  %10s  %7s  %10s  %5s  %10s  %10s  %10s  %6s\n", "AT", "HEAP", "GO", "SQLITE PEAK", "RSS", "THREADS", "GOROUTINES", "FDS", "WAL", "WRITES", "READS", "ERRORS")
	for time.Since(start) < o.duration {
		<-tick.C
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, _, _ := readRSS()
		sqliteBytes, sqlitePeak, ok := sqliteMemory()
		if !ok {
			sqliteBytes, sqlitePeak = -1, -1
		}
		s := soakSample{
			RSSBytes:        rss,
			SQLiteBytes:     sqliteBytes,
			SQLitePeakBytes: sqlitePeak,
			GoBytes:         ms.Sys - ms.HeapReleased,
			Threads:         threadProfile.Count(),
			At:              time.Since(start).Seconds(),
			HeapBytes:       ms.HeapAlloc,
			Goroutines:      runtime.NumGoroutine(),
			OpenFDs:         openFDs(),
			WALBytes:        fileSize(path + "-wal"),
			Writes:          writes.Load(),
			Reads:           reads.Load(),
			Errors:          errs.Load(),
		}
		samples = append(samples, s)
		if len(samples)%10 == 0 || len(samples) == 1 {
			rss := "n/a"
			if s.RSSBytes > 0 {
				rss = bytesString(float64(s.RSSBytes))
			}
			sqlite := "n/a"
			if s.SQLitePeakBytes >= 0 {
				sqlite = bytesString(float64(s.SQLitePeakBytes))
			}
			fmt.Fprintf(stdout, "%7.0fs  %10s  %10s  %11s  %10s  %7d  %10d  %5d  %10s  %10d  %10d  %6d\n", s.At, bytesString(float64(s.HeapBytes)),
				bytesString(float64(s.GoBytes)), sqlite, rss, s.Threads, s.Goroutines, s.OpenFDs, bytesString(float64(s.WALBytes)), s.Writes, s.Reads, s.Errors)
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()

	verdict := soakVerdict(samples)
	fmt.Fprintln(stdout, verdict)
	if o.jsonPath != "" {
		data, err := json.MarshalIndent(map[string]any{"samples": samples, "verdict": verdict}, "", "  ")
		if err == nil {
			err = os.WriteFile(o.jsonPath, data, 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "safebench: -json: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "safebench: wrote -json %s\n", o.jsonPath)
	}
	if errs.Load() > 0 {
		fmt.Fprintf(stderr, "safebench: soak: %d errors\n", errs.Load())
		return 1
	}
	return 0
}

// soakVerdict compares the first and the last fifth of the run (medians):
// a leak shows as growth from one to the other.
func soakVerdict(s []soakSample) string {
	if len(s) < 5 {
		return "soak: too short to judge (fewer than 5 samples)"
	}
	n := len(s) / 5
	med := func(part []soakSample, f func(soakSample) float64) float64 {
		v := make([]float64, len(part))
		for i, x := range part {
			v[i] = f(x)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	first, last := s[:n], s[len(s)-n:]
	line := "soak: first fifth -> last fifth (medians):"
	for _, m := range []struct {
		name string
		f    func(soakSample) float64
	}{
		{"heap", func(x soakSample) float64 { return float64(x.HeapBytes) }},
		{"goroutines", func(x soakSample) float64 { return float64(x.Goroutines) }},
		{"fds", func(x soakSample) float64 { return float64(x.OpenFDs) }},
		{"sqlite", func(x soakSample) float64 { return float64(x.SQLiteBytes) }},
		{"sqlite-peak", func(x soakSample) float64 { return float64(x.SQLitePeakBytes) }},
		{"go", func(x soakSample) float64 { return float64(x.GoBytes) }},
		{"threads", func(x soakSample) float64 { return float64(x.Threads) }},
		{"rss", func(x soakSample) float64 { return float64(x.RSSBytes) }},
	} {
		a, b := med(first, m.f), med(last, m.f)
		line += fmt.Sprintf(" %s %.0f -> %.0f (%.2fx);", m.name, a, b, b/max(a, 1))
	}
	a, b := med(first, func(x soakSample) float64 { return float64(x.RSSBytes) }), med(last, func(x soakSample) float64 { return float64(x.RSSBytes) })
	switch {
	case a <= 0:
		line += " target RSS flat: n/a (no RSS on this system)"
	case b <= soakRSSGrowth*a:
		line += fmt.Sprintf(" target RSS flat (last fifth <= %.2fx the first): met", soakRSSGrowth)
	default:
		line += fmt.Sprintf(" target RSS flat (last fifth <= %.2fx the first): MISSED", soakRSSGrowth)
	}
	return line
}

// threadProfile counts the OS threads the Go runtime has created; it
// never ends them, so the count is also the threads alive.
var threadProfile = pprof.Lookup("threadcreate")

// openFDs counts the process's open file descriptors (Linux), or -1.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
