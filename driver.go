package sqlite3safe

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mattn/go-sqlite3"
	"github.com/ngrok/sqlmw"
)

// DriverName is the name this package registers with database/sql in
// init, over a plain &sqlite3.SQLiteDriver{}.
const DriverName = "sqlite3-safe"

// EnvVar is the environment variable that, set to "off", makes every
// sqlite3-safe open in the process behave like _safe=off. It is read
// when a DSN is opened (sql.Open, [NewConnector]).
const EnvVar = "SQLITE3_SAFE"

func init() {
	sql.Register(DriverName, Wrap(&sqlite3.SQLiteDriver{}))
}

// Driver is a go-sqlite3 driver made safe for concurrent use: WAL on every
// connection, one write lock per database file, immediate write
// transactions. It implements driver.Driver and driver.DriverContext.
//
// A Driver is safe for concurrent use by multiple goroutines.
type Driver struct {
	base *sqlite3.SQLiteDriver // immutable
	cfg  config                // immutable: defaults from Options
}

var (
	_ driver.Driver        = (*Driver)(nil)
	_ driver.DriverContext = (*Driver)(nil)
)

// Wrap returns a Driver that opens connections with base, so base's
// ConnectHook and Extensions apply to every connection. Register it with
// sql.Register under a name of your choosing, or use [Register].
func Wrap(base *sqlite3.SQLiteDriver, opts ...Option) *Driver {
	d := &Driver{base: base, cfg: defaultConfig()}
	for _, o := range opts {
		o.apply(&d.cfg)
	}
	return d
}

// Register wraps base (see [Wrap]) and registers it with database/sql as
// name. Like sql.Register, it panics if name is already registered.
func Register(name string, base *sqlite3.SQLiteDriver, opts ...Option) {
	sql.Register(name, Wrap(base, opts...))
}

// NewConnector returns a connector for sql.OpenDB that opens dsn through a
// plain go-sqlite3 driver with opts. To use your own *sqlite3.SQLiteDriver,
// call Wrap(base, opts...).OpenConnector(dsn). The DSN is checked now: a
// bad _safe_* value, a conflicting journal mode or a malformed timeout is
// an error here, not at first use.
func NewConnector(dsn string, opts ...Option) (driver.Connector, error) {
	return Wrap(&sqlite3.SQLiteDriver{}, opts...).OpenConnector(dsn)
}

// Open opens one connection. database/sql does not call it (it uses
// OpenConnector); a ":memory:" DSN opened this way gives the connection a
// database of its own, as go-sqlite3 does.
func (d *Driver) Open(dsn string) (driver.Conn, error) {
	c, err := d.openConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.connect(context.Background(), false)
}

// OpenConnector checks dsn and returns a connector for it. database/sql
// calls it once per sql.Open, so everything a connector owns (the
// in-memory database of a ":memory:" DSN) belongs to one *sql.DB.
func (d *Driver) OpenConnector(dsn string) (driver.Connector, error) {
	return d.openConnector(dsn)
}

func (d *Driver) openConnector(dsn string) (*connector, error) {
	info, err := parseDSN(dsn, d.cfg, strings.EqualFold(os.Getenv(EnvVar), "off"))
	if err != nil {
		return nil, err
	}
	c := &connector{d: d, info: info, dsn: info.sqliteDSN()}
	if info.passthrough() {
		return c, nil
	}
	switch info.memory {
	case memPrivate:
		// One shared-cache in-memory database per connector, under a name
		// nobody else can guess, so all of the pool's connections see it
		// and no other *sql.DB does.
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("sqlite3-safe: naming in-memory database: %w", err)
		}
		name := "sqlite3safe-" + hex.EncodeToString(b[:])
		c.memKey = "memory:" + name
		if info.readOnly {
			// mode=ro or immutable=1: an empty database no one can write;
			// one per connection, as go-sqlite3 has it, is the same.
			break
		}
		c.dsn = "file:" + name + "?" + strings.Join(info.memoryParams(), "&")
	case memNamedShared:
		// SQLite's database of that name, which every spelling of the name
		// opens (file:%3Amemory%3A is file::memory:): one lock for all.
		c.memKey = "memory:" + info.memName
		if info.vfs == "memdb" {
			c.memKey = "memdb:" + info.memName
		}
	}
	return c, nil
}

// connector opens connections for one DSN. It is safe for concurrent use
// by multiple goroutines.
type connector struct {
	d      *Driver
	info   *dsnInfo // immutable
	dsn    string   // what go-sqlite3 opens; immutable
	memKey string   // registry key of an in-memory database, else ""; immutable

	writer writerSlot // the connector's writer, for write transactions (route.go)

	mu        sync.Mutex  // guards following fields
	keepAlive driver.Conn // keeps a private in-memory database alive until Close
	closed    bool
}

var (
	_ driver.Connector = (*connector)(nil)
)

// Connect opens a connection (driver.Connector).
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	return c.connect(ctx, true)
}

// Driver returns the Driver the connector came from.
func (c *connector) Driver() driver.Driver { return c.d }

// Close is called by sql.DB.Close. It lets go of the private in-memory
// database, if any. It is idempotent.
func (c *connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	err := c.closeWriter()
	if c.keepAlive == nil {
		return err
	}
	err = errors.Join(err, c.keepAlive.Close())
	c.keepAlive = nil
	return err
}

