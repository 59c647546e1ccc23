package sqlite3safe

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sqlite3safe/sqlite3safe/internal/rwlock"
)

// txState is where a connection is with respect to transactions.
type txState uint8

const (
	txNone     txState = iota // autocommit
	txWrite                   // a BeginTx write transaction: holds the exclusive lock
	txReadOnly                // a BeginTx read-only transaction: no lock in WAL, shared otherwise
	txManual                  // BEGIN or SAVEPOINT run as a statement: holds the exclusive lock
)

// conn is one go-sqlite3 connection and what sqlite3-safe knows about it.
// It is the parent that sqlmw's wrapper forwards to, and the state the
// connection's interceptor (interceptor.go) reads and writes.
//
// A conn is not safe for concurrent use; database/sql never uses one from
// two goroutines at once (it serializes driver calls on a connection,
// including a Tx's rollback on context end, under its driverConn lock).
type conn struct {
	sc          sqliteConn    // immutable
	file        *fileState    // immutable; one registry reference, given back by Close
	lockTimeout time.Duration // immutable
	maxWaiters  int           // immutable: fail at once when this many wait for the lock; 0 = no bound
	wal         bool          // immutable: the journal is WAL (checkpoints)
	lockReads   bool          // immutable: readers take the shared side (non-WAL or shared cache: SQLite would report SQLITE_LOCKED)
	queryOnly   bool          // immutable: the DSN set _query_only, so read-only transactions leave it alone
	debug       bool          // immutable: record the lock holder (holder.go)
	logger      *slog.Logger  // immutable; nil logs nothing
	slowWait    time.Duration // immutable: lock waits over this are logged
	brakeLimit  int64         // immutable: WAL bytes at which writers brake; 0 = no checkpointer, no sampling
	trackReads  bool          // immutable: the file has a checkpointer, which wants to know the open reads (reads.go)
	read        readMark      // the connection's oldest open read, for the checkpointer (reads.go)

	// Owned by the goroutine database/sql lets use the connection.
	held      rwlock.Mode     // what this connection holds of file.lock (hold.go)
	holds     int             // holders sharing held: statements, rows, a transaction
	heldBy    uint64          // the goroutine that took held in shared mode (rwlock.Request.GID), or 0
	tx        txState         // BeginTx or manual transaction, if any
	memo      map[string]bool // query -> write, from sqlite3_stmt_readonly; lazily made
	closed    bool
	openReads int            // reads open on the connection (reads.go)
	freeRows  []*trackedRows // wrappers for reuse (reads.go)
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

// sqliteConn is what this package uses of go-sqlite3's *SQLiteConn.
// Connections are held through it, not the concrete type, so that the
// package builds without cgo too: go-sqlite3's stub SQLiteConn then has
// none of these methods, and its driver's Open fails with go-sqlite3's own
// error, which sqlite3-safe passes on.
type sqliteConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	AutoCommit() bool
	GetFilename(schemaName string) string
}

// readonlyStmt is go-sqlite3's *SQLiteStmt's sqlite3_stmt_readonly.
type readonlyStmt interface{ Readonly() bool }

// setupConn sets a freshly opened go-sqlite3 connection up (WAL, read back;
// journal_size_limit; no autocheckpoint while the checkpointer runs) and
// returns the journal mode it runs in.
func setupConn(ctx context.Context, sc sqliteConn, d *dsnInfo) (wal bool, err error) {
	var mode string
	switch {
	case d.memory != memNone:
		return false, nil
	case d.readOnly:
		// Cannot convert; run in WAL mode only if the file already is.
		mode, err = queryString(ctx, sc, "PRAGMA journal_mode")
	default:
		mode, err = queryString(ctx, sc, "PRAGMA journal_mode=WAL")
	}
	if err != nil {
		return false, err
	}
	wal = strings.EqualFold(mode, "wal")
	if !wal && !d.readOnly {
		return false, fmt.Errorf("sqlite3-safe: open %s: journal_mode is %q after PRAGMA journal_mode=WAL; "+
			"the file system may not support WAL (it needs shared memory), or another process holds the "+
			"database in exclusive locking mode", d.path, mode)
	}
	if wal && !d.readOnly {
		// journal_size_limit truncates the WAL back to this size after a
		// checkpoint; walLimit was validated as a positive integer. With
		// the background checkpointer running, no commit checkpoints.
		q := "PRAGMA journal_size_limit=" + itoa(d.cfg.walLimit)
		if d.cfg.checkpoints {
			q += "; PRAGMA wal_autocheckpoint=0"
		}
		if _, err := sc.ExecContext(ctx, q, nil); err != nil {
			return false, err
		}
	}
	return wal, nil
}

