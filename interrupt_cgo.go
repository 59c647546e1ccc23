//go:build cgo

package sqlite3safe

/*
typedef struct sqlite3 sqlite3;
extern void sqlite3_interrupt(sqlite3 *);
static void safe_interrupt(void *db) { sqlite3_interrupt((sqlite3 *)db); }
*/
import "C"

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// canceller interrupts a connection's running statement when its context
// ends, for execs. go-sqlite3 runs every exec whose context can end on a
// goroutine of its own, and waits for it or the context: a goroutine, a
// channel and two goroutine switches per statement, taken with the write
// lock held for a write. sqlite3-safe hands go-sqlite3 the context without
// its cancellation instead (so go-sqlite3 runs the statement on the
// calling goroutine) and registers a callback on the context that calls
// sqlite3_interrupt while the statement runs. The outcome is go-sqlite3's:
// a statement interrupted because its context ended returns the context's
// error; one that finished first returns its own result.
//
// A callback acts only for its own statement: it interrupts only while
// that statement is recorded as running, holding mu as it does, and the
// statement's end is recorded under mu; and a statement whose callback
// could not be unregistered (its context ended: the callback has started
// on a goroutine of its own, or is about to) waits for the callback to
// finish before it returns, so no callback is left over when the next
// statement starts. The connection closes only after its statements
// return, so the handle is valid whenever a callback uses it.
//
// sqlite3_interrupt acts on the whole connection, as with go-sqlite3: a
// query whose rows are open on the same connection is interrupted too, and
// SQLite keeps the interrupt until no statement of the connection is
// running, so one that lands as the exec finishes, with rows still open,
// reaches those rows or the next statement. go-sqlite3 has the same window
// (wider: its check comes after its goroutine is scheduled).
//
// Only execs go this way: go-sqlite3 already watches a query's context
// without a goroutine. An exec without arguments keeps go-sqlite3's own
// way, because go-sqlite3 compiles such a statement anew unless the
// context can end, and its statement cache is worth more than the
// goroutine.
type canceller struct {
	db unsafe.Pointer // the connection's sqlite3 handle; nil: leave cancellation to go-sqlite3

	mu          sync.Mutex    // guards running and interrupted; the callback holds it while it interrupts
	running     bool          // a statement is running under a registered callback
	interrupted bool          // the callback interrupted it
	onDone      func()        // the callback, made once
	ran         chan struct{} // cap 1: the callback has run (exec waits for it when it could not stop it)
}

func newCanceller(sc sqliteConn) *canceller {
	k := &canceller{ran: make(chan struct{}, 1)}
	if conn, ok := sc.(*sqlite3.SQLiteConn); ok {
		k.db = sqliteHandle(conn)
	}
	k.onDone = func() {
		k.mu.Lock()
		if k.running {
			C.safe_interrupt(k.db)
			k.interrupted = true
		}
		k.mu.Unlock()
		k.ran <- struct{}{}
	}
	return k
}

// exec runs one go-sqlite3 exec, run, so that ctx ending interrupts it.
func (k *canceller) exec(ctx context.Context, run func(context.Context) (driver.Result, error)) (driver.Result, error) {
	if k.db == nil || ctx.Done() == nil {
		return run(ctx)
	}
	k.mu.Lock()
	k.running, k.interrupted = true, false
	k.mu.Unlock()
	stop := context.AfterFunc(ctx, k.onDone)
	res, err := run(context.WithoutCancel(ctx))
	k.mu.Lock()
	k.running = false
	interrupted := k.interrupted
	k.mu.Unlock()
	if !stop() {
		<-k.ran // the context ended: its callback runs (or ran), once; no later statement may meet it
	}
	if interrupted && isInterrupt(err) {
		return nil, ctx.Err()
	}
	return res, err
}

// isInterrupt reports SQLite's SQLITE_INTERRUPT.
func isInterrupt(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrInterrupt
}
