//go:build cgo

package sqlclass

import (
	"context"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Expected classes, named for the table below.
var (
	clsRead   = Class{}                                               // no lock in WAL mode
	clsWrite  = Class{Write: true}                                    // write lock
	clsAsk    = Class{Ask: true}                                      // ask sqlite3_stmt_readonly
	clsAttach = Class{Write: true, Attach: true}                      // ATTACH: the connection recompiles what it keeps
	clsTx     = Class{TxControl: true}                                // COMMIT, ROLLBACK, RELEASE, END
	clsWTx    = Class{Write: true, TxControl: true}                   // opens a transaction
	clsPBegin = Class{Write: true, TxControl: true, PlainBegin: true} // BEGIN [DEFERRED] [TRANSACTION]
)

// cases is shared by TestClassify, TestClassifyAgreesWithSQLite and
// the seeds of FuzzClassify. Table and index names refer to schema.
var cases = []struct {
	query string
	want  Class
}{
	// Whitespace, comments and case.
	{"SELECT 1", clsRead},
	{"  \n\t\r\fSELECT 1", clsRead},
	{"-- leading comment\nSELECT a FROM t", clsRead},
	{"/* leading */ SELECT a FROM t", clsRead},
	{"/* a */ -- b\n /* c */select a from t", clsRead},
	{"select * from t", clsRead},
	{"SeLeCt a, b FROM t WHERE b = 'x'", clsRead},
	{"-- INSERT INTO t VALUES (1, 2)\nSELECT 1", clsRead},
	{"/* DELETE FROM t; */ SELECT 1", clsRead},
	{"-- a comment\n/* another */ INSERT INTO t VALUES (1, 2)", clsWrite},
	{"\n\n   insert into t values (1, 2)", clsWrite},

	// Reads.
	{"SELECT * FROM v", clsRead},
	{"SELECT count(*) FROM t JOIN u ON t.a = u.x", clsRead},
	{"SELECT name FROM pragma_table_info('t')", clsRead},
	{"VALUES (1, 2), (3, 4)", clsRead},
	{"values(1)", clsRead},
	{"EXPLAIN SELECT * FROM t", clsRead},
	{"EXPLAIN INSERT INTO t VALUES (1, 2)", clsRead},
	{"EXPLAIN QUERY PLAN DELETE FROM t WHERE a = 1", clsRead},
	{"explain query plan update t set a = 1", clsRead},

	// CTEs: the main statement may write, SQLite is asked.
	{"WITH c AS (SELECT 1) SELECT * FROM c", clsAsk},
	{"with c(x) as (select 1) insert into t(a) select x from c", clsAsk},
	{"WITH c AS (SELECT a FROM t) DELETE FROM u WHERE x IN c", clsAsk},
	{"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n", clsAsk},
	{"/* c */ WITH c AS (SELECT 1) SELECT * FROM c;", clsAsk},
	// In a multi-statement string a CTE is not asked about: write.
	{"WITH c AS (SELECT 1) SELECT * FROM c; SELECT 2", clsWrite},
	{"SELECT 1; WITH c AS (SELECT 1) SELECT * FROM c", clsWrite},

	// Writes, with and without RETURNING.
	{"INSERT INTO t VALUES (1, 2)", clsWrite},
	{"INSERT INTO t(a) VALUES (1) RETURNING rowid, a", clsWrite},
	{"Insert Or Ignore Into t(a) Values (1) Returning *", clsWrite},
	{"UPDATE t SET a = a + 1 RETURNING a", clsWrite},
	{"DELETE FROM t WHERE a = 1 RETURNING b", clsWrite},
	{"REPLACE INTO t(a, b) VALUES (1, 2) RETURNING a", clsWrite},
	{"INSERT INTO t(a) SELECT x FROM u", clsWrite},

	// Schema.
	{"CREATE TABLE w(x)", clsWrite},
	{"create temp table tt(x)", clsWrite},
	{"CREATE INDEX u_x ON u(x)", clsWrite},
	{"CREATE VIEW v2 AS SELECT 1", clsWrite},
	{"DROP TABLE t", clsWrite},
	{"drop index if exists t_a", clsWrite},
	{"ALTER TABLE t ADD COLUMN c", clsWrite},
	{"ALTER TABLE u RENAME TO u2", clsWrite},
	// The ';' inside the trigger body splits the text for the classifier,
	// which then sees "END" as a statement of its own: txControl is set too.
	// That costs one AutoCommit check and nothing else; write is what matters.
	{"CREATE TRIGGER tr2 AFTER INSERT ON t BEGIN UPDATE u SET x = x + 1; DELETE FROM u WHERE x > 10; END", clsWTx},
	{"CREATE TRIGGER tr3 AFTER DELETE ON t BEGIN SELECT 1; END;", clsWTx},

	// PRAGMA: questions and connection-local settings are reads.
	{"PRAGMA user_version", clsRead},
	{"pragma USER_VERSION;", clsRead},
	{"PRAGMA user_version -- a comment", clsRead},
	{"PRAGMA main.journal_mode", clsRead},
	{"PRAGMA journal_mode", clsRead},
	{`PRAGMA "main"."user_version"`, clsRead},
	{"PRAGMA main . page_count", clsRead},
	{"PRAGMA table_info(t)", clsRead},
	{"PRAGMA main.table_info('t')", clsRead},
	{"PRAGMA index_list(t)", clsRead},
	{"PRAGMA integrity_check", clsRead},
	{"PRAGMA foreign_key_check", clsRead},
	{"PRAGMA foreign_keys=ON", clsRead},
	{"pragma Foreign_Keys = off", clsRead},
	{"PRAGMA busy_timeout = 5000", clsRead},
	{"PRAGMA cache_size(-2000)", clsRead},
	{"PRAGMA table_info(t); PRAGMA user_version", clsRead},

	// PRAGMA: settings stored in the file, actions, and the unknown are writes.
	{"PRAGMA user_version=5", clsWrite},
	{"PRAGMA user_version (5)", clsWrite},
	{"PRAGMA main.user_version = 5", clsWrite},
	{"PRAGMA journal_mode=DELETE", clsWrite},
	{"PRAGMA main.journal_mode = WAL", clsWrite},
	{"PRAGMA wal_checkpoint(TRUNCATE)", clsWrite},
	{"PRAGMA wal_checkpoint", clsWrite},
	{"PRAGMA optimize", clsWrite},
	{"PRAGMA incremental_vacuum(10)", clsWrite},
	{"PRAGMA page_size = 8192", clsWrite},
	{"PRAGMA no_such_pragma", clsWrite},
	{"PRAGMA no_such_pragma = 1", clsWrite},
	{"PRAGMA 'user_version' = 5", clsWrite}, // a string as the name: not understood, write
	{"PRAGMA user_version 5", clsWrite},
	{"PRAGMA", clsWrite},
	{"PRAGMA table_info(t); PRAGMA user_version = 1", clsWrite},

	// Maintenance and attachments.
	{"VACUUM", clsWrite},
	{"vacuum main", clsWrite},
	{"VACUUM INTO '/tmp/x.db'", clsWrite},
	{"REINDEX", clsWrite},
	{"REINDEX t_a", clsWrite},
	{"ANALYZE", clsWrite},
	{"ATTACH DATABASE ':memory:' AS aux", clsAttach},
	{"attach ':memory:' as aux", clsAttach},
	{"SELECT 1; ATTACH 'x.db' AS x; SELECT 2", clsAttach},
	{"/* ATTACH */ SELECT 'ATTACH'", clsRead},
	{"DETACH aux", clsWrite},
	{"DETACH DATABASE aux", clsWrite},

	// Transactions.
	{"BEGIN", clsPBegin},
	{"begin;", clsPBegin},
	{"BEGIN DEFERRED", clsPBegin},
	{"BEGIN TRANSACTION", clsPBegin},
	{"Begin Deferred Transaction;", clsPBegin},
	{"BEGIN TRANSACTION tx1", clsPBegin},
	{"/* c */ BEGIN -- c", clsPBegin},
	{"BEGIN IMMEDIATE", clsWTx},
	{"BEGIN IMMEDIATE TRANSACTION", clsWTx},
	{"BEGIN EXCLUSIVE", clsWTx},
	{"begin exclusive transaction", clsWTx},
	{"BEGIN; INSERT INTO t VALUES (1, 2)", clsWTx},
	{"BEGIN; SELECT 1", clsWTx},
	{"SAVEPOINT sp1", clsWTx},
	{"savepoint \"sp 1\"", clsWTx},
	{"RELEASE sp1", clsTx},
	{"RELEASE SAVEPOINT sp1", clsTx},
	{"ROLLBACK", clsTx},
	{"ROLLBACK TO sp1", clsTx},
	{"ROLLBACK TRANSACTION TO SAVEPOINT sp1", clsTx},
	{"COMMIT", clsTx},
	{"commit transaction", clsTx},
	{"END", clsTx},
	{"END TRANSACTION", clsTx},
	{"SELECT 1; COMMIT", clsTx},
	{"COMMIT; BEGIN", clsWTx},

	// Several statements: a write if any is.
	{"SELECT 1; INSERT INTO t VALUES (1, 2)", clsWrite},
	{"SELECT 1; SELECT 2", clsRead},
	{"SELECT 1;SELECT 2;VALUES(3)", clsRead},
	{"SELECT ';'; DELETE FROM t", clsWrite},
	{"SELECT 1;\nDELETE FROM t", clsWrite},
	{"SELECT 1; -- trailing comment", clsRead},
	{"SELECT 1;", clsRead},
	{";; SELECT 1 ;;", clsRead},
	{"SELECT 1; /* c */ ; UPDATE t SET a = 1", clsWrite},

	// A ';' inside a literal, a quoted name or a comment does not split.
	{"SELECT 'a; DELETE FROM t'", clsRead},
	{`SELECT "a; DELETE FROM t" FROM (SELECT 1 AS "a; DELETE FROM t")`, clsRead},
	{"SELECT `a; DELETE FROM t` FROM (SELECT 1 AS `a; DELETE FROM t`)", clsRead},
	{"SELECT [a; DELETE FROM t] FROM (SELECT 1 AS [a; DELETE FROM t])", clsRead},
	{"SELECT 1 /* ; DELETE FROM t */", clsRead},
	{"SELECT 1 -- ; DELETE FROM t", clsRead},
	{"SELECT 1 -- ; DELETE FROM t\n; SELECT 2", clsRead},
	{"SELECT 'it''s'", clsRead},
	{"SELECT 'it''s; DELETE FROM t'", clsRead},
	{"SELECT 'it''s'; DELETE FROM t", clsWrite},
	{`SELECT "a""b" FROM (SELECT 1 AS "a""b"); DELETE FROM t`, clsWrite},
	{"SELECT x'41'; DELETE FROM t", clsWrite},
	{"SELECT 1 - 1; DELETE FROM t", clsWrite},
	{"SELECT 4 / 2; DELETE FROM t", clsWrite},
	{"SELECT 'a' -- x\n; DELETE FROM t", clsWrite},
	{"SELECT 1 /* x */; DELETE FROM t", clsWrite},

	// TCL-style parameters ($a(…), :a(…), @a(…), #a(…)) are one token up to
	// ')' or whitespace, quotes and comment starts included (SQLite's
	// tokenizer). Bound to arguments, the DELETE after them runs.
	{"SELECT $a(');DELETE/**/FROM/**/t;--')", clsWrite},
	{"SELECT :a(--);DELETE FROM t", clsWrite},
	{"SELECT @a(/*);DELETE FROM t;--*/)", clsWrite},
	{"SELECT #a(\");DELETE FROM t;--\")", clsWrite},
	{"SELECT $a::b(`);DELETE FROM t;--`)", clsWrite},
	{"SELECT ?1, $a(');DELETE FROM t;--')", clsWrite},
	{"SELECT ?1$a(');DELETE FROM t;--')", clsWrite},       // ?1 then $a(…): a syntax error to SQLite
	{"SELECT 1,\uFEFF$a(');DELETE FROM t;--')", clsWrite}, // SQLite skips the BOM as space
	{"SELECT $a, :b, @c, ?1, ?", clsRead},
	{"SELECT $a(x)", clsRead},
	{"SELECT $a(');DELETE FROM t;--')", clsWrite},
	// A space ends $a(… before any ')': SQLite rejects the token, and the
	// classifier, stepping over it as SQLite does, sees the DELETE.
	{"SELECT $a(' );DELETE FROM t;--'", clsWrite},
	{"SELECT t.a$b FROM (SELECT 1 AS a$b) AS t", clsRead},
	{"SELECT 1 AS a$b(');DELETE FROM t;--')", clsRead}, // a$b is a name, not a parameter: '(' starts a string-holding paren

	// Empty and comment-only text: nothing to run.
	{"", clsRead},
	{"   \n\t", clsRead},
	{";", clsRead},
	{"-- only a comment", clsRead},
	{"/* only */ -- comments\n", clsRead},
	{"/* unterminated comment", clsRead},

	// Anything else: write.
	{"(SELECT 1)", clsWrite},
	{"'SELECT 1'", clsWrite},
	{"SELECTX 1", clsWrite},
	{"\uFEFFSELECT 1", clsWrite}, // SQLite skips the BOM; the classifier does not, and says write
	{"UPSERT INTO t VALUES (1)", clsWrite},
}

func TestClassify(t *testing.T) {
	if len(cases) < 45 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			got := Classify(tc.query)
			// Savepoint names and refusals have their own test below.
			got.SP, got.SPName, got.Forbidden = NotSavepoint, "", ""
			if got != tc.want {
				t.Errorf("Classify(%q)\n got %+v\nwant %+v", tc.query, got, tc.want)
			}
		})
	}
}

