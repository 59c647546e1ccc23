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
	"time"

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

// denyPragma is an authorizer's rule that refuses every PRAGMA.
func denyPragma(op int, _, _, _ string) bool { return op == sqlite3.SQLITE_PRAGMA }

// appSteps are the shapes around which sqlite3-safe runs statements of its
// own: autocommit, read-only and write BeginTx transactions (one that
// writes, one that only reads, one rolled back), and manual transactions
// begun with SAVEPOINT and with BEGIN, alone and in one string.
var appSteps = []appStep{
	{"exec", insert(1)},
	{"read-only transaction", inTx(&sql.TxOptions{ReadOnly: true}, false, func(tx *sql.Tx) error { return countRows(tx) })},
	{"write transaction", inTx(nil, false, func(tx *sql.Tx) error { _, err := tx.Exec("INSERT INTO t VALUES (2)"); return err })},
	{"write transaction that reads", inTx(nil, false, func(tx *sql.Tx) error { return countRows(tx) })},
	{"write transaction rolled back", inTx(nil, true, func(tx *sql.Tx) error { _, err := tx.Exec("INSERT INTO t VALUES (3)"); return err })},
	{"savepoint", onConn("SAVEPOINT b", "INSERT INTO t VALUES (4)", "RELEASE b")},
	{"begin", onConn("BEGIN", "INSERT INTO t VALUES (5)", "COMMIT")},
	{"begin that reads", onConn("BEGIN", "SELECT count(*) FROM t", "COMMIT")},
	{"savepoint rolled back to", onConn("SAVEPOINT c", "INSERT INTO t VALUES (6)", "ROLLBACK TO c", "RELEASE c")},
	{"savepoint that reads", onConn("SAVEPOINT d", "SELECT count(*) FROM t", "RELEASE d")},
	{"savepoint and begin in one string", onConn("SAVEPOINT e; INSERT INTO t VALUES (7); RELEASE e; BEGIN; INSERT INTO t VALUES (8); COMMIT")},
	{"read-only transaction again", inTx(&sql.TxOptions{ReadOnly: true}, false, func(tx *sql.Tx) error { return countRows(tx) })},
	{"savepoint in a query's string", func(db *sql.DB) error {
		return withConn(db, func(c *sql.Conn) error {
			ctx := context.Background()
			rows, err := c.QueryContext(ctx, "SAVEPOINT f; SELECT x FROM t")
			if err != nil {
				return err
			}
			if err := rows.Close(); err != nil {
				return err
			}
			_, err = c.ExecContext(ctx, "RELEASE f")
			return err
		})
	}},
	{"a WITH that writes", func(db *sql.DB) error {
		_, err := db.Exec("WITH v(x) AS (VALUES (11)) INSERT INTO t SELECT x FROM v")
		return err
	}},
}

// TestInternalStatementsPassTheAuthorizer: an authorizer that refuses
// every PRAGMA, set through Unwrap or in a ConnectHook, refuses the
// application's PRAGMAs and none of sqlite3-safe's (connection set-up, a
// read-only transaction's query_only, the write-lock probe of a SAVEPOINT):
// connections open, read-only transactions and SAVEPOINTs work, and every
// row the application wrote is there, as on plain go-sqlite3.
func TestInternalStatementsPassTheAuthorizer(t *testing.T) {
	steps := append(appSteps[:len(appSteps):len(appSteps)], appStep{"the application's PRAGMA",
		func(db *sql.DB) error { _, err := db.Exec("PRAGMA user_version = 3"); return err }})
	for _, inHook := range []bool{false, true} {
		t.Run(fmt.Sprintf("in ConnectHook %v", inHook), func(t *testing.T) {
			view := func() *appView { return &appView{deny: denyPragma, record: true} }
			compareTranscripts(t, appSetting{inHook: inHook}, view, steps, 1)
		})
	}
}

// TestInternalStatementsAreNotSeen: an authorizer that allows everything
// and the commit, rollback and update hooks see, for the same application
// steps, the same calls on sqlite3-safe as on plain go-sqlite3: none for
// sqlite3-safe's own statements.
func TestInternalStatementsAreNotSeen(t *testing.T) {
	for _, inHook := range []bool{false, true} {
		t.Run(fmt.Sprintf("in ConnectHook %v", inHook), func(t *testing.T) {
			compareTranscripts(t, appSetting{inHook: inHook}, func() *appView { return &appView{record: true} }, appSteps, 1)
		})
	}
}

