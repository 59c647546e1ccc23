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

// Checkpoint policy defaults (SPEC §3.9).
const (
	// DefaultCheckpointPages: a PASSIVE checkpoint runs once this many WAL
	// frames (pages) are waiting to be copied, as SQLite's autocheckpoint
	// would, but never on a commit's path.
	DefaultCheckpointPages = 1000
	// DefaultTruncateDelay: once no write has happened for this long, a
	// TRUNCATE checkpoint copies what is left and cuts the WAL file to 0
	// bytes.
	DefaultTruncateDelay = time.Second
	// DefaultReaderHoldBack is the longest time a new reader is held back
	// while an escalated checkpoint waits for older readers to finish.
	DefaultReaderHoldBack = 200 * time.Millisecond

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
	// maxEscalationBackoff caps the wait between TRUNCATE attempts that a
	// long-lived reader keeps failing.
	maxEscalationBackoff = 10 * time.Second
)

// checkpointPolicy is when the checkpointer acts; fixed at start.
type checkpointPolicy struct {
	pages         int64         // PASSIVE at this many pending frames
	truncateDelay time.Duration // TRUNCATE after writes pause this long
	holdBack      time.Duration // bound on holding new readers back
	walLimit      int64         // escalate when the WAL file reaches half of this
}

// checkpointer is the one background checkpoint goroutine of a database
// file in this process (SPEC §3.9). The registry starts it with the file's
// first connection and stops it, waiting for it, when the last one closes.
//
// Policy, each sample (every 10 ms while writes go on, 100 ms when idle):
//   - WAL at or over half of the WAL limit: escalate. Take the write
//     lock (writers queue behind one checkpoint), close the reader gate
//     (new readers wait, at most holdBack), run TRUNCATE with a busy
//     timeout of holdBack so it waits for the older readers, then open the
//     gate and give the lock back. This ends checkpoint starvation: under
//     readers that always overlap, nothing else can restart the WAL.
//   - pages waiting >= policy.pages: PASSIVE, which blocks nobody, then,
//     if it left less than policy.pages behind, a catch-up PASSIVE with
//     the write lock held, so that the next writer starts the WAL over.
//   - no write for truncateDelay and a non-empty WAL: TRUNCATE, if the
//     write lock is free right now (it is not waited for).
//
// Errors are counted and logged and the loop goes on; nothing here is
// fatal to the database.
type checkpointer struct {
	f       *fileState
	open    func() (sqliteConn, error) // opens the checkpoint connection: same driver and DSN as the pool
	walPath string
	policy  checkpointPolicy
	logger  *slog.Logger // nil: no logging

	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	once   sync.Once     // guards stopping

	// Owned by the run goroutine.
	conn      sqliteConn
	lastFrame uint32        // mxFrame at the last sample
	salts     [2]uint32     // the WAL generation that backfill counts frames of
	backfill  uint32        // frames of that generation copied, as the last checkpoint reported
	lastWrite time.Time     // when mxFrame last changed
	retryAt   time.Time     // back-off after a failure
	backoff   time.Duration // current back-off after checkpoints that readers kept from finishing
}