func TestClassifySavepointsAndRefusals(t *testing.T) {
	for _, tc := range []struct {
		query     string
		sp        SavepointOp
		name      string
		forbidden bool
	}{
		{"SAVEPOINT a", Savepoint, "a", false},
		{"savepoint \"Mixed Name\"", Savepoint, "Mixed Name", false},
		{"RELEASE a", Release, "a", false},
		{"RELEASE SAVEPOINT [b]", Release, "b", false},
		{"ROLLBACK TO a", RollbackTo, "a", false},
		{"ROLLBACK TRANSACTION TO SAVEPOINT a;", RollbackTo, "a", false},
		{"ROLLBACK", NotSavepoint, "", false},
		{"SAVEPOINT a; INSERT INTO t VALUES (1)", NotSavepoint, "", false}, // not a single statement
		{"PRAGMA journal_mode=DELETE", NotSavepoint, "", true},
		{"PRAGMA main.journal_mode = 'truncate'", NotSavepoint, "", true},
		{"pragma journal_mode(memory)", NotSavepoint, "", true},
		{"PRAGMA journal_mode=WAL", NotSavepoint, "", false},
		{"PRAGMA journal_mode", NotSavepoint, "", false},
		{"PRAGMA locking_mode=EXCLUSIVE", NotSavepoint, "", true},
		{"PRAGMA locking_mode=normal", NotSavepoint, "", false},
		{"SELECT 1; PRAGMA journal_mode=OFF", NotSavepoint, "", true},
		{`PRAGMA "Main".journal_mode=delete`, NotSavepoint, "", true},
		{"PRAGMA [MAIN] . journal_mode(persist)", NotSavepoint, "", true},
		{"PRAGMA 'main'.'journal_mode'='off'", NotSavepoint, "", true}, // SQLite takes a string as a name here
		{"PRAGMA 'journal_mode' = delete", NotSavepoint, "", true},
		{"PRAGMA archive.journal_mode=DELETE", NotSavepoint, "", false}, // an attached database's is the application's
		{"PRAGMA temp.journal_mode=memory", NotSavepoint, "", false},
		{"PRAGMA archive.locking_mode=EXCLUSIVE", NotSavepoint, "", true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got := Classify(tc.query)
			if got.SP != tc.sp || got.SPName != tc.name || (got.Forbidden != "") != tc.forbidden {
				t.Errorf("Classify(%q): sp %d %q forbidden %q; want sp %d %q forbidden %v",
					tc.query, got.SP, got.SPName, got.Forbidden, tc.sp, tc.name, tc.forbidden)
			}
		})
	}
}

