package sqlite3safe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sqlite3safe/sqlite3safe/internal/goid"
	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
)

// A write transaction (BeginTx without ReadOnly) takes nothing when it
// begins, as go-sqlite3's deferred BEGIN takes nothing: neither the write
// lock nor SQLite's BEGIN. Its first statement waits for the lock and runs
// BEGIN IMMEDIATE, and from then on the transaction never fails halfway.
// So code that opens a transaction and then writes through the pool (a
// helper that wraps a callback in a transaction the callback never uses)
// works as it does on go-sqlite3, and an untouched transaction's Commit
// and Rollback block nobody.
//
// A transaction that has only read, and whose own goroutine then writes
// through the pool, would wait for itself. On go-sqlite3 that write goes
// through, because the transaction holds only a read snapshot; later its
// reads still see that snapshot, and a write of its own fails with
// SQLITE_BUSY_SNAPSHOT. sqlite3-safe does the same by handing the lock
// over: when a write waits for the lock, and the lock is held by an idle
// transaction that has only read and whose last statement the waiting
// goroutine ran, the transaction gives its lock up (handOver). Its SQLite
// transaction, begun
// immediate, is rolled back and begun again deferred on the same snapshot:
// it held SQLite's write lock until then, so nobody has committed since it
// began, and PRAGMA data_version, read before and after, proves it. (Open
// rows of the transaction keep their snapshot through the ROLLBACK, since
// it changed no schema.) From then on the transaction reads without the
// lock; if it writes again it takes the lock again, and SQLite decides
// whether its snapshot is still current, as on go-sqlite3.
//
// Only the waiting goroutine's own transaction is ever handed over: any
// other waiter may simply wait, since the transaction's goroutine is free
// to finish it. So a transaction running its statements, the ledger's
// read-then-insert included, never loses its lock to a stranger, however
// the scheduler delays it between its statements.

// txYield is what a connection's write transaction shares with a waiting
// writer that may take its lock over (handOver), and the lock that keeps
// a hand-over apart from the transaction's own statements.
//
// Lock order: yield.mu is taken by a waiting writer before the file's
// lock is acquired, and is never held while waiting for the file's lock.
type txYield struct {
	mu   sync.Mutex // guards idle, gave and lost; held by handOver while it runs statements on the connection
	idle bool       // the transaction has only read, holds the lock, and runs no statement: it may be handed over
	gave bool       // handOver gave the lock up; the connection has not yet noticed (settleYield)
	lost bool       // handOver could not keep the transaction's snapshot

	gid atomic.Uint64 // while idle: the goroutine that ran the transaction's last statement (goid.Key); else 0
}

// txBegin begins the transaction c.tx == txPending at its first statement;
// read says that statement only reads. It waits for the write lock and runs
// BEGIN IMMEDIATE. On a connection that cannot write (query_only, a
// read-only file) it runs a deferred BEGIN as go-sqlite3 would, without
// the write lock: such a transaction cannot write, so it needs none. On
// error the transaction is still pending and holds nothing.
func (c *conn) txBegin(ctx context.Context, read bool) error {
	if !c.queryOnly {
		// routeTx may have taken the transaction's claim for it already.
		if c.givenClaim {
			c.givenClaim = false
		} else if err := c.claim(ctx, rwlock.Exclusive, "transaction begun"); err != nil {
			if read && errors.Is(err, ErrReadOnlyReplica) {
				return c.beginOnReplica(ctx, err) // replica.go
			}
			return err
		}
		// BEGIN IMMEDIATE stands for go-sqlite3's BEGIN (own.go).
		_, err := standIn(c, "BEGIN IMMEDIATE", len("BEGIN"), func() (struct{}, error) {
			return struct{}{}, c.runTxStmt(ctx, &c.txStmts.begin, "BEGIN IMMEDIATE")
		})
		if err == nil {
			c.tx, c.txClaim, c.wrote = txWrite, true, !read
			return nil
		}
		c.unclaim()
		if !isReadOnly(err) {
			return err
		}
	}
	return c.beginRead(ctx, "BEGIN", "transaction")
}

