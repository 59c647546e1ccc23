package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sqlite3safe/sqlite3safe"
	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// TestLiteFSLitestreamBackup runs the litestream command beside LiteFS on
// the primary, replicating the database in the LiteFS mount to a file
// replica outside it, while sqlite3-safe (_safe_checkpoint=off, as with
// Litestream anywhere) appends to the ledger; then stops Litestream
// (SIGTERM syncs the rest) and restores: the restored copy and the LiteFS
// replica both hold every committed block, integrity_check ok.
func TestLiteFSLitestreamBackup(t *testing.T) {
	lsBin := litestreamBin(t)
	primary, replica := startLiteFSCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ppath, rpath := primary.path("app.db"), replica.path("app.db")
	dir := t.TempDir()
	// LiteFS's mount holds databases only: Litestream's own files (meta-path)
	// and the backup go outside it.
	backup, restored := filepath.Join(dir, "backup"), filepath.Join(dir, "restored.db")
	logPath, cfgPath := filepath.Join(dir, "litestream.log"), filepath.Join(dir, "litestream.yml")

	pdb := openLiteFS(t, ppath+"?_safe_checkpoint=off")
	if err := ledger.Create(ctx, pdb); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`logging:
  level: debug
  stderr: true
dbs:
  - path: %s
    meta-path: %s
    monitor-interval: 50ms
    checkpoint-interval: 1s
    min-checkpoint-page-count: 200
    replica:
      type: file
      path: %s
      sync-interval: 100ms
`, ppath, filepath.Join(dir, "meta"), backup)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(lsBin, "replicate", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // owned here: every path below waits for it
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("litestream log (tail):\n%s", tail(logPath, 40))
		}
		if keep := os.Getenv("LITEFS_LOG_DIR"); keep != "" { // for debugging: keep the whole log
			if b, err := os.ReadFile(logPath); err == nil {
				_ = os.WriteFile(filepath.Join(keep, t.Name()+"-litestream.log"), b, 0o644)
			}
		}
	}()
	waitFor(t, 30*time.Second, "litestream to start replicating", func() bool {
		var n int
		return pdb.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = '_litestream_seq'`).Scan(&n) == nil && n == 1
	})

	var (
		e        errs
		appended atomic.Int64
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := ledger.Append(ctx, pdb, fmt.Sprintf("w%d-%d", w, i)); err != nil {
					e.add(err)
					return
				}
				appended.Add(1)
			}
		}()
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	e.check(t)
	committed := appended.Load()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("litestream replicate exited: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("litestream did not stop within 30s of SIGTERM")
	}
	out, err := exec.CommandContext(ctx, lsBin, "restore", "-config", cfgPath, "-o", restored, ppath).CombinedOutput()
	if err != nil {
		t.Fatalf("litestream restore: %v\n%s", err, out)
	}
	rdb, err := sql.Open("sqlite3", restored)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	integrityCheck(t, rdb)
	if n, err := ledger.Verify(ctx, rdb); err != nil || n != committed {
		t.Fatalf("restored copy: %d blocks (%v), %d committed", n, err, committed)
	}

	waitForReplicaDB(t, rpath, "blocks")
	repl := openLiteFS(t, rpath)
	waitFor(t, 30*time.Second, "the LiteFS replica to catch up", func() bool {
		var n int64
		return repl.QueryRow(`SELECT count(*) FROM blocks`).Scan(&n) == nil && n == committed
	})
	if n, err := ledger.Verify(ctx, repl); err != nil || n != committed {
		t.Fatalf("LiteFS replica: %d blocks (%v), %d committed", n, err, committed)
	}
	integrityCheck(t, repl)
	integrityCheck(t, pdb)
	st, _ := sqlite3safe.Stats(pdb)
	t.Logf("%d blocks committed, restored by Litestream and on the LiteFS replica; lock waits max %v; Litestream re-snapshots: %d",
		committed, st.LockWaitMax, countLines(logPath, "wal truncated by another process", "wal overwritten by another process", "salt reset"))
}