// TestClassifyJournalModes: a journal mode set for a schema other than
// main is reported for the connection to check (the schema may be the
// main file attached again); main's, or every database's, is Forbidden.
func TestClassifyJournalModes(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  []JournalMode
	}{
		{"PRAGMA archive.journal_mode=DELETE", []JournalMode{{"archive", "DELETE"}}},
		{`PRAGMA "a b".journal_mode = 'truncate'`, []JournalMode{{"a b", "truncate"}}},
		{"PRAGMA 'x'.journal_mode(off); PRAGMA y.journal_mode=persist", []JournalMode{{"x", "off"}, {"y", "persist"}}},
		{"PRAGMA archive.journal_mode=WAL", nil},
		{"PRAGMA archive.journal_mode", nil},
		{"PRAGMA journal_mode=DELETE", nil},
		{"PRAGMA main.journal_mode=DELETE", nil},
		{"SELECT 'PRAGMA a.journal_mode=DELETE'", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			if got := Classify(tc.query).JournalModes(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Classify(%q).JournalModes() = %v, want %v", tc.query, got, tc.want)
			}
		})
	}
}

// schema is the database the SQLite-backed tests run statements on.
const schema = `
CREATE TABLE t(a, b);
CREATE TABLE u(x);
CREATE INDEX t_a ON t(a);
CREATE VIEW v AS SELECT a, b FROM t;
CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (new.a); END;
INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');
INSERT INTO u VALUES (1), (2);
`

