package sqlite3safe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
)

// A connection holds the file's lock (lock.go) at most once, on behalf of
// one or more holders: a statement while it runs, rows that write (or read
// in non-WAL mode) until EOF or Close, a transaction until it ends. Each
// holder takes one hold and gives back exactly that one; the lock goes back
// to the file with the last hold. This keeps a statement from giving back a
// lock that open rows on the same connection still need, and lets a
// statement run while its own connection's rows hold the lock.
//
// Who calls what: hold by the interceptor (lockFor, ConnPrepareContext,
// askSQLite, ConnBeginTx); unhold by whoever took the hold (settle,
// lockedRows, tx.end, the deferred releases); releaseAll by conn.Close only.

// hold takes a hold of mode for one holder, waiting for the file's lock if
// the connection does not already hold it in a mode that covers mode. It
// honours ctx and the lock timeout. what names the holder for
// _safe_debug.
func (c *conn) hold(ctx context.Context, mode rwlock.Mode, what string) error {
	switch {
	case c.held == rwlock.Exclusive, c.held == rwlock.Shared && mode == rwlock.Shared:
		c.holds++
		return nil
	case c.held == rwlock.Shared:
		// Rows of this connection hold the shared side (non-WAL mode);
		// waiting for the exclusive side would be waiting for ourselves.
		return &LockTimeoutError{Path: c.file.key, Timeout: c.lockTimeout,
			Holder: "held by this connection's own open rows: close them before writing"}
	}
	var braked time.Duration
	if mode == rwlock.Exclusive {
		// The WAL is over its limit: wait for the checkpoint, a bounded
		// wait that does not count against the lock timeout (checkpoint.go).
		var err error
		if braked, err = c.file.waitBrake(ctx); err != nil {
			return c.lockError(err, mode, braked)
		}
		if braked > 0 {
			c.file.stats.recordBrakeWait(braked)
		}
	}
	// The lock timeout counts only time behind other statements and
	// transactions: a checkpoint's hold is waited out whatever the timeout.
	var gid uint64
	if mode == rwlock.Shared {
		gid = rwlock.GoroutineID() // a nested read by this goroutine never queues
	}
	waited, _, err := c.file.lock.AcquireReq(ctx, rwlock.Request{Mode: mode, GID: gid, MaxWaiters: c.maxWaiters}, c.lockTimeout)
	waited += braked
	if err != nil {
		return c.lockError(err, mode, waited)
	}
	c.held, c.holds, c.heldBy = mode, 1, gid
	if mode == rwlock.Exclusive {
		c.file.holder.set(what, c.debug)
	}
	if waited > c.slowWait && c.logger != nil {
		c.logger.Warn("sqlite3-safe: slow lock wait", "path", c.file.key, "waited", waited, "what", what)
	}
	return nil
}

// lockError turns a failed wait for mode into the error the caller gets.
func (c *conn) lockError(err error, mode rwlock.Mode, waited time.Duration) error {
	if errors.Is(err, rwlock.ErrQueueFull) {
		queued, _ := c.file.lock.Queue()
		return &LockTimeoutError{Path: c.file.key, Timeout: c.lockTimeout, Queued: queued, QueueFull: true}
	}
	if errors.Is(err, rwlock.ErrTimedOut) {
		queued, _ := c.file.lock.Queue()
		return &LockTimeoutError{Path: c.file.key, Waited: waited, Timeout: c.lockTimeout,
			Holder: c.file.holder.describe(), Queued: queued, Read: mode == rwlock.Shared}
	}
	side := "write lock"
	if mode == rwlock.Shared {
		side = "lock for reading"
	}
	return fmt.Errorf("sqlite3-safe: waiting for the %s on %s: %w", side, c.file.key, err)
}

// unhold gives back one hold; the last one gives the lock back.
func (c *conn) unhold() {
	if c.holds <= 0 {
		panic("sqlite3-safe: connection gave back a hold it did not have")
	}
	c.holds--
	if c.holds == 0 {
		c.releaseAll()
	}
}

// releaseAll gives the file's lock back, whatever holds are left.
func (c *conn) releaseAll() {
	if c.held == rwlock.None {
		return
	}
	if c.held == rwlock.Exclusive {
		c.file.holder.clear()
		c.sampleWAL()
	}
	c.file.lock.ReleaseAs(c.held, c.heldBy)
	c.held, c.holds, c.heldBy = rwlock.None, 0, 0
}