// TestHandOverIsNotSeen: a transaction that has only read hands its write
// lock to a write of its own goroutine through the pool (lazytx.go), by
// running PRAGMA data_version, ROLLBACK and BEGIN on its connection. The
// application's authorizer and hooks see what they see on plain
// go-sqlite3, where the transaction is a read and the write simply runs.
func TestHandOverIsNotSeen(t *testing.T) {
	steps := []appStep{{"read, write through the pool, read, commit", func(db *sql.DB) error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := countRows(tx); err != nil {
			return err
		}
		if _, err := db.Exec("INSERT INTO t VALUES (9)"); err != nil {
			return err
		}
		if err := countRows(tx); err != nil {
			return err
		}
		return tx.Commit()
	}}}
	for _, deny := range []bool{false, true} {
		t.Run(fmt.Sprintf("PRAGMA refused %v", deny), func(t *testing.T) {
			view := func() *appView {
				if deny {
					return &appView{deny: denyPragma, record: true}
				}
				return &appView{record: true}
			}
			compareTranscripts(t, appSetting{inHook: true}, view, steps, 2)
		})
	}
}

// TestInternalStatementsIgnoreLimits: limits lowered through Unwrap or in a
// ConnectHook hold for the application's statements as on plain
// go-sqlite3, and sqlite3-safe's own statements (a read-only transaction's
// query_only, the write-lock probe, BEGIN IMMEDIATE where the
// application's BEGIN is shorter) make no step fail that works there.
func TestInternalStatementsIgnoreLimits(t *testing.T) {
	one := func(tx *sql.Tx) error { var n int; return tx.QueryRow("SELECT 1").Scan(&n) }
	steps := append(appSteps[:len(appSteps):len(appSteps)],
		appStep{"with an argument", func(db *sql.DB) error { _, err := db.Exec("INSERT INTO t VALUES (?)", 10); return err }},
		// Statements of 14 bytes at most, where sqlite3-safe's are longer.
		appStep{"short read-only transaction", inTx(&sql.TxOptions{ReadOnly: true}, false, one)},
		appStep{"short write transaction", inTx(nil, false, one)},
		appStep{"short BEGIN", onConn("BEGIN", "SELECT 1", "COMMIT")},
		appStep{"short SAVEPOINT", onConn("SAVEPOINT b", "SELECT 1", "RELEASE b")},
		appStep{"short string", onConn("BEGIN;END")},
	)
	for _, inHook := range []bool{false, true} {
		for _, lim := range []struct{ id, value int }{
			{sqlite3.SQLITE_LIMIT_SQL_LENGTH, 8}, // ROLLBACK, the longest of go-sqlite3's own
			{sqlite3.SQLITE_LIMIT_SQL_LENGTH, 14},
			{sqlite3.SQLITE_LIMIT_SQL_LENGTH, 24},
			{sqlite3.SQLITE_LIMIT_SQL_LENGTH, 63},
			{sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 0},
		} {
			t.Run(fmt.Sprintf("limit %d at %d in ConnectHook %v", lim.id, lim.value, inHook), func(t *testing.T) {
				s := appSetting{inHook: inHook, set: func(sc *sqlite3.SQLiteConn) { sc.SetLimit(lim.id, lim.value) }}
				compareTranscripts(t, s, nil, steps, 1)
			})
		}
	}
}

