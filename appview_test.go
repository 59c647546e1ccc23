//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// What the application sets on its connections through go-sqlite3 (an
// authorizer, commit, rollback and update hooks, limits), through Unwrap
// inside (*sql.Conn).Raw or in a ConnectHook, must see and decide the
// application's statements as on plain go-sqlite3, and nothing else. The
// tests here run the same application steps on plain go-sqlite3 and on
// sqlite3-safe and require the same transcript: what each step returned,
// and what the authorizer and the hooks saw, in order.

// appView is an application's authorizer and hooks. It denies what deny
// says, and if record, records every call: nothing is filtered.
type appView struct {
	deny      func(op int, arg1, arg2, arg3 string) bool // nil: allow everything
	record    bool
	hooksOnly bool // no authorizer

	mu     sync.Mutex // guards events
	events []string
}

// install registers the authorizer and the hooks on sc.
func (v *appView) install(sc *sqlite3.SQLiteConn) {
	if !v.hooksOnly {
		sc.RegisterAuthorizer(func(op int, arg1, arg2, arg3 string) int {
			denied := v.deny != nil && v.deny(op, arg1, arg2, arg3)
			v.note("authorize %s %q %q %q denied=%v", authOp(op), arg1, arg2, arg3, denied)
			if denied {
				return sqlite3.SQLITE_DENY
			}
			return sqlite3.SQLITE_OK
		})
	}
	sc.RegisterCommitHook(func() int { v.note("commit hook"); return 0 })
	sc.RegisterRollbackHook(func() { v.note("rollback hook") })
	sc.RegisterUpdateHook(func(op int, db, table string, rowid int64) {
		v.note("update hook %d %s.%s rowid %d", op, db, table, rowid)
	})
}

func (v *appView) note(format string, args ...any) {
	if !v.record {
		return
	}
	v.mu.Lock()
	v.events = append(v.events, fmt.Sprintf(format, args...))
	v.mu.Unlock()
}

// take returns the calls recorded since the last take.
func (v *appView) take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	ev := v.events
	v.events = nil
	return ev
}

func authOp(op int) string {
	switch op {
	case sqlite3.SQLITE_PRAGMA:
		return "PRAGMA"
	case sqlite3.SQLITE_TRANSACTION:
		return "TRANSACTION"
	case sqlite3.SQLITE_SAVEPOINT:
		return "SAVEPOINT"
	case sqlite3.SQLITE_SELECT:
		return "SELECT"
	case sqlite3.SQLITE_READ:
		return "READ"
	case sqlite3.SQLITE_INSERT:
		return "INSERT"
	case sqlite3.SQLITE_FUNCTION:
		return "FUNCTION"
	}
	return fmt.Sprintf("op%d", op)
}

// plainConnector opens go-sqlite3 connections with a driver of the test's,
// as sqlite3safe.Wrap does for sqlite3-safe.
type plainConnector struct {
	d   *sqlite3.SQLiteDriver
	dsn string
}

func (c plainConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c plainConnector) Driver() driver.Driver                        { return c.d }

// appSetting is what the application sets on its connections, and where.
type appSetting struct {
	inHook bool                         // in the driver's ConnectHook, on every connection; else through Unwrap
	set    func(sc *sqlite3.SQLiteConn) // applied to a connection
}

// openWithSetting opens the database driverName.db in dir, with a table
// t(x) made beforehand, on driverName ("sqlite3" or sqlite3-safe), and
// applies s: in hook mode on every connection, else through Unwrap on one
// connection of a pool of maxConns.
func openWithSetting(t *testing.T, driverName, dir string, s appSetting, maxConns int) *sql.DB {
	t.Helper()
	path := filepath.Join(dir, driverName+".db")
	made, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
	require.NoError(t, err)
	_, err = made.Exec("CREATE TABLE t(x)")
	require.NoError(t, err)
	require.NoError(t, made.Close())

	base := &sqlite3.SQLiteDriver{}
	if s.inHook {
		base.ConnectHook = func(sc *sqlite3.SQLiteConn) error { s.set(sc); return nil }
	}
	var connector driver.Connector
	if driverName == sqlite3safe.DriverName {
		c, err := sqlite3safe.Wrap(base).OpenConnector(path)
		require.NoError(t, err)
		connector = c
	} else {
		connector = plainConnector{d: base, dsn: path + "?_journal_mode=WAL"}
	}
	db := sql.OpenDB(connector)
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(maxConns)
	if !s.inHook {
		require.NoError(t, withConn(db, func(c *sql.Conn) error {
			return c.Raw(func(dc any) error {
				sc, ok := sqlite3safe.Unwrap(dc)
				if !ok {
					return errors.New("not a go-sqlite3 connection")
				}
				s.set(sc)
				return nil
			})
		}))
	}
	return db
}

