//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// This file holds sqlite3-safe to plain go-sqlite3 for code that holds a
// *sql.Tx while the same goroutine also runs statements through the
// *sql.DB pool: a transaction begun and not used yet, or used only for
// reads, must not stand in the way of the pool, as under plain
// go-sqlite3's deferred BEGIN; one that has written makes the pool's
// writes fail with SQLITE_BUSY on both drivers.

// poolTxKind is what one step of a pool-and-transaction sequence does.
type poolTxKind uint8

const (
	ptBegin        poolTxKind = iota // db.BeginTx; Arg 1: ReadOnly
	ptBeginConn                      // db.Conn, then conn.BeginTx; Arg 1: ReadOnly
	ptTxInsert                       // tx.Exec INSERT INTO t, key Arg
	ptTxCount                        // tx.QueryRow SELECT count(*) FROM t
	ptTxValue                        // tx.QueryRow SELECT v FROM t WHERE k = Arg
	ptTxStmtInsert                   // tx.Stmt of the db.Prepare'd INSERT INTO t, key Arg
	ptTxPrepInsert                   // tx.Prepare INSERT INTO t, Exec with key Arg, Close
	ptTxInsertX                      // tx.Exec INSERT INTO x, key Arg
	ptSavepoint                      // tx.Exec SAVEPOINT spArg
	ptRelease                        // tx.Exec RELEASE SAVEPOINT spArg
	ptRollbackTo                     // tx.Exec ROLLBACK TO SAVEPOINT spArg
	ptCommit                         // tx.Commit
	ptRollback                       // tx.Rollback
	ptDBInsert                       // db.Exec INSERT INTO t, key Arg
	ptDBStmtInsert                   // the db.Prepare'd INSERT INTO t, through the pool, key Arg
	ptDBCount                        // db.QueryRow SELECT count(*) FROM t
	ptDBCreateX                      // db.Exec CREATE TABLE x
	ptKinds                          // how many kinds there are
)

// poolTxOp is one step. Arg is the step's key (1-4) for inserts and
// ptTxValue, the savepoint's number (1-2) for savepoint steps, and 1 for a
// read-only Begin; 0 otherwise.
type poolTxOp struct {
	Kind poolTxKind
	Arg  uint8
}

func (o poolTxOp) String() string {
	switch o.Kind {
	case ptBegin, ptBeginConn:
		s := "db.BeginTx"
		if o.Kind == ptBeginConn {
			s = "db.Conn + conn.BeginTx"
		}
		if o.Arg == 1 {
			s += " (ReadOnly)"
		}
		return s
	case ptTxInsert:
		return fmt.Sprintf("tx.Exec INSERT INTO t k=%d", o.Arg)
	case ptTxCount:
		return "tx.QueryRow count(*) FROM t"
	case ptTxValue:
		return fmt.Sprintf("tx.QueryRow v FROM t WHERE k=%d", o.Arg)
	case ptTxStmtInsert:
		return fmt.Sprintf("tx.Stmt(db.Prepare INSERT INTO t) k=%d", o.Arg)
	case ptTxPrepInsert:
		return fmt.Sprintf("tx.Prepare INSERT INTO t k=%d", o.Arg)
	case ptTxInsertX:
		return fmt.Sprintf("tx.Exec INSERT INTO x k=%d", o.Arg)
	case ptSavepoint:
		return fmt.Sprintf("tx.Exec SAVEPOINT sp%d", o.Arg)
	case ptRelease:
		return fmt.Sprintf("tx.Exec RELEASE SAVEPOINT sp%d", o.Arg)
	case ptRollbackTo:
		return fmt.Sprintf("tx.Exec ROLLBACK TO SAVEPOINT sp%d", o.Arg)
	case ptCommit:
		return "tx.Commit"
	case ptRollback:
		return "tx.Rollback"
	case ptDBInsert:
		return fmt.Sprintf("db.Exec INSERT INTO t k=%d", o.Arg)
	case ptDBStmtInsert:
		return fmt.Sprintf("db.Prepare'd INSERT INTO t k=%d", o.Arg)
	case ptDBCount:
		return "db.QueryRow count(*) FROM t"
	case ptDBCreateX:
		return "db.Exec CREATE TABLE x"
	}
	return fmt.Sprintf("op(%d,%d)", o.Kind, o.Arg)
}

// onTx reports whether the step needs an open transaction.
func (o poolTxOp) onTx() bool {
	switch o.Kind {
	case ptBegin, ptBeginConn, ptDBInsert, ptDBStmtInsert, ptDBCount, ptDBCreateX:
		return false
	}
	return true
}

