//go:build cgo

package sqlite3safe

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const long = 30 * time.Second // liveness bound for a loaded machine

// waitQueued waits until n requests are queued on l.
func waitQueued(t *testing.T, l *rwLock, n int) {
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

func TestRWLockFIFO(t *testing.T) {
	var l rwLock
	ctx := context.Background()
	_, err := l.acquire(ctx, lockExclusive, long)
	require.NoError(t, err)

	// Queue writers and readers in a known order, then release.
	order := []lockMode{lockExclusive, lockShared, lockShared, lockExclusive, lockShared}
	var (
		mu      sync.Mutex
		granted []int
		wg      sync.WaitGroup
	)
	for i, mode := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.acquire(ctx, mode, long)
			assert.NoError(t, err)
			mu.Lock()
			granted = append(granted, i)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			l.release(mode)
		}()
		waitQueued(t, &l, i+1)
	}
	l.release(lockExclusive)
	wg.Wait()
	// Writer 0 first, alone; readers 1 and 2 together (either order);
	// writer 3 after both; reader 4 last.
	require.Len(t, granted, 5)
	assert.Equal(t, 0, granted[0])
	assert.ElementsMatch(t, []int{1, 2}, granted[1:3])
	assert.Equal(t, []int{3, 4}, granted[3:])
}

func TestRWLockReadersDoNotStarveWriter(t *testing.T) {
	var l rwLock
	ctx := context.Background()
	_, err := l.acquire(ctx, lockShared, long)
	require.NoError(t, err)
	writerDone := make(chan error, 1)
	go func() {
		_, err := l.acquire(ctx, lockExclusive, long)
		if err == nil {
			l.release(lockExclusive)
		}
		writerDone <- err
	}()
	waitQueued(t, &l, 1)
	// A reader arriving after the queued writer must not jump ahead of it.
	assert.False(t, l.tryAcquire(lockShared))
	l.release(lockShared)
	select {
	case err := <-writerDone:
		require.NoError(t, err)
	case <-time.After(long):
		t.Fatal("writer starved")
	}
}

func TestRWLockFailedWaitLeavesStateUnchanged(t *testing.T) {
	var l rwLock
	_, err := l.acquire(context.Background(), lockExclusive, long)
	require.NoError(t, err)

	// Timeout.
	waited, err := l.acquire(context.Background(), lockExclusive, 20*time.Millisecond)
	assert.ErrorIs(t, err, errTimedOut)
	assert.GreaterOrEqual(t, waited, 15*time.Millisecond)
	// No wait at all.
	_, err = l.acquire(context.Background(), lockExclusive, 0)
	assert.ErrorIs(t, err, errTimedOut)
	// Context.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = l.acquire(ctx, lockShared, long)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	// A context that is already done is not waited with.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = l.acquire(done, lockExclusive, long)
	assert.ErrorIs(t, err, context.Canceled)

	l.mu.Lock()
	assert.True(t, l.writer)
	assert.Zero(t, l.readers)
	assert.Zero(t, l.waiters.Len())
	l.mu.Unlock()
	assert.EqualValues(t, 2, l.stats.timeouts.Load())

	// A writer that gave up at the front must not hold back readers behind it.
	l.release(lockExclusive)
	_, err = l.acquire(context.Background(), lockShared, long)
	require.NoError(t, err)
	wctx, wcancel := context.WithCancel(context.Background())
	writerErr := make(chan error, 1)
	go func() { _, err := l.acquire(wctx, lockExclusive, long); writerErr <- err }()
	waitQueued(t, &l, 1)
	readerErr := make(chan error, 1)
	go func() { _, err := l.acquire(context.Background(), lockShared, long); readerErr <- err }()
	waitQueued(t, &l, 2)
	wcancel()
	require.ErrorIs(t, <-writerErr, context.Canceled)
	select {
	case err := <-readerErr:
		require.NoError(t, err)
	case <-time.After(long):
		t.Fatal("reader stayed queued behind a writer that gave up")
	}
	l.release(lockShared)
	l.release(lockShared)
}

func TestRWLockReleaseMoreThanHeldPanics(t *testing.T) {
	var l rwLock
	assert.PanicsWithValue(t, "sqlite3-safe: rwLock released more than held", func() { l.release(lockExclusive) })
}

// TestRWLockHammer runs many goroutines through the lock with random
// cancellation and checks mutual exclusion and that the lock ends free.
func TestRWLockHammer(t *testing.T) {
	var (
		l       rwLock
		writers atomic.Int32
		readers atomic.Int32
		wg      sync.WaitGroup
	)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				mode := lockShared
				if (g+i)%3 == 0 {
					mode = lockExclusive
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%5)*100*time.Microsecond+time.Microsecond)
				_, err := l.acquire(ctx, mode, long)
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("acquire: %v", err)
					}
					continue
				}
				if mode == lockExclusive {
					if writers.Add(1) != 1 || readers.Load() != 0 {
						t.Error("writer not alone")
					}
					writers.Add(-1)
				} else {
					readers.Add(1)
					if writers.Load() != 0 {
						t.Error("reader beside a writer")
					}
					readers.Add(-1)
				}
				l.release(mode)
			}
		}()
	}
	wg.Wait()
	assert.True(t, l.tryAcquire(lockExclusive), "lock not free at the end")
}

func TestRegistryRefCount(t *testing.T) {
	r := registry{files: map[string]*fileState{}}
	a := r.acquire("/x", nil, nil)
	b := r.acquire("/x", nil, nil)
	require.Same(t, a, b)
	r.release(a)
	assert.Same(t, a, r.lookup("/x"))
	r.release(b)
	assert.Nil(t, r.lookup("/x"))
	assert.NotSame(t, a, r.acquire("/x", nil, nil))
}
