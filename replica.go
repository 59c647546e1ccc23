package sqlite3safe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// This file makes sqlite3-safe aware of LiteFS (https://fly.io/docs/litefs/)
// read replicas. LiteFS mounts a FUSE file system whose databases it
// replicates from one primary node to its replicas. On a replica the mount
// holds a file named .primary, whose content is the primary's hostname; on
// the primary (and on a replica that has lost its connection to the
// primary) there is none. A replica's databases can be read; a write gets
// as far as COMMIT, which LiteFS refuses with SQLITE_IOERR.
//
// sqlite3-safe refuses a write on a replica before it waits for the write
// lock or begins SQLite's transaction, with a [*ReplicaError]. Reads run as
// anywhere else (in WAL mode they take no lock). The checkpointer stands
// down: LiteFS alone writes a replica's files. Whether the node is a
// replica is looked up again at most every replicaCheckInterval per file,
// so a node that becomes primary takes writes, and one that stops being
// primary refuses them, from its next write transaction after that, with
// the same *sql.DB. A transaction that holds the write lock finishes as it
// began: the lookup happens only when the write lock is taken.

// replicaCheckInterval is the longest a file's answer to "is this node a
// replica?" is reused before .primary is looked at again. A look is one
// stat (and, on a replica, a read) of a small file; writers pay it at most
// once per interval, and the checkpointer's tick usually pays it for them.
const replicaCheckInterval = 100 * time.Millisecond

// primaryFile is the file LiteFS puts in its mount on a replica.
const primaryFile = ".primary"

// ErrReadOnlyReplica is returned (wrapped in a [*ReplicaError]) by a write
// on a LiteFS read replica: a statement that writes, a BeginTx transaction's
// first write, a BEGIN or SAVEPOINT run as a statement. Send the write to
// the primary that the error names.
//
// The same error also matches a [sqlite3.Error] whose Code is
// [sqlite3.ErrReadonly], as a write to a read-only database does:
//
//	var se sqlite3.Error
//	if errors.Is(err, sqlite3safe.ErrReadOnlyReplica) { ... }
//	if errors.As(err, &se) && se.Code == sqlite3.ErrReadonly { ... }
var ErrReadOnlyReplica = errors.New("sqlite3-safe: write refused on a read-only replica")

// ReplicaError is a write refused because the database is on a LiteFS read
// replica. It matches [ErrReadOnlyReplica] with errors.Is and a
// [sqlite3.Error] with Code == [sqlite3.ErrReadonly] with errors.As.
type ReplicaError struct {
	// Path is the database file (its canonical path).
	Path string
	// Primary is the primary node's name as LiteFS gives it (the content
	// of the .primary file beside the database); "" if that is empty or
	// could not be read.
	Primary string
}

// Error names the file and the primary to send the write to.
func (e *ReplicaError) Error() string {
	primary := "unknown (.primary is empty or could not be read)"
	if e.Primary != "" {
		primary = fmt.Sprintf("%q", e.Primary)
	}
	return fmt.Sprintf("sqlite3-safe: write refused on %s: this node is a LiteFS read replica (%s is there); "+
		"the primary is %s: send writes to it", e.Path, filepath.Join(filepath.Dir(e.Path), primaryFile), primary)
}

// Unwrap returns [ErrReadOnlyReplica] and the [sqlite3.Error] with Code
// [sqlite3.ErrReadonly].
func (e *ReplicaError) Unwrap() []error {
	return []error{ErrReadOnlyReplica, errReadonly()}
}

// replicaState is what a file's connections and its checkpointer know
// about whether the database is on a LiteFS replica: the last answer and
// when it was found.
type replicaState struct {
	checked atomic.Int64           // monotonic nanoseconds (monoNow) of the last look; 0: never looked
	primary atomic.Pointer[string] // the primary's name while this node is a replica; nil otherwise

	mu sync.Mutex // held while one goroutine looks; the others wait for its answer
}

// monoEpoch is the origin of monoNow.
var monoEpoch = time.Now()

// monoNow is the monotonic clock in nanoseconds, never 0.
func monoNow() int64 { return int64(time.Since(monoEpoch)) + 1 }

// replicaPrimary returns the primary's name if f's database is on a LiteFS
// replica, and ok false if it is not (a primary, or no LiteFS). It looks at
// .primary when the last look is more than replicaCheckInterval old;
// otherwise it costs a clock read and two atomic loads.
func (f *fileState) replicaPrimary() (primary string, ok bool) {
	r := &f.replica
	if last := r.checked.Load(); last == 0 || monoNow()-last >= int64(replicaCheckInterval) {
		r.refresh(f.key)
	}
	if p := r.primary.Load(); p != nil {
		return *p, true
	}
	return "", false
}

// refuseOnReplica returns the error for a write that is about to take f's
// write lock, if f's database is on a LiteFS replica; else nil.
func (f *fileState) refuseOnReplica() error {
	if primary, ok := f.replicaPrimary(); ok {
		return &ReplicaError{Path: f.key, Primary: primary}
	}
	return nil
}

// onReplica reports whether f's database is on a LiteFS replica; the
// checkpointer calls it every tick, which keeps the answer fresh for
// writers.
func (f *fileState) onReplica() bool {
	_, ok := f.replicaPrimary()
	return ok
}

// refresh looks at .primary beside the database at key, unless another
// goroutine has just done so. An in-memory database (its key is no path)
// is never on a replica, and is never looked at again.
func (r *replicaState) refresh(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last := r.checked.Load(); last != 0 && monoNow()-last < int64(replicaCheckInterval) {
		return // looked at while this goroutine waited
	}
	if !filepath.IsAbs(key) {
		r.checked.Store(1 << 62) // never stale
		return
	}
	primary, ok := readPrimary(filepath.Join(filepath.Dir(key), primaryFile))
	if ok {
		r.primary.Store(&primary)
	} else {
		r.primary.Store(nil)
	}
	r.checked.Store(monoNow())
}

// readPrimary reads LiteFS's .primary file at path: the primary's name
// (LiteFS writes it with a newline) and ok if the file is there; "" and ok
// if it is there but cannot be read. The file is LiteFS's, not one SQLite
// locks, so opening it cannot drop a lock of SQLite's.
func readPrimary(path string) (primary string, ok bool) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		return strings.TrimSpace(string(b)), true
	case errors.Is(err, fs.ErrNotExist):
		return "", false
	}
	// Unreadable (permissions, a LiteFS restarting): it is there or not.
	if _, err := os.Lstat(path); err != nil {
		return "", false
	}
	return "", true
}

// beginOnReplica begins, on a replica, a BeginTx write transaction whose
// first statement only reads (txBegin was refused the write lock): a
// deferred BEGIN without the lock, as a transaction that handed its lock
// over runs (txYielded). Its reads run; a write of its takes the write lock
// again (txEnter), which a replica refuses with ErrReadOnlyReplica and a
// node that has become primary meanwhile grants, and then SQLite decides
// whether the transaction's snapshot is still current, as on go-sqlite3.
// refused is the error txBegin got, returned where this cannot help (a
// connection whose reads take the lock's shared side).
func (c *conn) beginOnReplica(ctx context.Context, refused error) error {
	if c.lockReads {
		return refused
	}
	if err := c.beginRead(ctx, "BEGIN", "transaction"); err != nil {
		return err
	}
	c.tx = txYielded
	return nil
}
