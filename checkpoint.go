package sqlite3safe

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

// CheckpointMode is a mode of PRAGMA wal_checkpoint
// (https://www.sqlite.org/pragma.html#pragma_wal_checkpoint,
// https://www.sqlite.org/c3ref/wal_checkpoint_v2.html).
type CheckpointMode uint8

const (
	// CheckpointPassive copies as many frames as it can without waiting
	// for readers or writers.
	CheckpointPassive CheckpointMode = iota
	// CheckpointFull waits for writers and readers, then copies every frame.
	CheckpointFull
	// CheckpointRestart is FULL, then waits until readers are off the WAL
	// so the next writer starts it from the beginning.
	CheckpointRestart
	// CheckpointTruncate is RESTART, then truncates the WAL file to 0 bytes.
	CheckpointTruncate
	numCheckpointModes
)

// String returns the mode as SQLite spells it.
func (m CheckpointMode) String() string {
	switch m {
	case CheckpointPassive:
		return "PASSIVE"
	case CheckpointFull:
		return "FULL"
	case CheckpointRestart:
		return "RESTART"
	case CheckpointTruncate:
		return "TRUNCATE"
	}
	return fmt.Sprintf("CheckpointMode(%d)", uint8(m))
}

// pragma returns the statement for m. Only the four modes above have one;
// nothing else is ever pasted into the SQL.
func (m CheckpointMode) pragma() (string, error) {
	if m >= numCheckpointModes {
		return "", fmt.Errorf("sqlite3-safe: invalid checkpoint mode %d", uint8(m))
	}
	return "PRAGMA wal_checkpoint(" + m.String() + ")", nil
}

// Checkpoint policy defaults.
const (
	// DefaultCheckpointPages: a PASSIVE checkpoint runs once this many WAL
	// frames (pages) are waiting to be copied, as SQLite's autocheckpoint
	// would, but never on a commit's path.
	DefaultCheckpointPages = 1000
	// DefaultTruncateDelay: once no write has happened for this long, a
	// TRUNCATE checkpoint copies what is left and cuts the WAL file to 0
	// bytes.
	DefaultTruncateDelay = time.Second
	// DefaultEscalationHold is the longest an escalated checkpoint keeps
	// writers waiting while it waits for older readers to finish. If they
	// have not finished by then, writers go on and the checkpointer tries
	// again later.
	DefaultEscalationHold = 100 * time.Millisecond
	// DefaultPinWarning: a read that keeps the WAL from being checkpointed
	// (it pins the WAL) for longer than this is logged as a warning, once,
	// naming the statement.
	DefaultPinWarning = 10 * time.Second

	// busyInterval is how often the checkpointer samples the WAL while
	// writes go on; idleInterval when none happened for truncateDelay.
	busyInterval = 10 * time.Millisecond
	idleInterval = 100 * time.Millisecond
	// escalateLockWait bounds how long an escalation waits for the write
	// lock (that is, for the current write transaction to end).
	escalateLockWait = 5 * time.Second
	// catchUpLockWait bounds the wait for the write lock before a
	// catch-up checkpoint.
	catchUpLockWait = 50 * time.Millisecond
	// minEscalationBackoff and maxEscalationBackoff bound the wait
	// between escalations that readers kept from finishing. The cap is
	// what bounds the time from the end of a pinning read to the next
	// escalation: under a second, the WAL is back under its limit.
	minEscalationBackoff = 50 * time.Millisecond
	maxEscalationBackoff = 500 * time.Millisecond
	// brakeMaxWait bounds how long a writer waits for the brake: the
	// escalation's own hold, with room for the checkpointer to be
	// scheduled. A writer never fails for it; after it, it goes on.
	brakeMaxWait = DefaultEscalationHold + 150*time.Millisecond
)

