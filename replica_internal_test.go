package sqlite3safe

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRefuseOnReplica is what the check costs a write on a plain file
// (no .primary), the answer cached: a clock read and two atomic loads.
// BenchmarkInsert is four orders of magnitude above it.
func BenchmarkRefuseOnReplica(b *testing.B) {
	f := &fileState{key: filepath.Join(b.TempDir(), "app.db")}
	for b.Loop() {
		if err := f.refuseOnReplica(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReplicaAnswerCached: .primary is looked at once per
// replicaCheckInterval, not per write; a memory database never.
func TestReplicaAnswerCached(t *testing.T) {
	dir := t.TempDir()
	f := &fileState{key: filepath.Join(dir, "app.db")}
	if f.onReplica() {
		t.Fatal("replica without .primary")
	}
	first := f.replica.checked.Load()
	if err := os.WriteFile(filepath.Join(dir, primaryFile), []byte("p\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	// Within the interval the cached answer stands (unless this goroutine
	// was descheduled past it, when the look is repeated).
	if f.onReplica() && monoNow()-first < int64(replicaCheckInterval) {
		t.Fatal(".primary looked at again within the interval")
	}
	f.replica.checked.Store(monoNow() - int64(replicaCheckInterval))
	if p, ok := f.replicaPrimary(); !ok || p != "p" {
		t.Fatalf("replicaPrimary() = %q, %v; want \"p\", true", p, ok)
	}

	m := &fileState{key: "memory:x"}
	if m.onReplica() || m.replica.checked.Load() < 1<<62 {
		t.Fatal("a memory database is looked at for .primary")
	}
}
