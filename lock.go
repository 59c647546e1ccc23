package sqlite3safe

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
)

// This file is the per-file lock registry: the registry, the fileState
// of one database file that every connection to it shares, and that
// state's parts (the brake, the counters, the pin). The lock itself is
// internal/rwlock; the checkpointer that reads and writes this state is
// checkpoint.go.

// Lock order, for the whole package:
//
//	registry.mu  →  a file's rwlock.Lock's own mutex
//	lockOwner.mu and attachedSet.mu are taken alone.
//
// Nothing holds the rwlock's mutex while it takes registry.mu, and no
// goroutine holds either while it calls into SQLite. A checkpointer is
// stopped (and waited for) after registry.mu is released. The rwlock.Lock
// itself (the write lock users see) is not a mutex in that sense: it is
// held across SQLite calls. A connection takes it only in conn.claim and
// gives it back only in conn.releaseLock, on every path; the checkpointer
// takes it as a background holder (checkpointer.lockWrite) around a
// checkpoint and gives it back when that ends (unlockWrite).

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
	walState        // the file's own WAL: counters, pin, brake suppression
	key      string // canonical path the first connection used, or "memory:<name>"; immutable. For messages, Stats and the -wal's name
	lock     rwlock.Lock
	owner    lockOwner             // what holds lock's exclusive side and since when; where, with debug
	reads    readTracker           // connections with their open reads (reads.go)
	brake    atomic.Pointer[brake] // non-nil while writers wait for a checkpoint (a WAL over its limit)
	wake     chan struct{}         // cap 1: wakes the checkpointer early; made with the entry
	walLimit atomic.Int64          // the file's WAL limit (limits' smallest) for the checkpointer, the brake and Stats; 0: no background checkpoints
	writes   atomic.Int64          // write-lock releases, for sampling the WAL (sampleWAL)
	clock    atomic.Int64          // unix nanoseconds, set by the checkpointer at every tick: when reads began (reads.go)
	walSize  walSizer              // the -wal file's size for sampleWAL; guarded by lock's exclusive side, closed by release
	idleTx   atomic.Pointer[conn]  // the write lock's holder, when it is an idle transaction that has only read (lazytx.go)
	attached attachedSet           // the WALs of databases the file's connections attach (attach.go)
	replica  replicaState          // whether the file is on a LiteFS read replica (replica.go)

	// guarded by registry.mu
	refs    int           // open connections using this entry
	ckpt    *checkpointer // the file's checkpointer, if one was started; it stands by while walLimit is 0
	id      os.FileInfo   // the file's identity when the entry was made; nil: unknown (in-memory, or os.Stat failed)
	aliases []string      // registry keys naming this entry, key first
	limits  map[int64]int // WAL limit -> open connections of pools with background checkpoints that ask for it
}

// acquire returns the entry for the file at key, whose identity is id
// (nil if unknown), creating it, and counts one more reference. Each call
// must be matched by one call to release with the same limit. A
// connection of a pool that wants background checkpoints passes its
// pool's WAL limit (else 0) and start, which starts the file's
// checkpointer if none was started yet.
//
// One file, one rule: the file's WAL limit (walLimit), which its
// checkpointer and every writer's brake use, is the smallest limit of the
// open connections that want background checkpoints, and the file has
// background checkpoints while one of them is open (the checkpointer
// stands by otherwise).
//
// The entry under key is the file's unless the identities differ: then the
// file was replaced (deleted and created again) while connections to the
// old one stay open, and the new file gets an entry of its own, which
// takes over key. A key not in the map is matched by identity against the
// entries there, so that another spelling of an open file joins its entry.
func (r *registry) acquire(key string, id os.FileInfo, start func(*fileState) *checkpointer, limit int64) *fileState {
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
		f = &fileState{key: key, wake: make(chan struct{}, 1), id: id, aliases: []string{key}, walSize: walSizer{path: key + "-wal"}}
		r.files[key] = f
	}
	f.refs++
	if limit > 0 {
		if f.limits == nil {
			f.limits = make(map[int64]int)
		}
		f.limits[limit]++
		f.setLimitLocked()
	}
	if start != nil && f.ckpt == nil {
		f.ckpt = start(f)
	}
	return f
}

// setLimitLocked sets f's WAL limit to the smallest of f.limits, or 0
// when none is left. r.mu must be held.
func (f *fileState) setLimitLocked() {
	var limit int64
	for l := range f.limits {
		if limit == 0 || l < limit {
			limit = l
		}
	}
	f.walLimit.Store(limit)
}

// release drops one reference to f, taken with limit. With none left, it
// forgets f (every key still naming it) and stops f's checkpointer,
// waiting for it, after letting go of r.mu.
func (r *registry) release(f *fileState, limit int64) {
	r.mu.Lock()
	f.refs--
	if limit > 0 {
		if f.limits[limit]--; f.limits[limit] <= 0 {
			delete(f.limits, limit)
		}
		f.setLimitLocked()
	}
	var ckpt *checkpointer
	if f.refs == 0 {
		for _, k := range f.aliases {
			if r.files[k] == f {
				delete(r.files, k)
			}
		}
		ckpt, f.ckpt = f.ckpt, nil
	}
	last := f.refs == 0
	r.mu.Unlock()
	if ckpt != nil {
		ckpt.stop()
	}
	if last {
		// No connection is left to sample the WAL.
		f.walSize.close()
	}
}

