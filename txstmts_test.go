//go:build cgo

package sqlite3safe_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sqlite3safe/sqlite3safe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTxAfterFailedCommitMatchesGoSQLite3: a connection runs the same
// BEGIN IMMEDIATE and COMMIT for every write transaction; a COMMIT that
// fails (a deferred foreign key), a schema change between transactions,
// and statements SQLite refuses while others are pending (VACUUM, DROP
// TABLE) give what plain go-sqlite3 gives, on one connection, in order.
func TestTxAfterFailedCommitMatchesGoSQLite3(t *testing.T) {
	run := func(db *sql.DB) []string {
		ctx := context.Background()
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		defer c.Close()
		var out []string
		note := func(step string, err error) { out = append(out, fmt.Sprintf("%s: %v", step, err)) }
		exec := func(step, q string, args ...any) {
			_, err := c.ExecContext(ctx, q, args...)
			note(step, err)
		}
		tx := func(step string, ctx context.Context, stmts ...string) {
			t, err := c.BeginTx(ctx, nil)
			if err != nil {
				note(step+" begin", err)
				return
			}
			for i, q := range stmts {
				_, err := t.ExecContext(ctx, q)
				note(fmt.Sprintf("%s stmt %d", step, i), err)
			}
			note(step+" commit", t.Commit())
		}
		exec("schema", "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(pid REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)")
		exec("fk on", "PRAGMA foreign_keys=ON")
		tx("orphan", ctx, "INSERT INTO c VALUES (7)") // COMMIT fails, then ROLLBACK
		tx("parent", ctx, "INSERT INTO p VALUES (7)", "INSERT INTO c VALUES (7)")
		cancellable, cancel := context.WithCancel(ctx)
		tx("cancellable", cancellable, "INSERT INTO p VALUES (8)")
		cancel()
		exec("alter", "ALTER TABLE p ADD COLUMN x DEFAULT 'x'")
		tx("after alter", ctx, "INSERT INTO p(id, x) VALUES (9, 'y')")
		tx("orphan again", ctx, "INSERT INTO c VALUES (70)")
		exec("vacuum", "VACUUM")
		exec("drop", "DROP TABLE c")
		tx("after drop", ctx, "INSERT INTO p(id) VALUES (10)")
		rows, err := c.QueryContext(ctx, "SELECT id, x FROM p ORDER BY id")
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var id int
			var x string
			require.NoError(t, rows.Scan(&id, &x))
			out = append(out, fmt.Sprintf("row %d %s", id, x))
		}
		require.NoError(t, rows.Err())
		return out
	}
	plain := run(openDB(t, "sqlite3", tempDSN(t, "_journal_mode=WAL&_txlock=immediate")))
	safe := run(openDB(t, sqlite3safe.DriverName, tempDSN(t, "")))
	assert.Equal(t, plain, safe)
	t.Logf("%q", safe)
	assert.Contains(t, safe, "orphan commit: FOREIGN KEY constraint failed", "the script should make COMMIT fail")
	assert.Contains(t, safe, "row 10 x", "the last transaction should have committed")
}

// TestTxStatementsFinalizedOnClose: after db.Close, no descriptor of the
// process points at the database file, though every connection ran write
// transactions (whose BEGIN and COMMIT each connection keeps compiled).
func TestTxStatementsFinalizedOnClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SKIPPED: reads /proc/self/fd, Linux only")
	}
	path := filepath.Join(t.TempDir(), "tx.db")
	db, err := sql.Open(sqlite3safe.DriverName, path)
	require.NoError(t, err)
	mustExec(t, db, "CREATE TABLE t(a)")
	ctx := context.Background()
	var conns []*sql.Conn
	for i := range 4 { // four connections at once, each with a transaction of its own
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
		tx, err := c.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "INSERT INTO t VALUES (?)", i)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	require.Equal(t, 4, n)
	require.Positive(t, fdsOn(t, path)[path], "the test should see the database's descriptors while it is open")
	require.NoError(t, db.Close())
	assert.Zero(t, fdsOn(t, path)[path], "descriptors on the database left after Close")
}

