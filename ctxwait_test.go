//go:build cgo

package sqlite3safe_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// runHoldChild holds SQLite's write lock on the file (plain go-sqlite3,
// BEGIN IMMEDIATE), says "held", and commits when its stdin closes (or
// after a minute), then says "released".
func runHoldChild() int {
	db, err := sql.Open("sqlite3", os.Getenv(childDSNEnv))
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		fmt.Println("err", err)
		return 1
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE; INSERT INTO t VALUES ('child')"); err != nil {
		fmt.Println("err", err)
		return 1
	}
	fmt.Println("held")
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
	}
	if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		fmt.Println("err", err)
		return 1
	}
	fmt.Println("released")
	return 0
}

// lockHolder is another process holding SQLite's write lock on a file.
type lockHolder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// holdLockInChild starts a child process that holds path's write lock
// until release is called (or the test ends).
func holdLockInChild(t *testing.T, path string) *lockHolder {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"=hold", childDSNEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &lockHolder{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() { h.release(t) })
	require.True(t, h.out.Scan(), "child said nothing")
	require.Equal(t, "held", h.out.Text())
	return h
}

// release lets the child commit and waits for it.
func (h *lockHolder) release(t *testing.T) {
	if h.cmd == nil {
		return
	}
	_ = h.stdin.Close()
	for h.out.Scan() {
		assert.Equal(t, "released", h.out.Text())
	}
	assert.NoError(t, h.cmd.Wait())
	h.cmd = nil
}

// The statements that wait for SQLite's write lock, which another process
// holds: each is run with ctx, on a connection of db.
var waitingStatements = []struct {
	name string
	run  func(ctx context.Context, db *sql.DB) error
}{
	{"BeginTx", func(ctx context.Context, db *sql.DB) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck
		// A transaction begins, and waits, at its first statement.
		var n int
		return tx.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n)
	}},
	{"Exec", func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, "INSERT INTO t VALUES ('parent')")
		return err
	}},
	{"manual BEGIN", func(ctx context.Context, db *sql.DB) error {
		conn, err := db.Conn(context.Background())
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "BEGIN")
		if err == nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
			return err
		}
		// The connection is usable.
		var n int
		if qerr := conn.QueryRowContext(context.Background(), "SELECT count(*) FROM t").Scan(&n); qerr != nil {
			return fmt.Errorf("after %w: %v", err, qerr)
		}
		return err
	}},
	{"manual SAVEPOINT", func(ctx context.Context, db *sql.DB) error {
		conn, err := db.Conn(context.Background())
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "SAVEPOINT s")
		if err == nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
		return err
	}},
	{"prepared Exec", func(ctx context.Context, db *sql.DB) error {
		stmt, err := db.PrepareContext(context.Background(), "INSERT INTO t VALUES (?)")
		if err != nil {
			return err
		}
		defer stmt.Close()
		_, err = stmt.ExecContext(ctx, "parent")
		return err
	}},
	{"Query RETURNING", func(ctx context.Context, db *sql.DB) error {
		var s string
		return db.QueryRowContext(ctx, "INSERT INTO t VALUES ('parent') RETURNING v").Scan(&s)
	}},
}

func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrBusy
}

// A wait for another process's write lock ends with the context: at its
// deadline or when it is cancelled, with the context's error, long before
// the busy timeout (ten seconds here, set by PRAGMA over the DSN's 50 ms,
// so a handler that missed the change would end at 50 ms or 10 s), and
// the in-process lock is free afterwards.
func TestOtherProcessWaitEndsWithContext(t *testing.T) {
	path := tempDSN(t, "")
	db := openDB(t, sqlite3safe.DriverName, path+"?_busy_timeout=50&_safe_checkpoint=off")
	db.SetMaxOpenConns(1) // one connection: the PRAGMA below is its
	mustExec(t, db, "CREATE TABLE t(v TEXT)")
	_, err := db.ExecContext(t.Context(), "PRAGMA busy_timeout=10000")
	require.NoError(t, err)
	var ms int
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&ms))
	require.Equal(t, 10000, ms)
	h := holdLockInChild(t, path)

	const wait = 200 * time.Millisecond
	for _, st := range waitingStatements {
		for _, end := range []struct {
			name string
			ctx  func() (context.Context, context.CancelFunc)
			want error
		}{
			{"deadline", func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), wait)
			}, context.DeadlineExceeded},
			{"cancel", func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(wait, cancel)
				return ctx, cancel
			}, context.Canceled},
		} {
			t.Run(st.name+"/"+end.name, func(t *testing.T) {
				ctx, cancel := end.ctx()
				defer cancel()
				start := time.Now()
				err := st.run(ctx, db)
				took := time.Since(start)
				require.ErrorIs(t, err, end.want)
				assert.GreaterOrEqual(t, took, wait, "returned before the context ended")
				// Liveness only: the busy timeout is 10 s and the child
				// holds the lock until released.
				assert.Less(t, took, 3*time.Second, "waited past the context's end")
				fs, err := sqlite3safe.Stats(db)
				require.NoError(t, err)
				assert.Empty(t, fs.LockHolder, "the in-process lock is held after the wait ended")
			})
		}
	}

	h.release(t)
	// Nothing the cancelled statements tried was written; the lock works.
	mustExec(t, db, "INSERT INTO t VALUES ('after')")
	var parents, child, after int
	require.NoError(t, db.QueryRow(`SELECT count(*) FILTER (WHERE v = 'parent'), count(*) FILTER (WHERE v = 'child'),
		count(*) FILTER (WHERE v = 'after') FROM t`).Scan(&parents, &child, &after))
	assert.Equal(t, []int{0, 1, 1}, []int{parents, child, after})
}

