package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress is the progress bar on stderr: one step of progressSteps per
// run, advanced within a run as the run reports. It is silent (nil bar)
// when stderr is not a terminal, and shows up only once the benchmark has
// taken progressAfter, so that short runs print nothing.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	runs  int    // runs started
	desc  string // the current run
	begin time.Time
	shown bool
}

const (
	progressSteps = 1000
	progressAfter = 2 * time.Second
)

// visible reports whether the bar is to be drawn now; p.mu is held.
func (p *progress) visible() bool {
	if !p.shown && time.Since(p.begin) >= progressAfter {
		p.shown = true
		p.bar.Describe(p.desc)
	}
	return p.shown
}

func newProgress(stderr io.Writer) *progress {
	p := &progress{}
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	p.bar = progressbar.NewOptions64(1, // the real maximum is set by start
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

// start sets the number of runs.
func (p *progress) start(runs int) {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.ChangeMax64(int64(runs * progressSteps))
	p.begin = time.Now()
}

// next starts the next run, described by desc.
func (p *progress) next(desc string) {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	done := int64(p.runs * progressSteps)
	p.runs++
	p.desc = desc
	if p.visible() {
		_ = p.bar.Set64(done)
		p.bar.Describe(desc)
	}
}

// within reports that the current run is frac done.
func (p *progress) within(frac float64) {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	frac = min(max(frac, 0), 1)
	if p.visible() {
		_ = p.bar.Set64(int64((float64(p.runs-1) + frac) * progressSteps))
	}
}

// finish clears the bar.
func (p *progress) finish() {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		_ = p.bar.Finish()
	}
	p.bar = nil
}
