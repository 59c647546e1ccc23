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
	"github.com/sqlite3safe/sqlite3safe/internal/sqlclass"
)

// txState is where a connection is with respect to transactions.
type txState uint8

const (
	txNone     txState = iota // autocommit
	txPending                 // a BeginTx write transaction before its first statement: holds nothing, SQLite not in a transaction
	txWrite                   // a BeginTx write transaction: BEGIN IMMEDIATE run, holds the exclusive lock
	txYielded                 // a BeginTx write transaction that gave its lock to its goroutine's write (lazytx.go): reads without it
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
	debug       bool          // immutable: record where the lock owner took the lock (owner.go)
	logger      *slog.Logger  // immutable; nil logs nothing
	slowWait    time.Duration // immutable: lock waits over this are logged
	ckptLimit   int64         // immutable: its pool's WAL limit if the pool wants background checkpoints, else 0: what it counts for in its file's rule (registry.acquire)
	trackReads  bool          // immutable: a WAL file, whose checkpointer wants to know the open reads (reads.go)
	read        readMark      // the connection's oldest open read, for the checkpointer (reads.go)
	waits       *busyWait     // makes waits for other processes end with the context (busywait_cgo.go); immutable
	cancel      *canceller    // interrupts a running exec when its context ends (interrupt_cgo.go); immutable
	exposed     bool          // the application may have set an authorizer, hooks or limits: its driver has a ConnectHook or Extensions, or the connection was lent (own.go)

	// Owned by the goroutine database/sql lets use the connection.
	locked    rwlock.Mode     // what this connection holds of file.lock, for its claims (claim)
	claims    int             // claims sharing locked: statements, rows, a transaction
	lockedBy  uint64          // the goroutine that took locked in shared mode (rwlock.Request.GID), or 0
	tx        txState         // BeginTx or manual transaction, if any
	onlyRead  bool            // txManual: sqlite3-safe made the transaction immediate, and no statement that may write ran in it since (runOne)
	memo      map[string]bool // query -> write, from sqlite3_stmt_readonly; lazily made
	closed    bool
	openReads int            // reads open on the connection (readBegan, readEnded)
	freeRows  []*trackedRows // wrappers for reuse (trackRead)
	txStmts   txStmts        // BEGIN IMMEDIATE and COMMIT, compiled once (tx.go); closed by Close
	loan      loan           // the connection lent through Unwrap, taken back by the next statement (unwrap.go)

	// The databases attached on the connection, for its file's
	// checkpointer (attach.go), owned like the above.
	attachedDBs []*attachedWAL // those the connection has told its file about
	attachNames []byte         // their file names as SQLite last gave them, each followed by a NUL
	attachBuf   []byte         // scratch for reading them again
	mayAttach   bool           // a database has been attached: the list is read again after each write

	// A BeginTx transaction's state (lazytx.go), owned like the above.
	txClaim   bool // the transaction holds one of the connection's claims
	wrote     bool // txWrite: a statement that may write has run (not only reads)
	txRead    bool // the transaction published a read mark, ended with it
	published bool // txLeave made the transaction idle; settleYield ends that
	yieldLost bool // txYielded: the hand-over could not keep the snapshot
	relocked  bool // txWrite: a handed-over transaction took the lock again for its statement now running

	givenClaim bool // routeTx gave this connection its transaction's claim; txBegin takes it over
	pinned     bool // the connection has state of its own: its transactions run on it (route.go)
	openStmts  int  // statements prepared on the connection and not closed

	yield txYield // shared with a writer that may take over an idle transaction's lock (lazytx.go)

	left leftStmts // prepared statements Exec left active, and what is held for them (execactive.go)
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
// returns the journal mode it runs in. exposed: the driver's ConnectHook or
// Extensions ran on sc, and what they set there must not see these
// statements (own.go).
func setupConn(ctx context.Context, sc sqliteConn, d *dsnInfo, exposed bool) (wal bool, err error) {
	// Changing the journal mode commits: the commit hook is set aside too.
	const h = hideAuthorizer | hideCommitHook | hideRollbackHook
	var mode string
	switch {
	case d.memory != memNone:
		return false, nil
	case d.readOnly:
		// Cannot convert; run in WAL mode only if the file already is.
		mode, err = setupQuery(ctx, sc, exposed, h, "PRAGMA main.journal_mode")
	default:
		// The main database only: a database a ConnectHook attached keeps
		// the journal mode it has.
		mode, err = setupQuery(ctx, sc, exposed, h, "PRAGMA main.journal_mode=WAL")
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
		q := "PRAGMA journal_size_limit=" + strconv.FormatInt(d.cfg.walLimit, 10)
		if d.cfg.checkpoints {
			q += "; PRAGMA wal_autocheckpoint=0"
		}
		o := ownBegin(sc, exposed, h, len(q), 0)
		_, err := sc.ExecContext(ctx, q, nil)
		ownEnd(o)
		if err != nil {
			return false, ownError(q, err)
		}
	}
	return wal, nil
}

// setupQuery is queryString for setupConn's statements of sqlite3-safe's
// own, with h set aside.
func setupQuery(ctx context.Context, sc sqliteConn, exposed bool, h hide, q string) (string, error) {
	o := ownBegin(sc, exposed, h, len(q), 0)
	v, err := queryString(ctx, sc, q)
	ownEnd(o)
	return v, ownError(q, err)
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
// lock back (Close). A lock held only for a statement that Exec left active
// (execactive.go) goes back to the pool with the connection, as SQLite's
// lock does with go-sqlite3's.
func (c *conn) IsValid() bool {
	return !c.closed && c.tx == txNone && (c.locked == rwlock.None || c.left.claim && c.claims == 1)
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
	if c.published {
		c.settleYield() // no hand-over from here on
	}
	if !c.sc.AutoCommit() {
		// The authorizer is set aside, not the rollback hook: go-sqlite3's
		// Close rolls back too, and calls it.
		_ = c.ownExec(context.Background(), hideAuthorizer, "ROLLBACK")
	}
	c.txStmts.close() // before the connection: SQLite keeps a connection with statements left open
	c.waits.close()
	err := c.sc.Close()
	c.releaseLock()
	c.tx = txNone
	if c.trackReads {
		c.file.reads.remove(c)
	}
	c.releaseAttached()
	files.release(c.file, c.ckptLimit)
	return err
}

// Claims: a connection holds its file's lock at most once, on behalf of
// one or more claims: a statement while it runs, rows that write (or read
// in non-WAL mode) until EOF or Close, a transaction until it ends. Each
// makes one claim and gives back exactly that one; the lock goes back to
// the file with the last claim. This keeps a statement from giving back a
// lock that open rows on the same connection still need, and lets a
// statement run while its own connection's rows hold the lock.
//
// Who calls what: claim by the interceptor (lockFor, ConnPrepareContext,
// askSQLite, ConnBeginTx); unclaim by whoever made the claim (settle,
// lockedRows, tx.end, the deferred unclaims); releaseLock by unclaim, and
// by conn.Close whatever claims are left.

// claim makes a claim of mode, taking the file's lock if the connection
// does not already hold it in a mode that covers mode. It honours ctx and
// the lock timeout (waiting behind a checkpoint, or the brake, does not
// count against it). what names the claim for the lock's owner record
// (lockOwner), which Stats and LockTimeoutError show.
func (c *conn) claim(ctx context.Context, mode rwlock.Mode, what string) error {
	switch {
	case c.locked == rwlock.Exclusive, c.locked == rwlock.Shared && mode == rwlock.Shared:
		c.claims++
		return nil
	case c.locked == rwlock.Shared:
		// Rows of this connection hold the shared side (non-WAL mode);
		// waiting for the exclusive side would be waiting for ourselves.
		return &LockTimeoutError{Path: c.file.key, Timeout: c.lockTimeout,
			Holder: "held by this connection's own open rows: close them before writing"}
	}
	var braked time.Duration
	if mode == rwlock.Exclusive {
		// On a LiteFS read replica a write fails here, before any wait.
		if err := c.file.refuseOnReplica(); err != nil {
			return err
		}
		// This goroutine's own transaction may hold the lock, idle, having
		// only read: it gives the lock up rather than be waited for.
		c.tryHandOver()
		// The WAL is over its limit: wait for the checkpoint, a bounded
		// wait that does not count against the lock timeout (waitBrake).
		var err error
		if braked, err = c.file.waitBrake(ctx); err != nil {
			return c.lockError(err, mode, braked)
		}
		if braked > 0 {
			c.file.stats.recordBrakeWait(braked)
		}
	}
	// The lock timeout counts only time behind other statements and
	// transactions: a checkpoint's hold is waited out whatever the timeout.
	var gid uint64
	if mode == rwlock.Shared {
		gid = rwlock.GoroutineID() // a nested read by this goroutine never queues
	}
	waited, _, err := c.file.lock.AcquireReq(ctx, rwlock.Request{Mode: mode, GID: gid, MaxWaiters: c.maxWaiters}, c.lockTimeout)
	waited += braked
	if err != nil {
		return c.lockError(err, mode, waited)
	}
	c.locked, c.claims, c.lockedBy = mode, 1, gid
	if mode == rwlock.Exclusive {
		c.file.owner.set(what, c.debug)
	}
	if waited > c.slowWait && c.logger != nil {
		c.logger.Warn("sqlite3-safe: slow lock wait", "path", c.file.key, "waited", waited, "what", what)
	}
	return nil
}

// lockError turns a failed wait for mode into the error the caller gets.
func (c *conn) lockError(err error, mode rwlock.Mode, waited time.Duration) error {
	if errors.Is(err, rwlock.ErrQueueFull) {
		queued, _ := c.file.lock.Queue()
		return &LockTimeoutError{Path: c.file.key, Timeout: c.lockTimeout, Queued: queued, QueueFull: true}
	}
	if errors.Is(err, rwlock.ErrTimedOut) {
		queued, _ := c.file.lock.Queue()
		return &LockTimeoutError{Path: c.file.key, Waited: waited, Timeout: c.lockTimeout,
			Holder: c.file.owner.describe(), Queued: queued, Read: mode == rwlock.Shared}
	}
	side := "write lock"
	if mode == rwlock.Shared {
		side = "lock for reading"
	}
	return fmt.Errorf("sqlite3-safe: waiting for the %s on %s: %w", side, c.file.key, err)
}

// unclaim gives back one claim; the last one gives the lock back.
func (c *conn) unclaim() {
	if c.claims <= 0 {
		panic("sqlite3-safe: connection gave back a lock claim it did not make")
	}
	c.claims--
	if c.claims == 0 {
		c.releaseLock()
	}
}

// releaseLock gives the file's lock back, whatever claims are left.
func (c *conn) releaseLock() {
	if c.locked == rwlock.None {
		return
	}
	if c.locked == rwlock.Exclusive {
		c.file.owner.clear()
		if c.mayAttach {
			c.syncAttached() // the write may have been an ATTACH or a DETACH
		}
		c.file.sampleWAL()
	}
	mode, by := c.locked, c.lockedBy
	// The connection's record goes first: the next holder may use this
	// connection at once (a routed transaction takes the writer, route.go).
	c.locked, c.claims, c.lockedBy = rwlock.None, 0, 0
	c.file.lock.ReleaseAs(mode, by)
}

// settle makes the connection's transaction state follow SQLite's after
// a statement outside a BeginTx transaction; claimed says whether the
// statement made a claim of its own. A statement that left SQLite in a
// transaction hands its claim to it: the connection is in a manual
// transaction, and holds the write lock until SQLite is in autocommit
// again (after COMMIT, ROLLBACK, the outermost RELEASE, or an error that
// rolled back), when the transaction's claim is given back.
func (c *conn) settle(claimed bool) {
	inTx := !c.sc.AutoCommit()
	switch {
	case inTx && c.tx == txNone && claimed && c.locked == rwlock.Exclusive:
		c.tx = txManual
		return
	case !inTx && c.tx == txManual:
		c.tx, c.onlyRead = txNone, false
		if c.left.n > 0 {
			c.holdLeft() // what statements left active by Exec still hold (execactive.go)
		}
		c.unclaim() // the claim the opening statement handed over
	}
	if claimed {
		c.unclaim()
	}
}

// refuse returns the error for a statement that may not run here. Only
// the main database's journal mode is sqlite3-safe's: an attached
// database's is the application's, unless it is the main file attached
// again under another name.
func (c *conn) refuse(cl sqlclass.Class) error {
	if !c.wal {
		return nil
	}
	if cl.Forbidden != "" {
		return fmt.Errorf("sqlite3-safe: refused: %s; open the database with _safe=off to manage it yourself", cl.Forbidden)
	}
	for _, jm := range cl.JournalModes() {
		file := c.sc.GetFilename(jm.Schema)
		switch {
		case file != "" && c.isMainFile(canonicalPath(file)):
			return fmt.Errorf("sqlite3-safe: refused: PRAGMA %s.journal_mode=%s would take the database out of the WAL mode "+
				"sqlite3-safe relies on (%s is the main database's file); open the database with _safe=off to manage it yourself",
				jm.Schema, jm.Mode, jm.Schema)
		case file == "" && cl.Attach:
			// The text attaches a database and sets a journal mode: which
			// file the schema names is known only once the ATTACH has run.
			return fmt.Errorf("sqlite3-safe: refused: PRAGMA %s.journal_mode=%s in the text of an ATTACH; "+
				"run the ATTACH as a statement of its own first", jm.Schema, jm.Mode)
		}
	}
	return nil
}

// refuseInTx refuses, inside a BeginTx transaction, what is refused
// outside one (a PRAGMA that leaves WAL or locks other connections out).
// Only a text that holds the word PRAGMA is classified, so the common
// statement pays one scan for a byte, not a classification.
func (c *conn) refuseInTx(query string) error {
	if !c.wal || !sqlclass.MayBePragma(query) {
		return nil
	}
	return c.refuse(sqlclass.Classify(query))
}

// memoLimit bounds conn.memo, the per-connection record of what SQLite
// said about statements the text alone could not class.
const memoLimit = 256

// remember records SQLite's answer for query: whether it may write.
func (c *conn) remember(query string, write bool) {
	if c.memo == nil || len(c.memo) >= memoLimit {
		c.memo = make(map[string]bool)
	}
	c.memo[query] = write
}

// readBegan notes a read that begins on c. The first open read of the
// connection publishes its mark; later ones only count.
func (c *conn) readBegan(query string) {
	c.openReads++
	if c.openReads > 1 {
		return
	}
	// The file's clock, not time.Now: a clock read per query was a few
	// percent of a prepared point SELECT. The checkpointer sets it before
	// and after each tick's work, so it lags by at most a tick, or the
	// checkpoint a tick runs (an escalation may wait seconds for the write
	// lock): enough for pins, which are counted in seconds.
	site := ""
	if c.debug {
		site = callSite()
	}
	c.read.begin(c.file.clock.Load(), query, site)
}

// readEnded notes the end of one of c's open reads; with the last one the
// mark goes. (With several reads open on one connection the mark is the
// first one's until all have ended: an over-estimate, never an
// under-estimate, of how long the connection has held a snapshot.)
func (c *conn) readEnded() {
	if c.openReads <= 0 {
		return
	}
	c.openReads--
	if c.openReads == 0 {
		c.read.end()
	}
}

// trackRead wraps rows of a read that began on c.
func (c *conn) trackRead(query string, rows driver.Rows) driver.Rows {
	c.readBegan(query)
	var r *trackedRows
	if n := len(c.freeRows); n > 0 {
		r = c.freeRows[n-1]
		c.freeRows = c.freeRows[:n-1]
	} else {
		r = &trackedRows{c: c}
	}
	r.Rows, r.done = rows, false
	return r
}

// waitError returns the context's error for a statement that SQLite's
// busy handler gave up on because its context ended, and err otherwise.
func waitError(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && isBusy(err) {
		return ctx.Err()
	}
	return err
}

// execWith runs query through e, go-sqlite3's exec on c's connection. A
// single statement with arguments has its context watched by c.cancel
// rather than by a goroutine of go-sqlite3's; a statement without
// arguments (which go-sqlite3 caches only when its context can end) and a
// string that may hold several statements (go-sqlite3 looks at the
// context before each) go to go-sqlite3 as they are.
func (c *conn) execWith(ctx context.Context, e driver.ExecerContext, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 || !oneStatement(query) {
		return e.ExecContext(ctx, query, args)
	}
	return c.cancel.exec(ctx, func(ctx context.Context) (driver.Result, error) { return e.ExecContext(ctx, query, args) })
}

// execConn is execWith on the connection itself.
func (c *conn) execConn(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.execWith(ctx, c.sc, query, args)
}

// execStmt runs a statement go-sqlite3 compiled, with its context watched
// by c.cancel (a compiled statement is one statement).
func (c *conn) execStmt(ctx context.Context, st driver.StmtExecContext, args []driver.NamedValue) (driver.Result, error) {
	return c.cancel.exec(ctx, func(ctx context.Context) (driver.Result, error) { return st.ExecContext(ctx, args) })
}

// oneStatement reports whether query has no semicolon before its trailing
// ones and white space: one statement, for sure. (A semicolon in a string
// literal or a comment makes it answer false, which only costs speed.)
func oneStatement(query string) bool {
	i := strings.IndexByte(query, ';')
	if i < 0 {
		return true
	}
	for _, r := range query[i:] {
		switch r {
		case ';', ' ', '\t', '\n', '\r', '\f', '\v':
		default:
			return false
		}
	}
	return true
}

// attached is called before a text holding an ATTACH runs on c, whether
// the ATTACH stands alone, is one statement of a string, or is a prepared
// statement. SQLite compiles some statements for the databases attached
// when it compiles them (BEGIN IMMEDIATE locks each; an unqualified ANALYZE
// or PRAGMA integrity_check visits each), and an ATTACH does not make
// statements compiled before it compile again (a DETACH does). So the
// connection's own kept statements are finalized, to be compiled again
// when next used, and go-sqlite3's statement cache is turned off for the
// connection (it has no call to empty it): what it holds was compiled for
// fewer databases. Nothing compiled before the ATTACH runs after it on c,
// including the statements after it in its own string. Statements prepared
// by the application (*sql.Stmt) are the application's, as with
// go-sqlite3.
func (c *conn) attached() {
	c.txStmts.close()
	stopStmtCache(c.sc)
	c.mayAttach = true // the file's checkpointer learns of it as the lock goes back (syncAttached)
}
