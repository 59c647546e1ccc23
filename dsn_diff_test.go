//go:build cgo

package sqlite3safe_test

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlite3safe/sqlite3safe"
)

// dsnCases are DSN queries whose meaning go-sqlite3 and SQLite decide: in
// a plain path SQLite's URI parameters (mode, cache, immutable, vfs) are
// dropped before SQLite sees the name, empty values of go-sqlite3's
// parameters are ignored, an alias wins over the long name, the first
// value of a repeated key counts, and invalid values are refused.
var dsnCases = []string{
	"", "mode=memory", "mode=ro", "mode=rw", "mode=rwc", "mode=bogus", "mode=Memory", "cache=shared", "cache=private",
	"cache=bogus", "immutable=1", "immutable=256", "immutable=yes", "mode=memory&cache=shared", "vfs=unix-none",
	"vfs=nosuchvfs", "_busy_timeout=", "_timeout=", "_busy_timeout=x", "_busy_timeout=-5", "_busy_timeout=+10",
	"_timeout=10&_busy_timeout=x", "_busy_timeout=10&_timeout=x", "_busy_timeout=&_busy_timeout=x",
	"_journal_mode=", "_journal=", "_journal_mode=wal", "_journal_mode=DELETE", "_journal_mode=bogus",
	"_journal_mode=DELETE&_journal=WAL", "_journal_mode=WAL&_journal=delete", "_journal_mode=&_journal_mode=DELETE",
	"_journal_mode=WAL&_journal_mode=DELETE", "_locking_mode=", "_locking_mode=normal", "_locking_mode=EXCLUSIVE",
	"_locking=exclusive", "_locking_mode=x", "_locking_mode=EXCLUSIVE&_locking=NORMAL", "_txlock=deferred",
	"_txlock=immediate", "_txlock=exclusive", "_txlock=", "_txlock=bad", "_fk=1", "_fk=", "_fk=x",
	"_foreign_keys=on", "_cache_size=-2000", "_cache_size=", "_cache_size=x", "_sync=FULL", "_sync=",
	"_synchronous=bad", "_rt=1", "_defer_foreign_keys=1", "_ignore_check_constraints=yes", "_query_only=",
	"_query_only=1", "_query_only=0&_query_only=1", "_secure_delete=fast", "_cslike=true", "_cslike=2",
	"_loc=auto", "_loc=UTC", "_loc=No/Such_Zone", "_loc=", "_mutex=no", "_mutex=full", "_mutex=", "_mutex=x",
	"_auto_vacuum=incremental", "_vacuum=9", "_stmt_cache_size=4", "_stmt_cache_size=-1", "=", "=x", "=1",
	"a;b=1", "_fk=%zz", "x=%41", "mode=memory#", "mode=memory#&cache=shared", "_fk=1#x", "%6Dode=memory", "mode=%6Demory", "immutable=1&immutable=0",
	"mode=ro&mode=rwc", "cache=shared&_busy_timeout=", "mode=memory&_journal_mode=",
	// Keys and values as each parser decodes them: go-sqlite3's url
	// unescaping, SQLite's (where %00 ends a key), an empty vfs.
	"vfs=", "0&vfs=", "vfs=&vfs=unix-none", "vfs=unix-none&vfs=", "vfs=unix%2Dnone", "vfs=unix+none",
	"%76fs=nosuchvfs", "v%66s=", "%63ache=private", "%6Dode=ro", "mode%00x=ro", "%63ache%00=private",
	"_fk=1&%6dode=rw", "immutable%00=1", "_fk=1#&%63ache=private", "=00", "=00&_loc=auto",
	// A '#' ends what SQLite reads of a URI, also inside a parameter it is
	// given in place of.
	"mode=memory#&mode=&vfs=&_defer_foreign_keys=1", "mode=memory#x&cache=private", "cache=shared#&vfs=nosuchvfs&mode=memory",
	"mode=memory&cache=private#&vfs=", "mode=memory#&mode=ro",
}

