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
	memNamedShared            // "file::memory:?cache=shared", "file:NAME?mode=memory&cache=shared", memdb: SQLite's process-wide database of that name
)

// dsnInfo is a DSN taken apart: what go-sqlite3 gets, and what
// sqlite3-safe needs to know about it.
type dsnInfo struct {
	path        string   // the part before '?', as written
	params      []string // the raw "k=v" segments go-sqlite3 gets, in order
	cfg         config
	memory      memoryKind
	readOnly    bool   // a file: URI's mode=ro or immutable=1: the file may not be WAL and cannot become it
	queryOnly   bool   // _query_only is on for every connection
	sharedCache bool   // a file: URI's cache=shared on a file: readers take the shared side of the lock
	vfs         string // the VFS SQLite opens the name with: a file: URI's vfs= over go-sqlite3's; "" for the default
	ownCache    bool   // sqlite3-safe added _stmt_cache_size: go-sqlite3's statement cache is sqlite3-safe's
	memName     string // memNamedShared: the database's name as SQLite decodes it, which it is shared under
}

// sqliteDSN reassembles the DSN for go-sqlite3, without _safe_* parameters.
func (d *dsnInfo) sqliteDSN() string {
	if len(d.params) == 0 {
		return d.path
	}
	return d.path + "?" + strings.Join(d.params, "&")
}

// passthrough reports a DSN that sqlite3-safe hands to go-sqlite3 untouched
// (_safe=off, [WithPassthrough] or SQLITE3_SAFE=off).
func (d *dsnInfo) passthrough() bool { return d.cfg.passthrough }

// maxStmtCache bounds _safe_stmt_cache.
const maxStmtCache = 1 << 16

// maxMaxWaiters bounds _safe_max_waiters.
const maxMaxWaiters = 1 << 20

// maxLockTimeout bounds _safe_lock_timeout (and a _busy_timeout taken as
// the lock timeout).
const maxLockTimeout = 24 * time.Hour

// safeParams are the DSN parameters sqlite3-safe understands.
const safeParams = "_safe, _safe_lock_timeout, _safe_checkpoint, _safe_wal_limit, _safe_debug, _safe_max_waiters, _safe_stmt_cache"