// openDB creates a database with schema in dir and returns
// its path.
func openDB(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "classify.db")
	c := openConn(tb, path)
	defer c.Close()
	if _, err := c.ExecContext(context.Background(), schema, nil); err != nil {
		tb.Fatal(err)
	}
	return path
}

// openConn opens a plain go-sqlite3 connection, without this driver.
func openConn(tb testing.TB, dsn string) *sqlite3.SQLiteConn {
	tb.Helper()
	dc, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	sc, ok := dc.(*sqlite3.SQLiteConn)
	if !ok {
		tb.Fatalf("go-sqlite3 returned a %T", dc)
	}
	return sc
}

// statementCount counts the statements the classifier's scanner finds.
func statementCount(query string) int {
	s := scanner{src: query}
	n := 0
	for !s.done() {
		if st := s.statement(); !st.empty {
			n++
		}
	}
	return n
}

// readonlyExempt reports whether query is a read for which
// sqlite3_stmt_readonly nonetheless says false, so that the two cannot be
// compared:
//   - EXPLAIN [QUERY PLAN] X: SQLite answers for X, though the EXPLAIN only
//     lists X's program and never runs it
//     (https://sqlite.org/c3ref/stmt_readonly.html);
//   - PRAGMA [schema.]journal_mode without a value: its program is the
//     OP_JournalMode that sets the mode too, which marks every journal_mode
//     pragma not read-only; a query changes nothing.
func readonlyExempt(query string) bool {
	s := scanner{src: query}
	switch w := s.word(); {
	case eq(w, "EXPLAIN"):
		return true
	case eq(w, "PRAGMA"):
		name := s.name()
		if s.peek() == '.' {
			s.pos++
			name = s.name()
		}
		switch s.peek() {
		case 0, ';':
			return strings.EqualFold(name, "journal_mode")
		}
	}
	return false
}