// checkpointPolicy is when the checkpointer acts; fixed at start.
type checkpointPolicy struct {
	pages         int64         // PASSIVE at this many pending frames
	truncateDelay time.Duration // TRUNCATE after writes pause this long
	hold          time.Duration // the longest an escalation waits for readers with the write lock held
	walLimit      int64         // escalate when the WAL in use reaches half of this
	pinWarning    time.Duration // log a read that pins the WAL longer than this
}

// checkpointer is the one background checkpoint goroutine of a database
// file in this process. The registry starts it with the file's first
// connection and stops it, waiting for it, when the last one closes.
//
// # Design
//
// SQLite copies WAL frames back into the database (backfill) only up to
// the oldest snapshot a reader still uses, and starts the WAL over from
// its beginning only when every frame is copied and no reader uses the
// WAL. Readers that always overlap therefore keep it growing ("checkpoint
// starvation"). But once the WAL is fully copied, new readers read the
// database file and do not stand in the way of a restart: so stopping
// writers briefly is all it takes, and readers are never held back.
//
// Each sample (every 10 ms while writes go on, 100 ms when idle):
//   - WAL in use at or over half of the WAL limit, or a writer has raised
//     the brake (it found the -wal file at three quarters of the limit):
//     escalate. Take the write lock (writers queue behind one
//     checkpoint), run TRUNCATE with a busy timeout of policy.hold, so it
//     waits at most that long for the readers whose snapshots are older,
//     and give the lock back. Readers that began before the escalation
//     end; readers that begin during it read the database file or the
//     full WAL, which no longer block it.
//   - If readers kept it from finishing, writers go on, and the next try
//     comes after a back-off (50 ms doubling to 500 ms); if the oldest
//     open read is the one that was already open at the failed try, the
//     checkpointer does not hold writers again until it has ended: one
//     read that never ends pins the WAL, which may then grow, and is
//     reported (Stats, and a warning log after policy.pinWarning).
//   - pages waiting >= policy.pages: PASSIVE, which blocks nobody, then,
//     if it left less than policy.pages behind, a catch-up PASSIVE with
//     the write lock held, so that the next writer starts the WAL over.
//   - no write for truncateDelay and a non-empty WAL: PASSIVE without the
//     lock, then TRUNCATE if the write lock is free right now, with a
//     busy timeout of zero: an idle TRUNCATE never waits for readers with
//     the lock held.
//
// Bounds: writers wait for a checkpoint's hold at most policy.hold plus
// the time to copy the frames left (kept small by the PASSIVE
// checkpoints), and for the brake at most brakeMaxWait; neither wait
// counts against their lock timeout (the lock's background holds), so a
// checkpoint never makes a statement fail. Readers never wait.
//
// Errors are counted and logged and the loop goes on; nothing here is
// fatal to the database.
type checkpointer struct {
	f       *fileState
	open    func() (*sqlite3.SQLiteConn, error) // opens the checkpoint connection: same driver and DSN as the pool
	walPath string
	shmPath string
	policy  checkpointPolicy
	logger  *slog.Logger // nil: no logging

	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	once   sync.Once     // guards stopping

	// Owned by the run goroutine.
	conn      *sqlite3.SQLiteConn
	busyMS    int64         // the checkpoint connection's busy_timeout, in milliseconds; -1 before it is set
	shm       *os.File      // the -shm file, opened lazily for sampling; closed only by run's end (see readIndex)
	lastFrame uint32        // mxFrame at the last sample
	lastWrite time.Time     // when mxFrame last changed
	retryAt   time.Time     // back-off after an error: no checkpoint before then
	escAt     time.Time     // back-off after escalations that readers kept from finishing
	escDelay  time.Duration // its current length
	idleAt    time.Time     // back-off after idle TRUNCATEs that readers kept from finishing
	idleDelay time.Duration // its current length
	pinnedBy  openRead      // the oldest open read when an escalation last failed; zero after one finished
	warned    bool          // the current pin has been logged
}

