//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// txCall is one call on a db.Conn: via 'e' (Exec), 'q' (Query, rows read
// to the end and closed) or 'p' (a prepared statement's Exec).
type txCall struct {
	via byte
	sql string
}

func (c txCall) String() string { return fmt.Sprintf("%c %q", c.via, c.sql) }

// txOutcome is what must be the same under sqlite3-safe as under plain
// go-sqlite3 after a sequence of calls on one db.Conn.
type txOutcome struct {
	Failed     []bool  // per call: it returned an error
	AutoCommit []bool  // per call: SQLite was in autocommit after it
	Rows       []int64 // committed rows, after the Conn is closed
}

// runTxCalls runs calls on one db.Conn of a fresh database in dir, opened
// with driverName, and reports the outcome. Under sqlite3-safe it also
// checks that the write lock is free once the Conn is closed.
func runTxCalls(t testing.TB, driverName, dir string, calls []txCall) txOutcome {
	t.Helper()
	ctx := context.Background()
	dsn := filepath.Join(dir, driverName+".db")
	if driverName == sqlite3safe.DriverName {
		dsn += "?_safe_lock_timeout=0"
	} else {
		dsn += "?_journal_mode=WAL" // as sqlite3-safe sets it
	}
	db, err := sql.Open(driverName, dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE t(x INTEGER PRIMARY KEY); CREATE TABLE u(y)")
	require.NoError(t, err)
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	var out txOutcome
	for _, c := range calls {
		var err error
		switch c.via {
		case 'e':
			_, err = conn.ExecContext(ctx, c.sql)
		case 'q':
			var rows *sql.Rows
			rows, err = conn.QueryContext(ctx, c.sql)
			if err == nil {
				for rows.Next() {
				}
				cerr := rows.Close()
				if err = rows.Err(); err == nil {
					err = cerr
				}
			}
		case 'p':
			var st *sql.Stmt
			st, err = conn.PrepareContext(ctx, c.sql)
			if err == nil {
				_, err = st.ExecContext(ctx)
				require.NoError(t, st.Close())
			}
		}
		out.Failed = append(out.Failed, err != nil)
		var auto bool
		require.NoError(t, conn.Raw(func(dc any) error {
			sc, ok := sqlite3safe.Unwrap(dc)
			require.True(t, ok)
			auto = sc.AutoCommit()
			return nil
		}))
		out.AutoCommit = append(out.AutoCommit, auto)
		if driverName == sqlite3safe.DriverName {
			// The write lock follows SQLite's state: held exactly while
			// the Conn is in a transaction. Another connection's write
			// (lock timeout 0) tells.
			_, err := db.Exec("INSERT INTO u VALUES (1)")
			if auto {
				require.NoError(t, err, "lock held in autocommit after %v", c)
			} else {
				require.ErrorIs(t, err, sqlite3safe.ErrLockTimeout, "lock not held in a transaction after %v", c)
			}
		}
	}
	require.NoError(t, conn.Close())
	// Committed rows, as another connection sees them: under plain
	// go-sqlite3 a Conn closed inside a transaction goes back to the pool
	// with the transaction still open.
	reader, err := sql.Open("sqlite3", filepath.Join(dir, driverName+".db"))
	require.NoError(t, err)
	defer reader.Close()
	rows, err := reader.Query("SELECT x FROM t ORDER BY x")
	require.NoError(t, err)
	for rows.Next() {
		var x int64
		require.NoError(t, rows.Scan(&x))
		out.Rows = append(out.Rows, x)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	if driverName != sqlite3safe.DriverName {
		return out
	}
	// The write lock is free: a write with lock timeout 0 gets through (on
	// a new connection: the Conn went back to the pool, maybe query_only).
	fresh, err := sql.Open(driverName, dsn)
	require.NoError(t, err)
	defer fresh.Close()
	_, err = fresh.Exec("INSERT INTO t VALUES (1000)")
	require.NoError(t, err, "the write lock is still held after the Conn closed")
	return out
}

// requireSameAsPlain runs calls under plain go-sqlite3 and sqlite3-safe
// and requires the same outcome.
func requireSameAsPlain(t testing.TB, dir string, calls []txCall) {
	t.Helper()
	want := runTxCalls(t, "sqlite3", dir, calls)
	got := runTxCalls(t, sqlite3safe.DriverName, dir, calls)
	require.Equal(t, want, got, "calls: %v", calls)
}

// decodeTxCalls turns fuzz input into a short sequence of calls. Each call
// is a header byte (bits: via = h%3, statements = 1+(h/3)%4) and, per
// statement, a kind byte (kind%10: see txStatement) and a variant byte (bits 0-1 keyword case, 2-4
// quoting or value, 5 the other name, 6 upper-case name, 7 optional words).
func decodeTxCalls(data []byte) []txCall {
	var calls []txCall
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	for len(data) > 0 && len(calls) < 12 {
		h := next()
		via := "eqp"[h%3]
		n := 1 + int(h/3)%4
		var stmts []string
		for i := 0; i < n; i++ {
			stmts = append(stmts, txStatement(next(), next()))
		}
		calls = append(calls, txCall{via: via, sql: strings.Join(stmts, "; ")})
	}
	return calls
}

// txStatement is one statement of the fuzz grammar.
func txStatement(kind, v byte) string {
	kw := func(s string) string {
		switch v & 3 {
		case 1:
			return strings.ToLower(s)
		case 2:
			b := []byte(s)
			for i := range b {
				if i%2 == 1 && 'A' <= b[i] && b[i] <= 'Z' {
					b[i] += 'a' - 'A'
				}
			}
			return string(b)
		}
		return s
	}
	name := "a"
	if v&32 != 0 {
		name = "b"
	}
	if v&64 != 0 {
		name = strings.ToUpper(name)
	}
	switch (v >> 2) & 7 % 5 {
	case 1:
		name = "'" + name + "'"
	case 2:
		name = `"` + name + `"`
	case 3:
		name = "[" + name + "]"
	case 4:
		name = "`" + name + "`"
	}
	opt := v&128 != 0
	switch kind % 10 {
	case 0:
		s := kw("BEGIN") + []string{"", " " + kw("DEFERRED"), " " + kw("IMMEDIATE"), " " + kw("EXCLUSIVE")}[(v>>2)&3]
		if opt {
			s += " " + kw("TRANSACTION")
		}
		return s
	case 1:
		if opt {
			return kw("END")
		}
		return kw("COMMIT")
	case 2:
		if opt {
			return kw("ROLLBACK TRANSACTION")
		}
		return kw("ROLLBACK")
	case 3:
		return kw("SAVEPOINT") + " " + name
	case 4:
		if opt {
			return kw("RELEASE SAVEPOINT") + " " + name
		}
		return kw("RELEASE") + " " + name
	case 5:
		if opt {
			return kw("ROLLBACK TRANSACTION TO SAVEPOINT") + " " + name
		}
		return kw("ROLLBACK TO") + " " + name
	case 6:
		// Values 1-4: repeating one is a constraint violation; OR ROLLBACK
		// makes it end the transaction.
		if opt {
			return kw("INSERT OR ROLLBACK INTO") + fmt.Sprintf(" t VALUES (%d)", 1+(v>>2)%4)
		}
		return kw("INSERT INTO") + fmt.Sprintf(" t VALUES (%d)", 1+(v>>2)%4)
	case 7:
		return kw("SELECT") + " count(*) FROM t"
	case 8:
		// query_only=1 makes writes fail, and SQLite's write lock
		// unavailable, in and out of transactions.
		if opt {
			return kw("PRAGMA query_only") + " = 1"
		}
		return kw("PRAGMA query_only") + " = 0"
	default:
		// A write whose rows hold the lock until they are read.
		return kw("INSERT INTO") + fmt.Sprintf(" t VALUES (%d), (%d) ", 1+(v>>2)%4, 5+(v>>2)%4) + kw("RETURNING") + " x"
	}
}

// txDiffSeeds are the seed inputs: manual-transaction shapes that once
// lost writes or ran deferred.
var txDiffSeeds = [][]byte{
	{0, 3, 0, 3, 6, 0, 4, 0},                  // SAVEPOINT a · INSERT; RELEASE a
	{0, 3, 0, 0, 6, 0, 3, 4, 0, 7, 0},         // SAVEPOINT a · INSERT · RELEASE a; SELECT
	{0, 3, 4, 0, 3, 36, 0, 6, 0, 0, 4, 4},     // SAVEPOINT 'a' · SAVEPOINT 'b' · INSERT · RELEASE 'a'
	{9, 0, 0, 7, 0, 6, 0, 1, 0},               // BEGIN; SELECT; INSERT; COMMIT
	{6, 3, 8, 6, 0, 4, 0, 1, 6, 0},            // SAVEPOINT "a"; INSERT; RELEASE a (Exec) · INSERT (Query)
	{2, 3, 13, 2, 6, 4, 2, 4, 141, 0, 7, 0},   // prepared: savepoint [a] · insert · release savepoint [a] · select
	{0, 0, 0, 0, 6, 0, 0, 6, 0, 0, 1, 0},      // BEGIN · INSERT · failing INSERT · COMMIT
	{3, 3, 0, 5, 0, 0, 6, 0, 0, 4, 0},         // SAVEPOINT a; ROLLBACK TO a · INSERT · RELEASE a
	{6, 7, 0, 3, 0, 6, 4, 1, 7, 0, 6, 4},      // SELECT; SAVEPOINT a; INSERT · query SELECT · INSERT
	{9, 3, 16, 6, 0, 4, 16, 7, 0, 1, 0, 0, 0}, // SAVEPOINT `a`; INSERT; RELEASE `a`; SELECT · query COMMIT · BEGIN
	{0, 3, 0, 0, 6, 0, 1, 6, 128, 0, 6, 4},    // SAVEPOINT a · INSERT · query INSERT OR ROLLBACK (fails, ends it) · INSERT
}

// FuzzTxDifferential runs random sequences of manual transaction control,
// inserts and selects on one db.Conn under plain go-sqlite3 and under
// sqlite3-safe, and requires the same outcome: which calls failed, the
// autocommit state after each call, the committed rows, and (under
// sqlite3-safe) a free write lock once the Conn is closed.
func FuzzTxDifferential(f *testing.F) {
	for _, s := range txDiffSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		calls := decodeTxCalls(data)
		if len(calls) == 0 {
			return
		}
		requireSameAsPlain(t, t.TempDir(), calls)
	})
}

