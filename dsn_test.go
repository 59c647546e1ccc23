//go:build cgo

package sqlite3safe

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn       string
		sqlite    string // what go-sqlite3 gets
		timeout   time.Duration
		memory    memoryKind
		readOnly  bool
		pass      bool
		ckpt      bool
		walLimit  int64
		debug     bool
		queryOnly bool
	}{
		{dsn: "a.db", sqlite: "a.db", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_safe_lock_timeout=10&_fk=1", sqlite: "a.db?_fk=1", timeout: 10 * time.Millisecond, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_busy_timeout=250", sqlite: "a.db?_busy_timeout=250", timeout: 250 * time.Millisecond, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_busy_timeout=250&_timeout=300", sqlite: "a.db?_busy_timeout=250&_timeout=300", timeout: 300 * time.Millisecond, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_timeout=300&_safe_lock_timeout=0", sqlite: "a.db?_timeout=300", timeout: 0, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:a.db?mode=ro&_safe_checkpoint=off", sqlite: "file:a.db?mode=ro", timeout: DefaultLockTimeout, readOnly: true, walLimit: DefaultWALLimit},
		{dsn: "file:a.db?immutable=1", sqlite: "file:a.db?immutable=1", timeout: DefaultLockTimeout, readOnly: true, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: ":memory:", sqlite: ":memory:", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "", sqlite: "", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file::memory:?cache=shared", sqlite: "file::memory:?cache=shared", timeout: DefaultLockTimeout, memory: memNamedShared, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:x?mode=memory&cache=shared", sqlite: "file:x?mode=memory&cache=shared", timeout: DefaultLockTimeout, memory: memNamedShared, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:x?mode=memory", sqlite: "file:x?mode=memory", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_safe=off&_safe_wal_limit=1024&_safe_debug=1", sqlite: "a.db", timeout: DefaultLockTimeout, pass: true, ckpt: true, walLimit: 1024, debug: true},
		{dsn: "a.db?_journal_mode=wal&_query_only=1", sqlite: "a.db?_journal_mode=wal&_query_only=1", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit, queryOnly: true},
		{dsn: "a.db?&&_safe_debug=0&", sqlite: "a.db", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a%20b.db?_sa%66e=off", sqlite: "a%20b.db", timeout: DefaultLockTimeout, pass: true, ckpt: true, walLimit: DefaultWALLimit},
		// As go-sqlite3 reads them: SQLite's URI parameters only in a
		// file: URI; empty values ignored; an alias over the long name;
		// the first of repeated values; '?' first is part of the name.
		{dsn: "a.db?mode=memory", sqlite: "a.db?mode=memory", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?mode=ro&immutable=1", sqlite: "a.db?mode=ro&immutable=1", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:a.db?immutable=256", sqlite: "file:a.db?immutable=256", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:a.db?mode=rw&mode=ro", sqlite: "file:a.db?mode=rw&mode=ro", timeout: DefaultLockTimeout, readOnly: true, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:%3Amemory%3A", sqlite: "file:%3Amemory%3A", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:%3Amemory%3A?cache=shared", sqlite: "file:%3Amemory%3A?cache=shared", timeout: DefaultLockTimeout, memory: memNamedShared, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file::memory:?cache=shared&cache=private", sqlite: "file::memory:?cache=shared&cache=private", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:?cache=shared", sqlite: "file:?cache=shared", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: ":memory:?cache=shared", sqlite: ":memory:?cache=shared", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:a.db?%6Dode=%6Demory", sqlite: "file:a.db?%6Dode=%6Demory", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_busy_timeout=", sqlite: "a.db?_busy_timeout=", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_busy_timeout=x&_timeout=7", sqlite: "a.db?_busy_timeout=x&_timeout=7", timeout: 7 * time.Millisecond, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_timeout=8&_timeout=x", sqlite: "a.db?_timeout=8&_timeout=x", timeout: 8 * time.Millisecond, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_journal_mode=&_journal=", sqlite: "a.db?_journal_mode=&_journal=", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_journal_mode=DELETE&_journal=WAL", sqlite: "a.db?_journal_mode=DELETE&_journal=WAL", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_locking_mode=EXCLUSIVE&_locking=normal", sqlite: "a.db?_locking_mode=EXCLUSIVE&_locking=normal", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_query_only=0&_query_only=1", sqlite: "a.db?_query_only=0&_query_only=1", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_txlock=exclusive&_txlock=", sqlite: "a.db?_txlock=exclusive&_txlock=", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "?_safe_debug=x", sqlite: "?_safe_debug=x", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			base := defaultConfig()
			base.stmtCache = 0 // the go-sqlite3 DSNs below are as given; TestStmtCacheParameter covers the cache
			d, err := parseDSN(tc.dsn, base, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.sqliteDSN(); got != tc.sqlite {
				t.Errorf("go-sqlite3 DSN %q, want %q", got, tc.sqlite)
			}
			if d.cfg.lockTimeout != tc.timeout {
				t.Errorf("lock timeout %v, want %v", d.cfg.lockTimeout, tc.timeout)
			}
			if d.memory != tc.memory || d.readOnly != tc.readOnly || d.queryOnly != tc.queryOnly {
				t.Errorf("memory %v readOnly %v queryOnly %v, want %v %v %v", d.memory, d.readOnly, d.queryOnly, tc.memory, tc.readOnly, tc.queryOnly)
			}
			if d.cfg.passthrough != tc.pass || d.cfg.checkpoints != tc.ckpt || d.cfg.walLimit != tc.walLimit || d.cfg.debug != tc.debug {
				t.Errorf("config %+v, want passthrough %v checkpoints %v walLimit %d debug %v", d.cfg, tc.pass, tc.ckpt, tc.walLimit, tc.debug)
			}
		})
	}
}

// TestParseDSNRefusals: what go-sqlite3 refuses or would apply against the
// WAL journal is refused at open, naming the parameter go-sqlite3 reads.
func TestParseDSNRefusals(t *testing.T) {
	for dsn, want := range map[string]string{
		"a.db?_journal_mode=DELETE":                    "_journal_mode=DELETE",
		"a.db?_journal_mode=WAL&_journal=truncate":     "_journal=truncate",
		"a.db?_journal_mode=DELETE&_journal_mode=WAL":  "_journal_mode=DELETE",
		"a.db?_journal=bogus":                          "_journal=",
		"a.db?_locking_mode=EXCLUSIVE":                 "_locking_mode=EXCLUSIVE",
		"a.db?_locking_mode=normal&_locking=Exclusive": "_locking=Exclusive",
		"a.db?_locking=x":                              "_locking=",
		"a.db?_busy_timeout=x":                         "_busy_timeout=",
		"a.db?_busy_timeout=1&_timeout=y":              "_timeout=",
		"a.db?_fk=1;x=2":                               "semicolon",
		"a.db?_fk=%zz":                                 "escape",
	} {
		_, err := parseDSN(dsn, defaultConfig(), false)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "sqlite3-safe: ") {
			t.Errorf("%s: got %v, want an error naming %q", dsn, err, want)
		}
	}
}

