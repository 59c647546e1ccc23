package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// -isolate runs each workload on each configuration, each repetition, in
// a child process (this command re-executed, selected by childEnv like a
// procs child), so that the memory a run reports is its own: SQLite
// allocates in C, and C memory an earlier run freed is not given back to
// the system, so in one process the runs' RSS would pile up. Without
// -isolate everything runs in one process (the default seed scenario stays
// as fast as it was) and the memory columns say "shared".

// runSpec is what an -isolate child runs: one workload on one
// configuration, one repetition.
type runSpec struct {
	Workload string   `json:"workload"`
	Config   string   `json:"config"`
	Rep      int      `json:"rep"` // from 0
	Base     string   `json:"base"`
	Keep     bool     `json:"keep"`
	Settings settings `json:"settings"`
}

// runIsolated runs workload w on configuration cfg in a child process and
// returns its sample.
func (b *bench) runIsolated(ctx context.Context, w, cfg string, rep int) (sample, error) {
	exe, err := os.Executable()
	if err != nil {
		return sample{}, fmt.Errorf("finding this program to re-execute: %w", err)
	}
	o := b.opts
	st := settings{Workloads: []string{w}, Configs: []string{cfg}, Count: o.count, Dir: b.base,
		Goroutines: o.goroutines, Blocks: o.blocks, Writers: o.writers, Readers: o.readers,
		DurationS: o.duration.Seconds(), WALLimit: o.walLimit, Ops: o.ops, Rows: o.rows,
		Procs: o.procs, ProcGoroutines: o.procGoroutines, ProcBlocks: o.procBlocks,
		Ledger2Blocks: o.ledger2Blocks, Pool: o.pool}
	spec, _ := json.Marshal(childSpec{Run: &runSpec{Workload: w, Config: cfg, Rep: rep, Base: b.base, Keep: o.keep, Settings: st}})
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = childSysProcAttr()
	// The child stops when its stdin reaches end-of-file: the pipe stays
	// open until Wait has seen the child exit.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return sample{}, err
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		return sample{}, fmt.Errorf("starting the -isolate process: %w", err)
	}
	if !trackChild(cmd.Process) {
		cmd.Wait()
		return sample{}, fmt.Errorf("starting the -isolate process: interrupted")
	}
	err = cmd.Wait()
	untrackChild(cmd.Process)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			msg = ": " + firstLine(msg)
		}
		return sample{}, fmt.Errorf("the -isolate process: %v%s", err, msg)
	}
	var s sample
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return sample{}, fmt.Errorf("the -isolate process's result: %w", err)
	}
	return s, nil
}

// runChild is main for an -isolate child: it runs the spec's workload and
// writes the sample as JSON to stdout. It exits the process at once when
// its stdin reaches end-of-file (the parent is gone).
func runChild(spec *runSpec, stdin io.Reader, stdout, stderr io.Writer) int {
	// The watchdog owns nothing but the read of stdin; a parent that is
	// still there never closes the pipe before the child has exited, so
	// it is not waited for.
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		fmt.Fprintln(stderr, "safebench -isolate child: the parent is gone (stdin closed): stopped")
		os.Exit(1)
	}()
	o := spec.Settings.options()
	o.keep = spec.Keep
	b := &bench{opts: o, base: spec.Base, progress: newProgress(io.Discard), memProcess: "isolated"}
	s, err := b.runOne(context.Background(), spec.Workload, spec.Config, spec.Rep)
	if err != nil {
		fmt.Fprintf(stderr, "safebench -isolate child: %v\n", err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(s); err != nil {
		fmt.Fprintf(stderr, "safebench -isolate child: %v\n", err)
		return 1
	}
	return 0
}
