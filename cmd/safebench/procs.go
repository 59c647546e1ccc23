package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// childEnv, when set, makes the command a procs child: its value is the
// JSON of a childSpec. It is an environment variable rather than a flag so
// that it stays out of -h and out of reach of the flag checks.
const childEnv = "SAFEBENCH_CHILD"

// childSpec is what one child does: an -isolate run when Run is set,
// else a procs child's appends.
type childSpec struct {
	Run        *runSpec `json:"run,omitempty"`
	Config     string   `json:"config"`
	Path       string   `json:"path"`
	Proc       int      `json:"proc"`
	Goroutines int      `json:"goroutines"`
	Blocks     int      `json:"blocks"`
	Pool       int      `json:"pool,omitempty"` // -pool
}

// childResult is what a child reports on stdout, one JSON line.
type childResult struct {
	Committed  int64            `json:"committed"`
	Errors     map[string]int64 `json:"errors"`
	FirstError string           `json:"first_error,omitempty"`
	Hist       []byte           `json:"hist"` // hdrhistogram V2 compressed encoding
	Mem        *memResult       `json:"memory,omitempty"`
}

// The child protocol: the child opens its database and writes "ready\n";
// the parent writes "go\n" to every child once all are ready; each child
// appends its blocks, writes one JSON childResult line and exits 0. The
// parent keeps the child's stdin open until the child has exited: when it
// reaches end-of-file before that, the parent is gone, and the child stops
// (see childMain).
const (
	childReady = "ready"
	childGo    = "go"
)

// parentGoneGrace is how long a child whose parent has gone waits for its
// appends to stop before it exits anyway.
const parentGoneGrace = 5 * time.Second

// childMain is main for a procs child. A child must not outlive its parent:
// once its stdin reaches end-of-file after the start signal (the parent
// exited or was killed, and the pipe's write end closed), it cancels its
// appends and returns 1; if they have not stopped within parentGoneGrace,
// it exits the process.
func childMain(specJSON string, stdin io.Reader, stdout, stderr io.Writer) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintf(stderr, "safebench child: bad %s: %v\n", childEnv, err)
		return 2
	}
	if spec.Run != nil {
		return runChild(spec.Run, stdin, stdout, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := openConfig(ctx, spec.Config, spec.Path, 0)
	if err != nil {
		fmt.Fprintf(stderr, "safebench child %d: %v\n", spec.Proc, err)
		return 1
	}
	defer h.Close()
	capPool(h, spec.Config, spec.Pool)
	fmt.Fprintln(stdout, childReady)
	in := bufio.NewReader(stdin)
	line, err := in.ReadString('\n')
	if strings.TrimSpace(line) != childGo {
		fmt.Fprintf(stderr, "safebench child %d: no start signal (%q, %v)\n", spec.Proc, line, err)
		return 1
	}
	// The watchdog: it owns nothing but the read of stdin, which ends at
	// end-of-file, when the parent is gone; it is not waited for (a
	// parent that is still there never closes the pipe before the child
	// has exited).
	var (
		parentGone atomic.Bool
		mu         sync.Mutex  // guards returned and hardExit
		returned   bool        // childMain has returned: arm nothing
		hardExit   *time.Timer // exits the process parentGoneGrace after the parent went
	)
	defer func() {
		mu.Lock()
		returned = true
		if hardExit != nil {
			hardExit.Stop()
		}
		mu.Unlock()
	}()
	go func() {
		_, _ = io.Copy(io.Discard, in)
		parentGone.Store(true)
		cancel()
		mu.Lock()
		if !returned {
			hardExit = time.AfterFunc(parentGoneGrace, func() { os.Exit(1) })
		}
		mu.Unlock()
	}()
	op := newOp("append")
	appendBlocks(ctx, h.w, spec.Goroutines, spec.Blocks, fmt.Sprintf("p%d-", spec.Proc), op)
	if parentGone.Load() {
		fmt.Fprintf(stderr, "safebench child %d: the parent is gone (stdin closed): stopped\n", spec.Proc)
		return 1
	}
	st := op.stats(0)
	res := childResult{Committed: st.Ops, Errors: st.Errors, FirstError: st.FirstError, Mem: measureMem("children")}
	if res.Hist, err = op.hist.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err != nil {
		fmt.Fprintf(stderr, "safebench child %d: encoding the histogram: %v\n", spec.Proc, err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "safebench child %d: %v\n", spec.Proc, err)
		return 1
	}
	if err := h.Close(); err != nil {
		fmt.Fprintf(stderr, "safebench child %d: closing: %v\n", spec.Proc, err)
		return 1
	}
	return 0
}

// liveChildren are the procs children that may be running, so that the
// signal path (main) can kill them before the process exits: a child must
// never outlive the run directory it writes into.
var liveChildren struct {
	mu       sync.Mutex // guards stopping and procs
	stopping bool       // killChildren has run: kill any child started later at once
	procs    map[*os.Process]struct{}
}

// trackChild records a started child; it returns false, having killed
// the child, when the process is already stopping.
func trackChild(p *os.Process) bool {
	liveChildren.mu.Lock()
	defer liveChildren.mu.Unlock()
	if liveChildren.stopping {
		_ = p.Kill()
		return false
	}
	if liveChildren.procs == nil {
		liveChildren.procs = map[*os.Process]struct{}{}
	}
	liveChildren.procs[p] = struct{}{}
	return true
}

// untrackChild forgets a child that has been waited for.
func untrackChild(p *os.Process) {
	liveChildren.mu.Lock()
	defer liveChildren.mu.Unlock()
	delete(liveChildren.procs, p)
}

// killChildren kills every child that may be running (SIGKILL), and every
// child started after it. It is for the signal path, just before exit.
func killChildren() {
	liveChildren.mu.Lock()
	defer liveChildren.mu.Unlock()
	liveChildren.stopping = true
	for p := range liveChildren.procs {
		_ = p.Kill()
	}
}

// child is the parent's end of one child process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
}