// startCheckpointer starts the goroutine; stop ends it.
func startCheckpointer(f *fileState, open func() (*sqlite3.SQLiteConn, error), policy checkpointPolicy, logger *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	cp := &checkpointer{
		f:         f,
		open:      open,
		walPath:   f.key + "-wal",
		shmPath:   f.key + "-shm",
		policy:    policy,
		logger:    logger,
		cancel:    cancel,
		done:      make(chan struct{}),
		busyMS:    -1,
		lastWrite: time.Now(),
	}
	go cp.run(ctx)
	return cp
}

// stop cancels the goroutine and waits for it. It is idempotent.
func (cp *checkpointer) stop() {
	cp.once.Do(cp.cancel)
	<-cp.done
}

func (cp *checkpointer) run(ctx context.Context) {
	defer close(cp.done)
	defer func() {
		cp.f.releaseBrake()
		if cp.conn != nil {
			_ = cp.conn.Close()
		}
		if cp.shm != nil {
			_ = cp.shm.Close()
		}
	}()
	timer := time.NewTimer(busyInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-cp.f.wake:
			if !timer.Stop() {
				<-timer.C
			}
		}
		cp.tick(ctx)
		next := busyInterval
		if time.Since(cp.lastWrite) > cp.policy.truncateDelay {
			next = idleInterval
		}
		timer.Reset(next)
	}
}

// tick samples the WAL and runs at most one checkpoint.
func (cp *checkpointer) tick(ctx context.Context) {
	now := time.Now()
	fileBytes := fileSize(cp.walPath)
	cp.f.stats.recordWAL(fileBytes)
	// inUse is how much of the WAL holds frames: after the WAL starts over
	// the file keeps its size, but only the index knows how much of it
	// counts. Starvation is the WAL never starting over.
	inUse := fileBytes
	idx, idxOK := cp.readIndex()
	if idxOK {
		inUse = idx.bytes()
		if idx.mxFrame != cp.lastFrame {
			cp.lastFrame, cp.lastWrite = idx.mxFrame, now
		}
	}
	cp.watchPin(now)
	braked := cp.f.brake.Load() != nil
	var err error
	switch {
	case now.Before(cp.retryAt):
		cp.f.releaseBrake()
	case braked || inUse >= cp.policy.walLimit/2:
		if cp.mayEscalate(now) {
			err = cp.escalate(ctx)
		}
		cp.f.releaseBrake() // writers go on, whatever the outcome
	case fileBytes == 0:
	case idxOK && int64(idx.pending()) >= cp.policy.pages,
		!idxOK && fileBytes >= cp.policy.pages*4096:
		err = cp.passive(ctx)
	case now.Sub(cp.lastWrite) >= cp.policy.truncateDelay && !now.Before(cp.idleAt):
		err = cp.truncateIdle(ctx)
	}
	if err != nil && ctx.Err() == nil {
		cp.f.stats.ckptErrors.Add(1)
		cp.retryAt = now.Add(time.Second)
		cp.log(slog.LevelWarn, "sqlite3-safe: checkpoint failed", "path", cp.f.key, "err", err)
	}
}

// mayEscalate reports whether an escalation is worth its hold now: not
// during a back-off, and not while the read that kept the last one from
// finishing is still open (it would only fail again).
func (cp *checkpointer) mayEscalate(now time.Time) bool {
	if now.Before(cp.escAt) {
		return false
	}
	if cp.pinnedBy.since.IsZero() {
		return true
	}
	r, ok := cp.f.reads.oldest()
	return !ok || r.since.After(cp.pinnedBy.since)
}

