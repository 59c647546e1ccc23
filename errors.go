package sqlite3safe

import (
	"errors"
	"fmt"
	"time"
)

// ErrLockTimeout is returned (wrapped in a [*LockTimeoutError]) when a
// statement or transaction waited for the per-file write lock longer than
// the lock timeout (DSN `_safe_lock_timeout`, [WithLockTimeout]).
//
// The same error also matches a [sqlite3.Error] whose Code is
// [sqlite3.ErrBusy], so retry code written for go-sqlite3's
// "database is locked" keeps working:
//
//	var se sqlite3.Error
//	if errors.Is(err, sqlite3safe.ErrLockTimeout) { ... }
//	if errors.As(err, &se) && se.Code == sqlite3.ErrBusy { ... }
var ErrLockTimeout = errors.New("sqlite3-safe: timed out waiting for the write lock")

// LockTimeoutError describes a lock wait that ran out: for the write lock,
// or (Read) for the shared side that readers take on databases that are not
// WAL (in-memory, shared cache). It matches
// [ErrLockTimeout] with errors.Is and a [sqlite3.Error] with
// Code == [sqlite3.ErrBusy] with errors.As.
type LockTimeoutError struct {
	// Path is the database file (its canonical path) whose lock was wanted.
	Path string
	// Waited is how long the caller waited before giving up.
	Waited time.Duration
	// Timeout is the lock timeout that was in force.
	Timeout time.Duration
	// Read is true when a read waited, for the shared side of the lock
	// (non-WAL databases); false when a write waited for the write lock.
	Read bool
	// Holder says who held the lock when the wait ended, as "held 5.1s by
	// transaction begun"; with debug on in the holder's connection
	// (_safe_debug=1, [WithDebug]) also where: "… at store.go:88". "" if
	// the lock had just been given back.
	Holder string
	// Queued is how many other requests were waiting for the lock when
	// this wait ended.
	Queued int
	// QueueFull reports a write refused without waiting, because Queued
	// requests already waited and the queue is bounded (_safe_max_waiters,
	// [WithMaxWaiters]).
	QueueFull bool
}

// Error says which file, how long, and what to look for.
func (e *LockTimeoutError) Error() string {
	if e.QueueFull {
		return fmt.Sprintf("sqlite3-safe: write lock on %s not queued for: %d requests already wait, the most "+
			"the queue allows (_safe_max_waiters); try again later", e.Path, e.Queued)
	}
	who := "another transaction or query holds it"
	if e.Holder != "" {
		who = e.Holder
	}
	if e.Queued > 0 {
		who += fmt.Sprintf(", %d more waiting", e.Queued)
	}
	what := "write lock on " + e.Path
	if e.Read {
		what = "lock on " + e.Path + " for reading"
		if e.Holder == "" {
			who = "a writer holds the write lock, or waits for it ahead of this read"
		}
	}
	return fmt.Sprintf("sqlite3-safe: %s not acquired after %v (lock timeout %v): %s; "+
		"if this goroutine holds a transaction, run its statements through the *sql.Tx, not the *sql.DB",
		what, e.Waited.Round(time.Millisecond), e.Timeout, who)
}

// Unwrap returns [ErrLockTimeout] and the [sqlite3.Error] with Code
// [sqlite3.ErrBusy] that go-sqlite3 users already test for.
func (e *LockTimeoutError) Unwrap() []error {
	return []error{ErrLockTimeout, errBusy()}
}
