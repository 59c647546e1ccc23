//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// Faults on the file: every statement returns (no hang), errors are
// SQLite's own and clear, the lock comes back, and writes succeed again
// once the fault is gone where that is possible. TestMain's goleak check
// covers the goroutines.

// sqliteCode returns the SQLite primary code of err, or -1.
func sqliteCode(err error) sqlite3.ErrNo {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return -1
}

// TestFaultReadOnlyFile makes the database and its WAL immutable (chattr
// +i: even root cannot write) under an open database. Setting the
// attribute needs root (CAP_LINUX_IMMUTABLE) and a file system that has it;
// no unprivileged way makes a file that is already open for writing
// refuse writes (permissions are checked at open, and a read-only remount
// is refused while files are open for writing). Elsewhere the test says
// so and skips.
func TestFaultReadOnlyFile(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("SKIPPED, read-only file fault not covered: chattr +i needs root on Linux")
	}
	path := filepath.Join(t.TempDir(), "ro.db")
	db := openDB(t, sqlite3safe.DriverName, path+"?_safe_lock_timeout=0")
	mustExec(t, db, "CREATE TABLE t(x)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	files := []string{path, path + "-wal"}
	if out, err := exec.Command("chattr", append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED, read-only file fault not covered: chattr +i failed (no CAP_LINUX_IMMUTABLE, or the file system has no immutable attribute): %v %s", err, out)
	}
	defer exec.Command("chattr", append([]string{"-i"}, files...)...).Run()

	for range 20 {
		_, err := db.Exec("INSERT INTO t VALUES (2)")
		require.Error(t, err, "a write to an immutable file succeeded")
		assert.NotErrorIs(t, err, sqlite3safe.ErrLockTimeout, "the lock was not given back after a failed write")
		assert.NotEqual(t, sqlite3.ErrNo(-1), sqliteCode(err), "not SQLite's error: %v", err)
	}
	t.Logf("write to immutable file: %v", func() error { _, err := db.Exec("INSERT INTO t VALUES (2)"); return err }())
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n), "reads go on")
	assert.Equal(t, 1, n)

	require.NoError(t, exec.Command("chattr", append([]string{"-i"}, files...)...).Run())
	// The fault is gone: writes succeed again (the pool may need a fresh
	// connection, which database/sql gets by itself).
	require.Eventually(t, func() bool {
		_, err := db.Exec("INSERT INTO t VALUES (3)")
		return err == nil
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t WHERE x = 3").Scan(&n))
	assert.Equal(t, 1, n)
}

// TestFaultDiskFull runs a child whose file-size limit (RLIMIT_FSIZE)
// stands for a full disk, then lifts the limit.
func TestFaultDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "full.db")
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"=diskfull", childDSNEnv+"="+path+"?_safe_lock_timeout=0")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	require.NoError(t, err)
	lines := string(out)
	// EFBIG reaches the caller as SQLite's own SQLITE_IOERR, "file too
	// large" (ENOSPC would be SQLITE_FULL).
	assert.Contains(t, lines, "full code=10 err=disk I/O error: file too large", "SQLite's error, passed through")
	assert.Contains(t, lines, "again code=10 locktimeout=false", "the lock came back after the failure")
	assert.Contains(t, lines, "read ok")
	assert.Contains(t, lines, "recovered ok")
	assert.Contains(t, lines, "integrity ok")
}

// runDiskFullChild is the child of TestFaultDiskFull.
func runDiskFullChild() int {
	dsn := os.Getenv(childDSNEnv)
	db, err := sql.Open(sqlite3safe.DriverName, dsn)
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t(b BLOB)"); err != nil {
		fmt.Println("create:", err)
		return 1
	}
	// Writing past the limit raises SIGXFSZ, which would kill us; ignored,
	// the write fails with EFBIG, which SQLite reports as SQLITE_IOERR.
	signal.Ignore(syscall.SIGXFSZ)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		fmt.Println("getrlimit:", err)
		return 1
	}
	lim := old
	lim.Cur = 512 << 10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		return 1
	}
	var ferr error
	for i := 0; i < 10000 && ferr == nil; i++ {
		_, ferr = db.Exec("INSERT INTO t VALUES (randomblob(4096))")
	}
	fmt.Printf("full code=%d err=%v\n", sqliteCode(ferr), ferr)
	_, err = db.Exec("INSERT INTO t VALUES (randomblob(4096))")
	fmt.Printf("again code=%d locktimeout=%v\n", sqliteCode(err), errors.Is(err, sqlite3safe.ErrLockTimeout))
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err == nil {
		fmt.Println("read ok", n)
	} else {
		fmt.Println("read:", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		fmt.Println("setrlimit:", err)
		return 1
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := db.Exec("INSERT INTO t VALUES (randomblob(4096))")
		if err == nil {
			fmt.Println("recovered ok")
			break
		}
		if time.Now().After(deadline) {
			fmt.Println("not recovered:", err)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err == nil && ok == "ok" {
		fmt.Println("integrity ok")
	} else {
		fmt.Println("integrity:", ok, err)
	}
	return 0
}

// TestFaultDirectoryRemoved removes the database's directory under an
// open database: statements keep returning, nothing hangs, and Close
// releases everything.
func TestFaultDirectoryRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	require.NoError(t, os.Mkdir(dir, 0o755))
	path := filepath.Join(dir, "d.db")
	db, err := sql.Open(sqlite3safe.DriverName, path+"?_safe_lock_timeout=0")
	require.NoError(t, err)
	mustExec(t, db, "CREATE TABLE t(b BLOB)")
	mustExec(t, db, "INSERT INTO t VALUES (randomblob(1024))")
	require.NoError(t, os.RemoveAll(dir))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs []string
	committed := 1
	for range 200 {
		_, err := db.ExecContext(ctx, "INSERT INTO t VALUES (randomblob(1024))")
		if err != nil {
			assert.NotErrorIs(t, err, sqlite3safe.ErrLockTimeout, "lock not given back")
			assert.NotEqual(t, sqlite3.ErrNo(-1), sqliteCode(err), "not SQLite's error: %v", err)
			errs = append(errs, err.Error())
		} else {
			committed++
		}
		// The open connection keeps the unlinked file: reads go on and
		// see every committed row.
		var n int
		if assert.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n), "read after the directory went") {
			assert.Equal(t, committed, n, "rows read vs rows committed")
		}
	}
	require.NoError(t, ctx.Err(), "liveness: statements stopped returning")
	t.Logf("%d of 200 writes failed after the directory went; first: %v", len(errs), strings.Join(errs[:min(1, len(errs))], ""))
	// Close must return and stop the checkpointer (goleak in TestMain).
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case <-closed:
	case <-time.After(60 * time.Second):
		t.Fatal("liveness: Close hung")
	}
	// The fault gone (the directory back), the path works again.
	require.NoError(t, os.Mkdir(dir, 0o755))
	db2 := openDB(t, sqlite3safe.DriverName, path)
	mustExec(t, db2, "CREATE TABLE t(b BLOB)")
	mustExec(t, db2, "INSERT INTO t VALUES (1)")
}