// watchPin keeps the pin statistics while the WAL is pinned: how long the
// oldest read has been open, and a warning once it passes pinWarning.
func (cp *checkpointer) watchPin(now time.Time) {
	if cp.pinnedBy.since.IsZero() {
		return
	}
	r, ok := cp.f.reads.oldest()
	if !ok || r.since.After(cp.pinnedBy.since) {
		// The pinning read has ended; the next escalation will tell
		// whether another one pins the WAL.
		cp.f.pin.since.Store(0)
		return
	}
	cp.pinnedBy = r
	cp.f.pin.since.Store(r.since.UnixNano())
	age := now.Sub(r.since)
	storeMax(&cp.f.pin.maxAge, int64(age))
	if age > cp.policy.pinWarning && !cp.warned {
		cp.warned = true
		args := []any{"path", cp.f.key, "open_for", age.Round(time.Millisecond), "statement", r.query,
			"wal_bytes", cp.f.stats.walBytes.Load()}
		if r.site != "" {
			args = append(args, "began_at", r.site)
		}
		cp.log(slog.LevelWarn, "sqlite3-safe: a read pins the WAL; it cannot be checkpointed until the read ends", args...)
	}
}

// passive runs a PASSIVE checkpoint, which blocks nobody. Under steady
// writes it never quite catches up (frames arrive while it copies), and
// the WAL only starts again from its beginning once every frame is
// copied; so if it left less than policy.pages behind, a second PASSIVE
// runs with the write lock held, as briefly as SQLite's own
// autocheckpoint would hold up a commit, to copy the rest.
func (cp *checkpointer) passive(ctx context.Context) error {
	if _, err := cp.checkpoint(ctx, CheckpointPassive, 0); err != nil {
		return err
	}
	idx, ok := cp.readIndex()
	if !ok || idx.pending() == 0 || int64(idx.pending()) > cp.policy.pages {
		return nil
	}
	if err := cp.lockWrite(ctx, catchUpLockWait, "catch-up checkpoint"); err != nil {
		return nil // a long write transaction: the next tick tries again
	}
	defer cp.unlockWrite()
	_, err := cp.checkpoint(ctx, CheckpointPassive, 0)
	return err
}

// truncateIdle cuts the WAL to 0 bytes after writes paused: a PASSIVE
// without the lock copies what it can, then, if no writer holds the lock
// right now, a TRUNCATE that does not wait for readers.
func (cp *checkpointer) truncateIdle(ctx context.Context) error {
	if _, err := cp.checkpoint(ctx, CheckpointPassive, 0); err != nil {
		return err
	}
	if err := cp.lockWrite(ctx, 0, "idle TRUNCATE checkpoint"); err != nil {
		return nil // a writer is active: writes have not paused after all
	}
	defer cp.unlockWrite()
	done, err := cp.checkpoint(ctx, CheckpointTruncate, 0)
	if err == nil && !done {
		// Readers in the way; try again later, less often each time.
		cp.idleDelay = min(max(2*cp.idleDelay, cp.policy.truncateDelay), 10*time.Second)
		cp.idleAt = time.Now().Add(cp.idleDelay)
	} else if err == nil {
		cp.idleDelay = 0
	}
	return err
}

// lockWrite takes the file's write lock for the checkpointer, as a
// background holder, waiting at most wait (0: not at all), and records it
// as the holder, so that a writer's messages can say a checkpoint held it.
func (cp *checkpointer) lockWrite(ctx context.Context, wait time.Duration, what string) error {
	if wait <= 0 {
		if !cp.f.lock.tryAcquireAs(lockExclusive, true) {
			return errTimedOut
		}
	} else if _, _, err := cp.f.lock.acquireAs(ctx, lockExclusive, wait, true); err != nil {
		return err
	}
	cp.f.holder.setSite(what, "the background checkpointer")
	return nil
}

func (cp *checkpointer) unlockWrite() {
	cp.f.holder.clear()
	cp.f.lock.release(lockExclusive)
}