// queryString runs a statement that returns one text value.
func queryString(ctx context.Context, sc sqliteConn, q string) (string, error) {
	rows, err := sc.QueryContext(ctx, q, nil)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(dest); err != nil {
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		return "", err
	}
	switch v := dest[0].(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	return fmt.Sprint(dest[0]), nil
}

// Prepare is driver.Conn's context-less Prepare.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// Begin is refused: it would bypass the interceptor. database/sql always
// calls BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return nil, errors.New("sqlite3-safe: Begin without a context is not supported; use BeginTx")
}

// PrepareContext, ExecContext, QueryContext and BeginTx are what sqlmw's
// wrapper hands to the interceptor as "the parent connection".
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.sc.PrepareContext(ctx, query)
}

// ExecContext runs on go-sqlite3; see PrepareContext.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.sc.ExecContext(ctx, query, args)
}

// QueryContext runs on go-sqlite3; see PrepareContext.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.sc.QueryContext(ctx, query, args)
}

// BeginTx is never reached: the interceptor's ConnBeginTx starts
// transactions itself. It is here because sqlmw only intercepts BeginTx on
// parents that have it.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return nil, errors.New("sqlite3-safe: internal error: BeginTx reached the connection past the interceptor")
}

// Ping reports whether the connection is open.
func (c *conn) Ping(ctx context.Context) error {
	if c.closed {
		return driver.ErrBadConn
	}
	return c.sc.Ping(ctx)
}

// IsValid is called by database/sql when the connection goes back to the
// pool. A connection still inside a transaction or holding the lock (a
// BEGIN run through db.Exec, a db.Conn closed before COMMIT) is not valid:
// database/sql closes it, which rolls the transaction back and gives the
// lock back (Close).
func (c *conn) IsValid() bool {
	return !c.closed && c.tx == txNone && c.held == rwlock.None
}

// ResetSession is called before a pooled connection is reused; it refuses
// a connection left in a transaction, for the reason IsValid gives.
func (c *conn) ResetSession(ctx context.Context) error {
	if !c.IsValid() {
		return driver.ErrBadConn
	}
	return nil
}

// Close ends any open transaction and closes the SQLite connection first,
// then gives back the lock and the registry reference, so the next writer
// never meets a half-finished transaction. (sqlite3_close_v2 alone does not
// roll back while a statement is left unfinalized: the connection becomes
// a zombie that keeps SQLite's write lock.) Close is idempotent.
func (c *conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if !c.sc.AutoCommit() {
		_, _ = c.sc.ExecContext(context.Background(), "ROLLBACK", nil)
	}
	err := c.sc.Close()
	c.releaseAll()
	c.tx = txNone
	if c.trackReads {
		c.file.reads.remove(c)
	}
	files.release(c.file)
	return err
}

// sampleWAL looks at the -wal file's size (a stat: no file descriptor, see
// checkpoint.go on why) every brakeSampleEvery writes to the file (from
// any connection), while the write lock is still held, and raises the
// file's brake once the WAL reaches three quarters of its limit: the
// writes that land before the brake holds them must still fit under it.
func (c *conn) sampleWAL() {
	if c.brakeLimit == 0 || c.file.writes.Add(1)%brakeSampleEvery != 0 {
		return
	}
	if fileSize(c.file.key+"-wal") >= c.brakeLimit/4*3 {
		c.file.raiseBrake()
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