func TestParseDSNOptionsAreDefaults(t *testing.T) {
	base := defaultConfig()
	WithLockTimeout(time.Second).apply(&base)
	d, err := parseDSN("a.db?_busy_timeout=10", base, false)
	if err != nil {
		t.Fatal(err)
	}
	if d.cfg.lockTimeout != time.Second {
		t.Errorf("an explicit option must win over _busy_timeout: got %v", d.cfg.lockTimeout)
	}
	d, err = parseDSN("a.db?_safe_lock_timeout=10", base, false)
	if err != nil {
		t.Fatal(err)
	}
	if d.cfg.lockTimeout != 10*time.Millisecond {
		t.Errorf("_safe_lock_timeout must win over the option: got %v", d.cfg.lockTimeout)
	}
}

// FuzzParseDSN: parsing never panics; an error says which parameter; a
// success hands go-sqlite3 the DSN minus the _safe_* parameters, the rest
// untouched and in order, and a valid configuration.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"a.db", "a.db?_safe_lock_timeout=10&_fk=1", "file:a.db?mode=ro&_safe_checkpoint=off",
		":memory:", "file::memory:?cache=shared", "a.db?_safe=off", "a.db?_safe_wal_limit=-1",
		"a.db?_journal=DELETE", "a.db?_safe_x=1", "a.db?%zz=1", "a.db?_busy_timeout=x",
		"a.db?_safe_lock_timeout=1&_safe_lock_timeout=2", "?", "a?b?c=d&&", "file:%2F?_safe_debug=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		d, err := parseDSN(dsn, defaultConfig(), false)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sqlite3-safe: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		out := d.sqliteDSN()
		path, query := dsn, "" // go-sqlite3: a '?' at position 0 is part of the name
		if i := strings.IndexByte(dsn, '?'); i >= 1 {
			path, query = dsn[:i], dsn[i+1:]
		}
		if !strings.HasPrefix(out, path) {
			t.Fatalf("path changed: %q -> %q", dsn, out)
		}
		var kept []string
		for _, seg := range strings.Split(query, "&") {
			if seg == "" {
				continue
			}
			k, _, _ := strings.Cut(seg, "=")
			if !isSafeKey(k) && !strings.Contains(k, "%") { // escaped keys may decode to _safe_*
				kept = append(kept, seg)
			}
		}
		for _, seg := range d.params {
			k, _, _ := strings.Cut(seg, "=")
			if key, err := url.QueryUnescape(k); err != nil || isSafeKey(key) {
				t.Fatalf("%q reached go-sqlite3 in %q", seg, out)
			}
		}
		// Every plain (unescaped, non-_safe) parameter reaches go-sqlite3, in order.
		j := 0
		for _, seg := range d.params {
			if j < len(kept) && seg == kept[j] {
				j++
			}
		}
		if j != len(kept) {
			t.Fatalf("parameters lost: %q -> %q", dsn, out)
		}
		if d.cfg.lockTimeout < 0 || d.cfg.walLimit <= 0 {
			t.Fatalf("invalid config accepted from %q: %+v", dsn, d.cfg)
		}
	})
}