// poolWrite reports whether the step writes through the pool.
func (o poolTxOp) poolWrite() bool {
	return o.Kind == ptDBInsert || o.Kind == ptDBStmtInsert || o.Kind == ptDBCreateX
}

// Shorthands for the tables below.
func ptOp(kind poolTxKind, arg uint8) poolTxOp { return poolTxOp{Kind: kind, Arg: arg} }

var (
	pBegin      = ptOp(ptBegin, 0)
	pBeginRO    = ptOp(ptBegin, 1)
	pBeginConn  = ptOp(ptBeginConn, 0)
	pTxCount    = ptOp(ptTxCount, 0)
	pCommit     = ptOp(ptCommit, 0)
	pRollback   = ptOp(ptRollback, 0)
	pDBCount    = ptOp(ptDBCount, 0)
	pDBCreateX  = ptOp(ptDBCreateX, 0)
	pTxInsert   = func(k uint8) poolTxOp { return ptOp(ptTxInsert, k) }
	pTxValue    = func(k uint8) poolTxOp { return ptOp(ptTxValue, k) }
	pTxStmt     = func(k uint8) poolTxOp { return ptOp(ptTxStmtInsert, k) }
	pTxPrep     = func(k uint8) poolTxOp { return ptOp(ptTxPrepInsert, k) }
	pTxInsertX  = func(k uint8) poolTxOp { return ptOp(ptTxInsertX, k) }
	pSavepoint  = func(n uint8) poolTxOp { return ptOp(ptSavepoint, n) }
	pRelease    = func(n uint8) poolTxOp { return ptOp(ptRelease, n) }
	pRollbackTo = func(n uint8) poolTxOp { return ptOp(ptRollbackTo, n) }
	pDBInsert   = func(k uint8) poolTxOp { return ptOp(ptDBInsert, k) }
	pDBStmt     = func(k uint8) poolTxOp { return ptOp(ptDBStmtInsert, k) }
)

// poolTxStep is what one step did.
type poolTxStep struct {
	Skipped bool   // a transaction step with no transaction open (or a Begin with one open)
	Failed  bool   // it returned an error
	Class   string // the error's class (poolTxErrClass); "ok" without one
	Value   string // what a read returned
}

// poolTxOutcome is what must be the same under sqlite3-safe as under plain
// go-sqlite3 after a sequence of steps.
type poolTxOutcome struct {
	Steps []poolTxStep
	// Leftover is the class of the Commit that ends a transaction the
	// steps left open; "" if none was left.
	Leftover string
	// Rows are the committed rows, read through a fresh plain go-sqlite3
	// connection after the *sql.DB is closed: "t k=v" and "x k".
	Rows []string
	// Errs are the error texts per step, for the failure message only;
	// not compared (the texts differ by design, the classes must not).
	Errs []string
}

// poolTxErrClass sorts an error the way retry code sees it: SQLite's
// primary result code, not the message. A busy wait that ran out
// (sqlite3-safe's lock timeout, or SQLite's SQLITE_BUSY and
// SQLITE_BUSY_SNAPSHOT) is "busy".
func poolTxErrClass(err error) string {
	var se sqlite3.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &se):
		switch se.Code {
		case sqlite3.ErrBusy:
			return "busy"
		case sqlite3.ErrReadonly:
			return "readonly"
		}
		return fmt.Sprintf("sqlite3 code %d", int(se.Code))
	case errors.Is(err, sql.ErrTxDone):
		return "tx done"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context"
	}
	return "not a sqlite3.Error"
}

// poolTxDSN is the DSN of the file database at path for driverName: the
// same busy timeout for both (and so the same lock timeout for
// sqlite3-safe), and WAL for plain go-sqlite3, as sqlite3-safe sets it.
func poolTxDSN(driverName, path string) string {
	if driverName == sqlite3safe.DriverName {
		return path + "?_busy_timeout=300"
	}
	return path + "?_journal_mode=WAL&_busy_timeout=300"
}

