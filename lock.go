package sqlite3safe

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
)

// Lock order, for the whole package:
//
//	registry.mu  →  a file's rwlock.Lock's own mutex
//	holder.mu is taken alone.
//
// Nothing holds the rwlock's mutex while it takes registry.mu, and no
// goroutine holds either while it calls into SQLite. A checkpointer is
// stopped (and waited for) after registry.mu is released. The rwlock.Lock
// itself (the write lock users see) is not a mutex in that sense: it is
// held across SQLite calls, by a connection, and released by that
// connection on every path (see interceptor.go, which is the only code
// that takes and releases it).

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
	lock         rwlock.Lock
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
