package sqlite3safe

import (
	"context"
	"strings"
)

// A SAVEPOINT run outside a transaction opens one, deferred: its first
// write could then fail with SQLITE_BUSY_SNAPSHOT if another process wrote
// since its first read. SPEC §3.5 wants it immediate, so sqlite3-safe runs
// BEGIN IMMEDIATE first and the SAVEPOINT inside it. SQLite's RELEASE of
// the outermost savepoint would have committed; inside our BEGIN it does
// not, so the connection keeps the stack of savepoint names (conn.
// savepoints) and commits when a RELEASE empties it. Only statements that
// are one SAVEPOINT, RELEASE or ROLLBACK TO are tracked; a multi-statement
// string that holds one of them leaves the stack as it was (the
// transaction then ends at COMMIT or ROLLBACK, as after a BEGIN).

// beginForSavepoint runs BEGIN IMMEDIATE before a SAVEPOINT that would
// open a transaction. mode is what the statement holds.
func (c *conn) beginForSavepoint(ctx context.Context, cl class, mode lockMode) (opened bool, err error) {
	if cl.sp != spSavepoint || mode != lockExclusive {
		return false, nil
	}
	if _, err := c.sc.ExecContext(ctx, "BEGIN IMMEDIATE", nil); err != nil {
		return false, err
	}
	return true, nil
}

// savepointStarted follows a SAVEPOINT that beginForSavepoint opened a
// transaction for: on success it starts the stack, on failure it ends the
// transaction it opened.
func (c *conn) savepointStarted(st started, err error) {
	if !st.opened {
		return
	}
	if err != nil {
		_, _ = c.sc.ExecContext(context.Background(), "ROLLBACK", nil)
		return
	}
	c.savepoints = []string{st.cl.spName}
}

// trackSavepoint follows a successful statement inside a transaction that
// a SAVEPOINT opened, and commits when a RELEASE has emptied the stack.
func (c *conn) trackSavepoint(query string) error {
	cl := classify(query)
	switch cl.sp {
	case spSavepoint:
		c.savepoints = append(c.savepoints, cl.spName)
	case spRelease, spRollbackTo:
		// SQLite matches the most recent savepoint of that name, ignoring case.
		i := len(c.savepoints) - 1
		for i >= 0 && !strings.EqualFold(c.savepoints[i], cl.spName) {
			i--
		}
		if i < 0 {
			return nil // SQLite accepted a name we do not know: leave the stack
		}
		if cl.sp == spRollbackTo {
			c.savepoints = c.savepoints[:i+1] // ROLLBACK TO keeps the savepoint
			return nil
		}
		c.savepoints = c.savepoints[:i]
		if len(c.savepoints) == 0 {
			// The outermost savepoint is gone: what SQLite would have
			// committed, we commit.
			_, err := c.sc.ExecContext(context.Background(), "COMMIT", nil)
			return err
		}
	}
	return nil
}
