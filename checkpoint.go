package sqlite3safe

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
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
	DefaultEscalationHold = 250 * time.Millisecond
	// DefaultPinWarning: a read that keeps the WAL from being checkpointed
	// (it pins the WAL) for longer than this is logged as a warning, once,
	// naming the statement.
	DefaultPinWarning = 10 * time.Second

	// busyInterval is how often the checkpointer samples the WAL while
	// writes go on; idleInterval when none happened for truncateDelay.
	// A sample is a stat and a few small reads of the -wal file.
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
	minEscalationBackoff = 20 * time.Millisecond
	// busyRetries is how many escalations in a row may find readers in
	// the way, with no read of ours to blame, before the checkpointer
	// backs off.
	busyRetries          = 3
	maxEscalationBackoff = 500 * time.Millisecond
)

// checkpointPolicy is when the checkpointer acts; fixed at start.
type checkpointPolicy struct {
	pages          int64         // PASSIVE at this many pending frames
	truncateDelay  time.Duration // TRUNCATE after writes pause this long
	escalationHold time.Duration // the longest an escalation waits for readers with the write lock held
	pinWarning     time.Duration // log a read that pins the WAL longer than this
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
//     checkpoint), run TRUNCATE with a busy timeout of
//     policy.escalationHold, so it waits at most that long for the readers
//     whose snapshots are older, and give the lock back. Readers that began before the escalation
//     end; readers that begin during it read the database file or the
//     full WAL, which no longer block it.
//   - If readers kept it from finishing, writers go on. If a read of ours
//     that began before the escalation is still open, it pins the WAL:
//     the checkpointer neither escalates nor brakes writers again until
//     that read has ended (one read that never ends lets the WAL grow,
//     and is reported: Stats, and a warning log after
//     policy.pinWarning). Otherwise the next tick tries again, and after
//     busyRetries such tries in a row, the next comes after a back-off
//     (minEscalationBackoff doubling to maxEscalationBackoff) during which
//     writers do not brake.
//   - pages waiting >= policy.pages: PASSIVE, which blocks nobody, then,
//     if it left less than policy.pages behind, a catch-up PASSIVE with
//     the write lock held, so that the next writer starts the WAL over.
//   - no write for truncateDelay and a non-empty WAL: PASSIVE without the
//     lock, then TRUNCATE if the write lock is free right now, with a
//     busy timeout of zero: an idle TRUNCATE never waits for readers with
//     the lock held.
//
// Bounds: writers wait for a checkpoint's hold at most
// policy.escalationHold plus the time to copy the frames left (kept small
// by the PASSIVE checkpoints), and for the brake at most brakeMaxWait;
// neither wait counts against their lock timeout (the lock's background
// holds), so a checkpoint never makes a statement fail. Readers never
// wait.
//
// The WALs of the databases the file's connections attach (attach.go)
// are sampled and checkpointed the same way, each with its own state
// (walTarget), to the same limit, under the file's write lock, which
// writes to them take.
//
// Errors are counted and logged and the loop goes on; nothing here is
// fatal to the database.
type checkpointer struct {
	f        *fileState
	policy   checkpointPolicy
	logger   *slog.Logger                          // nil: no logging
	openFile func(path string) (sqliteConn, error) // opens a checkpoint connection on an attached database's file

	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	once   sync.Once     // guards stopping

	// Owned by the run goroutine.
	main     walTarget                   // the file's own WAL
	attached map[*attachedWAL]*walTarget // the WALs of the databases the file's connections attach (attach.go)
}

// walTarget is one WAL the checkpointer keeps bounded, the file's own or
// an attached database's, and what the checkpointer knows about it. Its
// fields are owned by the run goroutine; w is shared with writers.
type walTarget struct {
	w       *walState                  // counters, pin and brake state, shared with writers
	path    string                     // the database file, for logs
	walPath string                     // its -wal file
	open    func() (sqliteConn, error) // opens the checkpoint connection

	conn      sqliteConn
	busyMS    int64         // the checkpoint connection's busy_timeout, in milliseconds; -1 before it is set
	lastFrame uint32        // mxFrame at the last sample
	salts     [2]uint32     // the WAL generation that backfill counts frames of
	backfill  uint32        // frames of that generation copied, as the last checkpoint reported
	lastWrite time.Time     // when mxFrame last changed
	retryAt   time.Time     // back-off after an error: no checkpoint before then
	escAt     time.Time     // back-off after escalations that readers kept from finishing
	escDelay  time.Duration // its current length
	escBusy   int           // escalations in a row that readers kept from finishing, none of them pinning
	idleAt    time.Time     // back-off after idle TRUNCATEs that readers kept from finishing
	idleDelay time.Duration // its current length
	pinnedBy  openRead      // the oldest open read when an escalation last failed; zero after one finished
	warned    bool          // the current pin has been logged
}

func newWALTarget(w *walState, path string, open func() (sqliteConn, error)) *walTarget {
	return &walTarget{w: w, path: path, walPath: path + "-wal", open: open, busyMS: -1, lastWrite: time.Now()}
}

// closeConn closes the target's checkpoint connection, if open.
func (t *walTarget) closeConn() {
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
}

// startCheckpointer starts the goroutine; stop ends it. open opens a
// checkpoint connection on f's file, openFile one on the file of a
// database that f's connections attach.
func startCheckpointer(f *fileState, open func() (sqliteConn, error), openFile func(string) (sqliteConn, error),
	policy checkpointPolicy, logger *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	cp := &checkpointer{
		f:        f,
		policy:   policy,
		logger:   logger,
		openFile: openFile,
		cancel:   cancel,
		done:     make(chan struct{}),
		main:     *newWALTarget(&f.walState, f.key, open),
		attached: make(map[*attachedWAL]*walTarget),
	}
	f.clock.Store(time.Now().UnixNano())
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
		cp.main.closeConn()
		for _, t := range cp.attached {
			t.closeConn()
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
		cp.setClock() // the tick's work may have taken a while
		next := idleInterval
		if time.Since(cp.main.lastWrite) <= cp.policy.truncateDelay {
			next = busyInterval
		}
		for _, t := range cp.attached {
			if time.Since(t.lastWrite) <= cp.policy.truncateDelay {
				next = busyInterval
			}
		}
		timer.Reset(next)
	}
}

// tick samples the file's WAL and those of the attached databases, and
// runs at most one checkpoint on each. The brake, if writers raised it,
// is released once every WAL has been seen to.
func (cp *checkpointer) tick(ctx context.Context) {
	now := cp.setClock()
	if cp.f.onReplica() {
		return // LiteFS alone writes a replica's files (replica.go)
	}
	limit := cp.f.walLimit.Load()
	if limit == 0 {
		cp.standBy()
		return
	}
	braked := cp.f.brake.Load() != nil
	escalated := cp.tickWAL(ctx, &cp.main, now, limit, braked)
	cp.syncAttached()
	for _, t := range cp.attached {
		escalated = cp.tickWAL(ctx, t, now, limit, braked) || escalated
		// No connection of ours stays open on an attached database
		// between checkpoints: SQLite lets a database leave WAL (its
		// journal mode is the application's) only when no other
		// connection has it open in WAL mode.
		t.closeConn()
	}
	if braked || escalated {
		cp.f.releaseBrake() // writers go on, whatever the outcome
	}
}

// standBy is the checkpointer's state while no connection open on the
// file wants background checkpoints (only pools with _safe_checkpoint=off,
// or read-only ones, are open): it does nothing, holds no connection and
// no writer back, and reports no pin, until such a connection opens again.
func (cp *checkpointer) standBy() {
	cp.f.releaseBrake()
	cp.main.standBy()
	for _, t := range cp.attached {
		t.standBy()
	}
}

// standBy closes t's checkpoint connection and forgets its pin.
func (t *walTarget) standBy() {
	t.closeConn()
	if !t.pinnedBy.since.IsZero() {
		t.pinnedBy, t.warned = openRead{}, false
		t.w.pin.since.Store(0)
		t.w.pinned.Store(false)
	}
}

// syncAttached makes a target of every database the file's connections
// attach, and drops the targets of those none attaches any more.
func (cp *checkpointer) syncAttached() {
	list := cp.f.attached.all()
	if len(list) == len(cp.attached) {
		same := true
		for _, a := range list {
			if cp.attached[a] == nil {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	keep := make(map[*attachedWAL]*walTarget, len(list))
	for _, a := range list {
		t := cp.attached[a]
		if t == nil {
			path := a.key
			t = newWALTarget(&a.walState, path, func() (sqliteConn, error) { return cp.openFile(path) })
		}
		keep[a] = t
		delete(cp.attached, a)
	}
	for _, t := range cp.attached {
		t.closeConn()
	}
	cp.attached = keep
}

// tickWAL samples the WAL of t and runs at most one checkpoint on it, to
// the file's WAL limit. It reports whether it tried an escalation, or
// would have but for a back-off.
func (cp *checkpointer) tickWAL(ctx context.Context, t *walTarget, now time.Time, limit int64, braked bool) (escalated bool) {
	fileBytes := fileSize(t.walPath)
	t.w.stats.recordWAL(fileBytes)
	// inUse is how much of the WAL holds frames: after the WAL starts over
	// the file keeps its size, but only the index knows how much of it
	// counts. Starvation is the WAL never starting over.
	inUse := fileBytes
	idx, idxOK := t.readIndex()
	if idxOK {
		inUse = idx.bytes()
		if idx.mxFrame != t.lastFrame {
			t.lastFrame, t.lastWrite = idx.mxFrame, now
		}
	}
	cp.watchPin(t, now)
	var err error
	switch {
	case now.Before(t.retryAt):
	case braked && fileBytes >= limit/4*3, inUse >= limit/2:
		// A writer found this WAL at three quarters of the limit, or it
		// has reached half of it.
		escalated = true
		if cp.mayEscalate(t, now) {
			err = cp.escalate(ctx, t, idx, idxOK)
		}
	case fileBytes == 0:
	case idxOK && int64(idx.pending()) >= cp.policy.pages,
		!idxOK && fileBytes >= cp.policy.pages*4096:
		err = cp.passive(ctx, t)
	case now.Sub(t.lastWrite) >= cp.policy.truncateDelay && !now.Before(t.idleAt):
		err = cp.truncateIdle(ctx, t)
	}
	if err != nil && ctx.Err() == nil {
		t.w.stats.ckptErrors.Add(1)
		if t != &cp.main {
			cp.f.stats.ckptErrors.Add(1) // Stats shows the file's: those of its attached databases count
		}
		t.retryAt = now.Add(time.Second)
		cp.log(slog.LevelWarn, "sqlite3-safe: checkpoint failed", "path", t.path, "err", err)
	}
	return escalated
}

// mayEscalate reports whether an escalation of t is worth its hold now:
// not during a back-off, and not while the read that kept the last one
// from finishing is still open (it would only fail again).
func (cp *checkpointer) mayEscalate(t *walTarget, now time.Time) bool {
	if now.Before(t.escAt) {
		return false
	}
	if t.pinnedBy.since.IsZero() {
		return true
	}
	r, ok := cp.f.reads.oldest()
	return !ok || r.since.After(t.pinnedBy.since)
}

// watchPin keeps the pin statistics while t's WAL is pinned: how long the
// oldest read has been open, and a warning once it passes pinWarning.
// The reads are those of the file's connections, which are the ones that
// read the databases they attach.
func (cp *checkpointer) watchPin(t *walTarget, now time.Time) {
	if t.pinnedBy.since.IsZero() {
		return
	}
	w := t.w
	r, ok := cp.f.reads.oldest()
	if !ok || r.since.After(t.pinnedBy.since) {
		// The pinning read has ended; the next escalation will tell
		// whether another one pins the WAL.
		w.pin.since.Store(0)
		w.pinned.Store(false)
		return
	}
	t.pinnedBy = r
	w.pin.since.Store(r.since.UnixNano())
	age := now.Sub(r.since)
	storeMax(&w.pin.maxAge, int64(age))
	if age > cp.policy.pinWarning && !t.warned {
		t.warned = true
		args := []any{"path", t.path, "open_for", age.Round(time.Millisecond), "statement", r.query,
			"wal_bytes", w.stats.walBytes.Load()}
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
func (cp *checkpointer) passive(ctx context.Context, t *walTarget) error {
	if _, err := cp.checkpoint(ctx, t, CheckpointPassive, 0); err != nil {
		return err
	}
	idx, ok := t.readIndex()
	if !ok || idx.pending() == 0 || int64(idx.pending()) > cp.policy.pages {
		return nil
	}
	if err := cp.lockWrite(ctx, catchUpLockWait, "catch-up checkpoint"); err != nil {
		return nil // a long write transaction: the next tick tries again
	}
	defer cp.unlockWrite()
	_, err := cp.checkpoint(ctx, t, CheckpointPassive, 0)
	return err
}

// truncateIdle cuts the WAL to 0 bytes after writes paused: a PASSIVE
// without the lock copies what it can, then, if no writer holds the lock
// right now, a TRUNCATE that does not wait for readers.
func (cp *checkpointer) truncateIdle(ctx context.Context, t *walTarget) error {
	if _, err := cp.checkpoint(ctx, t, CheckpointPassive, 0); err != nil {
		return err
	}
	if err := cp.lockWrite(ctx, 0, "idle TRUNCATE checkpoint"); err != nil {
		return nil // a writer is active: writes have not paused after all
	}
	defer cp.unlockWrite()
	done, err := cp.checkpoint(ctx, t, CheckpointTruncate, 0)
	if err == nil && !done {
		// Readers in the way; try again later, less often each time.
		t.idleDelay = min(max(2*t.idleDelay, cp.policy.truncateDelay), 10*time.Second)
		t.idleAt = time.Now().Add(t.idleDelay)
	} else if err == nil {
		t.idleDelay = 0
	}
	return err
}

// lockWrite takes the file's write lock for the checkpointer, as a
// background holder, waiting at most wait (0: not at all), and records it
// as the holder, so that a writer's messages can say a checkpoint held it.
func (cp *checkpointer) lockWrite(ctx context.Context, wait time.Duration, what string) error {
	if wait <= 0 {
		if !cp.f.lock.TryAcquireReq(rwlock.Request{Mode: rwlock.Exclusive, Background: true}) {
			return rwlock.ErrTimedOut
		}
	} else if _, _, err := cp.f.lock.AcquireReq(ctx, rwlock.Request{Mode: rwlock.Exclusive, Background: true}, wait); err != nil {
		return err
	}
	cp.f.owner.setSite(what, "the background checkpointer")
	return nil
}

func (cp *checkpointer) unlockWrite() {
	cp.f.owner.clear()
	cp.f.lock.Release(rwlock.Exclusive)
}

// escalate runs a TRUNCATE checkpoint with writers stopped, waiting at
// most policy.escalationHold for older readers to finish.
// idx is the tick's sample of the WAL (ok: it could be read).
func (cp *checkpointer) escalate(ctx context.Context, t *walTarget, idx walIndex, ok bool) error {
	w := t.w
	st := &w.stats
	if !ok || int64(idx.pending()) > cp.policy.pages {
		// Copy the bulk first, with writers running, so that the part
		// done with writers held is short (after a pin ended, the WAL may
		// be large).
		if _, err := cp.checkpoint(ctx, t, CheckpointPassive, 0); err != nil {
			return err
		}
	}
	if err := cp.lockWrite(ctx, escalateLockWait, "escalated checkpoint"); err != nil {
		if errors.Is(err, rwlock.ErrTimedOut) {
			st.escalationsNoLock.Add(1) // a long write transaction; next tick
			return nil
		}
		return err
	}
	start := cp.setClock() // a read that begins from now on is not older than this escalation
	done, err := cp.checkpoint(ctx, t, CheckpointTruncate, cp.policy.escalationHold)
	cp.unlockWrite()
	held := time.Since(start)
	cp.log(slog.LevelDebug, "sqlite3-safe: escalated checkpoint", "path", t.path,
		"completed", done, "writers_held_for", held)
	switch {
	case err != nil:
		st.escalationsFailed.Add(1)
	case done:
		st.escalationsDone.Add(1)
		t.escDelay, t.escBusy = 0, 0
		t.pinnedBy, t.warned = openRead{}, false
		w.pin.since.Store(0)
		w.pinned.Store(false)
	default:
		// Readers kept their snapshots through the hold: writers go on,
		// and the next try waits a little longer each time.
		st.escalationsBusy.Add(1)
		if r, ok := cp.f.reads.oldest(); ok && r.since.Before(start) {
			// A read older than this escalation outlived its hold: it
			// pins the WAL. Writers run free until it ends (no brake, no
			// escalation: it would only fail again); then the next
			// escalation runs at once.
			if t.pinnedBy.since.IsZero() {
				w.pin.pins.Add(1)
			}
			t.pinnedBy = r
			w.pin.since.Store(r.since.UnixNano())
			w.pinned.Store(true)
			break
		}
		// No read of ours outlived the hold: readers were slow to leave
		// the WAL (a loaded machine), or another process reads. Try again
		// at the next tick, the brake still armed; after busyRetries in a
		// row, back off, less often each time, without braking writers.
		t.escBusy++
		if t.escBusy >= busyRetries {
			t.escDelay = min(max(2*t.escDelay, minEscalationBackoff), maxEscalationBackoff)
			t.escAt = time.Now().Add(t.escDelay)
			w.noBrakeUntil.Store(t.escAt.UnixNano())
		}
	}
	return err
}

// checkpoint runs one PRAGMA wal_checkpoint(mode) on t's checkpoint
// connection and records the result. done reports that SQLite was not
// blocked (its "busy" column was 0).
//
// wait is the busy timeout: how long a RESTART or TRUNCATE may wait for
// readers (and for other processes' writers).
func (cp *checkpointer) checkpoint(ctx context.Context, t *walTarget, mode CheckpointMode, wait time.Duration) (done bool, err error) {
	if t.conn == nil {
		c, err := t.open()
		if err != nil {
			return false, fmt.Errorf("sqlite3-safe: opening checkpoint connection: %w", err)
		}
		if _, err := c.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0", nil); err != nil {
			_ = c.Close()
			return false, fmt.Errorf("sqlite3-safe: setting up checkpoint connection: %w", err)
		}
		t.conn, t.busyMS = c, -1
	}
	if ms := wait.Milliseconds(); ms != t.busyMS {
		if _, err := t.conn.ExecContext(ctx, "PRAGMA busy_timeout="+strconv.FormatInt(ms, 10), nil); err != nil {
			return false, err
		}
		t.busyMS = ms
	}
	q, err := mode.pragma()
	if err != nil {
		return false, err
	}
	before, _ := t.readIndex()
	salts := t.salts
	start := time.Now()
	busy, logFrames, ckptFrames, err := queryCheckpoint(ctx, t.conn, q)
	if err != nil {
		return false, err
	}
	t.noteBackfill(salts, ckptFrames)
	st := &t.w.stats
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
	walBytes := fileSize(t.walPath)
	st.recordWAL(walBytes)
	cp.log(slog.LevelDebug, "sqlite3-safe: checkpoint", "path", t.path, "mode", mode.String(),
		"busy", busy != 0, "wal_frames", logFrames, "checkpointed_frames", ckptFrames,
		"wal_bytes", walBytes, "took", time.Since(start))
	return busy == 0, nil
}

func queryCheckpoint(ctx context.Context, c sqliteConn, q string) (busy, logFrames, ckptFrames int64, err error) {
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

// readIndex samples t's WAL without touching a file SQLite locks.
//
// sqlite3-safe never opens a descriptor on the database file or its -shm:
// POSIX advisory locks belong to the process, and closing *any*
// descriptor of a file drops every lock the process holds on it
// (https://www.sqlite.org/howtocorrupt.html, 2.2.1), those of plain
// go-sqlite3 connections in the same process included. Another process
// could then checkpoint and truncate the WAL under their snapshots.
// SQLite takes no locks on the -wal file, so the checkpointer reads that:
// the frames of the current generation come from the file (readWAL), and
// the frames already copied from the checkpointer's own checkpoints
// (PRAGMA wal_checkpoint reports them), forgotten when the WAL starts
// over (its salts change). A checkpoint by another process is learnt at
// this process's next one.
func (t *walTarget) readIndex() (walIndex, bool) {
	h, frames, ok := readWAL(t.walPath, t.lastFrame)
	if !ok {
		return walIndex{}, false
	}
	if h.salts != t.salts {
		t.salts, t.backfill = h.salts, 0
	}
	return walIndex{mxFrame: frames, nBackfill: min(t.backfill, frames), pageSize: h.pageSize}, true
}

// noteBackfill records a checkpoint's result: ckptFrames of the WAL
// generation whose salts were before are copied. If the WAL started over
// meanwhile, the new generation has none copied yet.
func (t *walTarget) noteBackfill(before [2]uint32, ckptFrames int64) {
	h, _, ok := readWAL(t.walPath, 0)
	if !ok || h.salts != before {
		t.backfill = 0
		t.salts = h.salts
		return
	}
	t.backfill = uint32(max(0, min(ckptFrames, int64(^uint32(0)))))
}

// setClock moves the file's clock, which reads take their start from, to
// now, and returns now as the clock has it (wall time only). Reads begun
// before the call have an earlier start than the value returned; reads
// begun after it, the same or a later one. So "began before this
// escalation" is exact; a read's start is early by at most the time
// between two calls (a tick, or the work a tick does).
func (cp *checkpointer) setClock() time.Time {
	now := time.Now()
	cp.f.clock.Store(now.UnixNano())
	return time.Unix(0, now.UnixNano())
}
