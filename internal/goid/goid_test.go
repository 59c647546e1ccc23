package goid

import (
	"sync"
	"testing"
)

// Goroutines alive together have different keys; one goroutine keeps its
// key, also after its stack has grown (and been copied).
func TestKey(t *testing.T) {
	const n = 64
	keys := make([]uint64, n)
	var started, done sync.WaitGroup
	release := make(chan struct{})
	for i := range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			k := Key()
			keys[i] = k
			started.Done()
			<-release // all alive at once
			if grown := deep(200); grown != k {
				t.Errorf("goroutine %d: key %x after its stack grew, %x before", i, grown, k)
			}
		}()
	}
	started.Wait()
	seen := make(map[uint64]int, n)
	for i, k := range keys {
		if k == 0 {
			t.Fatalf("goroutine %d: key 0", i)
		}
		if j, dup := seen[k]; dup {
			t.Fatalf("goroutines %d and %d, alive together, share key %x", i, j, k)
		}
		seen[k] = i
	}
	close(release)
	done.Wait()
	first := Key()
	if again := deep(50); again != first {
		t.Fatalf("one goroutine, two keys: %x, then %x", first, again)
	}
}

// deep recurses with a large frame, so the stack grows, and returns Key.
func deep(n int) uint64 {
	var pad [256]byte
	if n == 0 {
		return Key() + uint64(pad[0])
	}
	return deep(n-1) + uint64(pad[n%256])
}

func BenchmarkKey(b *testing.B) {
	for b.Loop() {
		_ = Key()
	}
}