// dsnParamPool is what the fuzz target draws extra parameters from.
var dsnParamPool = map[string][]string{
	"mode": {"memory", "ro", "rw", "rwc", "x", ""}, "cache": {"shared", "private", "x", ""},
	"immutable": {"1", "0", "on", ""}, "vfs": {"unix-none", "memdb", "x", ""},
	"_busy_timeout": {"", "50", "x", "-1"}, "_timeout": {"", "60", "y"},
	"_journal_mode": {"", "WAL", "wal", "DELETE", "memory", "x"}, "_journal": {"", "WAL", "TRUNCATE", "x"},
	"_locking_mode": {"", "NORMAL", "EXCLUSIVE", "x"}, "_locking": {"", "normal", "exclusive"},
	"_txlock": {"", "deferred", "immediate", "exclusive", "x"}, "_fk": {"", "1", "0", "x"},
	"_sync": {"", "FULL", "OFF", "x"}, "_query_only": {"", "0", "1", "x"}, "_cache_size": {"", "10", "x"},
	"_loc": {"", "auto", "UTC", "X/Y"}, "_mutex": {"", "no", "full", "x"}, "_cslike": {"", "1", "x"},
	"_rt": {"", "1", "x"}, "_defer_foreign_keys": {"", "1", "x"}, "_ignore_check_constraints": {"", "1", "x"},
	"_secure_delete": {"", "fast", "x"}, "_auto_vacuum": {"", "full", "x"}, "": {"", "x"},
}

// dsnOutcome is what one driver did with a DSN.
type dsnOutcome struct {
	err      error    // from open, CREATE/INSERT or the read back
	journal  string   // PRAGMA journal_mode after the statements
	file     bool     // a database file exists after Close
	files    []string // the names of the files in the directory, but journals
	rows     int      // rows with x = 42 in the file after Close; -1: none readable
	fileErr  string   // why the file could not be read, if it exists
	refusedS bool     // the error is sqlite3-safe's refusal of a journal or locking mode
}

// dsnNames are the names the differential test opens: a file in the
// test's directory (plainly, percent-escaped), the in-memory and the
// temporary database, a file in a directory that does not exist, and the
// in-memory database with a '#' after its name (which ends a URI).
var dsnNames = []string{"x.db", "x%2Edb", ":memory:", "", "nodir/x.db", ":memory:#x"}

func runDSN(t testing.TB, driver, dir string, file bool, pre, name uint8, query string) dsnOutcome {
	path := filepath.Join(dir, "x.db")
	switch pre % 3 {
	case 1, 2: // an existing database, in rollback or WAL mode
		db, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		q := "PRAGMA journal_mode=DELETE; CREATE TABLE t(x); INSERT INTO t VALUES (42)"
		if pre%3 == 2 {
			q = "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (42)"
		}
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
	}
	dsn := path
	switch n := dsnNames[int(name)%len(dsnNames)]; n {
	case ":memory:", "":
		dsn = n
	default:
		dsn = filepath.Join(dir, n)
	}
	if file {
		dsn = "file:" + dsn
	}
	if query != "" {
		dsn += "?" + query
	}
	var o dsnOutcome
	o.err = func() error {
		db, err := sql.Open(driver, dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		db.SetMaxOpenConns(1) // go-sqlite3's in-memory databases are per connection
		if pre%3 == 0 {
			if _, err := db.Exec("CREATE TABLE t(x)"); err != nil {
				return err
			}
		}
		if _, err := db.Exec("INSERT INTO t VALUES (42)"); err != nil {
			return err
		}
		var n int
		if err := db.QueryRow("SELECT count(*) FROM t WHERE x = 42").Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errors.New("inserted row not read back")
		}
		return db.QueryRow("PRAGMA journal_mode").Scan(&o.journal)
	}()
	if o.err != nil {
		msg := o.err.Error()
		// sqlite3-safe's refusals: a journal or locking mode, and a file
		// that cannot be WAL (a VFS without shared memory, such as
		// unix-none) where go-sqlite3 would use a rollback journal.
		o.refusedS = strings.HasPrefix(msg, "sqlite3-safe: DSN parameter _journal") ||
			strings.HasPrefix(msg, "sqlite3-safe: DSN parameter _locking") ||
			strings.Contains(msg, "after PRAGMA journal_mode=WAL")
	}
	// The database files left in the directory, and the rows in them.
	o.rows = -1
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, "-wal") || strings.HasSuffix(n, "-shm") || strings.HasSuffix(n, "-journal") {
			continue
		}
		o.files = append(o.files, n)
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, n)+"?mode=ro")
		var rows int
		if err == nil {
			err = db.QueryRow("SELECT count(*) FROM t WHERE x = 42").Scan(&rows)
			_ = db.Close()
		}
		if err != nil {
			o.fileErr += n + ": " + err.Error() + "; "
			continue
		}
		o.rows = max(o.rows, 0) + rows
	}
	o.file = len(o.files) > 0
	return o
}