// parseDSN validates dsn and removes the _safe_* parameters from it. base
// holds the defaults from Options; forceOff (SQLITE3_SAFE=off) makes it a
// pass-through whatever the DSN says. Every error names the parameter. In
// pass-through only the _safe_* parameters are checked: the rest is
// go-sqlite3's to accept or refuse.
func parseDSN(dsn string, base config, forceOff bool) (*dsnInfo, error) {
	d := &dsnInfo{path: dsn, cfg: base}
	query := ""
	// go-sqlite3 reads parameters only after a '?' that is not the first
	// character: "?x=1" is a file name.
	if i := strings.IndexByte(dsn, '?'); i >= 1 {
		d.path, query = dsn[:i], dsn[i+1:]
	}
	seen := map[string]bool{}
	for _, seg := range strings.Split(query, "&") {
		if seg == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(seg, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %q: %w", rawKey, err)
		}
		if key == "_safe" || strings.HasPrefix(key, "_safe_") {
			val, err := url.QueryUnescape(rawVal)
			if err != nil {
				return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s: %w", key, err)
			}
			if seen[key] {
				return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s is given more than once; give it once", key)
			}
			seen[key] = true
			if err := d.cfg.setSafeParam(key, val); err != nil {
				return nil, err
			}
			continue // not for go-sqlite3
		}
		d.params = append(d.params, seg)
	}
	if forceOff {
		d.cfg.passthrough = true
	}
	if d.cfg.passthrough {
		return d, nil
	}
	// What go-sqlite3 makes of its parameters: url.ParseQuery, the first
	// value of a key, an alias (_timeout, _journal, _locking) over the long
	// name when both are given, and an empty value ignored. It refuses a
	// query url.ParseQuery refuses; so does sqlite3-safe, now.
	params, err := url.ParseQuery(strings.Join(d.params, "&"))
	if err != nil {
		return nil, fmt.Errorf("sqlite3-safe: DSN parameters: %w", err)
	}
	if key, val := goSQLiteParam(params, "_journal_mode", "_journal"); val != "" {
		switch strings.ToUpper(val) {
		case "WAL":
		case "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "OFF":
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s=%s conflicts with the WAL journal mode "+
				"sqlite3-safe enforces; remove it, or open with _safe=off to keep go-sqlite3's behaviour", key, val)
		default:
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s=%q: want WAL (or no value)", key, val)
		}
	}
	if key, val := goSQLiteParam(params, "_locking_mode", "_locking"); val != "" {
		switch strings.ToUpper(val) {
		case "NORMAL":
		case "EXCLUSIVE":
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s=%s would lock every connection but one out "+
				"of the database; remove it, or open with _safe=off", key, val)
		default:
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s=%q: want NORMAL (or no value)", key, val)
		}
	}
	if key, val := goSQLiteParam(params, "_busy_timeout", "_timeout"); val != "" {
		ms, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s=%q: want a whole number of milliseconds", key, val)
		}
		if !d.cfg.lockTimeoutSet {
			d.cfg.lockTimeout = time.Duration(min(max(ms, 0), int64(maxLockTimeout/time.Millisecond))) * time.Millisecond
		}
	}
	if _, val := goSQLiteParam(params, "_query_only"); val != "" {
		d.queryOnly, _ = parseBool(val)
	}
	if _, given := params["_stmt_cache_size"]; !given && d.cfg.stmtCache > 0 && !strings.Contains(d.path, "?") {
		// The statement cache is go-sqlite3's own (per connection, LRU,
		// keyed by SQL text); a _stmt_cache_size in the DSN keeps its
		// meaning and wins. (A name with a '?' in it has no parameters
		// for go-sqlite3: one added would become part of the name.)
		d.params = append(d.params, "_stmt_cache_size="+strconv.Itoa(d.cfg.stmtCache))
		d.ownCache = true
	}
	if d.cfg.lockTimeout < 0 {
		return nil, fmt.Errorf("sqlite3-safe: lock timeout %v is negative; use 0 for no wait", d.cfg.lockTimeout)
	}
	if d.cfg.walLimit <= 0 {
		return nil, fmt.Errorf("sqlite3-safe: WAL limit %d is not positive", d.cfg.walLimit)
	}

	// What SQLite makes of the name. go-sqlite3 hands SQLite the part
	// before '?' unless the DSN starts with "file:", so SQLite's URI
	// parameters (mode, cache, immutable, vfs) count only in a file: URI;
	// go-sqlite3 itself passes its vfs parameter to sqlite3_open_v2 in
	// either case, and a vfs in the URI overrides it.
	name, uri := d.path, sqliteURI{}
	vfs := params.Get("vfs")
	if strings.HasPrefix(d.path, "file:") {
		uri = parseSQLiteURI(d.sqliteDSN())
		if uri.invalid != "" {
			// SQLite refuses it when it opens the URI; so does sqlite3-safe,
			// now (its in-memory databases would otherwise drop it).
			return nil, fmt.Errorf("sqlite3-safe: DSN parameter %s: SQLite knows mode=ro, rw, rwc or memory "+
				"(never more access than an earlier mode), and cache=shared or private", uri.invalid)
		}
		name = uri.name
		if uri.vfsSet {
			vfs = uri.vfs
		}
	}
	d.vfs = vfs
	d.readOnly = uri.mode == "ro" || uri.immutable
	switch {
	case name == "":
		// SQLite's private temporary database, which cannot be WAL, and
		// which no cache=shared shares: treated like ":memory:".
		d.memory = memPrivate
	case (name == ":memory:" || uri.mode == "memory") && uri.cache == "shared":
		// An in-memory database with a shared cache (only a file: URI has
		// one): SQLite keeps one per process under its name, which every
		// connection that opens the name sees, whatever *sql.DB it is of.
		d.memory, d.memName = memNamedShared, name
	case name == ":memory:" || uri.mode == "memory":
		d.memory = memPrivate
	case vfs == "memdb":
		// SQLite's memdb VFS: its own sharing rules (a name starting with
		// "/" is shared in the process), kept as go-sqlite3 has them.
		d.memory, d.memName = memNamedShared, name
	case uri.cache == "shared":
		// Shared-cache connections take table locks that SQLite reports
		// as SQLITE_LOCKED, which no busy timeout waits for: readers must
		// take the shared side of the lock, as in non-WAL mode.
		d.sharedCache = true
	}
	return d, nil
}

// goSQLiteParam looks a parameter up as go-sqlite3's Open does: the last
// of names that is present wins (aliases come last), and its first value
// counts. With none present go-sqlite3 looks up the empty key, and so does
// this.
func goSQLiteParam(params url.Values, names ...string) (key, val string) {
	for _, n := range names {
		if _, ok := params[n]; ok {
			key = n
		}
	}
	return key, params.Get(key)
}

// sqliteURI is what SQLite takes from a file: URI (sqlite3ParseUri).
type sqliteURI struct {
	name      string // the file name, decoded; "" for a temporary database
	mode      string // the last mode=, as given (SQLite compares exactly)
	cache     string // the last cache=
	vfs       string // the last vfs=
	vfsSet    bool   // a vfs= was given, if empty (SQLite then knows no such VFS)
	immutable bool   // the first immutable=, as sqlite3_uri_boolean reads it
	invalid   string // a mode= or cache= value SQLite refuses, as "mode=x"; "" if none
}