func isSafeKey(k string) bool { return k == "_safe" || strings.HasPrefix(k, "_safe_") }

// TestStmtCacheParameter: the statement cache is go-sqlite3's
// _stmt_cache_size, added unless the DSN gives it, turned off by
// _safe_stmt_cache=0, never added where go-sqlite3 would not read it.
func TestStmtCacheParameter(t *testing.T) {
	for _, tc := range []struct{ dsn, sqlite string }{
		{"a.db", "a.db?_stmt_cache_size=64"},
		{"a.db?_fk=1", "a.db?_fk=1&_stmt_cache_size=64"},
		{"a.db?_safe_stmt_cache=8", "a.db?_stmt_cache_size=8"},
		{"a.db?_safe_stmt_cache=0", "a.db"},
		{"a.db?_stmt_cache_size=3", "a.db?_stmt_cache_size=3"},
		{"a.db?_stmt_cache_size=3&_safe_stmt_cache=8", "a.db?_stmt_cache_size=3"},
		{"file:a.db?cache=private", "file:a.db?cache=private&_stmt_cache_size=64"},
		{"?x=1", "?x=1"},
		{"a.db?_safe=off", "a.db"},
	} {
		d, err := parseDSN(tc.dsn, defaultConfig(), false)
		if err != nil {
			t.Fatalf("%s: %v", tc.dsn, err)
		}
		if got := d.sqliteDSN(); got != tc.sqlite {
			t.Errorf("%s: go-sqlite3 DSN %q, want %q", tc.dsn, got, tc.sqlite)
		}
	}
	for _, bad := range []string{"a.db?_safe_stmt_cache=-1", "a.db?_safe_stmt_cache=x", "a.db?_safe_stmt_cache=99999999"} {
		if _, err := parseDSN(bad, defaultConfig(), false); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
