package rwlock

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const long = 30 * time.Second // liveness bound for a loaded machine

// waitQueued waits until n requests are queued on l.
func waitQueued(t *testing.T, l *Lock, n int) {
	t.Helper()
	deadline := time.Now().Add(long)
	for {
		l.mu.Lock()
		got := l.waiters.Len()
		l.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queued waiters: got %d, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// queueInOrder queues one goroutine per mode, in that order, each holding
// what it gets for hold; once all wait, and the first has waited past the
// barging bound, it calls Release (which must give back the lock the test
// holds) and returns the order in which the requests were granted.
func queueInOrder(t *testing.T, l *Lock, order []Mode, hold time.Duration, Release func()) []int {
	t.Helper()
	var (
		mu      sync.Mutex
		granted []int
		wg      sync.WaitGroup
	)
	for i, mode := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Acquire(context.Background(), mode, long)
			assert.NoError(t, err)
			mu.Lock()
			granted = append(granted, i)
			mu.Unlock()
			time.Sleep(hold)
			l.Release(mode)
		}()
		waitQueued(t, l, i+1)
	}
	time.Sleep(3 * starveAfter) // past the bound: no more barging
	Release()
	wg.Wait()
	return granted
}

func TestRWLockFIFO(t *testing.T) {
	var l Lock
	ctx := context.Background()
	_, err := l.Acquire(ctx, Exclusive, long)
	require.NoError(t, err)

	// Queue writers and readers in a known order, then Release.
	granted := queueInOrder(t, &l, []Mode{Exclusive, Shared, Shared, Exclusive, Shared}, 5*time.Millisecond, func() {
		l.Release(Exclusive)
	})
	// Writer 0 first, alone; readers 1 and 2 together (either order);
	// writer 3 after both; reader 4 last.
	require.Len(t, granted, 5)
	assert.Equal(t, 0, granted[0])
	assert.ElementsMatch(t, []int{1, 2}, granted[1:3])
	assert.Equal(t, []int{3, 4}, granted[3:])
}

// TestRWLockNestedReadJoinsReaders: a read asked for by a goroutine that
// already holds the shared side is granted at once, even with a writer
// queued (that writer waits for the goroutine's reads to end, so queueing
// behind it would be waiting for itself). A read by any other goroutine
// queues behind the writer, and the writer goes once the last read ends.
func TestRWLockNestedReadJoinsReaders(t *testing.T) {
	var l Lock
	ctx := context.Background()
	const me, other = 1, 2
	_, err := l.AcquireAs(ctx, Shared, me, long)
	require.NoError(t, err)
	writerIn := make(chan struct{})
	writerOut := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, Exclusive, long)
		if err == nil {
			close(writerIn)
			<-writerOut
			l.Release(Exclusive)
		}
		writerDone <- err
	}()
	waitQueued(t, &l, 1)
	time.Sleep(3 * starveAfter) // past the bound: no more barging ahead of the writer
	// The nested read: granted at once, ahead of the queued writer.
	require.True(t, l.TryAcquireAs(Shared, me), "a nested read waited for a queued writer")
	waited, err := l.AcquireAs(ctx, Shared, me, 0) // no wait allowed: must not need one
	require.NoError(t, err)
	assert.Zero(t, waited)
	// Another goroutine's read, or one of unknown origin, waits its turn.
	assert.False(t, l.TryAcquireAs(Shared, other))
	assert.False(t, l.TryAcquire(Shared))
	otherIn := make(chan error, 1)
	go func() { _, err := l.AcquireAs(ctx, Shared, other, long); otherIn <- err }()
	waitQueued(t, &l, 2)

	l.ReleaseAs(Shared, me)
	l.ReleaseAs(Shared, me)
	select {
	case <-writerIn:
		t.Fatal("writer granted while a reader still holds the shared side")
	case <-time.After(20 * time.Millisecond):
	}
	l.ReleaseAs(Shared, me) // the last read ends: the writer goes
	select {
	case <-writerIn:
	case <-time.After(long):
		t.Fatal("writer starved after the reads ended")
	}
	// The reader queued behind the writer goes after it.
	select {
	case <-otherIn:
		t.Fatal("queued reader granted beside the writer")
	case <-time.After(20 * time.Millisecond):
	}
	close(writerOut)
	require.NoError(t, <-writerDone)
	require.NoError(t, <-otherIn)
	l.ReleaseAs(Shared, other)
	l.mu.Lock()
	assert.Empty(t, l.readBy, "per-goroutine read counts left behind")
	l.mu.Unlock()
	assert.True(t, l.TryAcquire(Exclusive), "lock not free at the end")
}