// parseSQLiteURI takes a "file:" URI apart as SQLite does: %XX escapes
// decoded (a decoded '&' or '=' separates nothing, %00 cuts the rest of the
// part), '#' ends the URI, a parameter with an empty name is skipped, and
// "file://localhost/p" and "file:///p" name "/p".
func parseSQLiteURI(s string) sqliteURI {
	s = strings.TrimPrefix(s, "file:")
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	rawPath, rawQuery, _ := strings.Cut(s, "?")
	if rest, ok := strings.CutPrefix(rawPath, "//"); ok {
		host, p, _ := strings.Cut(rest, "/")
		if host != "" && host != "localhost" {
			return sqliteURI{name: "//" + rest} // SQLite refuses it; not memory
		}
		rawPath = "/" + p
		if p == "" && !strings.Contains(rest, "/") {
			rawPath = ""
		}
	}
	u := sqliteURI{name: sqliteUnescape(rawPath)}
	immutableSeen := false
	allowed := 6 // SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE, as go-sqlite3 opens
	for _, seg := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(seg, "=")
		key, val := sqliteUnescape(k), sqliteUnescape(v)
		if key == "" {
			continue
		}
		switch key {
		case "mode":
			// SQLite's open flags: a mode may not ask for more than the
			// flags so far allow (after mode=ro, rw and rwc are refused).
			u.mode = val
			m, ok := map[string]int{"ro": 1, "rw": 2, "rwc": 6, "memory": 0x80}[val]
			if (!ok || m&^0x80 > allowed) && u.invalid == "" {
				u.invalid = "mode=" + val
			}
			allowed = m
		case "cache":
			u.cache = val
			if val != "shared" && val != "private" && u.invalid == "" {
				u.invalid = "cache=" + val
			}
		case "vfs":
			u.vfs, u.vfsSet = val, true
		case "immutable":
			if !immutableSeen {
				immutableSeen = true
				u.immutable = sqliteBoolean(val)
			}
		}
	}
	return u
}

// sqliteUnescape decodes %XX as SQLite's URI parser does: an invalid
// escape stays as it is, and %00 ends the string.
func sqliteUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
			if c == 0 {
				break
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// sqliteBoolean reads a URI boolean as sqlite3_uri_boolean does: a leading
// digit means its integer value (truncated to a byte), else on/yes/true
// (any case) are true.
func sqliteBoolean(v string) bool {
	if v != "" && '0' <= v[0] && v[0] <= '9' {
		// sqlite3Atoi: leading zeros skipped, more than 10 digits or more
		// than 2147483647 reads as 0.
		v = strings.TrimLeft(v, "0")
		n, digits := int64(0), 0
		for ; digits < len(v) && '0' <= v[digits] && v[digits] <= '9'; digits++ {
			if digits < 11 {
				n = n*10 + int64(v[digits]-'0')
			}
		}
		if digits > 10 || n > 2147483647 {
			return false
		}
		return byte(n) != 0
	}
	switch strings.ToLower(v) {
	case "on", "yes", "true":
		return true
	}
	return false
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
	case "_safe_stmt_cache":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 || n > maxStmtCache {
			return fmt.Errorf("sqlite3-safe: DSN parameter _safe_stmt_cache=%q: want a whole number of statements "+
				"from 0 (no cache) to %d", val, maxStmtCache)
		}
		c.stmtCache = int(n)
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

// memoryParams are the query parameters of the file: URI a private
// in-memory database is opened under (mode=memory&cache=shared, so that
// the connector's connections share it), keeping the meaning the DSN's
// own parameters had. In a file: URI SQLite read them up to a '#': they
// stay as written, but for its mode and cache before the '#', which the
// URI replaces. In any other DSN SQLite never saw them, so only those
// go-sqlite3 reads (named "_…", or with an empty name) stay, and
// go-sqlite3's vfs, which it handed SQLite, is given once, as it read it;
// an empty vfs, which go-sqlite3 ignores, is dropped.
func (d *dsnInfo) memoryParams() []string {
	params := []string{"mode=memory", "cache=shared"}
	isURI := strings.HasPrefix(d.path, "file:")
	// SQLite reads a URI up to its first '#': what follows stays hidden
	// from it, behind a '#' of the new URI's (the name's '#', or that of a
	// dropped mode or cache, is gone).
	hidden := isURI && strings.Contains(d.path, "#")
	if hidden {
		params = append(params, "#")
	}
	for _, seg := range d.params {
		if isURI {
			visible, _, cut := strings.Cut(seg, "#")
			rawKey, _, _ := strings.Cut(visible, "=")
			switch k := sqliteUnescape(rawKey); {
			case hidden:
				params = append(params, seg)
			case k == "mode" || k == "cache":
				if cut {
					params = append(params, "#")
				}
			default:
				params = append(params, seg)
			}
			hidden = hidden || cut
			continue
		}
		rawKey, _, _ := strings.Cut(seg, "=")
		// parseDSN has unescaped every key already; it cannot fail here.
		// The empty key too: go-sqlite3 looks it up for a parameter none of
		// whose names is given.
		if k, err := url.QueryUnescape(rawKey); err == nil && (k == "" || strings.HasPrefix(k, "_")) {
			params = append(params, seg)
		}
	}
	if !isURI && d.vfs != "" {
		params = append(params, "vfs="+percentEscape(d.vfs))
	}
	return params
}

// percentEscape escapes every byte but the unreserved ones as %XX, which
// url.ParseQuery (go-sqlite3) and SQLite's URI parser decode alike.
func percentEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
