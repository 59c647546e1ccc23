//go:build cgo

package sqlite3safe_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
	"github.com/sqlite3safe/sqlite3safe/internal/ledger"
)

// The test binary re-executes itself as a child process; these variables
// tell the child what to do.
const (
	childRoleEnv   = "SQLITE3SAFE_TEST_CHILD"      // "append", "diskfull", "truncate-update"
	childDSNEnv    = "SQLITE3SAFE_TEST_DSN"        // the database to append to
	childGoEnv     = "SQLITE3SAFE_TEST_GOROUTINES" // appending goroutines
	childBlocksEnv = "SQLITE3SAFE_TEST_BLOCKS"     // blocks per goroutine; 0 = until killed
	childPadEnv    = "SQLITE3SAFE_TEST_PAD"        // payload bytes per block
)

// runChild is the child process: goroutines append ledger blocks and print
// "ok INDEX" after each commit and "err MESSAGE" after each failure.
func runChild(role string) int {
	switch role {
	case "diskfull":
		return runDiskFullChild()
	case "truncate-update":
		return runTruncateUpdateChild()
	case "hold":
		return runHoldChild()
	}
	if role != "append" {
		fmt.Fprintln(os.Stderr, "unknown child role", role)
		return 2
	}
	goroutines, _ := strconv.Atoi(os.Getenv(childGoEnv))
	blocks, _ := strconv.Atoi(os.Getenv(childBlocksEnv))
	pad, _ := strconv.Atoi(os.Getenv(childPadEnv))
	db, err := sql.Open(sqlite3safe.DriverName, os.Getenv(childDSNEnv))
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	defer db.Close()
	ctx := context.Background()
	if err := ledger.Create(ctx, db); err != nil {
		fmt.Println("err", err)
		return 1
	}
	var (
		mu  sync.Mutex // serializes lines on stdout
		wg  sync.WaitGroup
		out = bufio.NewWriter(os.Stdout)
	)
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush() // the parent may kill us at any moment: no line waits in a buffer
		mu.Unlock()
	}
	payload := strings.Repeat("x", pad)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; blocks == 0 || b < blocks; b++ {
				idx, err := ledger.Append(ctx, db, fmt.Sprintf("p%d-g%d-b%d-%s", os.Getpid(), g, b, payload))
				if err != nil {
					say("err %v", err)
					continue
				}
				say("ok %d", idx)
			}
		}()
	}
	wg.Wait()
	return 0
}

// startChild starts an appending child process on dsn.
func startChild(t *testing.T, dsn string, goroutines, blocks, pad int) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childRoleEnv+"=append",
		childDSNEnv+"="+dsn,
		childGoEnv+"="+strconv.Itoa(goroutines),
		childBlocksEnv+"="+strconv.Itoa(blocks),
		childPadEnv+"="+strconv.Itoa(pad),
	)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return cmd, sc
}

// childOutput reads a child's lines: the committed indices and the errors.
func childOutput(sc *bufio.Scanner) (committed []int64, errs []string) {
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "ok "):
			n, err := strconv.ParseInt(strings.TrimPrefix(line, "ok "), 10, 64)
			if err == nil {
				committed = append(committed, n)
			}
		case strings.HasPrefix(line, "err "):
			errs = append(errs, strings.TrimPrefix(line, "err "))
		}
	}
	return committed, errs
}

// checkLedger reopens the file and checks integrity and the chain; it
// returns the number of blocks.
func checkLedger(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open(sqlite3safe.DriverName, path)
	require.NoError(t, err)
	defer db.Close()
	var ok string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&ok))
	require.Equal(t, "ok", ok, "integrity_check")
	n, err := ledger.Verify(context.Background(), db)
	require.NoError(t, err, "chain")
	return n
}

// TestCrashSafety kills a writing child with SIGKILL at random moments,
// 20 times on one file, some kills during checkpoints (a tiny WAL limit
// keeps the checkpointer escalating). After every kill the database is
// intact and every block the child reported committed is there.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	dsn := path + "?_safe_wal_limit=262144"
	var total int
	for round := range 20 {
		cmd, sc := startChild(t, dsn, 4, 0, 2048)
		var (
			committed []int64
			errs      []string
			done      = make(chan struct{})
		)
		go func() {
			committed, errs = childOutput(sc)
			close(done)
		}()
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		<-done
		_ = cmd.Wait()
		assert.Empty(t, errs, "round %d: the child saw errors", round)

		n := checkLedger(t, path)
		for _, idx := range committed {
			require.Less(t, idx, n, "round %d: block %d was reported committed but is gone (%d blocks)", round, idx, n)
		}
		total += len(committed)
	}
	require.Positive(t, total, "no child committed anything: the test proved nothing")
	t.Logf("%d blocks committed across 20 kills", total)
}

// TestSeveralProcesses: 4 processes × 8 goroutines append to one ledger
// at once. The in-process lock cannot see the other processes: SQLite's
// busy timeout and immediate transactions carry it.
func TestSeveralProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const procs, goroutines, blocks = 4, 8, 25
	path := filepath.Join(t.TempDir(), "procs.db")
	// Create the table first, so the children do not race to.
	checkLedgerCreate(t, path)

	var (
		wg        sync.WaitGroup
		committed atomic.Int64
		mu        sync.Mutex
		errs      []string
	)
	for range procs {
		cmd, sc := startChild(t, path, goroutines, blocks, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, e := childOutput(sc)
			committed.Add(int64(len(c)))
			mu.Lock()
			errs = append(errs, e...)
			mu.Unlock()
			assert.NoError(t, cmd.Wait())
		}()
	}
	wg.Wait()
	require.Empty(t, errs, "errors across processes")
	assert.EqualValues(t, procs*goroutines*blocks, committed.Load())
	assert.EqualValues(t, procs*goroutines*blocks, checkLedger(t, path))
}

func checkLedgerCreate(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open(sqlite3safe.DriverName, path)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, ledger.Create(context.Background(), db))
}