// escalate runs a TRUNCATE checkpoint with writers stopped, waiting at
// most policy.hold for older readers to finish.
func (cp *checkpointer) escalate(ctx context.Context) error {
	st := &cp.f.stats
	if err := cp.lockWrite(ctx, escalateLockWait, "escalated checkpoint"); err != nil {
		if errors.Is(err, errTimedOut) {
			st.escalationsNoLock.Add(1) // a long write transaction; next tick
			return nil
		}
		return err
	}
	start := time.Now()
	done, err := cp.checkpoint(ctx, CheckpointTruncate, cp.policy.hold)
	cp.unlockWrite()
	held := time.Since(start)
	cp.log(slog.LevelDebug, "sqlite3-safe: escalated checkpoint", "path", cp.f.key,
		"completed", done, "writers_held_for", held)
	switch {
	case err != nil:
		st.escalationsFailed.Add(1)
	case done:
		st.escalationsDone.Add(1)
		cp.escDelay = 0
		cp.pinnedBy, cp.warned = openRead{}, false
		cp.f.pin.since.Store(0)
	default:
		// Readers kept their snapshots through the hold: writers go on,
		// and the next try waits a little longer each time.
		st.escalationsBusy.Add(1)
		cp.escDelay = min(max(2*cp.escDelay, minEscalationBackoff), maxEscalationBackoff)
		cp.escAt = time.Now().Add(cp.escDelay)
		cp.f.noBrakeUntil.Store(cp.escAt.UnixNano())
		if r, ok := cp.f.reads.oldest(); ok && r.since.Before(start) {
			if cp.pinnedBy.since.IsZero() {
				cp.f.pin.pins.Add(1)
			}
			cp.pinnedBy = r
			cp.f.pin.since.Store(r.since.UnixNano())
		}
	}
	return err
}

// checkpoint runs one PRAGMA wal_checkpoint(mode) on the checkpoint
// connection and records the result. done reports that SQLite was not
// blocked (its "busy" column was 0).
//
// wait is the busy timeout: how long a RESTART or TRUNCATE may wait for
// readers (and for other processes' writers).
func (cp *checkpointer) checkpoint(ctx context.Context, mode CheckpointMode, wait time.Duration) (done bool, err error) {
	if cp.conn == nil {
		c, err := cp.open()
		if err != nil {
			return false, fmt.Errorf("sqlite3-safe: opening checkpoint connection: %w", err)
		}
		if _, err := c.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0", nil); err != nil {
			_ = c.Close()
			return false, fmt.Errorf("sqlite3-safe: setting up checkpoint connection: %w", err)
		}
		cp.conn, cp.busyMS = c, -1
	}
	if ms := wait.Milliseconds(); ms != cp.busyMS {
		if _, err := cp.conn.ExecContext(ctx, "PRAGMA busy_timeout="+itoa(ms), nil); err != nil {
			return false, err
		}
		cp.busyMS = ms
	}
	q, err := mode.pragma()
	if err != nil {
		return false, err
	}
	before, _ := cp.readIndex()
	start := time.Now()
	busy, logFrames, ckptFrames, err := queryCheckpoint(ctx, cp.conn, q)
	if err != nil {
		return false, err
	}
	st := &cp.f.stats
	if busy != 0 {
		st.ckptBusy.Add(1)
	} else {
		st.ckptByMode[mode].Add(1)
	}
	// A RESTART or TRUNCATE that resets the WAL reports 0 frames; the
	// frames it copied are those that were pending before it.
	moved := ckptFrames - int64(before.nBackfill)
	if busy == 0 && mode >= CheckpointRestart {
		moved = int64(before.pending())
	}
	if moved > 0 {
		st.frames.Add(moved)
	}
	walBytes := fileSize(cp.walPath)
	st.recordWAL(walBytes)
	cp.log(slog.LevelDebug, "sqlite3-safe: checkpoint", "path", cp.f.key, "mode", mode.String(),
		"busy", busy != 0, "wal_frames", logFrames, "checkpointed_frames", ckptFrames,
		"wal_bytes", walBytes, "took", time.Since(start))
	return busy == 0, nil
}