// TestAttachRecompilesWhatTheConnectionKeeps: SQLite compiles BEGIN
// IMMEDIATE (and PRAGMA database_list, an unqualified ANALYZE, …) for the
// databases attached when it compiles them, and an ATTACH does not make
// earlier statements compile again. Statements a connection keeps compiled
// from before an ATTACH (the transaction's BEGIN, go-sqlite3's statement
// cache) must not leave the new database out: a write transaction begun
// after the ATTACH locks it, and PRAGMA database_list lists it, as on plain
// go-sqlite3, which compiles them anew every time.
func TestAttachRecompilesWhatTheConnectionKeeps(t *testing.T) {
	for _, cancellable := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancellable=%v", cancellable), func(t *testing.T) {
			run := func(driverName, dsn string) []string {
				bg := context.Background()
				ctx := bg
				if cancellable {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(bg)
					defer cancel()
				}
				other := filepath.Join(t.TempDir(), "other.db")
				db := openDB(t, driverName, dsn)
				c, err := db.Conn(bg)
				require.NoError(t, err)
				defer c.Close()
				exec := func(q string, args ...any) {
					_, err := c.ExecContext(ctx, q, args...)
					require.NoError(t, err, q)
				}
				var out []string
				databases := func(step string) {
					rows, err := c.QueryContext(ctx, "PRAGMA database_list")
					require.NoError(t, err)
					defer rows.Close()
					var names []string
					for rows.Next() {
						var seq int
						var name, file string
						require.NoError(t, rows.Scan(&seq, &name, &file))
						names = append(names, name)
					}
					require.NoError(t, rows.Err())
					out = append(out, fmt.Sprintf("%s: databases %v", step, names))
				}
				otherWriter := func(step string) {
					raw, err := sql.Open("sqlite3", other+"?_busy_timeout=0")
					require.NoError(t, err)
					defer raw.Close()
					_, err = raw.Exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (3); COMMIT")
					out = append(out, fmt.Sprintf("%s: another writer on the attached file: %v", step, err))
					_, _ = raw.Exec("ROLLBACK")
				}

				exec("CREATE TABLE m(x)")
				// Each compiled once before the ATTACH.
				// A transaction begins at its first statement.
				begin := func() *sql.Tx {
					tx, err := c.BeginTx(ctx, nil)
					require.NoError(t, err)
					var n int
					require.NoError(t, tx.QueryRowContext(ctx, "SELECT count(*) FROM m").Scan(&n))
					return tx
				}
				require.NoError(t, begin().Commit())
				exec("BEGIN IMMEDIATE")
				exec("COMMIT")
				databases("before")

				exec("ATTACH DATABASE ? AS o", other)
				exec("CREATE TABLE o.t(x)") // (not CREATE INDEX, which makes SQLite compile everything again)
				tx := begin()
				otherWriter("BeginTx")
				require.NoError(t, tx.Rollback())
				exec("BEGIN IMMEDIATE")
				otherWriter("BEGIN IMMEDIATE")
				exec("ROLLBACK")
				databases("after")
				return out
			}
			plain := run("sqlite3", tempDSN(t, "_journal_mode=WAL&_txlock=immediate"))
			safe := run(sqlite3safe.DriverName, tempDSN(t, ""))
			assert.Equal(t, plain, safe)
			t.Logf("%q", safe)
		})
	}
}

