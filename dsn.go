package sqlite3safe

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// memoryKind says whether, and how, a DSN names an in-memory database.
type memoryKind uint8

const (
	memNone        memoryKind = iota
	memPrivate                // ":memory:", "file::memory:", mode=memory: one database per connector
	memNamedShared            // "file:NAME?mode=memory&cache=shared": SQLite's process-wide named database
)

// dsnInfo is a DSN taken apart: what go-sqlite3 gets, and what
// sqlite3-safe needs to know about it.
type dsnInfo struct {
	path        string   // the part before '?', as written
	params      []string // the raw "k=v" segments go-sqlite3 gets, in order
	cfg         config
	memory      memoryKind
	readOnly    bool // mode=ro or immutable=1: the file may not be WAL and cannot become it
	queryOnly   bool // _query_only is on for every connection
	sharedCache bool // cache=shared on a file: readers take the shared side of the lock (§3.8)
}

// sqliteDSN reassembles the DSN for go-sqlite3, without _safe_* parameters.
func (d *dsnInfo) sqliteDSN() string {
	if len(d.params) == 0 {
		return d.path
	}
	return d.path + "?" + strings.Join(d.params, "&")
}

// maxMaxWaiters bounds _safe_max_waiters.
const maxMaxWaiters = 1 << 20

// maxLockTimeout bounds _safe_lock_timeout (and a _busy_timeout taken as
// the lock timeout).
const maxLockTimeout = 24 * time.Hour

// safeParams are the DSN parameters sqlite3-safe understands.
const safeParams = "_safe, _safe_lock_timeout, _safe_checkpoint, _safe_wal_limit, _safe_debug, _safe_max_waiters"

// parseDSN validates dsn and removes the _safe_* parameters from it. base
// holds the defaults from Options; forceOff (SQLITE3_SAFE=off) makes it a
// pass-through whatever the DSN says. Every error names the parameter. In
// pass-through only the _safe_* parameters are checked: the rest is
// go-sqlite3's to accept or refuse.
func parseDSN(dsn string, base config, forceOff bool) (*dsnInfo, error) {
	d := &dsnInfo{path: dsn, cfg: base}
	query := ""
	if i := strings.IndexByte(dsn, '?'); i >= 0 {
		d.path, query = dsn[:i], dsn[i+1:]
	}
	seen := map[string]bool{}
	busy := ""
	mode, cache, vfs := "", "", ""
	var conflict error // refused unless in pass-through
	for _, seg := range strings.Split(query, "&") {
		if seg == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(seg, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %q: %w", rawKey, err)
		}
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s: %w", key, err)
		}
		if key == "_safe" || strings.HasPrefix(key, "_safe_") {
			if seen[key] {
				return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s is given more than once; give it once", key)
			}
			seen[key] = true
			if err := d.cfg.setSafeParam(key, val); err != nil {
				return nil, err
			}
			continue // not for go-sqlite3
		}
		switch key {
		case "_journal_mode", "_journal":
			if !strings.EqualFold(val, "WAL") && conflict == nil {
				conflict = fmt.Errorf("sqlite3-safe: DSN parameter %s=%s conflicts with the WAL journal mode "+
					"sqlite3-safe enforces; remove it, or open with _safe=off to keep go-sqlite3's behaviour", key, val)
			}
		case "_locking_mode", "_locking":
			if strings.EqualFold(val, "EXCLUSIVE") && conflict == nil {
				conflict = fmt.Errorf("sqlite3-safe: DSN parameter %s=%s would lock every connection but one out "+
					"of the database; remove it, or open with _safe=off", key, val)
			}
		case "_busy_timeout", "_timeout":
			if _, err := strconv.ParseInt(val, 10, 64); err != nil && conflict == nil {
				conflict = fmt.Errorf("sqlite3-safe: DSN parameter %s=%q: want a whole number of milliseconds", key, val)
			}
			if key == "_timeout" || busy == "" { // go-sqlite3 lets _timeout win
				busy = val
			}
		case "mode":
			mode = val
		case "cache":
			cache = val
		case "vfs":
			vfs = val
		case "immutable":
			if b, ok := parseBool(val); ok && b {
				d.readOnly = true
			}
		case "_query_only":
			if b, ok := parseBool(val); ok && b {
				d.queryOnly = true
			}
		}
		d.params = append(d.params, seg)
	}
	if forceOff {
		d.cfg.passthrough = true
	}
	if d.cfg.passthrough {
		return d, nil
	}
	if conflict != nil {
		return nil, conflict
	}
	if !d.cfg.lockTimeoutSet && busy != "" {
		ms, _ := strconv.ParseInt(busy, 10, 64) // validated above
		d.cfg.lockTimeout = time.Duration(min(max(ms, 0), int64(maxLockTimeout/time.Millisecond))) * time.Millisecond
	}
	if d.cfg.lockTimeout < 0 {
		return nil, fmt.Errorf("sqlite3-safe: lock timeout %v is negative; use 0 for no wait", d.cfg.lockTimeout)
	}
	if d.cfg.walLimit <= 0 {
		return nil, fmt.Errorf("sqlite3-safe: WAL limit %d is not positive", d.cfg.walLimit)
	}
	if mode == "ro" {
		d.readOnly = true
	}
	name := strings.TrimPrefix(d.path, "file:")
	switch {
	case d.path == "" || d.path == ":memory:" || name == ":memory:" || (mode == "memory" && name == ""):
		// "" is SQLite's private temporary database, which cannot be WAL;
		// it is treated like ":memory:".
		d.memory = memPrivate
	case mode == "memory" && cache == "shared" && strings.HasPrefix(d.path, "file:"):
		d.memory = memNamedShared
	case mode == "memory":
		d.memory = memPrivate
	case vfs == "memdb":
		// SQLite's memdb VFS: its own sharing rules (a name starting with
		// "/" is shared in the process), kept as go-sqlite3 has them.
		d.memory = memNamedShared
	case cache == "shared":
		// Shared-cache connections take table locks that SQLite reports
		// as SQLITE_LOCKED, which no busy timeout waits for: readers must
		// take the shared side of the lock, as in non-WAL mode.
		d.sharedCache = true
	}
	return d, nil
}