// TestCheckpointerIsNotSeen: the checkpointer's connection is opened with
// the wrapped driver, so the application's ConnectHook runs on it too; the
// authorizer, hooks and limits it sets there must neither see nor refuse
// the checkpoints. With an authorizer that records everything and refuses
// every PRAGMA and a statement length limit of 40 bytes, the WAL is
// checkpointed without an error and the authorizer sees only the
// application's statements.
func TestCheckpointerIsNotSeen(t *testing.T) {
	v := &appView{deny: denyPragma, record: true}
	base := &sqlite3.SQLiteDriver{ConnectHook: func(sc *sqlite3.SQLiteConn) error {
		sc.SetLimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 40)
		v.install(sc)
		return nil
	}}
	path := tempDSN(t, "")
	made, err := sql.Open("sqlite3", path) // SQLite's own CREATE TABLE is longer than the limit
	require.NoError(t, err)
	_, err = made.Exec("CREATE TABLE t(b BLOB)")
	require.NoError(t, err)
	require.NoError(t, made.Close())
	connector, err := sqlite3safe.Wrap(base, sqlite3safe.WithCheckpointPages(10)).OpenConnector(path)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := db.Exec("INSERT INTO t VALUES (zeroblob(4096))")
		require.NoError(t, err)
		st, err := sqlite3safe.Stats(db)
		require.NoError(t, err)
		require.Zero(t, st.CheckpointErrors, "a checkpoint failed")
		var n int64
		for _, c := range st.Checkpoints {
			n += c
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, db.Close())
	for _, e := range v.take() {
		if strings.Contains(e, "PRAGMA") {
			t.Errorf("the authorizer saw %s", e)
		}
	}
}

// TestRefusedEndEndsTheTransaction: when the application's authorizer (or
// a limit) refuses the COMMIT or ROLLBACK that ends a BeginTx
// transaction, Commit and Rollback return SQLite's error as on plain
// go-sqlite3, which then leaves the connection inside the transaction,
// holding SQLite's write lock on a connection back in the pool: another
// connection's write waits out its busy timeout and fails with "database
// is locked", and the pool's next statement on that connection runs in
// the transaction and is never committed. database/sql considers the
// transaction over either way, and sqlite3-safe's write lock goes back,
// so sqlite3-safe ends the transaction (a ROLLBACK of its own): other
// writers go on, and the next statement commits.
func TestRefusedEndEndsTheTransaction(t *testing.T) {
	var refuse atomic.Bool // the authorizer refuses COMMIT and ROLLBACK
	deny := func(op int, arg1, _, _ string) bool {
		return refuse.Load() && op == sqlite3.SQLITE_TRANSACTION && arg1 != "BEGIN"
	}
	insertTx := func(tx *sql.Tx) error { _, err := tx.Exec("INSERT INTO t VALUES (1)"); return err }
	for _, end := range []struct {
		name string
		run  func(db *sql.DB) error
	}{
		{"commit", inTx(nil, false, insertTx)},
		{"rollback", inTx(nil, true, insertTx)},
	} {
		t.Run(end.name, func(t *testing.T) {
			dir := t.TempDir()
			var got [2]error
			for i, name := range []string{"sqlite3", sqlite3safe.DriverName} {
				v := &appView{deny: deny}
				db := openWithSetting(t, name, dir, appSetting{inHook: true, set: v.install}, 1)
				refuse.Store(true)
				got[i] = end.run(db)
				refuse.Store(false)
				// Another process's write, waiting 100 ms for SQLite's
				// write lock.
				other, err := sql.Open("sqlite3", filepath.Join(dir, name+".db")+"?_busy_timeout=100")
				require.NoError(t, err)
				_, otherErr := other.Exec("INSERT INTO t VALUES (100)")
				require.NoError(t, other.Close())
				_, nextErr := db.Exec("INSERT INTO t VALUES (2)")
				require.NoError(t, db.Close())
				if name == "sqlite3" {
					t.Logf("plain go-sqlite3: another connection's write: %v; the pool's next write: %v (in the transaction)", otherErr, nextErr)
					continue
				}
				require.NoError(t, otherErr, "another connection's write")
				require.NoError(t, nextErr, "the pool's next write")
				// What is committed: the writes after the refused end, not
				// the transaction's own.
				check := openDB(t, "sqlite3", filepath.Join(dir, name+".db"))
				var rows []int
				r, err := check.Query("SELECT x FROM t ORDER BY x")
				require.NoError(t, err)
				for r.Next() {
					var x int
					require.NoError(t, r.Scan(&x))
					rows = append(rows, x)
				}
				require.NoError(t, r.Err())
				assert.Equal(t, []int{2, 100}, rows)
			}
			require.Error(t, got[0])
			assert.Equal(t, got[0].Error(), fmt.Sprint(got[1]), "the refused end's error: plain go-sqlite3 (expected), sqlite3-safe (actual)")
		})
	}
}