// runPoolTx runs ops on one goroutine against a fresh file database in dir
// opened with driverName, holding at most one *sql.Tx at a time, and
// reports the outcome. Under sqlite3-safe it also checks that the write
// lock is free once the *sql.DB is closed.
//
// go-sqlite3 ignores TxOptions.ReadOnly (its BeginTx runs the same
// deferred BEGIN either way), while sqlite3-safe gives it SQLite's meaning
// through query_only. So that the oracle means the same, a read-only Begin
// under plain go-sqlite3 sets PRAGMA query_only=1 on the transaction, and
// turns it off again just before the transaction ends.
func runPoolTx(t testing.TB, driverName, dir string, ops []poolTxOp) poolTxOutcome {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, driverName+".db")
	db, err := sql.Open(driverName, poolTxDSN(driverName, path))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v)")
	require.NoError(t, err)
	ins, err := db.Prepare("INSERT INTO t(k, v) VALUES(?, ?)")
	require.NoError(t, err)
	defer ins.Close()

	var (
		tx        *sql.Tx
		conn      *sql.Conn // the Conn tx was begun on, if any
		queryOnly bool      // plain go-sqlite3's tx has query_only set for ReadOnly
		emulateRO = driverName != sqlite3safe.DriverName
		out       poolTxOutcome
	)
	endTx := func(commit bool) error {
		if queryOnly {
			_, err := tx.Exec("PRAGMA query_only=0")
			require.NoError(t, err, "turning query_only off again under plain go-sqlite3")
			queryOnly = false
		}
		var err error
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		tx = nil
		if conn != nil {
			require.NoError(t, conn.Close())
			conn = nil
		}
		return err
	}

	for i, op := range ops {
		v := int64(100 + i) // the value an insert of step i writes
		if (op.onTx() && tx == nil) || ((op.Kind == ptBegin || op.Kind == ptBeginConn) && tx != nil) {
			out.Steps = append(out.Steps, poolTxStep{Skipped: true, Class: "skipped"})
			out.Errs = append(out.Errs, "")
			continue
		}
		var (
			err   error
			value string
		)
		switch op.Kind {
		case ptBegin, ptBeginConn:
			opts := &sql.TxOptions{ReadOnly: op.Arg == 1}
			if op.Kind == ptBegin {
				tx, err = db.BeginTx(ctx, opts)
			} else {
				conn, err = db.Conn(ctx)
				require.NoError(t, err)
				tx, err = conn.BeginTx(ctx, opts)
				if err != nil {
					require.NoError(t, conn.Close())
					conn = nil
				}
			}
			if err != nil {
				tx = nil
			} else if opts.ReadOnly && emulateRO {
				_, err := tx.Exec("PRAGMA query_only=1")
				require.NoError(t, err, "setting query_only under plain go-sqlite3")
				queryOnly = true
			}
		case ptTxInsert:
			_, err = tx.Exec("INSERT INTO t(k, v) VALUES(?, ?)", op.Arg, v)
		case ptTxCount:
			value, err = poolTxCount(tx.QueryRow("SELECT count(*) FROM t"))
		case ptTxValue:
			value, err = poolTxValue(tx.QueryRow("SELECT v FROM t WHERE k = ?", op.Arg))
		case ptTxStmtInsert:
			st := tx.Stmt(ins)
			_, err = st.Exec(op.Arg, v)
			require.NoError(t, st.Close())
		case ptTxPrepInsert:
			var st *sql.Stmt
			st, err = tx.Prepare("INSERT INTO t(k, v) VALUES(?, ?)")
			if err == nil {
				_, err = st.Exec(op.Arg, v)
				require.NoError(t, st.Close())
			}
		case ptTxInsertX:
			_, err = tx.Exec("INSERT INTO x(k) VALUES(?)", op.Arg)
		case ptSavepoint:
			_, err = tx.Exec(fmt.Sprintf("SAVEPOINT sp%d", op.Arg))
		case ptRelease:
			_, err = tx.Exec(fmt.Sprintf("RELEASE SAVEPOINT sp%d", op.Arg))
		case ptRollbackTo:
			_, err = tx.Exec(fmt.Sprintf("ROLLBACK TO SAVEPOINT sp%d", op.Arg))
		case ptCommit:
			err = endTx(true)
		case ptRollback:
			err = endTx(false)
		case ptDBInsert:
			_, err = db.Exec("INSERT INTO t(k, v) VALUES(?, ?)", op.Arg, v)
		case ptDBStmtInsert:
			_, err = ins.Exec(op.Arg, v)
		case ptDBCount:
			value, err = poolTxCount(db.QueryRow("SELECT count(*) FROM t"))
		case ptDBCreateX:
			_, err = db.Exec("CREATE TABLE x(k INTEGER PRIMARY KEY)")
		default:
			t.Fatalf("unknown step %v", op)
		}
		if driverName == sqlite3safe.DriverName && op.poolWrite() && poolTxErrClass(err) == "busy" {
			// Held up by a transaction of this process: sqlite3-safe's
			// lock timeout, which is also SQLITE_BUSY.
			require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "step %d, %v", i, op)
		}
		step := poolTxStep{Failed: err != nil, Class: poolTxErrClass(err)}
		if err == nil {
			step.Value = value
		}
		out.Steps = append(out.Steps, step)
		if err != nil {
			out.Errs = append(out.Errs, err.Error())
		} else {
			out.Errs = append(out.Errs, "")
		}
	}
	if tx != nil {
		out.Leftover = poolTxErrClass(endTx(true))
	}
	require.NoError(t, ins.Close())
	require.NoError(t, db.Close())

	out.Rows = poolTxRows(t, path)
	if driverName == sqlite3safe.DriverName {
		// The write lock is free: a write with lock timeout 0 gets in.
		fresh, err := sql.Open(driverName, path+"?_safe_lock_timeout=0")
		require.NoError(t, err)
		defer fresh.Close()
		_, err = fresh.Exec("CREATE TABLE lockcheck(y)")
		require.NoError(t, err, "the write lock is still held after the *sql.DB closed")
	}
	return out
}

