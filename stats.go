package sqlite3safe

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// FileStats describes one database file's lock and checkpoints, counted
// since the file's first connection in this process opened (the counters
// start again if every connection to the file closes).
type FileStats struct {
	// Path is the file's canonical path, as the file's first connection in
	// this process named it (or "memory:…"). Other spellings of the same
	// file (case-changed on a case-insensitive file system, a hard link)
	// report this one.
	Path string

	// LockAcquisitions counts grants of the write lock (and, in non-WAL
	// mode, of its shared side).
	LockAcquisitions int64
	// LockWaits counts acquisitions and failures that had to queue;
	// LockWaitTotal and LockWaitMax are their total and longest waits.
	LockWaits     int64
	LockWaitTotal time.Duration
	LockWaitMax   time.Duration
	// LockTimeouts counts waits that ended in [ErrLockTimeout].
	LockTimeouts int64
	// LockQueueFull counts writes refused at once because the lock's queue
	// was at its bound (_safe_max_waiters, [WithMaxWaiters]).
	LockQueueFull int64
	// LockHandOvers counts transactions that had only read and gave the
	// write lock up to a write of their own goroutine through the pool,
	// instead of waiting for it (their reads keep their snapshot; a write of
	// theirs takes the lock again).
	LockHandOvers int64

	// Checkpoints counts completed background checkpoints by mode.
	Checkpoints map[CheckpointMode]int64
	// CheckpointsBusy counts checkpoints that could not finish because
	// readers or writers were in the way (retried later).
	CheckpointsBusy int64
	// FramesCheckpointed counts WAL frames copied into the database.
	FramesCheckpointed int64
	// CheckpointErrors counts checkpoints that failed with an error
	// (logged, never fatal), those of the databases the file's
	// connections attach included.
	CheckpointErrors int64
	// Escalations counts escalated checkpoints (a TRUNCATE with writers
	// held, when the WAL reaches half its limit) by outcome: completed;
	// busy (older readers did not finish within the hold, writers went
	// on); no lock (a write transaction kept the lock past the wait);
	// failed (an error, also counted in CheckpointErrors).
	Escalations       int64
	EscalationsBusy   int64
	EscalationsNoLock int64
	EscalationsFailed int64
	// Brakes counts times a writer found the WAL (the file's, or that of a
	// database its connections attach) at three quarters of its limit and
	// held writers back for the checkpointer.
	Brakes int64
	// CheckpointWaits counts lock waits that met a checkpoint (its hold of
	// the write lock, or the brake), and CheckpointWaitMax is the longest
	// time one wait spent on checkpoints. These waits never count against
	// the lock timeout. Waits behind other writers are in LockWaits.
	CheckpointWaits   int64
	CheckpointWaitMax time.Duration

	// WALPinned is how long the oldest open read has kept the WAL from
	// being checkpointed, when an escalation could not finish because of
	// it (zero when nothing pins the WAL); WALPinnedMax is the longest
	// seen, and WALPins counts the times reads began to pin it. Only reads
	// through sqlite3-safe connections in this process are seen.
	WALPinned    time.Duration
	WALPinnedMax time.Duration
	WALPins      int64

	// The write lock now: LockHolder is what holds it ("transaction
	// begun", "statement", "manual transaction begun", "escalated
	// checkpoint", …; "" when it is free), since LockHeldFor; LockHolderSite
	// is where the holder took it (file:line), recorded only with debug on
	// (_safe_debug=1, [WithDebug]). LockQueue is how many requests wait for
	// it, and LockOldestWait how long the first of them has waited.
	LockHolder     string
	LockHolderSite string
	LockHeldFor    time.Duration
	LockQueue      int
	LockOldestWait time.Duration

	// WALLimit is the WAL size the checkpointer keeps the file under: the
	// smallest _safe_wal_limit ([WithWALLimit]) of the pools with
	// background checkpoints that have a connection open on the file, or 0
	// when none has (no background checkpoints).
	WALLimit int64
	// WALBytes is the -wal file's size at the last sample, MaxWALBytes the
	// largest seen.
	WALBytes    int64
	MaxWALBytes int64
}

// ErrNotSafe is returned by [Stats] for a *sql.DB that is not opened with
// sqlite3-safe, or is opened with _safe=off.
var ErrNotSafe = errors.New("sqlite3-safe: not a sqlite3-safe database (or opened with _safe=off)")

// Stats returns the statistics of db's database file. It takes one
// connection from db's pool for a moment, so it waits if the pool is
// exhausted; [StatsContext] bounds that wait.
func Stats(db *sql.DB) (FileStats, error) {
	return StatsContext(context.Background(), db)
}

// StatsContext is [Stats] with a context: if db's pool has no connection
// to spare, it waits until one is free or ctx ends (then it returns ctx's
// error).
func StatsContext(ctx context.Context, db *sql.DB) (FileStats, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return FileStats{}, err
	}
	defer conn.Close()
	return ConnStats(conn)
}

// ConnStats returns the statistics of the database file of a connection
// the caller holds: it never waits for the pool.
func ConnStats(conn *sql.Conn) (FileStats, error) {
	var st FileStats
	err := conn.Raw(func(dc any) error {
		sc, ok := dc.(*safeConn)
		if !ok {
			return ErrNotSafe
		}
		st = newFileStats(sc.c.file)
		return nil
	})
	return st, err
}

// newFileStats reads f's counters and the lock's state now.
func newFileStats(f *fileState) FileStats {
	l, s := f.lock.Stats(), &f.stats
	st := FileStats{
		Path:               f.key,
		LockAcquisitions:   l.Acquired,
		LockWaits:          l.Waits,
		LockWaitTotal:      l.WaitTotal,
		LockWaitMax:        l.WaitMax,
		LockTimeouts:       l.Timeouts,
		LockQueueFull:      l.Rejected,
		LockHandOvers:      s.handOvers.Load(),
		Checkpoints:        make(map[CheckpointMode]int64, numCheckpointModes),
		CheckpointsBusy:    s.ckptBusy.Load(),
		FramesCheckpointed: s.frames.Load(),
		CheckpointErrors:   s.ckptErrors.Load(),
		Escalations:        s.escalationsDone.Load(),
		EscalationsBusy:    s.escalationsBusy.Load(),
		EscalationsNoLock:  s.escalationsNoLock.Load(),
		EscalationsFailed:  s.escalationsFailed.Load(),
		Brakes:             s.brakes.Load(),
		CheckpointWaits:    l.BackgroundWaits + s.brakeWaits.Load(),
		CheckpointWaitMax:  max(l.BackgroundWaitMax, time.Duration(s.brakeWaitMax.Load())),
		WALPins:            f.pin.pins.Load(),
		WALPinnedMax:       time.Duration(f.pin.maxAge.Load()),
		WALLimit:           f.walLimit.Load(),
		WALBytes:           s.walBytes.Load(),
		MaxWALBytes:        s.maxWALBytes.Load(),
	}
	st.LockHolder, st.LockHolderSite, st.LockHeldFor = f.owner.now()
	st.LockQueue, st.LockOldestWait = f.lock.Queue()
	if since := f.pin.since.Load(); since != 0 {
		st.WALPinned = time.Since(time.Unix(0, since))
	}
	for m := range numCheckpointModes {
		if n := s.ckptByMode[m].Load(); n > 0 {
			st.Checkpoints[m] = n
		}
	}
	return st
}