// lookup returns the entry for key without taking a reference, or nil.
func (r *registry) lookup(key string) *fileState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.files[key]
}

// walState is what writers and the checkpointer share about one WAL:
// the file's own (fileState), or that of a database its connections
// attach (attachedWAL).
type walState struct {
	stats        fileStats    // checkpoint and WAL counters
	pin          pinState     // whether reads pin the WAL, since when
	pinned       atomic.Bool  // a read pins the WAL: writers do not brake for it
	noBrakeUntil atomic.Int64 // unix nanoseconds: writers do not brake for it before then
}

// sampleWAL is called by a writer as it gives the write lock back, from
// any connection of the file, whatever its pool's settings: the file's WAL
// limit is every writer's (0: no background checkpoints, no sampling).
// Every brakeSampleEvery writes to the file, while
// the write lock is still held, it looks at the size of the -wal file
// (walSizer: an fstat) and of the attached databases' (a stat), and
// raises the brake once one of them reaches three quarters of limit: the
// writes that land before the brake holds them must still fit under it.
// Writes to an attached database take this file's lock, so its writers
// are this file's.
func (f *fileState) sampleWAL() {
	limit := f.walLimit.Load()
	if limit == 0 || f.writes.Add(1)%brakeSampleEvery != 0 {
		return
	}
	if f.walSize.size() >= limit/4*3 {
		f.raiseBrake(&f.walState)
	}
	for _, a := range f.attached.all() {
		if fileSize(a.walPath) >= limit/4*3 {
			f.raiseBrake(&a.walState)
		}
	}
}

// brake holds writers back while the checkpointer catches up with a WAL
// near its limit. A writer raises it when it finds the -wal file at three
// quarters of the limit (sampleWAL, while it still holds the write lock),
// and wakes the checkpointer; later writers wait (waitBrake) until the
// checkpointer's next tick has tried an escalated checkpoint, or skipped
// it during a back-off, and released the brake, or until brakeMaxWait has
// passed. So the WAL stays bounded even when the checkpointer goroutine is
// slow to be scheduled on a loaded machine. It is not raised while a read
// pins the WAL, nor during the back-off that follows busyRetries
// escalations in a row that readers kept from finishing.
type brake struct {
	released chan struct{} // closed when writers may go on
}

// brakeMaxWait bounds how long a writer waits for the brake: the
// escalation's own hold, with room for the checkpointer to be
// scheduled. A writer never fails for it; after it, it goes on.
const brakeMaxWait = DefaultEscalationHold + 100*time.Millisecond

// brakeSampleEvery is how many write-lock releases on a file come between
// two looks at the -wal file's size.
const brakeSampleEvery = 16

// raiseBrake holds writers back and wakes the checkpointer, for the WAL
// w (the file's or an attached database's) at three quarters of its limit.
func (f *fileState) raiseBrake(w *walState) {
	if w.pinned.Load() || time.Now().UnixNano() < w.noBrakeUntil.Load() {
		return
	}
	if f.brake.Load() == nil {
		f.brake.CompareAndSwap(nil, &brake{released: make(chan struct{})})
		f.stats.brakes.Add(1)
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// releaseBrake lets writers go on. Only the checkpointer calls it.
func (f *fileState) releaseBrake() {
	if b := f.brake.Swap(nil); b != nil {
		close(b.released)
	}
}

// waitBrake holds a writer back while the brake is on, at most
// brakeMaxWait: a checkpoint never makes a writer fail, so after that it
// goes on. It returns how long it waited, and an error only if ctx ended.
func (f *fileState) waitBrake(ctx context.Context) (time.Duration, error) {
	b := f.brake.Load()
	if b == nil {
		return 0, nil
	}
	start := time.Now()
	t := time.NewTimer(brakeMaxWait)
	defer t.Stop()
	select {
	case <-b.released:
	case <-t.C:
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	}
	return time.Since(start), nil
}

// fileStats are the counters behind [FileStats]; all atomics.
type fileStats struct {
	ckptByMode        [numCheckpointModes]atomic.Int64
	ckptBusy          atomic.Int64
	ckptErrors        atomic.Int64
	frames            atomic.Int64
	escalationsDone   atomic.Int64
	escalationsBusy   atomic.Int64
	escalationsNoLock atomic.Int64
	escalationsFailed atomic.Int64
	brakes            atomic.Int64
	brakeWaits        atomic.Int64
	brakeWaitMax      atomic.Int64 // nanoseconds
	walBytes          atomic.Int64
	maxWALBytes       atomic.Int64
	handOvers         atomic.Int64 // idle transactions that gave the lock to their goroutine's write
}

func (s *fileStats) recordWAL(n int64) {
	s.walBytes.Store(n)
	storeMax(&s.maxWALBytes, n)
}

func (s *fileStats) recordBrakeWait(d time.Duration) {
	s.brakeWaits.Add(1)
	storeMax(&s.brakeWaitMax, int64(d))
}

func storeMax(a *atomic.Int64, n int64) {
	for {
		old := a.Load()
		if n <= old || a.CompareAndSwap(old, n) {
			return
		}
	}
}

// pinState is what the checkpointer knows about a WAL that reads pin:
// written by the checkpointer, read by Stats.
type pinState struct {
	since  atomic.Int64 // unix nanoseconds when the oldest pinning read began; 0: not pinned
	pins   atomic.Int64 // pin episodes: escalations that readers kept from finishing, after one that finished
	maxAge atomic.Int64 // longest pin seen, in nanoseconds
}