// startCheckpointer starts the goroutine; stop ends it.
func startCheckpointer(f *fileState, open func() (sqliteConn, error), policy checkpointPolicy, logger *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	cp := &checkpointer{
		f:         f,
		open:      open,
		walPath:   f.key + "-wal",
		policy:    policy,
		logger:    logger,
		cancel:    cancel,
		done:      make(chan struct{}),
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
	braked := cp.f.brake.Load() != nil
	if !braked && (now.Before(cp.retryAt) || fileBytes == 0) {
		return
	}
	var err error
	switch {
	case braked || inUse >= cp.policy.walLimit/2:
		err = cp.escalate(ctx)
		cp.f.releaseBrake() // writers go on, whatever the outcome
	case idxOK && int64(idx.pending()) >= cp.policy.pages,
		!idxOK && fileBytes >= cp.policy.pages*4096:
		err = cp.passive(ctx)
	case now.Sub(cp.lastWrite) >= cp.policy.truncateDelay:
		err = cp.truncateIdle(ctx)
	}
	if err != nil && ctx.Err() == nil {
		cp.f.stats.ckptErrors.Add(1)
		cp.retryAt = now.Add(time.Second)
		cp.log(slog.LevelWarn, "sqlite3-safe: checkpoint failed", "path", cp.f.key, "err", err)
	}
}

// passive runs a PASSIVE checkpoint, which blocks nobody. Under steady
// writes it never quite catches up (frames arrive while it copies), and
// the WAL only starts again from its beginning once every frame is
// copied; so if it left less than policy.pages behind, a second PASSIVE
// runs with the write lock held, as briefly as SQLite's own
// autocheckpoint would hold up a commit, to copy the rest.
func (cp *checkpointer) passive(ctx context.Context) error {
	if _, err := cp.checkpoint(ctx, CheckpointPassive); err != nil {
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
	_, err := cp.checkpoint(ctx, CheckpointPassive)
	return err
}

// truncateIdle cuts the WAL to 0 bytes after writes paused, if no writer
// holds the lock right now.
func (cp *checkpointer) truncateIdle(ctx context.Context) error {
	if err := cp.lockWrite(ctx, 0, "idle TRUNCATE checkpoint"); err != nil {
		return nil // a writer is active: writes have not paused after all
	}
	defer cp.unlockWrite()
	done, err := cp.checkpoint(ctx, CheckpointTruncate)
	if err == nil && !done {
		// Readers in the way; try again later, less often each time.
		cp.backoff = min(max(2*cp.backoff, cp.policy.truncateDelay), maxEscalationBackoff)
		cp.retryAt = time.Now().Add(cp.backoff)
	} else if err == nil {
		cp.backoff = 0
	}
	return err
}

// lockWrite takes the file's write lock for the checkpointer, waiting at
// most wait (0: not at all), and records it as the holder, so that a
// writer's ErrLockTimeout can say a checkpoint held it.
func (cp *checkpointer) lockWrite(ctx context.Context, wait time.Duration, what string) error {
	if _, err := cp.f.lock.acquire(ctx, lockExclusive, wait); err != nil {
		return err
	}
	cp.f.holder.setSite(what, "the background checkpointer")
	return nil
}

func (cp *checkpointer) unlockWrite() {
	cp.f.holder.clear()
	cp.f.lock.release(lockExclusive)
}

// escalate runs a TRUNCATE checkpoint that completes even under readers
// that always overlap: writers queue on the lock, new readers wait at the
// gate (at most holdBack), and older readers get holdBack to finish.
func (cp *checkpointer) escalate(ctx context.Context) error {
	if err := cp.lockWrite(ctx, escalateLockWait, "escalated checkpoint"); err != nil {
		if errors.Is(err, errTimedOut) {
			return nil // a long write transaction; next tick
		}
		return err
	}
	defer cp.unlockWrite()
	g := cp.f.closeGate(cp.policy.holdBack)
	start := time.Now()
	done, err := cp.checkpoint(ctx, CheckpointTruncate)
	held := time.Since(start)
	g.openNow()
	cp.f.stats.escalations.Add(1)
	cp.log(slog.LevelDebug, "sqlite3-safe: escalated checkpoint", "path", cp.f.key,
		"completed", done, "readers_held_back_for", held)
	if err == nil && !done {
		// A reader kept its snapshot through the hold-back: holding new
		// readers back again soon would likely fail the same way, so wait
		// longer each time (and do not brake writers meanwhile).
		cp.backoff = min(max(2*cp.backoff, cp.policy.holdBack), maxEscalationBackoff)
		cp.retryAt = time.Now().Add(cp.backoff)
		cp.f.noBrakeUntil.Store(time.Now().Add(max(brakeBackoff, cp.backoff)).UnixNano())
	} else if err == nil {
		cp.backoff = 0
	}
	return err
}

// checkpoint runs one PRAGMA wal_checkpoint(mode) on the checkpoint
// connection and records the result. done reports that SQLite was not
// blocked (its "busy" column was 0).
func (cp *checkpointer) checkpoint(ctx context.Context, mode CheckpointMode) (done bool, err error) {
	if cp.conn == nil {
		c, err := cp.open()
		if err != nil {
			return false, fmt.Errorf("sqlite3-safe: opening checkpoint connection: %w", err)
		}
		// The busy timeout is how long RESTART/TRUNCATE wait for readers.
		ms := itoa(cp.policy.holdBack.Milliseconds())
		if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout="+ms+"; PRAGMA wal_autocheckpoint=0", nil); err != nil {
			_ = c.Close()
			return false, fmt.Errorf("sqlite3-safe: setting up checkpoint connection: %w", err)
		}
		cp.conn = c
	}
	q, err := mode.pragma()
	if err != nil {
		return false, err
	}
	before, _ := cp.readIndex()
	salts := cp.salts
	start := time.Now()
	busy, logFrames, ckptFrames, err := queryCheckpoint(ctx, cp.conn, q)
	if err != nil {
		return false, err
	}
	cp.noteBackfill(salts, ckptFrames)
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

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// walIndex is where the checkpointer believes the WAL stands: frames of
// the current WAL generation, frames of it already copied to the
// database, page size.
type walIndex struct {
	mxFrame   uint32
	nBackfill uint32
	pageSize  int64
}

// bytes is the WAL's length as far as it is in use: header and frames.
func (w walIndex) bytes() int64 {
	if w.mxFrame == 0 {
		return 0
	}
	return walHeaderSize + int64(w.mxFrame)*(w.pageSize+walFrameHeaderSize)
}

func (w walIndex) pending() uint32 {
	if w.nBackfill >= w.mxFrame {
		return 0
	}
	return w.mxFrame - w.nBackfill
}

// readIndex samples the WAL without touching a file SQLite locks.
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
func (cp *checkpointer) readIndex() (walIndex, bool) {
	h, frames, ok := readWAL(cp.walPath, cp.lastFrame)
	if !ok {
		return walIndex{}, false
	}
	if h.salts != cp.salts {
		cp.salts, cp.backfill = h.salts, 0
	}
	return walIndex{mxFrame: frames, nBackfill: min(cp.backfill, frames), pageSize: h.pageSize}, true
}

// noteBackfill records a checkpoint's result: ckptFrames of the WAL
// generation whose salts were before are copied. If the WAL started over
// meanwhile, the new generation has none copied yet.
func (cp *checkpointer) noteBackfill(before [2]uint32, ckptFrames int64) {
	h, _, ok := readWAL(cp.walPath, 0)
	if !ok || h.salts != before {
		cp.backfill = 0
		cp.salts = h.salts
		return
	}
	cp.backfill = uint32(max(0, min(ckptFrames, int64(^uint32(0)))))
}

// The WAL file format (https://www.sqlite.org/walformat.html): a 32-byte
// header (big-endian: magic, version, page size, checkpoint sequence,
// salt-1, salt-2, checksums), then frames of a 24-byte header (page
// number, database size, salt-1, salt-2, checksums) and one page.
const (
	walHeaderSize      = 32
	walFrameHeaderSize = 24
	walMagic           = 0x377f0682 // the low bit selects the checksum byte order
)

// walHeader is what the checkpointer needs of a -wal file's header.
type walHeader struct {
	pageSize int64
	salts    [2]uint32 // change each time the WAL starts over
}

// readWAL reads the header of the -wal file at path and counts the frames
// of its current generation: a frame belongs to it iff its salts equal
// the header's, and those frames are a prefix of the file (a WAL that
// starts over overwrites it from the first frame), so a binary search
// finds the last one. hint is a frame count seen before, tried first.
// A missing or empty file is an empty WAL. The descriptor is the -wal's,
// which SQLite never locks; it is closed before readWAL returns.
//
// Frames of a transaction not yet committed (or rolled back) count too:
// this is a sample for a heuristic, like everything the checkpointer
// decides on.
func readWAL(path string, hint uint32) (walHeader, uint32, bool) {
	f, err := os.Open(path)
	if err != nil {
		return walHeader{}, 0, errors.Is(err, os.ErrNotExist)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return walHeader{}, 0, false
	}
	var buf [walHeaderSize]byte
	if fi.Size() < walHeaderSize {
		return walHeader{}, 0, true
	}
	if _, err := f.ReadAt(buf[:], 0); err != nil {
		return walHeader{}, 0, errors.Is(err, io.EOF) // truncated meanwhile: empty
	}
	be := binary.BigEndian
	if be.Uint32(buf[0:4])&^1 != walMagic {
		return walHeader{}, 0, true // not (yet) a WAL header: nothing in it counts
	}
	ps := int64(be.Uint32(buf[8:12]))
	if ps == 1 {
		ps = 65536
	}
	if ps < 512 || ps > 65536 || ps&(ps-1) != 0 {
		return walHeader{}, 0, false
	}
	h := walHeader{pageSize: ps, salts: [2]uint32{be.Uint32(buf[16:20]), be.Uint32(buf[20:24])}}
	frameSize := ps + walFrameHeaderSize
	n := uint32(min((fi.Size()-walHeaderSize)/frameSize, int64(^uint32(0))))
	valid := func(i uint32) bool { // frame i (from 1) has the header's salts
		var s [8]byte
		if _, err := f.ReadAt(s[:], walHeaderSize+int64(i-1)*frameSize+8); err != nil {
			return false
		}
		return be.Uint32(s[0:4]) == h.salts[0] && be.Uint32(s[4:8]) == h.salts[1]
	}
	if n == 0 || valid(n) {
		return h, n, true // the common case: the file ends with current frames
	}
	lo, hi := uint32(0), n-1 // frames 1..lo are current, frames after hi are not
	if hint > 0 && hint <= hi {
		if valid(hint) {
			lo = hint
		} else {
			hi = hint - 1
		}
	}
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if valid(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return h, lo, true
}

// gate holds new readers back while an escalated checkpoint runs. It opens
// when the checkpoint ends or after the hold-back bound, whichever comes
// first.
type gate struct {
	f      *fileState
	opened chan struct{} // closed when the gate opens
	once   sync.Once
	timer  *time.Timer
}

// open lets readers through; the first call wins.
func (g *gate) open() {
	g.once.Do(func() {
		g.f.gate.CompareAndSwap(g, nil)
		close(g.opened)
	})
}

// openNow opens the gate before its bound and stops the timer.
func (g *gate) openNow() {
	g.timer.Stop()
	g.open()
}

// closeGate closes f's reader gate for at most bound.
func (f *fileState) closeGate(bound time.Duration) *gate {
	g := &gate{f: f, opened: make(chan struct{})}
	f.gate.Store(g)
	g.timer = time.AfterFunc(bound, g.open)
	return g
}

// waitGate holds a reader back while the gate is closed. It returns at
// once when no escalation runs (one atomic load), and otherwise when the
// gate opens (within the hold-back bound) or ctx ends.
func (f *fileState) waitGate(ctx context.Context) error {
	g := f.gate.Load()
	if g == nil {
		return nil
	}
	start := time.Now()
	select {
	case <-g.opened:
	case <-ctx.Done():
		return fmt.Errorf("sqlite3-safe: waiting for a checkpoint on %s: %w", f.key, ctx.Err())
	}
	f.stats.recordHoldBack(time.Since(start))
	return nil
}

// brake holds writers back while the WAL is over its limit, until the
// checkpointer has run one escalated checkpoint. Writers raise it (they
// sample the WAL every brakeSampleEvery writes, while still holding the
// lock), so the WAL stays bounded even when the checkpointer goroutine is
// slow to be scheduled on a loaded machine.
type brake struct {
	released chan struct{} // closed when writers may go on
}

// brakeSampleEvery is how many write-lock releases on a file come between
// two looks at the -wal file's size (a stat).
const brakeSampleEvery = 16

// brakeBackoff is how long writers are not braked again after an
// escalation could not finish: a reader that keeps one snapshot open pins
// the WAL, and braking every few writes would only slow writers down.
const brakeBackoff = time.Second

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

// waitBrake holds a writer back while the brake is on, at most timeout.
// It returns how long it waited.
func (f *fileState) waitBrake(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	b := f.brake.Load()
	if b == nil {
		return 0, nil
	}
	start := time.Now()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-b.released:
		return time.Since(start), nil
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	case <-t.C:
		return time.Since(start), errTimedOut
	}
}

// fileStats are the counters behind [FileStats]; all atomics.
type fileStats struct {
	ckptByMode  [numCheckpointModes]atomic.Int64
	ckptBusy    atomic.Int64
	ckptErrors  atomic.Int64
	frames      atomic.Int64
	escalations atomic.Int64
	brakes      atomic.Int64
	walBytes    atomic.Int64
	maxWALBytes atomic.Int64
	holdBacks   atomic.Int64
	holdBackMax atomic.Int64 // nanoseconds
}

func (s *fileStats) recordWAL(n int64) {
	s.walBytes.Store(n)
	storeMax(&s.maxWALBytes, n)
}

func (s *fileStats) recordHoldBack(d time.Duration) {
	s.holdBacks.Add(1)
	storeMax(&s.holdBackMax, int64(d))
}

func storeMax(a *atomic.Int64, n int64) {
	for {
		old := a.Load()
		if n <= old || a.CompareAndSwap(old, n) {
			return
		}
	}
}