// withConn runs f on a connection of db's pool.
func withConn(db *sql.DB, f func(c *sql.Conn) error) error {
	c, err := db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

// appStep is one thing the application does.
type appStep struct {
	name string
	run  func(db *sql.DB) error
}

// onConn runs statements one by one on one connection and stops at the
// first error, after which it runs ROLLBACK, as a careful application
// would (its error is not reported).
func onConn(statements ...string) func(db *sql.DB) error {
	return func(db *sql.DB) error {
		return withConn(db, func(c *sql.Conn) error {
			ctx := context.Background()
			for _, q := range statements {
				if _, err := c.ExecContext(ctx, q); err != nil {
					_, _ = c.ExecContext(ctx, "ROLLBACK")
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			return nil
		})
	}
}

// inTx runs f in a transaction begun with opts, then commits it (or rolls
// it back, if rollback).
func inTx(opts *sql.TxOptions, rollback bool, f func(tx *sql.Tx) error) func(db *sql.DB) error {
	return func(db *sql.DB) error {
		tx, err := db.BeginTx(context.Background(), opts)
		if err != nil {
			return err
		}
		if err := f(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if rollback {
			return tx.Rollback()
		}
		return tx.Commit()
	}
}

func insert(x int) func(db *sql.DB) error {
	return func(db *sql.DB) error {
		_, err := db.Exec(fmt.Sprintf("INSERT INTO t VALUES (%d)", x))
		return err
	}
}

func countRows(q interface {
	QueryRow(string, ...any) *sql.Row
}) error {
	var n int
	return q.QueryRow("SELECT count(*) FROM t").Scan(&n)
}

// transcript runs steps on db and returns, per step, its error and what
// view saw meanwhile (view may be nil), then the rows of t.
func transcript(db *sql.DB, view *appView, steps []appStep) []string {
	var out []string
	take := func() {
		if view != nil {
			for _, e := range view.take() {
				out = append(out, "    "+e)
			}
		}
	}
	take() // what opening saw, apart
	for _, s := range steps {
		err := s.run(db)
		out = append(out, fmt.Sprintf("%s: %v", s.name, err))
		take()
	}
	var rows []string
	r, err := db.Query("SELECT x FROM t ORDER BY x")
	if err == nil {
		for r.Next() {
			var x int
			_ = r.Scan(&x)
			rows = append(rows, fmt.Sprint(x))
		}
		err = r.Err()
		_ = r.Close()
	}
	out = append(out, fmt.Sprintf("rows [%s]: %v", strings.Join(rows, " "), err))
	take()
	return out
}

// compareTranscripts runs steps on both drivers with s and a view made by
// view (nil: none) installed where s is applied.
func compareTranscripts(t *testing.T, s appSetting, view func() *appView, steps []appStep, maxConns int) {
	t.Helper()
	dir := t.TempDir()
	var got [2][]string
	for i, name := range []string{"sqlite3", sqlite3safe.DriverName} {
		var v *appView
		if view != nil {
			v = view()
		}
		setting := s
		setting.set = func(sc *sqlite3.SQLiteConn) {
			if s.set != nil {
				s.set(sc)
			}
			if v != nil {
				v.install(sc)
			}
		}
		db := openWithSetting(t, name, dir, setting, maxConns)
		got[i] = transcript(db, v, steps)
		require.NoError(t, db.Close())
		if v != nil {
			// Connections of sqlite3-safe's own (the checkpointer's) are
			// closed with the pool: what they ran has been seen by now.
			if late := v.take(); len(late) > 0 {
				got[i] = append(got[i], "after close:")
				got[i] = append(got[i], late...)
			}
		}
	}
	if assert.Equal(t, got[0], got[1], "plain go-sqlite3 (expected) and sqlite3-safe (actual)") {
		t.Logf("both:\n%s", strings.Join(got[1], "\n"))
	}
}

// TestAuthorizerDecidesEveryStatement: SQLite asks the authorizer when it
// compiles a statement, and plain go-sqlite3 compiles every statement it
// is given as text anew, so an authorizer whose answer changes (a flag, a
// tenant, a maintenance mode) decides each statement as it runs. The
// statements sqlite3-safe keeps compiled (its statement cache, a write
// transaction's BEGIN IMMEDIATE and COMMIT) must not run on an answer
// given earlier: with an authorizer set, through Unwrap or in a
// ConnectHook, the same statements are refused as on plain go-sqlite3.
func TestAuthorizerDecidesEveryStatement(t *testing.T) {
	var refuse atomic.Bool // the authorizer refuses inserts, reads and BEGIN
	deny := func(op int, arg1, _, _ string) bool {
		return refuse.Load() && (op == sqlite3.SQLITE_INSERT || op == sqlite3.SQLITE_READ ||
			op == sqlite3.SQLITE_TRANSACTION && arg1 == "BEGIN")
	}
	set := func(v bool) appStep {
		return appStep{fmt.Sprintf("refuse %v", v), func(*sql.DB) error { refuse.Store(v); return nil }}
	}
	// With arguments, as applications run them: the statement cache's.
	exec := func(db *sql.DB) error { _, err := db.Exec("INSERT INTO t VALUES (?)", 1); return err }
	read := func(db *sql.DB) error {
		var n int
		return db.QueryRow("SELECT count(*) FROM t WHERE x > ?", 0).Scan(&n)
	}
	tx := inTx(nil, false, func(tx *sql.Tx) error { _, err := tx.Exec("INSERT INTO t VALUES (?)", 2); return err })
	steps := []appStep{
		{"insert", exec}, {"read", read}, {"transaction", tx},
		set(true),
		{"insert", exec}, {"read", read}, {"transaction", tx},
		set(false),
		{"insert", exec}, {"read", read}, {"transaction", tx},
	}
	for _, inHook := range []bool{false, true} {
		t.Run(fmt.Sprintf("in ConnectHook %v", inHook), func(t *testing.T) {
			refuse.Store(false)
			compareTranscripts(t, appSetting{inHook: inHook}, func() *appView { return &appView{deny: deny} }, steps, 1)
		})
	}
}

// TestCommitHookSeesOnlyWrites: sqlite3-safe begins transactions
// immediate (a BeginTx transaction's first statement, a BEGIN or SAVEPOINT
// run as a statement), which makes them write transactions in SQLite even
// when they only read. On go-sqlite3 such a transaction is a read
// transaction, whose commit does not call the commit hook; the commit
// hook must be called for the same commits on sqlite3-safe, and the
// rollback hook for the same rollbacks.
func TestCommitHookSeesOnlyWrites(t *testing.T) {
	read := func(tx *sql.Tx) error { return countRows(tx) }
	write := func(tx *sql.Tx) error { _, err := tx.Exec("INSERT INTO t VALUES (1)"); return err }
	steps := []appStep{
		{"transaction that reads", inTx(nil, false, read)},
		{"transaction that writes", inTx(nil, false, write)},
		{"transaction that reads, rolled back", inTx(nil, true, read)},
		{"read-only transaction", inTx(&sql.TxOptions{ReadOnly: true}, false, read)},
		{"BEGIN that reads", onConn("BEGIN", "SELECT count(*) FROM t", "COMMIT")},
		{"BEGIN that writes", onConn("begin deferred", "INSERT INTO t VALUES (2)", "END")},
		{"BEGIN IMMEDIATE that reads", onConn("BEGIN IMMEDIATE", "SELECT count(*) FROM t", "COMMIT")},
		{"SAVEPOINT that reads", onConn("SAVEPOINT a", "SELECT count(*) FROM t", "RELEASE a")},
		{"SAVEPOINT that reads, rolled back to", onConn("SAVEPOINT a", "SAVEPOINT b", "SELECT 1", "ROLLBACK TO a", "RELEASE a")},
		{"SAVEPOINT that writes", onConn("SAVEPOINT a", "SELECT 1", "INSERT INTO t VALUES (3)", "RELEASE a")},
		{"SAVEPOINT that reads, ended by COMMIT", onConn("SAVEPOINT a", "SELECT 1", "COMMIT")},
		{"BEGIN that reads, in one string", onConn("BEGIN; SELECT count(*) FROM t; COMMIT")},
		{"SAVEPOINT that reads, then one that writes, in one string",
			onConn("SAVEPOINT a; SELECT 1; RELEASE a; SAVEPOINT b; INSERT INTO t VALUES (4); RELEASE b")},
		{"BEGIN that reads, rolled back", onConn("BEGIN", "SELECT 1", "ROLLBACK")},
	}
	compareTranscripts(t, appSetting{}, func() *appView { return &appView{record: true, hooksOnly: true} }, steps, 1)
}
