// Package rwlock is sqlite3-safe's per-file lock: a reader/writer lock
// whose waits honour a context and a timeout, with bounded barging, a
// bounded queue, reads that join reads their own goroutine already holds,
// and background holds that do not count against a waiter's timeout.
package rwlock

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTimedOut is what a wait returns when its timeout passes.
var ErrTimedOut = errors.New("sqlite3-safe: lock wait timed out")

// ErrQueueFull is what a request with a bound (Request.MaxWaiters) returns
// when that many requests already wait.
var ErrQueueFull = errors.New("sqlite3-safe: lock queue full")

// Mode is a side of the lock: what a request asks for, or a holder holds.
type Mode uint8

const (
	None      Mode = iota // nothing held
	Shared                // readers, on databases that are not WAL (in-memory, shared cache)
	Exclusive             // the one writer
)

// Lock is a reader/writer lock whose waits honour a context and a
// timeout. sqlite3-safe has one per database file: in WAL mode only the
// exclusive side is used, as the file's write lock; in non-WAL mode readers
// take the shared side.
//
// Who goes first:
//   - A read asked for by a goroutine that already holds the shared side
//     (the N+1 pattern: its rows are open and it runs one more query per
//     row) is granted at once, even if writers are queued. Such a read must
//     never wait for a writer that is itself waiting for that goroutine's
//     rows to close: the wait could only end in the lock timeout. Holders
//     are known by goroutine (see AcquireAs); a read that takes the shared
//     side on behalf of another goroutine's open rows (rows handed to
//     worker goroutines, one per row) is not recognised and queues.
//   - Fairness is bounded, not strict, as in sync.Mutex. A request that
//     finds the lock free may take it even if others are queued (so one
//     writer can commit back to back without a goroutine switch per
//     commit), but once the first queued request has waited longer than
//     starveAfter (1 ms), the lock is handed to queued requests in arrival
//     order, and nothing arriving later takes it first. A Release wakes the
//     first queued request; if it finds the lock taken by a later arrival,
//     it waits on, and is served once its wait passes starveAfter. So no
//     request waits more than starveAfter plus the holds that began before
//     it crossed that bound, and no writer starves.
//
// What remains for a writer: it waits for the readers that hold the shared
// side when it arrives, and for the nested reads those same goroutines run
// before they close their rows; a goroutine that keeps its rows open and
// keeps reading holds it off for as long as it does so, up to the writer's
// lock timeout (then ErrTimedOut).
//
// Background holds: a Request with Background set (sqlite3-safe's
// checkpointer) takes the exclusive side as a background holder. Time the
// lock spends held by a background holder does not count against a
// waiter's timeout: a writer that meets a checkpoint waits for it whatever
// its lock timeout (zero included), and then for other writers as its
// timeout allows. Background work thus never makes a statement fail; the
// checkpointer bounds its own holds instead.
//
// A bounded queue: a request may carry a bound (Request.MaxWaiters); if
// that many requests already wait, it fails at once with ErrQueueFull.
//
// A Lock is safe for concurrent use by multiple goroutines. It is not
// re-entrant: a goroutine that holds it and asks again waits for itself,
// which ends in the lock timeout, never in a hang.
type Lock struct {
	mu      sync.Mutex     // guards following fields
	writer  bool           // the exclusive side is held
	readers int            // holders of the shared side
	readBy  map[uint64]int // goroutine id -> shared holds it took (AcquireAs); lazily made
	waiters list.List      // of *waiter, in arrival order
	bg      bool           // the exclusive side is held by a background holder
	bgSince time.Time      // when the current background hold began
	bgTotal time.Duration  // background holds that ended, summed

	stats counters // atomics; no lock needed
}

// Request is one request for the lock.
type Request struct {
	Mode       Mode
	GID        uint64 // the goroutine asking (GoroutineID), or 0 when unknown
	Background bool   // a background request (the checkpointer)
	MaxWaiters int    // fail at once if this many already wait; 0 = no bound
}

// waiter is one queued request. ready is closed, under Lock.mu, when
// the request is granted; after that the waiter owns the lock.
type waiter struct {
	Request
	since time.Time     // when it queued
	ready chan struct{} // closed when granted (handed the lock)
	wake  chan struct{} // cap 1: the lock was given back; look again
}

