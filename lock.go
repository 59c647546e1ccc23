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
//   - Every other request that cannot be granted at once joins a FIFO queue
//     and is never granted ahead of an earlier one still queued: a stream
//     of new readers cannot starve a writer, a queued writer goes before
//     later readers, and no writer overtakes another.
//
// What remains for a writer: it waits for the readers that hold the shared
// side when it arrives, and for the nested reads those same goroutines run
// before they close their rows; a goroutine that keeps its rows open and
// keeps reading holds it off for as long as it does so, up to the writer's
// lock timeout (then ErrLockTimeout).
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

	stats lockStats // atomics; no lock needed
}

// lockWaiter is one queued request. ready is closed, under rwLock.mu, when
// the request is granted; after that the waiter owns the lock.
type lockWaiter struct {
	mode  lockMode
	gid   uint64        // the goroutine asking (acquireAs), or 0
	ready chan struct{} // closed when granted
}

// lockStats counts what the lock did. Fields are updated with atomics.
type lockStats struct {
	acquired  atomic.Int64 // grants of either side
	waits     atomic.Int64 // grants or failures that had to queue
	waitNanos atomic.Int64 // total time spent queued
	maxWait   atomic.Int64 // longest single queueing, in nanoseconds
	timeouts  atomic.Int64 // waits that ran out of lock timeout
}

// grantableLocked reports whether a new request for mode by goroutine gid
// (0: unknown) may be granted now, without queueing: it is compatible with
// what is held, and either nobody is queued or it is a read by a goroutine
// that already holds the shared side. l.mu must be held.
func (l *rwLock) grantableLocked(mode lockMode, gid uint64) bool {
	if !l.compatibleLocked(mode) {
		return false
	}
	return l.waiters.Len() == 0 || (mode == lockShared && gid != 0 && l.readBy[gid] > 0)
}

// compatibleLocked reports whether a request for mode could be granted now,
// ignoring the queue. l.mu must be held.
func (l *rwLock) compatibleLocked(mode lockMode) bool {
	if mode == lockExclusive {
		return !l.writer && l.readers == 0
	}
	return !l.writer
}

func (l *rwLock) grantLocked(mode lockMode, gid uint64) {
	if mode == lockExclusive {
		l.writer = true
		return
	}
	l.readers++
	if gid != 0 {
		if l.readBy == nil {
			l.readBy = map[uint64]int{}
		}
		l.readBy[gid]++
	}
}

// tryAcquire takes the lock in mode if that is possible without waiting
// (see grantableLocked). It never blocks.
func (l *rwLock) tryAcquire(mode lockMode) bool { return l.tryAcquireAs(mode, 0) }

func (l *rwLock) tryAcquireAs(mode lockMode, gid uint64) bool {
	l.mu.Lock()
	ok := l.grantableLocked(mode, gid)
	if ok {
		l.grantLocked(mode, gid)
	}
	l.mu.Unlock()
	if ok {
		l.stats.acquired.Add(1)
	}
	return ok
}

// acquire takes the lock in mode, waiting in arrival order (but see
// rwLock for readers joining readers). It returns a
// nil error once the lock is held; the caller must then call release(mode)
// exactly once. waited is how long it queued (zero on the fast path).
//
// It blocks until the lock is granted, ctx is done, or timeout passes
// (timeout <= 0 means do not wait at all). On failure it returns
// ctx.Err() or errTimedOut and leaves the lock unchanged: a grant that raced
// with the failure is handed on to the next waiter.
func (l *rwLock) acquire(ctx context.Context, mode lockMode, timeout time.Duration) (waited time.Duration, err error) {
	return l.acquireAs(ctx, mode, 0, timeout)
}

// acquireAs is acquire on behalf of goroutine gid (goroutineID; 0 when
// unknown), which must then give the hold back with releaseAs(mode, gid).
// A read by a goroutine that already holds the shared side never queues.
func (l *rwLock) acquireAs(ctx context.Context, mode lockMode, gid uint64, timeout time.Duration) (waited time.Duration, err error) {
	if l.tryAcquireAs(mode, gid) {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if timeout <= 0 {
		l.stats.timeouts.Add(1)
		return 0, errTimedOut
	}

	start := time.Now()
	l.mu.Lock()
	// Re-check under the lock: the holder may have released since tryAcquire.
	if l.grantableLocked(mode, gid) {
		l.grantLocked(mode, gid)
		l.mu.Unlock()
		l.stats.acquired.Add(1)
		return 0, nil
	}
	w := &lockWaiter{mode: mode, gid: gid, ready: make(chan struct{})}
	elem := l.waiters.PushBack(w)
	l.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()

	select {
	case <-w.ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = errTimedOut
	}
	if err != nil {
		l.mu.Lock()
		select {
		case <-w.ready:
			// Granted while we were giving up: we hold it, so give it back
			// (release wakes whoever is next).
			l.mu.Unlock()
			l.releaseAs(mode, gid)
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
		l.stats.acquired.Add(1)
	}
	waited = time.Since(start)
	l.recordWait(waited)
	return waited, err
}

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

// wakeLocked grants queued requests from the front, in order, while they
// are compatible with what is held. l.mu must be held.
func (l *rwLock) wakeLocked() {
	for e := l.waiters.Front(); e != nil; e = l.waiters.Front() {
		w := e.Value.(*lockWaiter)
		if !l.compatibleLocked(w.mode) {
			return
		}
		l.grantLocked(w.mode, w.gid)
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
	gate         atomic.Pointer[gate]  // non-nil while an escalated checkpoint holds new readers back
	brake        atomic.Pointer[brake] // non-nil while writers wait for a checkpoint (WAL over its limit)
	wake         chan struct{}         // cap 1: wakes the checkpointer early; made with the entry
	noBrakeUntil atomic.Int64          // unix nanoseconds: writers do not brake before then
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