func queryCheckpoint(ctx context.Context, c *sqlite3.SQLiteConn, q string) (busy, logFrames, ckptFrames int64, err error) {
	rows, err := c.QueryContext(ctx, q, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 3)
	if err := rows.Next(dest); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("sqlite3-safe: wal_checkpoint returned no row")
		}
		return 0, 0, 0, err
	}
	ints := [3]int64{}
	for i, v := range dest {
		n, ok := v.(int64)
		if !ok {
			return 0, 0, 0, fmt.Errorf("sqlite3-safe: wal_checkpoint column %d is %T", i, v)
		}
		ints[i] = n
	}
	return ints[0], ints[1], ints[2], nil
}

func (cp *checkpointer) log(level slog.Level, msg string, args ...any) {
	if cp.logger != nil {
		cp.logger.Log(context.Background(), level, msg, args...)
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// walIndex is what the checkpointer reads from the WAL-index header in
// the -shm file (https://www.sqlite.org/walformat.html#the_wal_index_file_format):
// frames in the WAL, frames already copied to the database, page size.
type walIndex struct {
	mxFrame   uint32
	nBackfill uint32
	pageSize  int64
}

// bytes is the WAL's length as the index knows it: header and frames.
func (w walIndex) bytes() int64 {
	if w.mxFrame == 0 {
		return 0
	}
	return 32 + int64(w.mxFrame)*(w.pageSize+24)
}

func (w walIndex) pending() uint32 {
	if w.nBackfill >= w.mxFrame {
		return 0
	}
	return w.mxFrame - w.nBackfill
}

// readIndex reads the WAL-index header without SQLite's locks: it is a
// sample for a heuristic, so a torn read (the two header copies disagree)
// is simply reported as unavailable.
//
// The -shm file is opened once and closed only when the checkpointer
// stops, after the last connection to the file in this process has
// closed. That matters: POSIX advisory locks belong to the process, and
// closing *any* descriptor of a file drops every lock the process holds on
// it (https://www.sqlite.org/howtocorrupt.html, 2.2.1), SQLite's shared
// lock on the -shm included. Another process could then take the -shm as
// its own and reset it under our connections' mapped memory: SIGBUS, or
// worse. (An earlier version opened and closed it per connection, and a
// multi-process test died of SIGBUS.) Writers therefore only stat the
// -wal file (conn.sampleWAL).
func (cp *checkpointer) readIndex() (walIndex, bool) {
	if cp.shm == nil {
		f, err := os.Open(cp.shmPath)
		if err != nil {
			return walIndex{}, false
		}
		cp.shm = f
	}
	var buf [136]byte
	if _, err := cp.shm.ReadAt(buf[:], 0); err != nil {
		return walIndex{}, false // keep the descriptor: closing it would drop SQLite's locks
	}
	return parseWALIndex(buf[:])
}

func parseWALIndex(buf []byte) (walIndex, bool) {
	if string(buf[0:48]) != string(buf[48:96]) || buf[12] == 0 { // copies differ, or not initialised
		return walIndex{}, false
	}
	ne := binary.NativeEndian // the wal-index is in the host's byte order
	size := int64(ne.Uint16(buf[14:16]))
	if size == 1 {
		size = 65536
	}
	return walIndex{mxFrame: ne.Uint32(buf[16:20]), nBackfill: ne.Uint32(buf[96:100]), pageSize: size}, true
}

// brake holds writers back while the WAL is over its limit, until the
// checkpointer has tried one escalated checkpoint (or brakeMaxWait has
// passed). Writers raise it (every brakeSampleEvery writes to the file, a
// writer stats the -wal file while still holding the lock), so the WAL
// stays bounded even when the checkpointer goroutine is slow to be
// scheduled on a loaded machine. It is not raised during the back-off
// after an escalation that readers kept from finishing.
type brake struct {
	released chan struct{} // closed when writers may go on
}

// brakeSampleEvery is how many write-lock releases on a file come between
// two looks at the -wal file's size (one stat).
const brakeSampleEvery = 16

// raiseBrake holds writers back and wakes the checkpointer.
func (f *fileState) raiseBrake() {
	if time.Now().UnixNano() < f.noBrakeUntil.Load() {
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