// connect opens one connection. shareMemory: the connection is one of the
// connector's pool, so a private in-memory database is the connector's,
// kept alive by keepAlive; without it (Driver.Open) the connection gets a
// database of its own.
func (c *connector) connect(ctx context.Context, shareMemory bool) (driver.Conn, error) {
	if c.info.passthrough() {
		return c.d.base.Open(c.dsn)
	}
	if shareMemory && c.info.memory == memPrivate {
		if err := c.openKeepAlive(); err != nil {
			return nil, err
		}
	}
	raw, err := c.d.base.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, err := asSQLiteConn(raw)
	if err != nil {
		return nil, err
	}
	// Setting the connection up may wait for another process's lock
	// already, with the context of the statement that needs a connection.
	exposed := c.d.base.ConnectHook != nil || len(c.d.base.Extensions) > 0
	waits := newBusyWait(sc)
	w := waits.enter(ctx, false)
	wal, err := setupConn(ctx, sc, c.info, exposed)
	waits.leave(w)
	if err != nil {
		waits.close()
		_ = sc.Close()
		return nil, waitError(ctx, err)
	}
	key := c.memKey
	var id os.FileInfo // the file's identity: SQLite has opened or created it by now
	if key == "" {
		key = canonicalPath(sc.GetFilename("main"))
		id, _ = os.Stat(key) // no descriptor; on failure the path alone keys the file
	}
	var start func(*fileState) *checkpointer
	var ckptLimit int64
	if wal && !c.info.readOnly && c.info.cfg.checkpoints {
		start, ckptLimit = c.startCheckpointer, c.info.cfg.walLimit
	}
	cn := &conn{
		sc:          sc,
		file:        files.acquire(key, id, start, ckptLimit),
		ckptLimit:   ckptLimit,
		trackReads:  wal,
		lockTimeout: c.info.cfg.lockTimeout,
		maxWaiters:  c.info.cfg.maxWaiters,
		wal:         wal,
		lockReads:   !wal || c.info.sharedCache,
		queryOnly:   c.info.queryOnly,
		debug:       c.info.cfg.debug,
		logger:      c.info.cfg.logger,
		slowWait:    c.info.cfg.slowWait,
		waits:       waits,
		cancel:      newCanceller(sc),
		exposed:     exposed,
		loan:        loan{ownCache: c.info.ownCache},
	}
	cn.noCacheForAuthorizer()
	if wal {
		cn.file.reads.add(cn)
		cn.syncAttached() // a ConnectHook may have attached databases
	}
	// sqlmw wraps drivers, not connections; a one-shot driver that returns
	// cn lets every connection have an interceptor of its own.
	icpt := &interceptor{c: cn}
	mw, err := sqlmw.Driver(oneConn{cn}, icpt).Open("")
	if err != nil {
		_ = cn.Close()
		return nil, err
	}
	s := &safeConn{c: cn, i: icpt, mw: mw.(safeConnMW), own: cn, ownI: icpt}
	if shareMemory && wal && c.info.memory == memNone && !c.info.readOnly {
		s.cn = c // its write transactions may run on the connector's writer (route.go)
	}
	return s, nil
}

// startCheckpointer starts f's checkpointer with this connector's driver
// and DSN, so its connection gets the same VFS, keys and hooks. The
// connection to a database that f's connections attach is opened with
// the same driver and VFS, read-write without create (a file deleted
// since is not made again).
func (c *connector) startCheckpointer(f *fileState) *checkpointer {
	open := func() (sqliteConn, error) {
		raw, err := c.d.base.Open(c.dsn)
		if err != nil {
			return nil, err
		}
		sc, err := asSQLiteConn(raw)
		if err == nil {
			ownConn(sc) // sqlite3-safe's alone: the ConnectHook's authorizer, hooks and limits go
		}
		return sc, err
	}
	openFile := func(path string) (sqliteConn, error) {
		dsn := "file:" + percentEscape(path) + "?mode=rw"
		if c.info.vfs != "" {
			dsn += "&vfs=" + percentEscape(c.info.vfs)
		}
		raw, err := c.d.base.Open(dsn)
		if err != nil {
			return nil, err
		}
		return asSQLiteConn(raw)
	}
	cfg := c.info.cfg
	return startCheckpointer(f, open, openFile, checkpointPolicy{
		pages:          cfg.ckptPages,
		truncateDelay:  DefaultTruncateDelay,
		escalationHold: DefaultEscalationHold,
		pinWarning:     cfg.pinWarning,
	}, cfg.logger)
}

// asSQLiteConn returns what go-sqlite3's Open returned as the methods
// this package uses, or closes it and fails.
func asSQLiteConn(raw driver.Conn) (sqliteConn, error) {
	sc, ok := raw.(sqliteConn)
	if !ok {
		_ = raw.Close()
		return nil, fmt.Errorf("sqlite3-safe: go-sqlite3 returned a %T, not a connection it can use", raw)
	}
	return sc, nil
}

// openKeepAlive opens the connection that keeps a private in-memory database
// alive while the pool's own connections come and go.
func (c *connector) openKeepAlive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("sqlite3-safe: connector for %s is closed", c.info.path)
	}
	if c.keepAlive != nil {
		return nil
	}
	kc, err := c.d.base.Open(c.dsn)
	if err != nil {
		return err
	}
	c.keepAlive = kc
	return nil
}

// oneConn is a driver.Driver whose Open returns one ready connection.
type oneConn struct{ c *conn }

// Open returns the connection, whatever the name.
func (o oneConn) Open(string) (driver.Conn, error) { return o.c, nil }

// canonicalPath is the registry key of a database file: SQLite's absolute
// name for it with symlinks resolved, so that the spellings of one file (a
// relative path, an absolute one, a file: URI, a symlink) find its entry
// by path. Others (a case-changed name on a case-insensitive file system,
// a hard link) are found by file identity (registry.acquire).
func canonicalPath(name string) string {
	if resolved, err := filepath.EvalSymlinks(name); err == nil {
		name = resolved
	}
	if abs, err := filepath.Abs(name); err == nil {
		name = abs
	}
	return filepath.Clean(name)
}