// setSafeParam applies one _safe_* DSN parameter.
func (c *config) setSafeParam(key, val string) error {
	switch key {
	case "_safe":
		switch strings.ToLower(val) {
		case "off", "0", "false", "no":
			c.passthrough = true
		case "on", "1", "true", "yes":
			c.passthrough = false
		default:
			return fmt.Errorf("sqlite3-safe: DSN parameter _safe=%q: want on or off", val)
		}
	case "_safe_lock_timeout":
		ms, err := strconv.ParseInt(val, 10, 64)
		if err != nil || ms < 0 || ms > int64(maxLockTimeout/time.Millisecond) {
			return fmt.Errorf("sqlite3-safe: DSN parameter _safe_lock_timeout=%q: want a whole number of milliseconds "+
				"from 0 (do not wait) to 86400000", val)
		}
		c.lockTimeout = time.Duration(ms) * time.Millisecond
		c.lockTimeoutSet = true
	case "_safe_checkpoint":
		switch strings.ToLower(val) {
		case "auto":
			c.checkpoints = true
		case "off":
			c.checkpoints = false
		default:
			return fmt.Errorf("sqlite3-safe: DSN parameter _safe_checkpoint=%q: want auto or off", val)
		}
	case "_safe_wal_limit":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("sqlite3-safe: DSN parameter _safe_wal_limit=%q: want a positive number of bytes", val)
		}
		c.walLimit = n
	case "_safe_max_waiters":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 || n > maxMaxWaiters {
			return fmt.Errorf("sqlite3-safe: DSN parameter _safe_max_waiters=%q: want a whole number of writers "+
				"from 0 (no bound) to %d", val, maxMaxWaiters)
		}
		c.maxWaiters = int(n)
	case "_safe_debug":
		on, ok := parseBool(val)
		if !ok {
			return fmt.Errorf("sqlite3-safe: DSN parameter _safe_debug=%q: want 0 or 1", val)
		}
		c.debug = on
	default:
		return fmt.Errorf("sqlite3-safe: unknown DSN parameter %s; known: %s", key, safeParams)
	}
	return nil
}

func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}