// TestAttachInOneStringRecompiles: an ATTACH that runs as one piece of a
// multi-statement string, through Exec or Query, with a context that can
// end or not, first or in the middle, makes the statements after it in
// that string compile anew, as when the statements are sent separately:
// a BEGIN after it locks the attached file (another writer there is
// refused with "database is locked"), and a PRAGMA database_list after it
// lists the new database, as on plain go-sqlite3 running the same text
// with BEGIN IMMEDIATE. Before the string runs, the connection has run the
// same statements without the ATTACH, so whatever it keeps compiled from
// them was compiled for fewer databases. A prepared ATTACH is held to the
// same rule.
func TestAttachInOneStringRecompiles(t *testing.T) {
	type spelling struct {
		name   string
		warm   string // the same statements without the ATTACH, run first
		text   string // the string with the ATTACH; BEGIN is BEGIN IMMEDIATE on plain
		query  bool   // through Query, else Exec
		lists  bool   // the string ends with PRAGMA database_list, whose rows are read
		prep   bool   // the ATTACH is a prepared statement of its own, and text follows it
		commit string // ends what text began
	}
	var spellings []spelling
	for _, query := range []bool{false, true} {
		via := "Exec"
		if query {
			via = "Query"
		}
		spellings = append(spellings,
			spelling{name: via + "/ATTACH first", warm: "BEGIN", text: "ATTACH ? AS o; BEGIN", query: query, commit: "ROLLBACK"},
			spelling{name: via + "/ATTACH in the middle", warm: "SELECT 1; BEGIN; SELECT 2",
				text: "SELECT 1; ATTACH ? AS o; BEGIN; SELECT 2", query: query, commit: "ROLLBACK"},
			spelling{name: via + "/prepared ATTACH", warm: "BEGIN", text: "BEGIN", query: query, prep: true, commit: "ROLLBACK"},
		)
	}
	spellings = append(spellings,
		spelling{name: "Query/ATTACH first, database_list", warm: "PRAGMA database_list",
			text: "ATTACH ? AS o; PRAGMA database_list", query: true, lists: true},
		spelling{name: "Query/ATTACH in the middle, database_list", warm: "SELECT 1; PRAGMA database_list",
			text: "SELECT 1; ATTACH ? AS o; PRAGMA database_list", query: true, lists: true},
	)
	for _, sp := range spellings {
		for _, cancellable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cancellable=%v", sp.name, cancellable), func(t *testing.T) {
				run := func(driverName, dsn string) []string {
					bg := context.Background()
					ctx := bg
					if cancellable {
						var cancel context.CancelFunc
						ctx, cancel = context.WithCancel(bg)
						defer cancel()
					}
					immediate := func(q string) string {
						if driverName == "sqlite3" {
							q = strings.ReplaceAll(q, "BEGIN", "BEGIN IMMEDIATE")
						}
						return q
					}
					other := filepath.Join(t.TempDir(), "other.db")
					raw, err := sql.Open("sqlite3", other+"?_busy_timeout=0&_journal_mode=WAL")
					require.NoError(t, err)
					defer raw.Close()
					_, err = raw.Exec("CREATE TABLE t(x)")
					require.NoError(t, err)

					db := openDB(t, driverName, dsn)
					c, err := db.Conn(bg)
					require.NoError(t, err)
					defer c.Close()
					var out []string
					// run sends q as one string and reads the rows of its last statement.
					run := func(step, q string, args ...any) {
						if !sp.query {
							_, err := c.ExecContext(ctx, q, args...)
							out = append(out, fmt.Sprintf("%s: %v", step, err))
							return
						}
						rows, err := c.QueryContext(ctx, q, args...)
						if err != nil {
							out = append(out, fmt.Sprintf("%s: %v", step, err))
							return
						}
						defer rows.Close()
						var names []string
						for sp.lists && rows.Next() {
							var seq int
							var name, file string
							require.NoError(t, rows.Scan(&seq, &name, &file))
							names = append(names, name)
						}
						out = append(out, fmt.Sprintf("%s: %v, databases %v", step, rows.Err(), names))
					}
					exec := func(q string) {
						_, err := c.ExecContext(ctx, q)
						out = append(out, fmt.Sprintf("%s: %v", q, err))
					}

					// The statements without the ATTACH, twice: kept compiled.
					for range 2 {
						run("warm", immediate(sp.warm))
						if !sp.lists {
							exec("COMMIT")
						}
					}
					if sp.prep {
						st, err := c.PrepareContext(ctx, "ATTACH ? AS o")
						require.NoError(t, err)
						if sp.query {
							rows, err := st.QueryContext(ctx, other)
							require.NoError(t, err)
							require.NoError(t, rows.Close())
						} else {
							_, err = st.ExecContext(ctx, other)
							require.NoError(t, err)
						}
						require.NoError(t, st.Close())
						run("after the ATTACH", immediate(sp.text))
					} else {
						run("with the ATTACH", immediate(sp.text), other)
					}
					if !sp.lists {
						_, err = raw.Exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (3); COMMIT")
						out = append(out, fmt.Sprintf("another writer on the attached file: %v", err))
						_, _ = raw.Exec("ROLLBACK")
						exec(sp.commit)
					}
					return out
				}
				plain := run("sqlite3", tempDSN(t, "_journal_mode=WAL"))
				safe := run(sqlite3safe.DriverName, tempDSN(t, ""))
				assert.Equal(t, plain, safe)
				t.Logf("%q", safe)
			})
		}
	}
}