func (c *child) fail(i int, what string, err error) error {
	msg := strings.TrimSpace(c.stderr.String())
	if msg != "" {
		msg = ": " + firstLine(msg)
	}
	return fmt.Errorf("process %d: %s: %v%s", i, what, err, msg)
}

// procsRun starts -procs copies of this command, each appending to one
// ledger file with its own pool(s), and waits for them.
func (b *bench) procsRun(ctx context.Context, cfg, path string, s *sample) error {
	h, err := openConfig(ctx, cfg, path, 0)
	if err != nil {
		return err
	}
	if err := ledger.Create(ctx, h.w); err != nil {
		h.Close()
		return fmt.Errorf("creating the ledger: %w", err)
	}
	if err := h.Close(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to re-execute: %w", err)
	}

	n := b.opts.procs
	children := make([]*child, n)
	defer func() {
		for _, c := range children {
			if c != nil && c.cmd.Process != nil {
				if c.cmd.ProcessState == nil {
					c.cmd.Process.Kill()
					c.cmd.Wait()
				}
				untrackChild(c.cmd.Process)
			}
		}
	}()
	for i := range children {
		spec, _ := json.Marshal(childSpec{Config: cfg, Path: path, Proc: i, Goroutines: b.opts.procGoroutines, Blocks: b.opts.procBlocks, Pool: b.opts.pool})
		c := &child{cmd: exec.Command(exe)}
		c.cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
		c.cmd.Stderr = &c.stderr
		c.cmd.SysProcAttr = childSysProcAttr()
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			return err
		}
		out, err := c.cmd.StdoutPipe()
		if err != nil {
			return err
		}
		c.stdout = bufio.NewReader(out)
		if err := c.cmd.Start(); err != nil {
			return fmt.Errorf("starting process %d: %w", i, err)
		}
		children[i] = c
		if !trackChild(c.cmd.Process) {
			return fmt.Errorf("starting process %d: interrupted", i)
		}
	}
	for i, c := range children {
		line, err := c.stdout.ReadString('\n')
		if strings.TrimSpace(line) != childReady {
			c.cmd.Process.Kill()
			c.cmd.Wait() // for its stderr
			if err == nil {
				err = fmt.Errorf("said %q", line)
			}
			return c.fail(i, "not ready", err)
		}
	}

	var finished atomic.Int64
	wal := startWAL(path, b.progress, func() float64 { return float64(finished.Load()) / float64(n) })
	start := time.Now()
	for i, c := range children {
		if _, err := io.WriteString(c.stdin, childGo+"\n"); err != nil {
			return c.fail(i, "start signal", err)
		}
	}
	var (
		wg      sync.WaitGroup
		results = make([]childResult, n)
		errs    = make([]error, n)
		ends    = make([]time.Time, n)
	)
	for i, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer finished.Add(1)
			line, err := c.stdout.ReadBytes('\n')
			ends[i] = time.Now()
			if err == nil {
				err = json.Unmarshal(line, &results[i])
			}
			werr := c.cmd.Wait()
			switch {
			case err != nil:
				errs[i] = c.fail(i, "no result", err)
			case werr != nil:
				errs[i] = c.fail(i, "exit", werr)
			}
		}()
	}
	wg.Wait()
	last := start
	for _, e := range ends {
		if e.After(last) {
			last = e
		}
	}
	elapsed := last.Sub(start)
	s.WAL = wal.end()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	op := newOp("append")
	perProc := make([]int64, n)
	for _, r := range results {
		if r.Mem == nil {
			continue
		}
		if s.Mem == nil {
			s.Mem = &memResult{RSS: r.Mem.RSS, Process: "children"}
		}
		s.Mem.RSSEndBytes = max(s.Mem.RSSEndBytes, r.Mem.RSSEndBytes)
		s.Mem.PeakRSSBytes = max(s.Mem.PeakRSSBytes, r.Mem.PeakRSSBytes)
		s.Mem.HeapInuseBytes = max(s.Mem.HeapInuseBytes, r.Mem.HeapInuseBytes)
	}
	for i, r := range results {
		op.ok.Add(r.Committed)
		for k, v := range r.Errors {
			op.errs[k] += v
			perProc[i] += v
		}
		if op.err1 == nil && r.FirstError != "" {
			op.err1 = errors.New(r.FirstError)
		}
		hist, err := hdrhistogram.Decode(r.Hist)
		if err != nil {
			return fmt.Errorf("process %d: decoding its histogram: %w", i, err)
		}
		op.hist.Merge(hist)
	}
	st := op.stats(elapsed)
	st.PerProc = perProc
	s.Elapsed = elapsed.Seconds()
	s.Ops = []opStats{st}

	h, err = openConfig(ctx, cfg, path, 0)
	if err != nil {
		return fmt.Errorf("reopening to verify: %w", err)
	}
	defer h.Close()
	s.Chain = verifyChain(ctx, h.r, op.ok.Load())
	return h.Close()
}
