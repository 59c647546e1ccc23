package rwlock

import (
	"context"
	"testing"
	"time"
)

// BenchmarkUncontended is one writer taking and giving back the exclusive
// side, the path of every autocommit write that meets no other writer.
func BenchmarkUncontended(b *testing.B) {
	var l Lock
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := l.AcquireReq(ctx, Request{Mode: Exclusive}, time.Second); err != nil {
			b.Fatal(err)
		}
		l.Release(Exclusive)
	}
}

// BenchmarkContendedWriters is writers on every P taking the exclusive
// side in turn, with nothing done while it is held: the cost of the queue,
// the hand-off and the wake-ups.
func BenchmarkContendedWriters(b *testing.B) {
	var l Lock
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := l.AcquireReq(ctx, Request{Mode: Exclusive}, time.Minute); err != nil {
				b.Error(err)
				return
			}
			l.Release(Exclusive)
		}
	})
}

// BenchmarkNestedRead is a goroutine that holds the shared side taking it
// once more (a query per row of open rows), with its goroutine id.
func BenchmarkNestedRead(b *testing.B) {
	var l Lock
	ctx := context.Background()
	gid := GoroutineID()
	if _, err := l.AcquireAs(ctx, Shared, gid, time.Second); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := l.AcquireAs(ctx, Shared, gid, time.Second); err != nil {
			b.Fatal(err)
		}
		l.ReleaseAs(Shared, gid)
	}
	l.ReleaseAs(Shared, gid)
}
