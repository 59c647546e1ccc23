package sqlite3safe

import (
	"bytes"
	"container/list"
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Lock order, for the whole package:
//
//	registry.mu  →  rwLock.mu
//	holder.mu is taken alone.
//
// Nothing holds an rwLock.mu while it takes registry.mu, and no goroutine
// holds either while it calls into SQLite. A checkpointer is stopped (and
// waited for) after registry.mu is released. The rwLock itself (the write lock
// users see) is not a mutex in that sense: it is held across SQLite calls, by
// a connection, and released by that connection on every path (see
// interceptor.go, which is the only code that takes and releases it).

// lockMode is what a connection holds of a file's rwLock.
type lockMode uint8

const (
	lockNone      lockMode = iota
	lockShared             // readers, on databases that are not WAL (in-memory, shared cache)
	lockExclusive          // the one writer
)

// rwLock is a reader/writer lock whose waits honour a context and a
// timeout. In WAL mode only the exclusive side is used: it is the per-file
// write lock. In non-WAL mode readers take the shared side.
//
// Who goes first:
//   - A read asked for by a goroutine that already holds the shared side
//     (the N+1 pattern: its rows are open and it runs one more query per
//     row) is granted at once, even if writers are queued. Such a read must
//     never wait for a writer that is itself waiting for that goroutine's
//     rows to close: the wait could only end in the lock timeout. Holders
//     are known by goroutine (see acquireAs); a read that takes the shared
//     side on behalf of another goroutine's open rows (rows handed to
//     worker goroutines, one per row) is not recognised and queues.
//   - Fairness is bounded, not strict, as in sync.Mutex. A request that
//     finds the lock free may take it even if others are queued (so one
//     writer can commit back to back without a goroutine switch per
//     commit), but once the first queued request has waited longer than
//     starveAfter (1 ms), the lock is handed to queued requests in arrival
//     order, and nothing arriving later takes it first. A release wakes the
//     first queued request; if it finds the lock taken by a later arrival,
//     it waits on, and is served once its wait passes starveAfter. So no
//     request waits more than starveAfter plus the holds that began before
//     it crossed that bound, and no writer starves.
//
// What remains for a writer: it waits for the readers that hold the shared
// side when it arrives, and for the nested reads those same goroutines run
// before they close their rows; a goroutine that keeps its rows open and
// keeps reading holds it off for as long as it does so, up to the writer's
// lock timeout (then ErrLockTimeout).
//
// Background holds: the checkpointer takes the exclusive side as a
// background holder. Time the lock spends held by a background holder does
// not count against a waiter's timeout: a writer that meets a checkpoint
// waits for it whatever its lock timeout (zero included), and then for
// other writers as its timeout allows. Background work thus never makes a
// statement fail; the checkpointer bounds its own holds instead.
//
// A bounded queue: a request may carry a bound (maxWaiters); if that many
// requests already wait, it fails at once with errQueueFull.
//
// An rwLock is safe for concurrent use by multiple goroutines. It is not
// re-entrant: a goroutine that holds it and asks again waits for itself,
// which ends in the lock timeout, never in a hang.
type rwLock struct {
	mu      sync.Mutex     // guards following fields
	writer  bool           // the exclusive side is held
	readers int            // holders of the shared side
	readBy  map[uint64]int // goroutine id -> shared holds it took (acquireAs); lazily made
	waiters list.List      // of *lockWaiter, in arrival order
	bg      bool           // the exclusive side is held by a background holder
	bgSince time.Time      // when the current background hold began
	bgTotal time.Duration  // background holds that ended, summed

	stats lockStats // atomics; no lock needed
}

// lockReq is one request for the lock.
type lockReq struct {
	mode       lockMode
	gid        uint64 // the goroutine asking (goroutineID), or 0 when unknown
	bg         bool   // a background request (the checkpointer)
	maxWaiters int    // fail at once if this many already wait; 0 = no bound
}

// lockWaiter is one queued request. ready is closed, under rwLock.mu, when
// the request is granted; after that the waiter owns the lock.
type lockWaiter struct {
	lockReq
	since time.Time     // when it queued
	ready chan struct{} // closed when granted (handed the lock)
	wake  chan struct{} // cap 1: the lock was given back; look again
}

// lockStats counts what the lock did. Fields are updated with atomics.
type lockStats struct {
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
// is handed to queued requests in arrival order (see rwLock).
const starveAfter = time.Millisecond

// grantableLocked reports whether a new request for mode by goroutine gid
// (0: unknown) may be granted now, without queueing: it is compatible with
// what is held, and nobody is queued, or the first queued request has not
// waited past starveAfter, or it is a read by a goroutine that already
// holds the shared side. l.mu must be held.
func (l *rwLock) grantableLocked(mode lockMode, gid uint64) bool {
	if !l.compatibleLocked(mode) {
		return false
	}
	return l.waiters.Len() == 0 || !l.starvingLocked(time.Now()) ||
		(mode == lockShared && gid != 0 && l.readBy[gid] > 0)
}

// starvingLocked reports whether the first queued request has waited past
// starveAfter. l.mu must be held.
func (l *rwLock) starvingLocked(now time.Time) bool {
	e := l.waiters.Front()
	return e != nil && now.Sub(e.Value.(*lockWaiter).since) > starveAfter
}

// compatibleLocked reports whether a request for mode could be granted now,
// ignoring the queue. l.mu must be held.
func (l *rwLock) compatibleLocked(mode lockMode) bool {
	if mode == lockExclusive {
		return !l.writer && l.readers == 0
	}
	return !l.writer
}

func (l *rwLock) grantLocked(r lockReq) {
	if r.mode == lockExclusive {
		l.writer = true
		if r.bg {
			l.bg, l.bgSince = true, time.Now()
		}
		return
	}
	l.readers++
	if r.gid != 0 {
		if l.readBy == nil {
			l.readBy = map[uint64]int{}
		}
		l.readBy[r.gid]++
	}
}

// bgClockLocked is the total time the lock has been held by background
// holders, the current hold included. l.mu must be held. A waiter reads it
// when it queues and when its timer fires; the difference is what its
// timeout does not count.
func (l *rwLock) bgClockLocked(now time.Time) time.Duration {
	if l.bg {
		return l.bgTotal + now.Sub(l.bgSince)
	}
	return l.bgTotal
}

// tryAcquire takes the lock in mode if that is possible without waiting
// (see grantableLocked). It never blocks.
func (l *rwLock) tryAcquire(mode lockMode) bool { return l.tryAcquireReq(lockReq{mode: mode}) }

// tryAcquireAs is tryAcquire on behalf of goroutine gid.
func (l *rwLock) tryAcquireAs(mode lockMode, gid uint64) bool {
	return l.tryAcquireReq(lockReq{mode: mode, gid: gid})
}

func (l *rwLock) tryAcquireReq(r lockReq) bool {
	l.mu.Lock()
	ok := l.grantableLocked(r.mode, r.gid)
	if ok {
		l.grantLocked(r)
	}
	l.mu.Unlock()
	if ok {
		l.stats.acquired.Add(1)
	}
	return ok
}

// acquire takes the lock in mode for a foreground holder; see acquireReq.
func (l *rwLock) acquire(ctx context.Context, mode lockMode, timeout time.Duration) (waited time.Duration, err error) {
	waited, _, err = l.acquireReq(ctx, lockReq{mode: mode}, timeout)
	return waited, err
}

// acquireAs is acquire on behalf of goroutine gid (goroutineID; 0 when
// unknown), which must then give the hold back with releaseAs(mode, gid).
// A read by a goroutine that already holds the shared side never queues.
func (l *rwLock) acquireAs(ctx context.Context, mode lockMode, gid uint64, timeout time.Duration) (waited time.Duration, err error) {
	waited, _, err = l.acquireReq(ctx, lockReq{mode: mode, gid: gid}, timeout)
	return waited, err
}

// acquireReq takes the lock for r, waiting in arrival order (but see
// rwLock for readers joining readers). It returns a nil error once the
// lock is held; the caller must then call releaseAs(r.mode, r.gid) exactly
// once. waited is how long it queued (zero on the fast path), and
// behindBG how much of that the lock was held by background holders.
//
// It blocks until the lock is granted, ctx is done, or timeout passes
// (timeout <= 0 means do not wait for other holders). Time the lock is held
// by a background holder does not count against timeout: a request meets a
// checkpoint's hold and waits it out whatever its timeout. On failure it
// returns ctx.Err(), errTimedOut or errQueueFull and leaves the lock
// unchanged: a grant that raced with the failure is handed on to the next
// waiter.
func (l *rwLock) acquireReq(ctx context.Context, r lockReq, timeout time.Duration) (waited, behindBG time.Duration, err error) {
	if l.tryAcquireReq(r) {
		return 0, 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}

	start := time.Now()
	l.mu.Lock()
	// Re-check under the lock: the holder may have released since tryAcquire.
	if l.grantableLocked(r.mode, r.gid) {
		l.grantLocked(r)
		l.mu.Unlock()
		l.stats.acquired.Add(1)
		return 0, 0, nil
	}
	if timeout <= 0 && !l.bg {
		// Held by a foreground holder: a zero timeout does not wait.
		l.mu.Unlock()
		l.stats.timeouts.Add(1)
		return 0, 0, errTimedOut
	}
	if r.maxWaiters > 0 && l.waiters.Len() >= r.maxWaiters {
		l.mu.Unlock()
		l.stats.rejected.Add(1)
		return 0, 0, errQueueFull
	}
	bgMark := l.bgClockLocked(start)
	w := &lockWaiter{lockReq: r, since: start, ready: make(chan struct{}), wake: make(chan struct{}, 1)}
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
			if l.compatibleLocked(r.mode) && l.waiters.Front() == elem {
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
				err = errTimedOut
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
			// (release wakes whoever is next).
			l.mu.Unlock()
			l.releaseAs(r.mode, r.gid)
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
		if err == errTimedOut {
			l.stats.timeouts.Add(1)
		}
	} else {
		l.mu.Unlock()
		l.stats.acquired.Add(1)
	}
	waited = end.Sub(start)
	l.recordWait(waited)
	if behindBG > 0 && !r.bg {
		l.stats.bgWaits.Add(1)
		storeMax(&l.stats.bgWaitMax, int64(behindBG))
	}
	return waited, behindBG, err
}

// queue returns how many requests wait for the lock and how long the
// oldest of them has waited.
func (l *rwLock) queue() (n int, oldest time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.waiters.Front(); e != nil {
		oldest = time.Since(e.Value.(*lockWaiter).since)
	}
	return l.waiters.Len(), oldest
}

// bgPoll is how often a waiter whose timeout has run out looks again while
// a background holder still has the lock (the release wakes it sooner if it
// is next in line).
const bgPoll = 5 * time.Millisecond

func (l *rwLock) recordWait(d time.Duration) {
	l.stats.waits.Add(1)
	l.stats.waitNanos.Add(int64(d))
	storeMax(&l.stats.maxWait, int64(d))
}

// release gives back one hold of mode. Releasing what is not held is a
// programming error in this package and panics.
func (l *rwLock) release(mode lockMode) { l.releaseAs(mode, 0) }

// releaseAs gives back one hold of mode taken by acquireAs for gid; any
// goroutine may call it.
func (l *rwLock) releaseAs(mode lockMode, gid uint64) {
	l.mu.Lock()
	switch {
	case mode == lockExclusive && l.writer:
		l.writer = false
		if l.bg {
			l.bgTotal += time.Since(l.bgSince)
			l.bg = false
		}
	case mode == lockShared && l.readers > 0 && (gid == 0 || l.readBy[gid] > 0):
		l.readers--
		if gid != 0 {
			if l.readBy[gid]--; l.readBy[gid] == 0 {
				delete(l.readBy, gid)
			}
		}
	default:
		l.mu.Unlock()
		panic("sqlite3-safe: rwLock released more than held")
	}
	l.wakeLocked()
	l.mu.Unlock()
}

// wakeLocked serves the queue after the lock was given back (or a queued
// request left). If the first queued request has waited past starveAfter,
// it grants queued requests from the front, in order, while they are
// compatible with what is held (a hand-off: nobody can take the lock
// first). Otherwise it wakes the first queued request, compatible with
// what is held, to take the lock itself, which a later arrival may do
// first. l.mu must be held.
func (l *rwLock) wakeLocked() {
	e := l.waiters.Front()
	if e == nil || !l.compatibleLocked(e.Value.(*lockWaiter).mode) {
		return
	}
	if !l.starvingLocked(time.Now()) {
		select {
		case e.Value.(*lockWaiter).wake <- struct{}{}:
		default:
		}
		return
	}
	for ; e != nil; e = l.waiters.Front() {
		w := e.Value.(*lockWaiter)
		if !l.compatibleLocked(w.mode) {
			return
		}
		l.grantLocked(w.lockReq)
		l.waiters.Remove(e)
		close(w.ready)
	}
}

// goroutineID returns the calling goroutine's id, read from the first line
// of its stack trace ("goroutine 123 [running]:"), or 0 if that fails. It
// costs about a microsecond; only reads on databases where readers take
// the lock call it.
func goroutineID() uint64 {
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

// registry is the per-file lock registry: one fileState per database
// file per process, shared by every *sql.DB, connector and connection that
// opens the file, and dropped when the last connection closes.
//
// "One file" is file identity, not path spelling: canonicalPath folds
// relative paths, file: URIs and symlinks, but not the case-changed names
// of a case-insensitive file system (macOS and Windows by default) or hard
// links. So an entry is found by canonical path first (a map lookup), and
// on a miss by comparing the file's identity (os.SameFile on os.Stat
// results, which open no descriptor) with every entry's; a hit makes the
// new path an alias of the entry.
type registry struct {
	mu    sync.Mutex            // guards files and every fileState's refs, ckpt, id and aliases
	files map[string]*fileState // canonical path (or memory key) -> state; several paths may share a state
}

// sameFile reports whether two os.Stat results are one file; tests replace
// it to stand for a case-insensitive file system.
var sameFile = os.SameFile

// files is the process-wide registry. With the driver registration in
// database/sql, it is the package's only global mutable state.
var files = registry{files: make(map[string]*fileState)}

// fileState is what the process shares about one database file.
type fileState struct {
	key          string // canonical path the first connection used, or "memory:<name>"; immutable. For messages, Stats and the -wal's name
	lock         rwLock
	holder       holder                // who holds lock's exclusive side, when debug is on
	reads        readTracker           // connections with their open reads (reads.go)
	pin          pinState              // whether reads pin the WAL, since when (reads.go)
	brake        atomic.Pointer[brake] // non-nil while writers wait for a checkpoint (WAL over its limit)
	wake         chan struct{}         // cap 1: wakes the checkpointer early; made with the entry
	noBrakeUntil atomic.Int64          // unix nanoseconds: writers do not brake before then
	pinned       atomic.Bool           // a read pins the WAL: writers do not brake
	walLimit     atomic.Int64          // the checkpointer's WAL limit, for Stats; 0 without one
	writes       atomic.Int64          // write-lock releases, for sampling the WAL (conn.sampleWAL)
	stats        fileStats             // checkpoint and WAL counters

	// guarded by registry.mu
	refs    int           // open connections using this entry
	ckpt    *checkpointer // the file's checkpointer, if one runs
	id      os.FileInfo   // the file's identity when the entry was made; nil: unknown (in-memory, or os.Stat failed)
	aliases []string      // registry keys naming this entry, key first
}

// acquire returns the entry for the file at key, whose identity is id
// (nil if unknown), creating it, and counts one more reference. Each call
// must be matched by one call to release. If start is not nil and no
// checkpointer runs for the file, start starts one.
//
// The entry under key is the file's unless the identities differ: then the
// file was replaced (deleted and created again) while connections to the
// old one stay open, and the new file gets an entry of its own, which
// takes over key. A key not in the map is matched by identity against the
// entries there, so that another spelling of an open file joins its entry.
func (r *registry) acquire(key string, id os.FileInfo, start func(*fileState) *checkpointer) *fileState {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.files[key]
	if f != nil && id != nil && f.id != nil && !sameFile(f.id, id) {
		f = nil // replaced
	}
	if f == nil && id != nil {
		for _, e := range r.files {
			if e.id != nil && sameFile(e.id, id) {
				f = e
				f.aliases = append(f.aliases, key)
				r.files[key] = f
				break
			}
		}
	}
	if f == nil {
		f = &fileState{key: key, wake: make(chan struct{}, 1), id: id, aliases: []string{key}}
		r.files[key] = f
	}
	f.refs++
	if start != nil && f.ckpt == nil {
		f.ckpt = start(f)
	}
	return f
}

// release drops one reference to f. With none left, it forgets f (every
// key still naming it) and stops f's checkpointer, waiting for it, after
// letting go of r.mu.
func (r *registry) release(f *fileState) {
	r.mu.Lock()
	f.refs--
	var ckpt *checkpointer
	if f.refs == 0 {
		for _, k := range f.aliases {
			if r.files[k] == f {
				delete(r.files, k)
			}
		}
		ckpt, f.ckpt = f.ckpt, nil
	}
	r.mu.Unlock()
	if ckpt != nil {
		ckpt.stop()
	}
}

// lookup returns the entry for key without taking a reference, or nil.
func (r *registry) lookup(key string) *fileState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.files[key]
}
