package sqlite3safe

import (
	"log/slog"
	"time"
)

// Defaults, used where neither an [Option] nor the DSN says otherwise.
const (
	// DefaultLockTimeout is the longest wait for the write lock when the
	// DSN gives neither _safe_lock_timeout nor _busy_timeout/_timeout.
	DefaultLockTimeout = 5000 * time.Millisecond
	// DefaultWALLimit is the WAL size, in bytes, that the connection's
	// journal_size_limit is set to (64 MiB).
	DefaultWALLimit int64 = 64 << 20
	// DefaultStmtCache is how many compiled statements each connection
	// keeps for reuse, keyed by their SQL text (least recently used go
	// first).
	DefaultStmtCache = 64
	// DefaultSlowLockWait is the lock wait over which [WithLogger]'s logger
	// gets a warning.
	DefaultSlowLockWait = time.Second
)

// Option changes how a [Driver] or connector behaves. Options given in
// code are defaults: the matching _safe_* DSN parameter, when present,
// overrides them for that DSN, and the environment variable
// SQLITE3_SAFE=off overrides everything.
//
// The set of options is closed: only this package can make one.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLockTimeout sets the longest wait for the per-file write lock (DSN
// _safe_lock_timeout). Zero means do not wait: a write that finds the lock
// held fails at once with [ErrLockTimeout]. A negative value is an error
// from sql.Open / [NewConnector].
func WithLockTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lockTimeout = d; c.lockTimeoutSet = true })
}

// WithWALLimit sets the WAL size, in bytes, that sqlite3-safe keeps the
// file under (DSN _safe_wal_limit): the checkpointer escalates when the WAL
// reaches half of it, writers brake at three quarters of it, and it is
// every connection's journal_size_limit. It must be positive.
//
// The limit is the file's, not the pool's: with several pools on one file
// in the process, the file's limit is the smallest of those of the pools
// with background checkpoints that have a connection open on it, and
// every writer of the file brakes for it, so the WAL stays within twice
// that limit whichever pool writes. A smaller limit only means more,
// shorter checkpoints; a larger one is never needed, so the smallest
// breaks no pool's expectation, while any other choice would break the
// bound a pool asked for ([FileStats].WALLimit reports the file's).
func WithWALLimit(bytes int64) Option {
	return optionFunc(func(c *config) { c.walLimit = bytes })
}

// WithCheckpoints turns background checkpoints on (true, the default) or
// off (DSN _safe_checkpoint=auto|off). With false, SQLite's own
// autocheckpoint (or an external tool such as Litestream) manages the WAL.
//
// Background checkpoints are the file's: a file has them while a pool
// that wants them has a connection open on it, whatever the other pools
// on the file say. A pool with false that shares a file with a pool with
// true sees its checkpoints, and its writers brake for the file's WAL
// limit (see [WithWALLimit]); to keep them off a file, open every pool
// on it with false.
func WithCheckpoints(on bool) Option {
	return optionFunc(func(c *config) { c.checkpoints = on })
}

// WithCheckpointPages sets how many WAL pages wait to be copied before the
// background checkpointer runs a PASSIVE checkpoint. Zero or less means
// [DefaultCheckpointPages].
func WithCheckpointPages(pages int) Option {
	return optionFunc(func(c *config) {
		c.ckptPages = int64(pages)
		if pages <= 0 {
			c.ckptPages = DefaultCheckpointPages
		}
	})
}

// WithLogger sends checkpoint results (debug level), checkpoint failures
// and lock waits longer than the slow-wait threshold (warn level) to l.
// Nil, the default, logs nothing.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithSlowLockWait sets the lock wait over which the logger gets a
// warning; zero or less means [DefaultSlowLockWait].
func WithSlowLockWait(d time.Duration) Option {
	return optionFunc(func(c *config) {
		c.slowWait = d
		if d <= 0 {
			c.slowWait = DefaultSlowLockWait
		}
	})
}

// WithMaxWaiters bounds the queue for a file's write lock (DSN
// _safe_max_waiters): when n requests already wait, a new write fails at
// once, without queueing, with a [*LockTimeoutError] whose QueueFull is
// set (it matches [ErrLockTimeout] and sqlite3.ErrBusy, like any lock
// timeout). Zero, the default, means no bound. The bound counts the
// waiters of the whole file, from every connection in the process.
func WithMaxWaiters(n int) Option {
	return optionFunc(func(c *config) { c.maxWaiters = max(n, 0) })
}

// WithStmtCache sets how many compiled statements each connection keeps
// for reuse (DSN _safe_stmt_cache): db.Exec, db.Query and db.QueryRow with
// the same SQL text then skip SQLite's compiler, as a prepared *sql.Stmt
// does. Zero turns the cache off; a negative value means
// [DefaultStmtCache]. The cache is go-sqlite3's (_stmt_cache_size, which
// wins when the DSN gives it): invisible to the caller, it never hands out
// a statement that is in use, recompiles after a schema change, does not
// keep multi-statement strings, and is emptied when the connection closes.
// A connection that runs an ATTACH stops using its cache, before the text
// that holds it runs, so the statements after it in the same string are
// compiled anew too: statements such as BEGIN IMMEDIATE are compiled for
// the databases attached at the time, and SQLite does not compile them
// again after an ATTACH. So does a
// connection whose limits were lowered through [Unwrap] (SetLimit): SQLite
// checks them when it compiles, so a cached statement would escape them.
func WithStmtCache(n int) Option {
	return optionFunc(func(c *config) {
		c.stmtCache = n
		if n < 0 {
			c.stmtCache = DefaultStmtCache
		}
	})
}

// WithPinWarning sets how long a read may keep the WAL from being
// checkpointed (pin it) before the logger gets a warning naming the
// statement (and, with [WithDebug], where it began). Zero or less means
// [DefaultPinWarning].
func WithPinWarning(d time.Duration) Option {
	return optionFunc(func(c *config) {
		c.pinWarning = d
		if d <= 0 {
			c.pinWarning = DefaultPinWarning
		}
	})
}

// WithDebug(true) records where the current write-lock holder took the
// lock (call site and time), so that [LockTimeoutError] messages name it
// (DSN _safe_debug=1). It costs a stack walk per lock acquisition; off, it
// costs nothing.
func WithDebug(on bool) Option {
	return optionFunc(func(c *config) { c.debug = on })
}

// WithPassthrough(true) makes the driver behave exactly like go-sqlite3:
// no WAL enforcement, no lock, no checkpoints (DSN _safe=off). It exists for
// rollback and A/B comparison.
func WithPassthrough(on bool) Option {
	return optionFunc(func(c *config) { c.passthrough = on })
}

// config is the resolved set of options for one DSN. It is built once per
// connector and not changed afterwards.
type config struct {
	lockTimeout    time.Duration
	lockTimeoutSet bool // lockTimeout came from an Option or _safe_lock_timeout
	walLimit       int64
	checkpoints    bool
	passthrough    bool
	debug          bool
	ckptPages      int64
	logger         *slog.Logger
	slowWait       time.Duration
	pinWarning     time.Duration
	maxWaiters     int // 0: no bound
	stmtCache      int // go-sqlite3's _stmt_cache_size; 0: off
}

func defaultConfig() config {
	return config{
		lockTimeout: DefaultLockTimeout,
		walLimit:    DefaultWALLimit,
		checkpoints: true,
		ckptPages:   DefaultCheckpointPages,
		slowWait:    DefaultSlowLockWait,
		pinWarning:  DefaultPinWarning,
		stmtCache:   DefaultStmtCache,
	}
}
