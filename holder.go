package sqlite3safe

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// holder records who holds a file's write lock, for _safe_debug=1 (and
// [WithDebug]): what took it, where in the caller's code, and since when.
// Connections without debug neither write nor clear it, so with debug off
// the statement path never touches it.
type holder struct {
	mu    sync.Mutex // guards following fields
	what  string     // "transaction begun", "statement", …; "" when not recorded
	site  string     // file.go:line of the first caller outside database/sql, sqlmw and this package
	since time.Time
}

// set records the current holder, at the caller's call site.
func (h *holder) set(what string) { h.setSite(what, callSite()) }

// setSite records the current holder.
func (h *holder) setSite(what, site string) {
	h.mu.Lock()
	h.what, h.site, h.since = what, site, time.Now()
	h.mu.Unlock()
}

func (h *holder) clear() {
	h.mu.Lock()
	h.what, h.site = "", ""
	h.mu.Unlock()
}

// describe returns "held 5.1s by transaction begun at store.go:88", or ""
// if nothing is recorded.
func (h *holder) describe() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.what == "" {
		return ""
	}
	return fmt.Sprintf("held %v by %s at %s", time.Since(h.since).Round(100*time.Millisecond), h.what, h.site)
}

// callSite walks up the stack past the machinery (this package, sqlmw,
// database/sql, the runtime) to the user's code.
func callSite() string {
	var pcs [32]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !machinery(f.Function) {
			return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

func machinery(fn string) bool {
	for _, p := range [...]string{
		"github.com/sqlite3safe/sqlite3safe.",
		"github.com/ngrok/sqlmw.",
		"database/sql.",
		"runtime.",
	} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}