// counters counts what the lock did. Fields are updated with atomics.
type counters struct {
	acquired  atomic.Int64 // grants of either side
	waits     atomic.Int64 // grants or failures that had to queue
	waitNanos atomic.Int64 // total time spent queued
	maxWait   atomic.Int64 // longest single queueing, in nanoseconds
	timeouts  atomic.Int64 // waits that ran out of lock timeout
	rejected  atomic.Int64 // requests refused at once because the queue was full
	bgWaits   atomic.Int64 // waits (of foreground requests) that met a background hold
	bgWaitMax atomic.Int64 // longest part of one wait spent behind background holds, in nanoseconds
}

// starveAfter is how long the first queued request waits before the lock
// is handed to queued requests in arrival order (see Lock).
const starveAfter = time.Millisecond

// grantableLocked reports whether a new request for mode by goroutine gid
// (0: unknown) may be granted now, without queueing: it is compatible with
// what is held, and nobody is queued, or the first queued request has not
// waited past starveAfter, or it is a read by a goroutine that already
// holds the shared side. l.mu must be held.
func (l *Lock) grantableLocked(mode Mode, gid uint64) bool {
	if !l.compatibleLocked(mode) {
		return false
	}
	return l.waiters.Len() == 0 || !l.starvingLocked(time.Now()) ||
		(mode == Shared && gid != 0 && l.readBy[gid] > 0)
}

// starvingLocked reports whether the first queued request has waited past
// starveAfter. l.mu must be held.
func (l *Lock) starvingLocked(now time.Time) bool {
	e := l.waiters.Front()
	return e != nil && now.Sub(e.Value.(*waiter).since) > starveAfter
}

// compatibleLocked reports whether a request for mode could be granted now,
// ignoring the queue. l.mu must be held.
func (l *Lock) compatibleLocked(mode Mode) bool {
	if mode == Exclusive {
		return !l.writer && l.readers == 0
	}
	return !l.writer
}

func (l *Lock) grantLocked(r Request) {
	if r.Mode == Exclusive {
		l.writer = true
		if r.Background {
			l.bg, l.bgSince = true, time.Now()
		}
		return
	}
	l.readers++
	if r.GID != 0 {
		if l.readBy == nil {
			l.readBy = map[uint64]int{}
		}
		l.readBy[r.GID]++
	}
}

// bgClockLocked is the total time the lock has been held by background
// holders, the current hold included. l.mu must be held. A waiter reads it
// when it queues and when its timer fires; the difference is what its
// timeout does not count.
func (l *Lock) bgClockLocked(now time.Time) time.Duration {
	if l.bg {
		return l.bgTotal + now.Sub(l.bgSince)
	}
	return l.bgTotal
}

// TryAcquire takes the lock in mode if that is possible without waiting
// (see grantableLocked). It never blocks.
func (l *Lock) TryAcquire(mode Mode) bool { return l.TryAcquireReq(Request{Mode: mode}) }

// TryAcquireAs is TryAcquire on behalf of goroutine gid.
func (l *Lock) TryAcquireAs(mode Mode, gid uint64) bool {
	return l.TryAcquireReq(Request{Mode: mode, GID: gid})
}

// TryAcquireReq is TryAcquire for r.
func (l *Lock) TryAcquireReq(r Request) bool {
	l.mu.Lock()
	ok := l.grantableLocked(r.Mode, r.GID)
	if ok {
		l.grantLocked(r)
	}
	l.mu.Unlock()
	if ok {
		l.stats.acquired.Add(1)
	}
	return ok
}

// Acquire takes the lock in mode for a foreground holder; see AcquireReq.
func (l *Lock) Acquire(ctx context.Context, mode Mode, timeout time.Duration) (waited time.Duration, err error) {
	waited, _, err = l.AcquireReq(ctx, Request{Mode: mode}, timeout)
	return waited, err
}

// AcquireAs is Acquire on behalf of goroutine gid (GoroutineID; 0 when
// unknown), which must then give the hold back with ReleaseAs(mode, gid).
// A read by a goroutine that already holds the shared side never queues.
func (l *Lock) AcquireAs(ctx context.Context, mode Mode, gid uint64, timeout time.Duration) (waited time.Duration, err error) {
	waited, _, err = l.AcquireReq(ctx, Request{Mode: mode, GID: gid}, timeout)
	return waited, err
}