// poolTxCount reads a count.
func poolTxCount(r *sql.Row) (string, error) {
	var n int64
	err := r.Scan(&n)
	return fmt.Sprint(n), err
}

// poolTxValue reads a v, or that there is no row.
func poolTxValue(r *sql.Row) (string, error) {
	var v sql.NullInt64
	err := r.Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "no row", nil
	}
	return fmt.Sprintf("v=%d", v.Int64), err
}

// poolTxRows reads the committed rows of t and x through plain go-sqlite3.
func poolTxRows(t testing.TB, path string) []string {
	t.Helper()
	reader, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer reader.Close()
	var out []string
	rows, err := reader.Query("SELECT k, v FROM t ORDER BY k")
	require.NoError(t, err)
	for rows.Next() {
		var k, v int64
		require.NoError(t, rows.Scan(&k, &v))
		out = append(out, fmt.Sprintf("t %d=%d", k, v))
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	var hasX int
	require.NoError(t, reader.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'x'").Scan(&hasX))
	if hasX == 0 {
		return append(out, "no table x")
	}
	rows, err = reader.Query("SELECT k FROM x ORDER BY k")
	require.NoError(t, err)
	for rows.Next() {
		var k int64
		require.NoError(t, rows.Scan(&k))
		out = append(out, fmt.Sprintf("x %d", k))
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	return out
}

// requirePoolTxSameAsPlain runs ops under plain go-sqlite3 and under
// sqlite3-safe and requires the same outcome.
func requirePoolTxSameAsPlain(t testing.TB, ops []poolTxOp) {
	t.Helper()
	dir := t.TempDir()
	want := runPoolTx(t, "sqlite3", dir, ops)
	got := runPoolTx(t, sqlite3safe.DriverName, dir, ops)
	msg := poolTxReport(ops, want, got)
	want.Errs, got.Errs = nil, nil
	require.Equal(t, want, got, "plain go-sqlite3 (want) and sqlite3-safe (got) differ:\n%s", msg)
}

// poolTxReport lists the steps with what each driver did.
func poolTxReport(ops []poolTxOp, want, got poolTxOutcome) string {
	var b strings.Builder
	step := func(o poolTxOutcome, i int) string {
		if i >= len(o.Steps) {
			return "-"
		}
		s := o.Steps[i]
		r := s.Class
		if s.Value != "" {
			r += " " + s.Value
		}
		if o.Errs[i] != "" {
			r += fmt.Sprintf(" (%s)", o.Errs[i])
		}
		return r
	}
	for i, op := range ops {
		fmt.Fprintf(&b, "  %2d %-42s plain: %s\n     %-42s  safe: %s\n", i, op, step(want, i), "", step(got, i))
	}
	if want.Leftover != "" || got.Leftover != "" {
		fmt.Fprintf(&b, "  leftover tx.Commit: plain %q, safe %q\n", want.Leftover, got.Leftover)
	}
	fmt.Fprintf(&b, "  rows: plain %v, safe %v", want.Rows, got.Rows)
	return b.String()
}

// poolTxShapes are the shapes of code that holds a transaction while its
// goroutine uses the pool, each as plain go-sqlite3 runs it. They are
// also the fuzz seeds.
var poolTxShapes = []struct {
	name string
	ops  []poolTxOp
}{
	// A transaction begun and not used yet takes nothing.
	{"untouched tx, pool insert, commit", []poolTxOp{pBegin, pDBInsert(1), pCommit}},
	{"untouched tx, pool insert, rollback", []poolTxOp{pBegin, pDBInsert(1), pDBCount, pRollback}},
	{"untouched tx, pool insert, then the tx reads it and writes", []poolTxOp{pBegin, pDBInsert(1), pTxCount, pTxValue(1), pTxInsert(2), pCommit}},
	{"untouched tx, pool prepared insert, then tx.Stmt insert", []poolTxOp{pBegin, pDBStmt(1), pTxStmt(2), pDBCount, pCommit}},
	// Schema made through the pool before the transaction's first statement.
	{"pool CREATE TABLE, then the tx inserts into it", []poolTxOp{pBegin, pDBCreateX, pTxInsertX(1), pCommit}},
	{"pool CREATE TABLE, then the tx inserts into it and rolls back", []poolTxOp{pBegin, pDBCreateX, pTxInsertX(1), pTxInsert(1), pRollback, pDBCount}},
	// A transaction that has only read.
	{"tx read, pool insert, commit", []poolTxOp{pBegin, pTxCount, pDBInsert(1), pCommit}},
	{"tx read, pool insert, tx reads its snapshot again", []poolTxOp{pBegin, pTxCount, pDBInsert(1), pTxCount, pTxValue(1), pDBCount, pCommit}},
	{"tx read, pool insert, tx write fails busy", []poolTxOp{pBegin, pTxValue(1), pDBInsert(1), pTxInsert(2), pCommit}},
	{"tx read, pool prepared insert, tx.Stmt write fails busy", []poolTxOp{pBegin, pTxCount, pDBStmt(1), pTxStmt(2), pRollback, pDBCount}},
	{"tx read, pool insert, rollback", []poolTxOp{pBegin, pTxCount, pDBInsert(1), pDBCount, pRollback}},
	// A transaction that has written: the pool's write fails busy.
	{"tx wrote, pool insert fails busy", []poolTxOp{pBegin, pTxInsert(1), pDBInsert(2), pDBCount, pCommit, pDBCount}},
	{"tx write failed on a duplicate key, pool insert fails busy", []poolTxOp{pDBInsert(1), pBegin, pTxInsert(1), pDBInsert(2), pTxInsert(3), pCommit}},
	// Read-only transactions.
	{"read-only tx, reads, a write inside fails read-only", []poolTxOp{pBeginRO, pTxCount, pTxInsert(1), pDBInsert(2), pTxCount, pCommit, pDBCount}},
	{"read-only tx untouched, pool insert, tx reads it", []poolTxOp{pBeginRO, pDBInsert(1), pTxValue(1), pTxStmt(2), pRollback}},
	// Prepared statements inside the transaction.
	{"tx.Stmt and tx.Prepare inserts", []poolTxOp{pBegin, pTxStmt(1), pTxPrep(2), pTxCount, pCommit, pDBCount}},
	{"pool prepared insert between two transactions", []poolTxOp{pBegin, pTxPrep(1), pCommit, pDBStmt(2), pBegin, pTxStmt(3), pRollback}},
	// A transaction begun on a db.Conn.
	{"conn tx untouched, pool insert, conn tx writes", []poolTxOp{pBeginConn, pDBInsert(1), pTxInsert(2), pCommit}},
	{"conn tx read, pool insert, conn tx reads its snapshot", []poolTxOp{pBeginConn, pTxCount, pDBInsert(1), pTxCount, pRollback, pDBCount}},
	// Savepoints inside the transaction, as GORM writes nested transactions.
	{"savepoint, insert, release", []poolTxOp{pBegin, pSavepoint(1), pTxInsert(1), pRelease(1), pCommit}},
	{"insert, savepoint, insert, rollback to, release", []poolTxOp{pBegin, pTxInsert(1), pSavepoint(1), pTxInsert(2), pRollbackTo(1), pRelease(1), pTxCount, pCommit}},
	{"pool insert, then savepoint, insert, rollback to, insert", []poolTxOp{pBegin, pDBInsert(1), pSavepoint(1), pTxInsert(2), pRollbackTo(1), pTxInsert(3), pRelease(1), pCommit}},
	{"nested savepoints, release of an unknown one fails", []poolTxOp{pBegin, pSavepoint(1), pTxInsert(1), pSavepoint(2), pTxInsert(2), pRelease(2), pRelease(2), pRollbackTo(1), pRelease(1), pCommit}},
	// A transaction never ended: the run commits it at the end.
	{"leaked untouched tx, pool statements", []poolTxOp{pBegin, pDBInsert(1), pDBCount, pDBInsert(2)}},
	{"leaked tx that wrote", []poolTxOp{pBegin, pTxInsert(1), pDBCount}},
}

// poolTxExtraSeeds are further fuzz seeds: combinations the shapes above
// do not cover.
var poolTxExtraSeeds = [][]poolTxOp{
	// A tx whose write failed on a stale snapshot still holds no write
	// lock under plain go-sqlite3: the pool's next write gets in.
	{pBegin, pTxCount, pDBInsert(1), pTxInsert(2), pDBInsert(3), pTxCount, pCommit},
	// Schema made while the transaction had read: its snapshot does not
	// see the table.
	{pBegin, pTxCount, pDBCreateX, pTxCount, pDBInsert(1), pCommit, pBegin, pTxInsertX(1), pCommit},
	// Two transactions in turn, the first one rolled back.
	{pBegin, pTxInsert(1), pRollback, pDBInsert(1), pBeginConn, pTxValue(1), pTxInsert(2), pCommit},
	// Steps on a transaction when none is open are skipped.
	{pTxInsert(1), pDBInsert(2), pBegin, pBegin, pTxCount, pRollback},
	// Read-only transaction with a savepoint, pool writes meanwhile.
	{pBeginRO, pSavepoint(1), pDBInsert(1), pTxCount, pRollbackTo(1), pTxInsert(2), pRelease(1), pCommit},
}

// encodePoolTxOps is decodePoolTxOps's inverse for sequences the model
// admits. Fuzz input is one byte b per step: kind b % ptKinds and argument
// index i = b / ptKinds, read as the step's key (1 + i%4), savepoint number
// (1 + i%2), or a Begin's read-only flag (i%2).
func encodePoolTxOps(ops []poolTxOp) []byte {
	var b []byte
	for _, op := range ops {
		var i uint8
		switch op.Kind {
		case ptBegin, ptBeginConn:
			i = op.Arg
		case ptTxInsert, ptTxValue, ptTxStmtInsert, ptTxPrepInsert, ptTxInsertX, ptDBInsert, ptDBStmtInsert,
			ptSavepoint, ptRelease, ptRollbackTo:
			i = op.Arg - 1
		}
		b = append(b, byte(op.Kind)+byte(ptKinds)*i)
	}
	return b
}

// decodePoolTxOps turns fuzz input into at most 12 steps that the model
// admits (poolTxModel), at most 2 of them skipped when run, reading at most
// 64 bytes.
func decodePoolTxOps(data []byte) []poolTxOp {
	if len(data) > 64 {
		data = data[:64]
	}
	var m poolTxModel
	var ops []poolTxOp
	skipped := 0
	for _, b := range data {
		if len(ops) == 12 {
			break
		}
		op := poolTxOp{Kind: poolTxKind(b % byte(ptKinds))}
		i := b / byte(ptKinds)
		switch op.Kind {
		case ptBegin, ptBeginConn:
			op.Arg = i % 2
		case ptTxInsert, ptTxValue, ptTxStmtInsert, ptTxPrepInsert, ptTxInsertX, ptDBInsert, ptDBStmtInsert:
			op.Arg = 1 + i%4
		case ptSavepoint, ptRelease, ptRollbackTo:
			op.Arg = 1 + i%2
		}
		if m.skips(op) {
			if skipped == 2 {
				continue
			}
			skipped++
		}
		if m.admit(op) {
			ops = append(ops, op)
		}
	}
	return ops
}

// poolTxModel follows, step by step, what a sequence does to SQLite under
// plain go-sqlite3 (approximately: the outcome always comes from running
// the steps), so that the decoder generates only sequences whose outcome
// sqlite3-safe promises to match and that stay fast:
//   - one transaction at a time (a transaction step with none open, or a
//     Begin with one open, is generated and skipped when run);
//   - no pool write after a savepoint step in a write transaction that
//     has not written: sqlite3-safe's transaction takes the write lock at
//     its first statement whatever it is, where plain go-sqlite3 takes it
//     at the first write;
//   - an insert into x only where x is there for the transaction (made
//     before it began, or before its first statement): an INSERT into a
//     table the transaction cannot see fails without writing under plain
//     go-sqlite3, but takes the write lock under sqlite3-safe;
//   - one CREATE TABLE x, and at most one pool write that can wait for a
//     transaction holding SQLite's write lock (it costs the busy timeout).
type poolTxModel struct {
	open, readOnly bool
	snapshot       bool // the transaction has read (or written): its snapshot is fixed
	stale          bool // a pool write came after the snapshot
	wrote          bool // the transaction may hold SQLite's write lock
	staleWrite     bool // the transaction tried to write on a stale snapshot
	savepointFirst bool // a savepoint step ran in a write transaction before any write
	xMade          bool // CREATE TABLE x ran where it succeeds
	xSeen          bool // x is there for the open transaction
	createUsed     bool // the one CREATE TABLE x was generated
	blockedUsed    bool // the one pool write that can wait was generated
}

// skips reports whether op, run next, is skipped: a transaction step with
// no transaction open, or a Begin with one open.
func (m *poolTxModel) skips(op poolTxOp) bool {
	return (op.onTx() && !m.open) || ((op.Kind == ptBegin || op.Kind == ptBeginConn) && m.open)
}

// admit reports whether op is generated next, and moves the model on.
func (m *poolTxModel) admit(op poolTxOp) bool {
	if m.skips(op) {
		return true
	}
	switch op.Kind {
	case ptBegin, ptBeginConn:
		*m = poolTxModel{open: true, readOnly: op.Arg == 1, xMade: m.xMade, xSeen: m.xMade,
			createUsed: m.createUsed, blockedUsed: m.blockedUsed}
		return true
	case ptCommit, ptRollback:
		m.open = false
		return true
	case ptTxCount, ptTxValue:
		m.snapshot = true
		return true
	case ptSavepoint, ptRelease, ptRollbackTo:
		if !m.readOnly && !m.wrote && !m.staleWrite {
			m.savepointFirst = true
		}
		return true
	case ptTxInsert, ptTxStmtInsert, ptTxPrepInsert, ptTxInsertX:
		if op.Kind == ptTxInsertX && !m.xSeen {
			return false
		}
		switch {
		case m.readOnly: // fails read-only, takes nothing
		case m.snapshot && m.stale && !m.wrote:
			m.staleWrite = true // SQLITE_BUSY_SNAPSHOT, or succeeds if the pool's write did not commit
		default:
			m.wrote, m.snapshot = true, true
		}
		return true
	case ptDBCount:
		return true
	case ptDBInsert, ptDBStmtInsert, ptDBCreateX:
		if op.Kind == ptDBCreateX && m.createUsed {
			return false
		}
		if m.open && m.savepointFirst {
			return false
		}
		mayWait := m.open && (m.wrote || m.staleWrite)
		if mayWait {
			if m.blockedUsed {
				return false
			}
			m.blockedUsed = true
		}
		if op.Kind == ptDBCreateX {
			m.createUsed = true
			if !mayWait {
				m.xMade = true
				if m.open && !m.snapshot {
					m.xSeen = true
				}
			}
		}
		if m.open && m.snapshot {
			m.stale = true
		}
		return true
	}
	return false
}

// poolTxSeeds are the fuzz seeds: the shapes, then the extra seeds.
func poolTxSeeds() [][]poolTxOp {
	var seeds [][]poolTxOp
	for _, s := range poolTxShapes {
		seeds = append(seeds, s.ops)
	}
	return append(seeds, poolTxExtraSeeds...)
}

// TestPoolTxShapesMatchPlain: a goroutine that holds a transaction and
// also uses the pool gets what it gets under plain go-sqlite3: the same
// steps fail with the same class of error, reads return the same values,
// and the same rows are committed.
func TestPoolTxShapesMatchPlain(t *testing.T) {
	for _, tc := range poolTxShapes {
		t.Run(tc.name, func(t *testing.T) { requirePoolTxSameAsPlain(t, tc.ops) })
	}
}

// TestPoolTxSeedsMatchPlain checks that the fuzz model admits every seed
// whole (so the fuzzer starts from the shapes as written), and runs the
// seeds that TestPoolTxShapesMatchPlain does not, as the fuzzer decodes
// them.
func TestPoolTxSeedsMatchPlain(t *testing.T) {
	for i, ops := range poolTxSeeds() {
		decoded := decodePoolTxOps(encodePoolTxOps(ops))
		require.Equal(t, ops, decoded, "the model does not admit seed %d whole: %v", i, ops)
	}
	for i, ops := range poolTxExtraSeeds {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			requirePoolTxSameAsPlain(t, decodePoolTxOps(encodePoolTxOps(ops)))
		})
	}
}

// FuzzPoolTxDifferential runs random sequences of transaction steps and
// pool statements on one goroutine under plain go-sqlite3 and under
// sqlite3-safe, and requires the same outcome.
func FuzzPoolTxDifferential(f *testing.F) {
	for _, ops := range poolTxSeeds() {
		f.Add(encodePoolTxOps(ops))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ops := decodePoolTxOps(data)
		if len(ops) == 0 {
			return
		}
		requirePoolTxSameAsPlain(t, ops)
	})
}

