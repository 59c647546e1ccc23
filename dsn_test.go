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
		{dsn: "file::memory:?cache=shared", sqlite: "file::memory:?cache=shared", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:x?mode=memory&cache=shared", sqlite: "file:x?mode=memory&cache=shared", timeout: DefaultLockTimeout, memory: memNamedShared, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "file:x?mode=memory", sqlite: "file:x?mode=memory", timeout: DefaultLockTimeout, memory: memPrivate, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a.db?_safe=off&_safe_wal_limit=1024&_safe_debug=1", sqlite: "a.db", timeout: DefaultLockTimeout, pass: true, ckpt: true, walLimit: 1024, debug: true},
		{dsn: "a.db?_journal_mode=wal&_query_only=1", sqlite: "a.db?_journal_mode=wal&_query_only=1", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit, queryOnly: true},
		{dsn: "a.db?&&_safe_debug=0&", sqlite: "a.db", timeout: DefaultLockTimeout, ckpt: true, walLimit: DefaultWALLimit},
		{dsn: "a%20b.db?_sa%66e=off", sqlite: "a%20b.db", timeout: DefaultLockTimeout, pass: true, ckpt: true, walLimit: DefaultWALLimit},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			d, err := parseDSN(tc.dsn, defaultConfig(), false)
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
		path, query, _ := strings.Cut(dsn, "?")
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