// AcquireReq takes the lock for r, waiting in arrival order (but see
// Lock for readers joining readers). It returns a nil error once the
// lock is held; the caller must then call ReleaseAs(r.Mode, r.GID) exactly
// once. waited is how long it queued (zero on the fast path), and
// behindBG how much of that the lock was held by background holders.
//
// It blocks until the lock is granted, ctx is done, or timeout passes
// (timeout <= 0 means do not wait for other holders). Time the lock is held
// by a background holder does not count against timeout: a request meets a
// checkpoint's hold and waits it out whatever its timeout. On failure it
// returns ctx.Err(), ErrTimedOut or ErrQueueFull and leaves the lock
// unchanged: a grant that raced with the failure is handed on to the next
// waiter.
func (l *Lock) AcquireReq(ctx context.Context, r Request, timeout time.Duration) (waited, behindBG time.Duration, err error) {
	if l.TryAcquireReq(r) {
		return 0, 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}

	start := time.Now()
	l.mu.Lock()
	// Re-check under the lock: the holder may have released since TryAcquire.
	if l.grantableLocked(r.Mode, r.GID) {
		l.grantLocked(r)
		l.mu.Unlock()
		l.stats.acquired.Add(1)
		return 0, 0, nil
	}
	if timeout <= 0 && !l.bg {
		// Held by a foreground holder: a zero timeout does not wait.
		l.mu.Unlock()
		l.stats.timeouts.Add(1)
		return 0, 0, ErrTimedOut
	}
	if r.MaxWaiters > 0 && l.waiters.Len() >= r.MaxWaiters {
		l.mu.Unlock()
		l.stats.rejected.Add(1)
		return 0, 0, ErrQueueFull
	}
	bgMark := l.bgClockLocked(start)
	w := &waiter{Request: r, since: start, ready: make(chan struct{}), wake: make(chan struct{}, 1)}
	elem := l.waiters.PushBack(w)
	l.mu.Unlock()

	timer := time.NewTimer(max(timeout, bgPoll))
	defer timer.Stop()
wait:
	for {
		select {
		case <-w.ready:
			break wait
		case <-w.wake:
			// The lock was given back without being handed to us: take it
			// if it is still free (a later arrival may have taken it).
			l.mu.Lock()
			if l.compatibleLocked(r.Mode) && l.waiters.Front() == elem {
				l.grantLocked(r)
				l.waiters.Remove(elem)
				close(w.ready)
				l.wakeLocked() // the next one may be compatible too (readers)
				l.mu.Unlock()
				break wait
			}
			l.mu.Unlock()
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		case now := <-timer.C:
			// The timeout counts only time outside background holds.
			l.mu.Lock()
			counted := now.Sub(start) - (l.bgClockLocked(now) - bgMark)
			held := l.bg
			l.mu.Unlock()
			switch {
			case held:
				timer.Reset(max(timeout-counted, bgPoll))
			case counted < timeout:
				timer.Reset(timeout - counted)
			default:
				err = ErrTimedOut
				break wait
			}
		}
	}
	end := time.Now()
	l.mu.Lock()
	behindBG = l.bgClockLocked(end) - bgMark
	if err != nil {
		select {
		case <-w.ready:
			// Granted while we were giving up: we hold it, so give it back
			// (Release wakes whoever is next).
			l.mu.Unlock()
			l.ReleaseAs(r.Mode, r.GID)
		default:
			wasFront := l.waiters.Front() == elem
			l.waiters.Remove(elem)
			// A queued writer at the front holds back readers behind it;
			// with it gone they may be grantable now.
			if wasFront {
				l.wakeLocked()
			}
			l.mu.Unlock()
		}
		if err == ErrTimedOut {
			l.stats.timeouts.Add(1)
		}
	} else {
		l.mu.Unlock()
		l.stats.acquired.Add(1)
	}
	waited = end.Sub(start)
	l.recordWait(waited)
	if behindBG > 0 && !r.Background {
		l.stats.bgWaits.Add(1)
		storeMax(&l.stats.bgWaitMax, int64(behindBG))
	}
	return waited, behindBG, err
}

// queue returns how many requests wait for the lock and how long the
// oldest of them has waited.
func (l *Lock) Queue() (n int, oldest time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.waiters.Front(); e != nil {
		oldest = time.Since(e.Value.(*waiter).since)
	}
	return l.waiters.Len(), oldest
}

// bgPoll is how often a waiter whose timeout has run out looks again while
// a background holder still has the lock (the Release wakes it sooner if it
// is next in line).
const bgPoll = 5 * time.Millisecond