// checkDSNDifferential opens the same DSN (in two directories) through
// go-sqlite3 and sqlite3-safe and compares what happened. Intended
// differences: sqlite3-safe refuses a non-WAL journal mode and
// locking_mode=EXCLUSIVE where go-sqlite3 applies them, and runs a file in
// WAL mode where the file can be WAL.
func checkDSNDifferential(t *testing.T, file bool, pre, name uint8, query string) {
	t.Helper()
	plain := runDSN(t, "sqlite3", plainDir(t), file, pre, name, query)
	safe := runDSN(t, sqlite3safe.DriverName, plainDir(t), file, pre, name, query)
	desc := fmt.Sprintf("file:%v pre:%d name:%q query %q\n sqlite3: %+v\n safe:    %+v",
		file, pre%3, dsnNames[int(name)%len(dsnNames)], query, plain, safe)
	if safe.refusedS {
		// Refused where go-sqlite3 would apply the mode: it then either
		// failed too or ran in a non-WAL journal (or locking) mode.
		if plain.err == nil && plain.journal == "wal" && !strings.Contains(query, "_lock") {
			t.Fatalf("refused a journal mode go-sqlite3 did not apply: %s", desc)
		}
		return
	}
	if (plain.err == nil) != (safe.err == nil) {
		t.Fatalf("open or first statements: outcomes differ: %s", desc)
	}
	if fmt.Sprint(plain.files) != fmt.Sprint(safe.files) || plain.rows != safe.rows {
		t.Fatalf("file on disk differs: %s", desc)
	}
	if plain.err != nil {
		return
	}
	switch {
	case safe.journal == plain.journal:
	case safe.journal == "wal" && plain.file && plain.journal != "memory":
		// The intended difference: sqlite3-safe makes the file WAL.
	case safe.journal == "memory" && dsnNames[int(name)%len(dsnNames)] == "" && !plain.file:
		// SQLite's temporary database (an empty name) is private and gone
		// on close, like an in-memory one; sqlite3-safe gives it the
		// in-memory treatment (one per *sql.DB), so it never touches disk.
	default:
		t.Fatalf("journal mode differs: %s", desc)
	}
}

// plainDir is a fresh temporary directory whose path has no character a
// URI gives a meaning to (t.TempDir's carries the test name, with '#').
func plainDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "sqlite3safe-dsn-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestDSNMeansWhatItMeansToGoSQLite3(t *testing.T) {
	for name := range uint8(len(dsnNames)) {
		pres := uint8(1) // only a name in the directory meets an existing file
		if name < 2 {
			pres = 3
		}
		for _, q := range dsnCases {
			for _, file := range []bool{false, true} {
				if !file && dsnNames[name] == "" && q != "" {
					continue // "?query": go-sqlite3 takes it all as a file name, in the working directory
				}
				for pre := range pres {
					t.Run(fmt.Sprintf("%q/%s/file=%v/pre=%d", dsnNames[name], q, file, pre), func(t *testing.T) {
						checkDSNDifferential(t, file, pre, name, q)
					})
				}
			}
		}
	}
}

// FuzzDSNDifferential: the same DSN, with or without file:, with a fuzzed
// query plus parameters drawn from go-sqlite3's and SQLite's (random,
// empty and invalid values), against a new, a rollback-mode or a WAL-mode
// file, gives the same open and statement outcome, the same file contents
// and the same journal behaviour through both drivers, WAL aside.
func FuzzDSNDifferential(f *testing.F) {
	for i, q := range dsnCases {
		f.Add(i%2 == 0, uint8(i%3), uint8(i%len(dsnNames)), q, uint64(0))
	}
	f.Add(true, uint8(0), uint8(0), "", uint64(1))
	f.Add(false, uint8(1), uint8(2), "_fk=1", uint64(2))
	keys := make([]string, 0, len(dsnParamPool))
	for k := range dsnParamPool {
		keys = append(keys, k)
	}
	slicesSort(keys)
	f.Fuzz(func(t *testing.T, file bool, pre, name uint8, query string, seed uint64) {
		if strings.ContainsAny(query, "\x00") || strings.Contains(query, "_safe") || len(query) > 200 {
			t.Skip()
		}
		if seed != 0 {
			r := rand.New(rand.NewPCG(seed, seed>>32))
			var parts []string
			if query != "" {
				parts = append(parts, query)
			}
			for range r.IntN(5) {
				k := keys[r.IntN(len(keys))]
				vals := dsnParamPool[k]
				parts = append(parts, k+"="+vals[r.IntN(len(vals))])
			}
			query = strings.Join(parts, "&")
		}
		if !file && dsnNames[int(name)%len(dsnNames)] == "" && query != "" {
			t.Skip() // "?query": go-sqlite3 takes it all as a file name, in the working directory
		}
		checkDSNDifferential(t, file, pre, name, query)
	})
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
