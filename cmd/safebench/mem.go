package main

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// SQLite allocates in C (page caches, compiled statements), so the Go
// heap alone says little about what a configuration costs in memory: the
// process's resident set (RSS) is read from /proc/self/status on Linux.
// Elsewhere there is no RSS and the reports say "n/a".

// memResult is a run's memory: the process's RSS when the load ended
// (before the databases closed), its peak RSS during the run, and the Go
// heap in use at the end.
type memResult struct {
	RSS            bool  `json:"rss"` // the RSS fields were read (Linux)
	RSSEndBytes    int64 `json:"rss_end_bytes"`
	PeakRSSBytes   int64 `json:"peak_rss_bytes"`
	HeapInuseBytes int64 `json:"heap_inuse_bytes"`
	// Process is where the run's numbers come from: "isolated" (a
	// process of its own, -isolate), "shared" (one process ran the
	// configurations one after the other: C memory freed by an earlier
	// run is not given back, so RSS is an upper bound of the run's own),
	// "together" (overhead: every configuration open in one process at
	// once) or "children" (procs: the largest of the child processes').
	Process string `json:"process"`
}

// parseProcStatus returns VmRSS and VmHWM (peak RSS) in bytes from the
// text of /proc/PID/status; ok is false when either is missing.
func parseProcStatus(data []byte) (rss, hwm int64, ok bool) {
	var gotRSS, gotHWM bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), ":")
		if !found || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, false
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		if k == "VmRSS" {
			rss, gotRSS = n<<10, true
		} else {
			hwm, gotHWM = n<<10, true
		}
	}
	return rss, hwm, gotRSS && gotHWM
}

// readRSS returns the process's RSS and peak RSS, or ok false where
// /proc/self/status has none.
func readRSS() (rss, peak int64, ok bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, false
	}
	return parseProcStatus(data)
}

// resetPeakRSS starts a new peak: on Linux, writing 5 to
// /proc/self/clear_refs resets VmHWM to the current RSS. Where that
// fails, the peak is the process's since it started.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// heapInuse is the Go heap in use (runtime.MemStats.HeapInuse): spans
// with objects in them.
func heapInuse() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// measureMem reads the memory at the end of a run.
func measureMem(process string) *memResult {
	m := &memResult{Process: process, HeapInuseBytes: heapInuse()}
	m.RSSEndBytes, m.PeakRSSBytes, m.RSS = readRSS()
	return m
}

// allocCounter counts the process's heap allocations (MemStats.Mallocs:
// exact, at the price of stopping the world briefly, so it is read outside
// timed code; runtime/metrics' count lags by whatever the per-P caches
// hold, too coarse for a round of a few ops).
type allocCounter struct{ ms runtime.MemStats }

func newAllocCounter() *allocCounter { return &allocCounter{} }

// read returns the allocations so far.
func (a *allocCounter) read() uint64 {
	runtime.ReadMemStats(&a.ms)
	return a.ms.Mallocs
}
