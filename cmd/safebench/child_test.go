package main

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader on two
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestChildStopsWhenParentGoes: a procs child whose stdin (the parent's
// pipe) reaches end-of-file after the start signal stops appending and
// exits non-zero, instead of running on without a parent.
func TestChildStopsWhenParentGoes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	ctx := t.Context()
	h, err := openConfig(ctx, "sqlite3-safe", path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Create(ctx, h.w); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(childSpec{Config: "sqlite3-safe", Path: path, Proc: 0, Goroutines: 2, Blocks: 10_000_000})
	inR, inW := io.Pipe()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- childMain(string(spec), inR, &stdout, &stderr) }()

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), childReady) {
		if time.Now().After(deadline) {
			inW.Close()
			t.Fatalf("child not ready after 30 s; stderr: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := io.WriteString(inW, childGo+"\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	inW.Close() // the parent is gone

	select {
	case code := <-done:
		if code == 0 {
			t.Errorf("child exited 0 after losing its parent; stdout %q", stdout.String())
		}
		if !strings.Contains(stderr.String(), "parent") {
			t.Errorf("stderr %q does not say the parent went away", stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("child still appending 20 s after its stdin closed")
	}
}
