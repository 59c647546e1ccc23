// Package sqlite3safe is a database/sql driver, registered as
// "sqlite3-safe", that wraps github.com/mattn/go-sqlite3 so that SQLite is
// safe under heavy goroutine concurrency: no "database is locked", no
// SQLITE_BUSY or SQLITE_LOCKED from the program's own goroutines, while
// readers keep running in parallel with the writer.
//
// Existing code changes one string:
//
//	db, err := sql.Open("sqlite3-safe", "app.db") // was "sqlite3"
//
// # What it does
//
// Every connection runs in WAL mode (checked after it is set; a DSN asking
// for another journal mode is refused). Writes are serialized per database
// file by an in-process lock shared by every *sql.DB, connector and
// connection that opens the file, whatever path spelling they use.
// Transactions that may write begin with BEGIN IMMEDIATE after taking the
// lock, so they cannot fail halfway with SQLITE_BUSY_SNAPSHOT. Reads take no
// lock: in WAL mode they never wait for the writer.
//
// Statements are classed by their text (leading keywords of every
// statement in the string) and, where the text cannot tell (a WITH whose
// main statement may write), by SQLite's own sqlite3_stmt_readonly. Anything
// not known to be a read is a write.
//
// # Transactions
//
//   - db.BeginTx with ReadOnly false waits for the lock, then runs BEGIN
//     IMMEDIATE; Commit or Rollback give the lock back, and so does the end
//     of the transaction's context (database/sql rolls back).
//   - ReadOnly true runs a deferred BEGIN with PRAGMA query_only set: no
//     lock, and a write inside fails with SQLite's read-only error.
//   - A BEGIN or SAVEPOINT run as a statement on a db.Conn takes the lock
//     and runs immediate (a plain BEGIN runs as BEGIN IMMEDIATE; a SAVEPOINT
//     that opens a transaction runs inside a BEGIN IMMEDIATE, committed when
//     its RELEASE would have committed), and keeps the lock until SQLite is
//     in autocommit again, or the connection is reset or closed.
//   - INSERT … RETURNING and other queries that write hold the lock until
//     their rows reach EOF or are closed.
//   - Every isolation level up to sql.LevelSerializable gets SQLite's
//     serializable isolation; sql.LevelLinearizable is refused.
//
// A goroutine that holds a transaction and then writes through the
// *sql.DB instead of the *sql.Tx waits for itself; that ends, after the
// lock timeout, in an error matching [ErrLockTimeout] (and sqlite3.ErrBusy),
// never in a hang.
//
// # DSN parameters
//
// Everything go-sqlite3 accepts, plus (removed before go-sqlite3 sees them):
//
//	_safe_lock_timeout=MS   longest wait for the write lock; default: _busy_timeout
//	                        or _timeout if given, else 5000; 0 = do not wait
//	_safe_checkpoint=auto|off
//	                        background checkpoints; a file has them while a
//	                        pool that wants them has a connection open on it
//	_safe_wal_limit=BYTES   WAL size limit, default 67108864; sets journal_size_limit;
//	                        a file's limit is the smallest of its open pools with
//	                        checkpoints, and every writer of the file brakes for it
//	_safe_debug=0|1         record where the write-lock holder took it; ErrLockTimeout names it
//	_safe_max_waiters=N     a write fails at once when N already wait for the lock; 0 = no bound
//	_safe_stmt_cache=N      compiled statements kept per connection, default 64; 0 = off
//	_safe=off               behave exactly like driver "sqlite3"
//
// The environment variable SQLITE3_SAFE=off has the effect of _safe=off on
// every open in the process. Unknown _safe_* names and malformed values are
// errors from sql.Open (or [NewConnector]) naming the parameter, and so are
// _journal_mode other than WAL and _locking_mode=EXCLUSIVE. At run time,
// PRAGMA journal_mode=<not WAL> for the main database (or for every
// database: no schema) and PRAGMA locking_mode=EXCLUSIVE are refused; an
// attached database's journal mode is the application's, and the
// checkpointer keeps the WAL of an attached WAL database bounded as it
// does the main one's.
//
// # In-memory databases
//
// ":memory:" and "file::memory:" give one in-memory database per *sql.DB,
// shared by all of its pool's connections and private to it (go-sqlite3
// gives each connection an empty database of its own). With cache=shared
// in a file: URI ("file::memory:?cache=shared",
// "file:NAME?mode=memory&cache=shared") SQLite's meaning stands: one
// database per process under that name, shared by every *sql.DB that opens
// it. Such a database cannot be WAL, so readers take the shared side of the
// lock and writers the exclusive side, which keeps SQLITE_LOCKED away.
//
// # LiteFS read replicas
//
// On a LiteFS read replica (the database's directory holds LiteFS's
// .primary file) a write fails at once, before any wait, with a
// [*ReplicaError] that matches [ErrReadOnlyReplica] and SQLite's read-only
// error and names the primary; reads run as anywhere; the checkpointer
// stands down. The answer is looked up at most every 100 ms per file, so a
// node that becomes primary takes writes with the same *sql.DB.
// [LiteFSTXID] and [WaitLiteFSTXID] let a client read its own writes on a
// replica. See docs/replicas.md.
//
// # Reaching go-sqlite3
//
// [Unwrap], inside (*sql.Conn).Raw, returns the *sqlite3.SQLiteConn for
// go-sqlite3's own API (Backup, RegisterFunc, Serialize). [Wrap] and
// [Register] put a *sqlite3.SQLiteDriver of your own (ConnectHook,
// Extensions) under a name of your choice; [NewConnector] is for sql.OpenDB.
package sqlite3safe