// TestSavepointTransactionsMatchPlain: a transaction a SAVEPOINT opened
// commits when SQLite would commit it, whatever the statement shape,
// quoting or call, as under plain go-sqlite3.
func TestSavepointTransactionsMatchPlain(t *testing.T) {
	for _, tc := range []struct {
		name  string
		calls []txCall
	}{
		{"release inside a multi-statement string", []txCall{{'e', "SAVEPOINT a"}, {'e', "INSERT INTO t VALUES(1); RELEASE a"}}},
		{"release first in a multi-statement string", []txCall{{'e', "SAVEPOINT a"}, {'e', "INSERT INTO t VALUES(1)"}, {'e', "RELEASE a; SELECT 1"}}},
		{"single-quoted names", []txCall{{'e', "SAVEPOINT 'a'"}, {'e', "SAVEPOINT 'b'"}, {'e', "INSERT INTO t VALUES(1)"}, {'e', "RELEASE 'a'"}}},
		{"other quotings and case", []txCall{{'e', `SAVEPOINT "a"`}, {'e', "savepoint [B]"}, {'e', "INSERT INTO t VALUES(1)"}, {'e', "release `A`"}}},
		{"whole transaction in one string", []txCall{{'e', "SAVEPOINT a; INSERT INTO t VALUES(1); RELEASE a"}, {'e', "INSERT INTO t VALUES(2)"}}},
		{"through prepared statements", []txCall{{'p', "SAVEPOINT 'a'"}, {'p', "INSERT INTO t VALUES(1)"}, {'p', "RELEASE SAVEPOINT 'a'"}}},
		{"through Query", []txCall{{'q', "SAVEPOINT a"}, {'q', "INSERT INTO t VALUES(1)"}, {'q', "RELEASE a"}, {'q', "SELECT 1; SAVEPOINT b"}, {'e', "INSERT INTO t VALUES(2)"}, {'q', "RELEASE b"}}},
		{"rollback to, then release", []txCall{{'e', "SAVEPOINT a; INSERT INTO t VALUES(1); ROLLBACK TO a"}, {'e', "INSERT INTO t VALUES(2); RELEASE a"}}},
		{"savepoint inside BEGIN", []txCall{{'e', "BEGIN; SAVEPOINT a"}, {'e', "INSERT INTO t VALUES(1); RELEASE a"}, {'e', "COMMIT"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { requireSameAsPlain(t, t.TempDir(), tc.calls) })
	}
}

func TestTxDiffSeedsMatchPlain(t *testing.T) {
	for i, s := range txDiffSeeds {
		t.Run(fmt.Sprint(i), func(t *testing.T) { requireSameAsPlain(t, t.TempDir(), decodeTxCalls(s)) })
	}
}
