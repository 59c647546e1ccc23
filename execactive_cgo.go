//go:build cgo

package sqlite3safe

/*
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
extern int sqlite3_stmt_busy(sqlite3_stmt *);
extern int sqlite3_stmt_readonly(sqlite3_stmt *);
extern int sqlite3_column_count(sqlite3_stmt *);
extern int sqlite3_txn_state(sqlite3 *, const char *);
static int safe_stmt_busy(void *s) { return sqlite3_stmt_busy((sqlite3_stmt *)s); }
static int safe_stmt_readonly(void *s) { return sqlite3_stmt_readonly((sqlite3_stmt *)s); }
static int safe_stmt_columns(void *s) { return sqlite3_column_count((sqlite3_stmt *)s); }
static int safe_txn_state(void *db) { return sqlite3_txn_state((sqlite3 *)db, 0); }
*/
import "C"

import (
	"reflect"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// canSeeStmt says stmtHandle can read go-sqlite3's statement handle (the
// field manualtx_cgo.go finds); a test requires it.
var canSeeStmt = handleOK && len(stmtHandleField.Index) == 1 && stmtHandleField.Type.Kind() == reflect.Pointer

// stmtHandle is the sqlite3_stmt of st, a go-sqlite3 statement, or nil
// when it cannot be read (or there is none: a text of only comments).
func stmtHandle(st any) unsafe.Pointer {
	sq, ok := st.(*sqlite3.SQLiteStmt)
	if !ok || !canSeeStmt {
		return nil
	}
	return reflect.ValueOf(sq).Elem().Field(stmtHandleField.Index[0]).UnsafePointer()
}

// stmtBusy reports sqlite3_stmt_busy: the statement has taken a step and
// has been neither run to its end nor reset.
func stmtBusy(h unsafe.Pointer) bool { return h != nil && C.safe_stmt_busy(h) != 0 }

// stmtReadonly reports sqlite3_stmt_readonly.
func stmtReadonly(h unsafe.Pointer) bool { return C.safe_stmt_readonly(h) != 0 }

// stmtHasColumns reports whether the statement returns rows
// (sqlite3_column_count).
func stmtHasColumns(h unsafe.Pointer) bool { return C.safe_stmt_columns(h) > 0 }

// txnState is sqlite3_txn_state for every database of c's connection:
// txnNone, txnRead or txnWrite. When the handle cannot be read it says
// txnWrite, which keeps what c holds.
func (c *conn) txnState() int {
	if c.cancel.db == nil {
		return txnWrite
	}
	return int(C.safe_txn_state(c.cancel.db))
}
