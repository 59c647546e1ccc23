package sqlite3safe

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// lockOwner records who holds a file's write lock: what took it (a
// transaction, a statement, the checkpointer) and since when, always; and
// where in the caller's code, only with _safe_debug=1 ([WithDebug]), since
// finding the call site walks the stack (the checkpointer's is always
// "the background checkpointer"). [Stats] shows it, and
// [LockTimeoutError] messages name it.
type lockOwner struct {
	mu    sync.Mutex // guards following fields
	what  string     // "transaction begun", "statement", …; "" when the lock is free
	site  string     // file.go:line of the first caller outside database/sql, sqlmw and this package; "" without debug
	since time.Time
}

// set records what now holds the lock, and since when; with debug also
// where (the caller's call site).
func (h *lockOwner) set(what string, debug bool) {
	site := ""
	if debug {
		site = callSite()
	}
	h.setSite(what, site)
}

// setSite records what now holds the lock, since when, and where.
func (h *lockOwner) setSite(what, site string) {
	now := time.Now()
	h.mu.Lock()
	h.what, h.site, h.since = what, site, now
	h.mu.Unlock()
}

func (h *lockOwner) clear() {
	h.mu.Lock()
	h.what, h.site = "", ""
	h.mu.Unlock()
}

// get returns what holds the lock, where and since when; what is "" when
// the lock is free.
func (h *lockOwner) get() (what, site string, since time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.what, h.site, h.since
}

// now returns what holds the lock, where, and for how long; what is ""
// when the lock is free.
func (h *lockOwner) now() (what, site string, heldFor time.Duration) {
	what, site, since := h.get()
	if what == "" {
		return "", "", 0
	}
	return what, site, time.Since(since)
}

// describe returns "held 5.1s by transaction begun at store.go:88" (the
// site only with debug), or "" if the lock is free.
func (h *lockOwner) describe() string {
	what, site, since := h.get()
	if what == "" {
		return ""
	}
	s := fmt.Sprintf("held %v by %s", time.Since(since).Round(100*time.Millisecond), what)
	if site != "" {
		s += " at " + site
	}
	return s
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