// With a context that does not end, a wait for another process lasts the
// busy timeout, as in go-sqlite3, and ends in SQLite's busy error; and a
// lock the other process gives back within it is taken.
func TestOtherProcessWaitWithoutDeadline(t *testing.T) {
	path := tempDSN(t, "")
	db := openDB(t, sqlite3safe.DriverName, path+"?_busy_timeout=300&_safe_checkpoint=off")
	mustExec(t, db, "CREATE TABLE t(v TEXT)")
	h := holdLockInChild(t, path)

	for _, st := range waitingStatements {
		for _, c := range []struct {
			name string
			ctx  context.Context
		}{{"background", context.Background()}, {"cancellable", t.Context()}} {
			t.Run(st.name+"/"+c.name, func(t *testing.T) {
				start := time.Now()
				err := st.run(c.ctx, db)
				took := time.Since(start)
				require.Error(t, err)
				assert.True(t, isBusy(err), "want SQLite's busy error, got %v", err)
				assert.GreaterOrEqual(t, took, 300*time.Millisecond, "gave up before the busy timeout")
				assert.Less(t, took, 5*time.Second)
			})
		}
	}

	// A wait that outlasts the other process's transaction succeeds.
	db2 := openDB(t, sqlite3safe.DriverName, path+"?_busy_timeout=30000&_safe_checkpoint=off")
	time.AfterFunc(300*time.Millisecond, func() { _ = h.stdin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := db2.ExecContext(ctx, "INSERT INTO t VALUES ('parent')")
	require.NoError(t, err)
	h.release(t)
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 2, n) // the child's row and this one
}

// PRAGMA busy_timeout reads and sets what it does in go-sqlite3, through
// every path a statement can take, whatever handler the connection has.
func TestBusyTimeoutPragmaMatchesGoSQLite3(t *testing.T) {
	run := func(t *testing.T, driver string) []int {
		db := openDB(t, driver, tempDSN(t, "_busy_timeout=4321"))
		db.SetMaxOpenConns(1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var seen []int
		read := func(q queryer) {
			var ms int
			require.NoError(t, q.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&ms))
			seen = append(seen, ms)
		}
		exec := func(q queryer, query string) {
			_, err := q.ExecContext(ctx, query)
			require.NoError(t, err, query)
		}
		exec(db, "CREATE TABLE t(v)")
		exec(db, "INSERT INTO t VALUES (1)")
		read(db)
		exec(db, "PRAGMA busy_timeout=1234")
		read(db)
		exec(db, "pragma main.BUSY_TIMEOUT = 2345; INSERT INTO t VALUES (2)")
		read(db)
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		read(tx)
		exec(tx, "PRAGMA busy_timeout=3456")
		read(tx)
		require.NoError(t, tx.Commit())
		read(db)
		stmt, err := db.PrepareContext(ctx, "PRAGMA busy_timeout")
		require.NoError(t, err)
		var ms int
		require.NoError(t, stmt.QueryRowContext(ctx).Scan(&ms))
		seen = append(seen, ms)
		require.NoError(t, stmt.Close())
		set, err := db.PrepareContext(ctx, "PRAGMA busy_timeout=4567")
		require.NoError(t, err)
		_, err = set.ExecContext(ctx)
		require.NoError(t, err)
		require.NoError(t, set.Close())
		exec(db, "INSERT INTO t VALUES (3)")
		read(db)
		return seen
	}
	want := run(t, "sqlite3")
	require.Equal(t, []int{4321, 1234, 2345, 2345, 3456, 3456, 3456, 4567}, want)
	assert.Equal(t, want, run(t, sqlite3safe.DriverName))
}

// queryer is what *sql.DB and *sql.Tx have in common here.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