// TestRWLockQueuedWritersKeepTheirTurn: when no reader holds the lock,
// requests are served in arrival order: a queued writer is not overtaken
// by a later reader, nor by a later writer.
func TestRWLockQueuedWritersKeepTheirTurn(t *testing.T) {
	var l Lock
	ctx := context.Background()
	_, err := l.Acquire(ctx, Exclusive, long)
	require.NoError(t, err)
	granted := queueInOrder(t, &l, []Mode{Exclusive, Shared, Exclusive, Exclusive}, 2*time.Millisecond, func() {
		// Nothing may jump the queue while a writer holds or waits first.
		assert.False(t, l.TryAcquire(Shared))
		assert.False(t, l.TryAcquire(Exclusive))
		l.Release(Exclusive)
	})
	assert.Equal(t, []int{0, 1, 2, 3}, granted)
}

func TestRWLockFailedWaitLeavesStateUnchanged(t *testing.T) {
	var l Lock
	_, err := l.Acquire(context.Background(), Exclusive, long)
	require.NoError(t, err)

	// Timeout.
	waited, err := l.Acquire(context.Background(), Exclusive, 20*time.Millisecond)
	assert.ErrorIs(t, err, ErrTimedOut)
	assert.GreaterOrEqual(t, waited, 15*time.Millisecond)
	// No wait at all.
	_, err = l.Acquire(context.Background(), Exclusive, 0)
	assert.ErrorIs(t, err, ErrTimedOut)
	// Context.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = l.Acquire(ctx, Shared, long)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	// A context that is already done is not waited with.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = l.Acquire(done, Exclusive, long)
	assert.ErrorIs(t, err, context.Canceled)

	l.mu.Lock()
	assert.True(t, l.writer)
	assert.Zero(t, l.readers)
	assert.Zero(t, l.waiters.Len())
	l.mu.Unlock()
	assert.EqualValues(t, 2, l.stats.timeouts.Load())

	// A writer that gave up at the front must not hold back readers behind
	// it. Queue reader 1, the writer, reader 2 behind the exclusive holder;
	// its Release lets reader 1 in and the writer waits for it, reader 2
	// behind the writer.
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	reader1 := make(chan error, 1)
	go func() { _, err := l.Acquire(context.Background(), Shared, long); reader1 <- err }()
	waitQueued(t, &l, 1)
	writerErr := make(chan error, 1)
	go func() { _, err := l.Acquire(wctx, Exclusive, long); writerErr <- err }()
	waitQueued(t, &l, 2)
	reader2 := make(chan error, 1)
	go func() { _, err := l.Acquire(context.Background(), Shared, long); reader2 <- err }()
	waitQueued(t, &l, 3)
	l.Release(Exclusive)
	require.NoError(t, <-reader1)
	waitQueued(t, &l, 2)
	wcancel()
	require.ErrorIs(t, <-writerErr, context.Canceled)
	select {
	case err := <-reader2:
		require.NoError(t, err)
	case <-time.After(long):
		t.Fatal("reader stayed queued behind a writer that gave up")
	}
	l.Release(Shared)
	l.Release(Shared)
	assert.True(t, l.TryAcquire(Exclusive), "lock not free at the end")
}

func TestRWLockReleaseMoreThanHeldPanics(t *testing.T) {
	var l Lock
	assert.PanicsWithValue(t, "sqlite3-safe: lock released more than held", func() { l.Release(Exclusive) })
}