// poolTxMemdbSeq numbers the memdb databases of TestPoolTxMemoryShapes:
// a memdb name is one database for the whole process.
var poolTxMemdbSeq atomic.Int64

// TestPoolTxMemoryShapes: on an in-memory database, a transaction begun
// and left untouched, or one that has only run a read touching no table,
// holds up no statement through the pool, also when it is never ended.
// Plain go-sqlite3 gives each pooled connection of ":memory:" its own
// database, so only success and promptness are compared, not data. The
// lock timeout is 10 s and each pool statement must be done within 1 s
// (its context ends then; the memdb databases' busy timeout is 1 s too):
// a statement held up by the transaction fails the test instead of
// hanging it.
func TestPoolTxMemoryShapes(t *testing.T) {
	const (
		limit       = time.Second
		poolWrite   = "CREATE TABLE IF NOT EXISTS m(k); INSERT INTO m VALUES (1)"
		poolRead    = "SELECT 1"
		safeTimeout = "_safe_lock_timeout=10000"
	)
	type env struct {
		t  *testing.T
		db *sql.DB
	}
	// pool runs one statement through the pool; it must succeed in time.
	pool := func(e env, query string) {
		e.t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		start := time.Now()
		var err error
		if strings.HasPrefix(query, "SELECT") {
			var n int
			err = e.db.QueryRowContext(ctx, query).Scan(&n)
		} else {
			_, err = e.db.ExecContext(ctx, query)
		}
		took := time.Since(start)
		require.NoError(e.t, err, "%s through the pool (after %v)", query, took.Round(time.Millisecond))
		require.Less(e.t, took, limit, "%s through the pool", query)
	}
	// begin begins a transaction that is rolled back when the test ends
	// if the shape leaves it open.
	begin := func(e env) *sql.Tx {
		e.t.Helper()
		tx, err := e.db.BeginTx(context.Background(), nil)
		require.NoError(e.t, err)
		e.t.Cleanup(func() { _ = tx.Rollback() })
		return tx
	}
	shapes := []struct {
		name string
		run  func(e env)
	}{
		{"untouched tx, pool SELECT 1", func(e env) {
			tx := begin(e)
			pool(e, poolRead)
			require.NoError(e.t, tx.Commit())
		}},
		{"untouched tx, pool write and read, commit", func(e env) {
			tx := begin(e)
			pool(e, poolWrite)
			pool(e, poolRead)
			require.NoError(e.t, tx.Commit())
			pool(e, poolWrite)
		}},
		{"untouched tx, pool write, rollback", func(e env) {
			tx := begin(e)
			pool(e, poolWrite)
			require.NoError(e.t, tx.Rollback())
			pool(e, poolWrite)
		}},
		{"leaked untouched tx, later pool statements and transactions", func(e env) {
			begin(e)
			pool(e, poolRead)
			pool(e, poolWrite)
			pool(e, poolRead)
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			tx2, err := e.db.BeginTx(ctx, nil)
			require.NoError(e.t, err)
			_, err = tx2.ExecContext(ctx, poolWrite)
			require.NoError(e.t, err)
			require.NoError(e.t, tx2.Commit())
			pool(e, poolWrite)
		}},
		// Not here: a transaction that has run a statement. On a database
		// that is not WAL it holds the lock (its reads hold SQLite's table
		// locks, so it cannot hand the lock over), and its goroutine's pool
		// statements wait for it.
	}
	dbs := []struct {
		name  string
		dsn   func(driverName string) string
		limit int // SetMaxOpenConns; 0: database/sql's default
	}{
		{":memory:", func(driverName string) string {
			if driverName == sqlite3safe.DriverName {
				return ":memory:?" + safeTimeout
			}
			return ":memory:"
		}, 0},
		{":memory: with 4 connections", func(driverName string) string {
			if driverName == sqlite3safe.DriverName {
				return ":memory:?" + safeTimeout
			}
			return ":memory:"
		}, 4},
		{"memdb VFS with 4 connections", func(driverName string) string {
			dsn := fmt.Sprintf("file:/pooltx-%d?vfs=memdb&_busy_timeout=1000", poolTxMemdbSeq.Add(1))
			if driverName == sqlite3safe.DriverName {
				dsn += "&" + safeTimeout
			}
			return dsn
		}, 4},
	}
	for _, driverName := range []string{"sqlite3", sqlite3safe.DriverName} {
		t.Run(driverName, func(t *testing.T) {
			for _, d := range dbs {
				t.Run(d.name, func(t *testing.T) {
					for _, s := range shapes {
						t.Run(s.name, func(t *testing.T) {
							db, err := sql.Open(driverName, d.dsn(driverName))
							require.NoError(t, err)
							t.Cleanup(func() { _ = db.Close() })
							if d.limit > 0 {
								db.SetMaxOpenConns(d.limit)
							}
							s.run(env{t: t, db: db})
						})
					}
				})
			}
		})
	}
}