func (l *Lock) recordWait(d time.Duration) {
	l.stats.waits.Add(1)
	l.stats.waitNanos.Add(int64(d))
	storeMax(&l.stats.maxWait, int64(d))
}

// Release gives back one hold of mode. Releasing what is not held is a
// programming error in this package and panics.
func (l *Lock) Release(mode Mode) { l.ReleaseAs(mode, 0) }

// ReleaseAs gives back one hold of mode taken by AcquireAs for gid; any
// goroutine may call it.
func (l *Lock) ReleaseAs(mode Mode, gid uint64) {
	l.mu.Lock()
	switch {
	case mode == Exclusive && l.writer:
		l.writer = false
		if l.bg {
			l.bgTotal += time.Since(l.bgSince)
			l.bg = false
		}
	case mode == Shared && l.readers > 0 && (gid == 0 || l.readBy[gid] > 0):
		l.readers--
		if gid != 0 {
			if l.readBy[gid]--; l.readBy[gid] == 0 {
				delete(l.readBy, gid)
			}
		}
	default:
		l.mu.Unlock()
		panic("sqlite3-safe: lock released more than held")
	}
	handedOff := l.wakeLocked()
	convoy := handedOff && l.waiters.Len() >= yieldQueue
	l.mu.Unlock()
	if convoy {
		// The lock now belongs to a parked waiter, with a convoy behind
		// it: let it run at once rather than when this goroutine next
		// blocks (sync.Mutex yields the same way when it hands itself over
		// in starvation mode). With a short queue the yield costs more
		// than it saves: it sends this goroutine to the back of the
		// scheduler's global queue, behind every runnable reader.
		runtime.Gosched()
	}
}

// yieldQueue is how many requests must still be queued after a hand-over
// for the releasing goroutine to yield to the new owner.
const yieldQueue = 4

// wakeLocked serves the queue after the lock was given back (or a queued
// request left). If the first queued request has waited past starveAfter,
// it grants queued requests from the front, in order, while they are
// compatible with what is held (a hand-off: nobody can take the lock
// first). Otherwise it wakes the first queued request, compatible with
// what is held, to take the lock itself, which a later arrival may do
// first. l.mu must be held.
func (l *Lock) wakeLocked() (handedOff bool) {
	e := l.waiters.Front()
	if e == nil || !l.compatibleLocked(e.Value.(*waiter).Mode) {
		return false
	}
	if !l.starvingLocked(time.Now()) {
		select {
		case e.Value.(*waiter).wake <- struct{}{}:
		default:
		}
		return false
	}
	for ; e != nil; e = l.waiters.Front() {
		w := e.Value.(*waiter)
		if !l.compatibleLocked(w.Mode) {
			break
		}
		l.grantLocked(w.Request)
		l.waiters.Remove(e)
		close(w.ready)
		handedOff = true
	}
	return handedOff
}

// GoroutineID returns the calling goroutine's id, read from the first line
// of its stack trace ("goroutine 123 [running]:"), or 0 if that fails. It
// costs about a microsecond; only reads on databases where readers take
// the lock call it.
func GoroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b, ok := bytes.CutPrefix(b, []byte("goroutine "))
	if !ok {
		return 0
	}
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// Stats is what a Lock has done since it was made.
type Stats struct {
	Acquired          int64         // grants of either side
	Waits             int64         // grants or failures that had to queue
	WaitTotal         time.Duration // total time spent queued
	WaitMax           time.Duration // longest single queueing
	Timeouts          int64         // waits that ran out of timeout
	Rejected          int64         // requests refused at once because the queue was full
	BackgroundWaits   int64         // waits of foreground requests that met a background hold
	BackgroundWaitMax time.Duration // longest part of one wait spent behind background holds
}

// Stats returns the lock's counters.
func (l *Lock) Stats() Stats {
	c := &l.stats
	return Stats{
		Acquired:          c.acquired.Load(),
		Waits:             c.waits.Load(),
		WaitTotal:         time.Duration(c.waitNanos.Load()),
		WaitMax:           time.Duration(c.maxWait.Load()),
		Timeouts:          c.timeouts.Load(),
		Rejected:          c.rejected.Load(),
		BackgroundWaits:   c.bgWaits.Load(),
		BackgroundWaitMax: time.Duration(c.bgWaitMax.Load()),
	}
}

// storeMax raises a to n if n is larger.
func storeMax(a *atomic.Int64, n int64) {
	for old := a.Load(); n > old && !a.CompareAndSwap(old, n); old = a.Load() {
	}
}