func TestClassifyAgreesWithSQLite(t *testing.T) {
	path := openDB(t, t.TempDir())
	sc := openConn(t, path)
	defer sc.Close()
	ctx := context.Background()

	check := func(t *testing.T, query string) (compiled bool) {
		t.Helper()
		stmt, err := sc.PrepareContext(ctx, query)
		if err != nil {
			t.Logf("does not compile: %v", err)
			return false
		}
		defer stmt.Close()
		ro := stmt.(*sqlite3.SQLiteStmt).Readonly()
		switch {
		case readonlyExempt(query):
			t.Logf("exempt: sqlite3_stmt_readonly says %v", ro)
		case !ro:
			t.Errorf("Classify(%q) says read, sqlite3_stmt_readonly says not read-only", query)
		}
		return true
	}

	checked := 0
	for _, tc := range cases {
		if !tc.want.PlainRead() || statementCount(tc.query) != 1 {
			continue
		}
		t.Run(tc.query, func(t *testing.T) {
			if !Classify(tc.query).PlainRead() {
				t.Skip("TestClassify reports this one")
			}
			if check(t, tc.query) {
				checked++
			}
		})
	}
	if checked < 30 {
		t.Errorf("only %d statements compiled and were compared", checked)
	}

	// Every pragma the classifier calls a read, in the form it calls a read.
	for name := range pragmaReadNoArg {
		q := "PRAGMA " + name
		t.Run(q, func(t *testing.T) {
			if !Classify(q).PlainRead() {
				t.Fatalf("Classify(%q) = %+v, want a read", q, Classify(q))
			}
			check(t, q)
		})
	}
	for name := range pragmaReadWithArg {
		q := "PRAGMA " + name + pragmaArg(name)
		t.Run(q, func(t *testing.T) {
			if strings.HasSuffix(name, "heap_limit") {
				// Process-wide, and applied while the statement compiles.
				t.Skip("would change the heap limit of the whole test process")
			}
			if !Classify(q).PlainRead() {
				t.Fatalf("Classify(%q) = %+v, want a read", q, Classify(q))
			}
			check(t, q)
		})
	}
}