// TestRWLockHammer runs many goroutines through the lock with random
// cancellation and checks mutual exclusion, that a read nested in a held
// read never waits, and that the lock ends free.
func TestRWLockHammer(t *testing.T) {
	var (
		l       Lock
		writers atomic.Int32
		readers atomic.Int32
		wg      sync.WaitGroup
	)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				mode := Shared
				if (g+i)%3 == 0 {
					mode = Exclusive
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%5)*100*time.Microsecond+time.Microsecond)
				gid := uint64(g + 1)
				_, err := l.AcquireAs(ctx, mode, gid, long)
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Acquire: %v", err)
					}
					continue
				}
				if mode == Exclusive {
					if writers.Add(1) != 1 || readers.Load() != 0 {
						t.Error("writer not alone")
					}
					writers.Add(-1)
				} else {
					readers.Add(1)
					if writers.Load() != 0 {
						t.Error("reader beside a writer")
					}
					// A nested read while this one is held never waits,
					// whatever writers are queued.
					if i%4 == 0 {
						if !l.TryAcquireAs(Shared, gid) {
							t.Error("nested read had to wait")
						} else {
							l.ReleaseAs(Shared, gid)
						}
					}
					readers.Add(-1)
				}
				l.ReleaseAs(mode, gid)
			}
		}()
	}
	wg.Wait()
	l.mu.Lock()
	assert.Empty(t, l.readBy, "per-goroutine read counts left behind")
	l.mu.Unlock()
	assert.True(t, l.TryAcquire(Exclusive), "lock not free at the end")
}

func TestGoroutineID(t *testing.T) {
	a := GoroutineID()
	assert.NotZero(t, a)
	assert.Equal(t, a, GoroutineID())
	b := make(chan uint64)
	go func() { b <- GoroutineID() }()
	other := <-b
	assert.NotZero(t, other)
	assert.NotEqual(t, a, other)
}

// TestRWLockBargingIsBounded: a request that finds the lock free may take
// it ahead of a queued one that has not waited past starveAfter; once the
// queued one has, the lock is handed to it and later arrivals queue.
func TestRWLockBargingIsBounded(t *testing.T) {
	var l Lock
	ctx := context.Background()
	_, err := l.Acquire(ctx, Exclusive, long)
	require.NoError(t, err)
	got := make(chan struct{})
	go func() {
		_, err := l.Acquire(ctx, Exclusive, long)
		assert.NoError(t, err)
		close(got)
	}()
	waitQueued(t, &l, 1)

	// Not yet past the bound (its arrival moved to the future): the
	// releasing goroutine takes the lock straight back.
	l.mu.Lock()
	l.waiters.Front().Value.(*waiter).since = time.Now().Add(time.Hour)
	l.mu.Unlock()
	l.Release(Exclusive)
	require.True(t, l.TryAcquire(Exclusive), "a free lock with a fresh waiter should be taken at once")
	select {
	case <-got:
		t.Fatal("the waiter got a lock that was held")
	default:
	}

	// Past the bound: the Release hands the lock to the waiter.
	l.mu.Lock()
	l.waiters.Front().Value.(*waiter).since = time.Now().Add(-time.Hour)
	l.mu.Unlock()
	l.Release(Exclusive)
	assert.False(t, l.TryAcquire(Exclusive), "the lock should have been handed to the starving waiter")
	<-got
	l.Release(Exclusive)
}

// TestRWLockWorstWait: 8 writers hammer the lock with short holds; every
// acquisition's wait is recorded. The stated bound is starveAfter plus the
// holds that began before a waiter crossed it; this checks liveness with
// room for a loaded machine and reports the measured worst wait.
func TestRWLockWorstWait(t *testing.T) {
	var l Lock
	ctx := context.Background()
	var (
		mu    sync.Mutex
		waits []time.Duration
		wg    sync.WaitGroup
	)
	deadline := time.Now().Add(300 * time.Millisecond)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				start := time.Now()
				_, err := l.Acquire(ctx, Exclusive, long)
				if !assert.NoError(t, err) {
					return
				}
				mine = append(mine, time.Since(start))
				spin := time.Now()
				for time.Since(spin) < 20*time.Microsecond {
				}
				l.Release(Exclusive)
			}
			mu.Lock()
			waits = append(waits, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(waits)
	require.NotEmpty(t, waits)
	worst := waits[len(waits)-1]
	t.Logf("%d acquisitions, p50 %v, p99 %v, p99.9 %v, worst %v", len(waits),
		waits[len(waits)/2], waits[len(waits)*99/100], waits[len(waits)*999/1000], worst)
	assert.Less(t, worst, 250*time.Millisecond, "a writer starved")
}