// beginRead runs begin, a deferred BEGIN, for a transaction that only
// reads: without the lock in WAL mode, with the shared side otherwise. The
// read is open (for the checkpointer) until the transaction ends.
func (c *conn) beginRead(ctx context.Context, begin, what string) error {
	claimed := c.lockReads
	if claimed {
		if err := c.claim(ctx, rwlock.Shared, ""); err != nil {
			return err
		}
	}
	if _, err := c.sc.ExecContext(ctx, begin, nil); err != nil {
		if claimed {
			c.unclaim()
		}
		return err
	}
	c.tx, c.txClaim = txReadOnly, claimed
	if c.trackReads {
		c.readBegan(what)
		c.txRead = true
	}
	return nil
}

// txEnter does what a statement of a BeginTx transaction needs before it
// runs, in the states where it needs anything (conn.txFast says which);
// read says the statement only reads. It begins a pending transaction,
// notices a hand-over, and takes the lock again for a handed-over
// transaction's write.
func (c *conn) txEnter(ctx context.Context, read bool) error {
	if c.published {
		c.settleYield()
	}
	switch c.tx {
	case txPending:
		return c.txBegin(ctx, read)
	case txYielded:
		if c.yieldLost {
			return &SnapshotLostError{Path: c.file.key}
		}
		if read {
			return nil
		}
		if err := c.claim(ctx, rwlock.Exclusive, "transaction begun"); err != nil {
			return err
		}
		// Whether it now writes is SQLite's to say (txRun asks after).
		c.tx, c.txClaim, c.relocked = txWrite, true, true
	case txWrite:
		if !read {
			c.wrote = true
		}
	}
	return nil
}

// txLeave is called after a statement that txEnter let in: a transaction
// that holds the lock and has only read becomes idle, and may be handed
// over to a write of its own goroutine until its next statement.
func (c *conn) txLeave() {
	// handOver gives the lock back for the transaction's claim alone: not
	// while another claim shares it (a statement left active by Exec).
	if c.tx != txWrite || c.wrote || !c.wal || c.claims != 1 {
		return
	}
	c.yield.mu.Lock()
	c.yield.idle = true
	c.yield.gid.Store(goid.Key())
	c.yield.mu.Unlock()
	c.file.idleTx.Store(c)
	c.published = true
}

// settleYield ends the idle time txLeave began: after it no hand-over can
// happen until the next txLeave. If one happened, the connection takes note:
// the lock is no longer its own (handOver gave it back), and the
// transaction reads without it.
func (c *conn) settleYield() {
	c.published = false
	c.file.idleTx.CompareAndSwap(c, nil)
	c.yield.gid.Store(0)
	c.yield.mu.Lock()
	gave, lost := c.yield.gave, c.yield.lost
	c.yield.idle, c.yield.gave, c.yield.lost = false, false, false
	c.yield.mu.Unlock()
	if !gave {
		return
	}
	// handOver released the file's lock for this connection's only claim,
	// the transaction's.
	c.locked, c.claims, c.lockedBy = rwlock.None, 0, 0
	c.tx, c.txClaim, c.yieldLost = txYielded, false, lost
	if c.trackReads && !lost {
		c.openReads++ // handOver published the read's mark
		c.txRead = true
	}
}

// handOver gives up the write lock of h's idle transaction for a write of
// the goroutine gid, which waits for that lock, if h's transaction runs on
// gid and has only read. It runs on the waiting goroutine, under h's
// yield.mu, while h's goroutine is blocked in that very write; any other
// use of h waits for yield.mu (txEnter, the transaction's end, Close).
// It reports whether the lock was given up.
func (h *conn) handOver(gid uint64) bool {
	h.yield.mu.Lock()
	defer h.yield.mu.Unlock()
	if !h.yield.idle || h.yield.gid.Load() != gid {
		return false
	}
	// These statements are sqlite3-safe's own: on go-sqlite3 the
	// transaction simply reads on (own.go).
	ctx := context.Background()
	o := ownBegin(h.sc, h.exposed, hideAuthorizer|hideRollbackHook, len("PRAGMA data_version"), 0)
	defer ownEnd(o)
	before, err := queryString(ctx, h.sc, "PRAGMA data_version")
	if err != nil {
		return false
	}
	if _, err := h.sc.ExecContext(ctx, "ROLLBACK", nil); err != nil {
		return false // still immediate, still holding the lock: nothing changed
	}
	lost := true
	if _, err := h.sc.ExecContext(ctx, "BEGIN", nil); err == nil {
		after, err := queryString(ctx, h.sc, "PRAGMA data_version")
		lost = err != nil || after != before
	}
	h.yield.idle, h.yield.gave, h.yield.lost = false, true, lost
	h.yield.gid.Store(0)
	h.file.idleTx.CompareAndSwap(h, nil)
	if h.trackReads && !lost {
		// The transaction's snapshot is a read the checkpointer must know
		// of. h's goroutine reads the mark only after taking yield.mu.
		h.read.begin(h.file.clock.Load(), "transaction that gave its write lock to a write of its goroutine", "")
	}
	h.file.stats.handOvers.Add(1)
	// The lock goes back for h's transaction's claim; h notices in
	// settleYield and does not give it back again.
	h.file.owner.clear()
	h.file.sampleWAL()
	h.file.lock.ReleaseAs(rwlock.Exclusive, 0)
	return true
}