// pragmaArg is a valid argument for a pragma of pragmaReadWithArg.
func pragmaArg(name string) string {
	switch name {
	case "index_info", "index_xinfo":
		return "(t_a)"
	case "foreign_key_check", "foreign_key_list", "index_list", "table_info",
		"table_list", "table_xinfo", "quick_check":
		return "(t)"
	case "integrity_check":
		return "(10)"
	case "busy_timeout":
		return "=5000"
	case "cache_size":
		return "=-2000"
	case "analysis_limit", "threads", "hard_heap_limit", "soft_heap_limit":
		return "=0"
	default: // boolean settings
		return "=OFF"
	}
}

// fuzzArgs are bound to the parameters of a fuzzed statement, so that a
// statement with parameters runs, and any statement after it too.
var fuzzArgs = func() []driver.NamedValue {
	args := make([]driver.NamedValue, 32)
	for i := range args {
		args[i] = driver.NamedValue{Ordinal: i + 1, Value: int64(i)}
	}
	return args
}()

// FuzzClassify checks that nothing that modifies the database is ever
// classed a read: whatever the classifier calls a read (or calls ask, and
// SQLite then calls read-only, as in the interceptor) is run on a read-only
// connection (mode=ro), where a write fails with SQLITE_READONLY. The first
// statement of a read, compiled, must also be read-only by
// sqlite3_stmt_readonly.
func FuzzClassify(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.query)
	}
	for _, q := range []string{
		"SELECT a FROM t WHERE a = ?",
		"SELECT a, b FROM v ORDER BY a DESC LIMIT 2",
		"SELECT * FROM t; SELECT * FROM u",
		"SELECT 1; UPDATE u SET x = 0",
		"PRAGMA foreign_keys; DELETE FROM u",
		"PRAGMA table_info(t); INSERT INTO u VALUES (1)",
		"VALUES (1); REPLACE INTO u VALUES (1)",
		"EXPLAIN SELECT 1; DROP TABLE u",
		"SELECT 'x''y'';DROP TABLE u;--'",
		"SELECT $v(a);INSERT INTO u VALUES (1)",
		"SELECT x'00';INSERT INTO u VALUES (1)",
		"SELECT [;] FROM (SELECT 1 AS [;]);DELETE FROM u",
		"SELECT 1 --\n;DELETE FROM u",
		"SELECT 1/**/;DELETE FROM u",
	} {
		f.Add(q)
	}

	path := openDB(f, f.TempDir())
	open := func(t *testing.T) *sqlite3.SQLiteConn {
		sc := openConn(t, "file:"+path+"?mode=ro")
		// No huge strings or blobs: randomblob(1e9) is a valid read.
		sc.SetLimit(sqlite3.SQLITE_LIMIT_LENGTH, 1<<20)
		return sc
	}

	f.Fuzz(func(t *testing.T, query string) {
		c := Classify(query)
		if c.Write {
			return // not called a read: nothing to check
		}
		if len(query) > 2000 {
			return
		}
		if strings.Contains(strings.ToLower(query), "heap_limit") {
			// PRAGMA hard_heap_limit / soft_heap_limit act on the whole
			// process, as soon as they compile.
			return
		}
		// A connection per input: PRAGMAs the classifier rightly calls
		// reads still change the connection they run on.
		sc := open(t)
		defer sc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()

		stmt, err := sc.PrepareContext(ctx, query)
		switch {
		case c.Ask:
			// What the interceptor does (askSQLite): a statement that
			// does not compile, or that SQLite says is not read-only, is a
			// write. The rest runs as a read, so it must be one, all of
			// it: the classifier says ask only for a single statement.
			if err != nil {
				return
			}
			ro := stmt.(*sqlite3.SQLiteStmt).Readonly()
			stmt.Close()
			if !ro {
				return
			}
		case err == nil:
			ro := stmt.(*sqlite3.SQLiteStmt).Readonly()
			stmt.Close()
			if !ro && !readonlyExempt(query) {
				t.Fatalf("Classify(%q) = %+v, but sqlite3_stmt_readonly says its first statement is not read-only", query, c)
			}
		}

		args := append([]driver.NamedValue(nil), fuzzArgs...)
		_, err = sc.ExecContext(ctx, query, args)
		var se sqlite3.Error
		if errors.As(err, &se) && se.Code == sqlite3.ErrReadonly {
			t.Fatalf("Classify(%q) = %+v, but it writes: %v", query, c, err)
		}
	})
}
