//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// The statement cache must be invisible: the same statements, run with the
// cache on and off, give the same rows, errors, LastInsertId and
// RowsAffected, through schema changes between uses, nested use of one SQL
// text on one connection, and multi-statement strings.

// cacheScript is the statements each run replays; %d is filled in per use.
var cacheScript = []string{
	"INSERT INTO t(a, b) VALUES (%d, 'x')",
	"INSERT INTO t(a, b) VALUES (%d, 'y') RETURNING id, a",
	"UPDATE t SET b = b || 'u' WHERE a %% 3 = %d %% 3",
	"DELETE FROM t WHERE a = %d",
	"SELECT * FROM t ORDER BY id",
	"SELECT a, b FROM t WHERE a > %d ORDER BY a LIMIT 3",
	"SELECT count(*), sum(a) FROM t",
	"INSERT INTO u(k) VALUES (%d)", // a unique key: repeats fail
	"ALTER TABLE t ADD COLUMN c%d INTEGER DEFAULT 7",
	"DROP TABLE IF EXISTS v; CREATE TABLE v(x, y); INSERT INTO v VALUES (%d, 1)",
	"SELECT * FROM v",
	"DROP TABLE v; CREATE TABLE v(z); INSERT INTO v VALUES (%d)",
	"SELECT nosuchcolumn FROM t",
	"BEGIN; INSERT INTO t(a, b) VALUES (%d, 'tx'); COMMIT",
	"NESTED",                              // the same SQL text queried while its rows are open on the same Conn
	"SELECT a, b FROM t WHERE a = ?",      // ? takes the argument
	"INSERT INTO t(a, b) VALUES (?, 'p')", // ? takes the argument
	"SELECT * FROM t WHERE a = ?",         // its columns change with ALTER TABLE
	// SQLite runs much of a PRAGMA when it compiles it: a compiled PRAGMA
	// run again would report, or set, what it did the first time.
	"PRAGMA busy_timeout", "PRAGMA busy_timeout=%d", "PRAGMA cache_size", "PRAGMA cache_size=-%d",
	"PRAGMA foreign_keys", "PRAGMA foreign_keys=%d", "PRAGMA recursive_triggers", "PRAGMA recursive_triggers=%d",
	"PRAGMA temp_store", "PRAGMA temp_store=%d", "PRAGMA cache_size=-%d; PRAGMA cache_size",
}

// runCacheScript replays a random sequence (from seed) on one Conn of db
// and returns a transcript of everything the caller can observe.
func runCacheScript(t *testing.T, db *sql.DB, seed uint64, n int) string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	for _, q := range []string{
		"CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT)",
		"CREATE TABLE u(k INTEGER PRIMARY KEY)",
		"CREATE TABLE v(x, y)",
	} {
		_, err := conn.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var out strings.Builder
	for i := range n {
		tmpl := cacheScript[rng.IntN(len(cacheScript))]
		arg := rng.IntN(5)
		if tmpl == "NESTED" {
			fmt.Fprintf(&out, "%d NESTED: %s\n", i, nested(ctx, conn))
			continue
		}
		q := tmpl
		var args []any
		if strings.Contains(tmpl, "%d") {
			q = fmt.Sprintf(tmpl, arg)
		}
		if strings.Contains(tmpl, "?") {
			args = []any{arg}
		}
		if strings.HasPrefix(q, "SELECT") || strings.Contains(q, "RETURNING") || strings.HasSuffix(q, "PRAGMA cache_size") ||
			strings.HasPrefix(q, "PRAGMA") && !strings.Contains(q, "=") {
			fmt.Fprintf(&out, "%d %s %v: %s\n", i, q, args, queryAll(ctx, conn, q, args...))
			continue
		}
		res, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			fmt.Fprintf(&out, "%d %s: error %v\n", i, q, err)
			continue
		}
		id, err1 := res.LastInsertId()
		n, err2 := res.RowsAffected()
		fmt.Fprintf(&out, "%d %s: id %d %v, rows %d %v\n", i, q, id, err1, n, err2)
	}
	return out.String()
}

// queryAll reads every row of q as text, or the error.
func queryAll(ctx context.Context, conn *sql.Conn, q string, args ...any) string {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return "error " + err.Error()
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	fmt.Fprintf(&b, "%v", cols)
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return b.String() + " scan error " + err.Error()
		}
		fmt.Fprintf(&b, " %v", vals)
	}
	if err := rows.Err(); err != nil {
		fmt.Fprintf(&b, " error %v", err)
	}
	return b.String()
}

// nested queries "SELECT id FROM t ORDER BY id" and, for each of its first
// rows, the same text again: a statement in use must not be handed out
// twice.
func nested(ctx context.Context, conn *sql.Conn) string {
	const q = "SELECT id FROM t ORDER BY id"
	outer, err := conn.QueryContext(ctx, q)
	if err != nil {
		return "error " + err.Error()
	}
	defer outer.Close()
	var b strings.Builder
	for k := 0; k < 3 && outer.Next(); k++ {
		var id int64
		if err := outer.Scan(&id); err != nil {
			return "scan error " + err.Error()
		}
		fmt.Fprintf(&b, "[%d: %s] ", id, queryAll(ctx, conn, q))
	}
	return b.String()
}

func TestStmtCacheIsInvisible(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		seeds = seeds[:2]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			off := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_stmt_cache=0"))
			on := openDB(t, sqlite3safe.DriverName, tempDSN(t, "_safe_stmt_cache=3")) // small: evictions
			plain := openDB(t, "sqlite3", tempDSN(t, "_journal_mode=WAL"))
			want := runCacheScript(t, off, seed, 200)
			assert.Equal(t, want, runCacheScript(t, on, seed, 200), "cache on differs from cache off")
			assert.Equal(t, want, runCacheScript(t, plain, seed, 200), "sqlite3-safe differs from plain go-sqlite3")
		})
	}
}

// TestStmtCacheFinalizedOnClose: after db.Close, no descriptor of the
// process still points at the database file (a connection that closed with
// statements left unfinalized would keep it open as a zombie).
func TestStmtCacheFinalizedOnClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SKIPPED: reads /proc/self/fd, Linux only")
	}
	path := filepath.Join(t.TempDir(), "close.db")
	db, err := sql.Open(sqlite3safe.DriverName, path+"?_safe_stmt_cache=16")
	require.NoError(t, err)
	db.SetMaxOpenConns(4)
	mustExec(t, db, "CREATE TABLE t(a)")
	for i := range 50 {
		mustExec(t, db, "INSERT INTO t VALUES (?)", i)
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM t WHERE a < ?", i).Scan(&n))
	}
	require.Positive(t, fdsOn(t, path)[path], "the test should see the database's descriptors while it is open")
	require.NoError(t, db.Close())
	assert.Zero(t, fdsOn(t, path)[path], "descriptors on the database left after Close")
}