// tryHandOver is called by a write about to wait for c's file's write lock:
// if the lock's holder is an idle transaction of this goroutine that has
// only read, it is handed over. Cheap when nothing is idle: one atomic load.
func (c *conn) tryHandOver() {
	h := c.file.idleTx.Load()
	if h == nil || h == c {
		return
	}
	want := h.yield.gid.Load()
	if want == 0 || want != goid.Key() {
		return
	}
	h.handOver(want)
}

// SnapshotLostError is returned by the statements of a transaction that
// had only read and gave its write lock up to a write of its own goroutine
// through the pool, when its snapshot could not be kept because another
// process committed at that moment. It matches a [sqlite3.Error] with Code
// [sqlite3.ErrBusy] (extended code SQLITE_BUSY_SNAPSHOT) with errors.As,
// as the transaction's write would have failed on go-sqlite3. Roll the
// transaction back and run it again.
type SnapshotLostError struct {
	// Path is the database file.
	Path string
}

// Error says what happened and what to do.
func (e *SnapshotLostError) Error() string {
	return fmt.Sprintf("sqlite3-safe: transaction on %s lost its snapshot when it gave its write lock to a write "+
		"of its own goroutine through the pool (another process committed at that moment); roll it back and run it again",
		e.Path)
}

// Unwrap returns the [sqlite3.Error] SQLITE_BUSY_SNAPSHOT.
func (e *SnapshotLostError) Unwrap() error { return errBusySnapshot() }

// inBeginTx reports whether the connection is inside a BeginTx
// transaction, begun or not.
func (c *conn) inBeginTx() bool { return c.tx != txNone && c.tx != txManual }

// txFast reports whether a statement of the connection's BeginTx
// transaction needs nothing from sqlite3-safe: a read-only transaction's,
// and a write transaction's once it has written (it holds the lock and
// can no longer be handed over).
func (c *conn) txFast() bool { return c.tx == txReadOnly || c.tx == txWrite && c.wrote }

// txRun runs a statement of the connection's BeginTx transaction that
// txFast did not let through, between txEnter and txLeave; read says it
// only reads.
func txRun[T any](ctx context.Context, c *conn, read bool, run func() (T, error)) (T, error) {
	if err := c.txEnter(ctx, read); err != nil {
		var zero T
		return zero, err
	}
	res, err := run()
	if c.tx == txWrite && (err != nil || c.relocked) {
		c.txCheckWriting()
	}
	c.txLeave()
	return res, err
}

// txCheckWriting is called after a statement that failed, or that a
// handed-over transaction ran with the lock taken again. If SQLite holds
// no write transaction now, the statement took none (a write that met
// SQLITE_BUSY_SNAPSHOT or did not compile, a SAVEPOINT) or an error ended
// the transaction: the transaction has nothing to guard and gives the lock
// back, reading without it as a handed-over transaction does, as on
// go-sqlite3, where such a transaction holds no write lock either.
func (c *conn) txCheckWriting() {
	relocked := c.relocked
	c.relocked = false
	if c.sqliteWriting() {
		c.wrote = c.wrote || relocked
		return
	}
	c.txClaim = false
	c.unclaim()
	c.tx = txYielded
}

// sqliteWriting reports whether SQLite's transaction on c holds SQLite's
// write lock on any of its databases (sqlite3_txn_state, read by
// txnState; true when the handle cannot be read, which keeps what c holds).
func (c *conn) sqliteWriting() bool { return c.txnState() == txnWrite }
