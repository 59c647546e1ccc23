//go:build cgo

package sqlite3safe

import (
	"context"
	"errors"
	"reflect"

	"github.com/mattn/go-sqlite3"
)

// isReadOnly reports SQLite's SQLITE_READONLY.
func isReadOnly(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrReadonly
}

// prepareOne compiles the first statement of query and reports the rest
// (trimmed, as go-sqlite3 does) and whether there was no statement at all
// (only space or comments).
func (c *conn) prepareOne(ctx context.Context, query string) (ss splitStmt, tail string, empty bool, err error) {
	stmt, err := c.sc.PrepareContext(ctx, query)
	if err != nil {
		return nil, "", false, err
	}
	sq := stmt.(*sqlite3.SQLiteStmt)
	v := reflect.ValueOf(sq).Elem()
	return sq, v.Field(stmtTailField.Index[0]).String(), v.Field(stmtHandleField.Index[0]).IsNil(), nil
}

// go-sqlite3 keeps what follows a compiled statement (t) and whether there
// was one (s, nil for only space or comments) in unexported fields of
// SQLiteStmt; they are read by reflection. canSplit says they are there
// as expected (a test requires it); without them multi-statement strings
// run whole, as before they were split.
var (
	stmtTailField, tailOK     = reflect.TypeFor[sqlite3.SQLiteStmt]().FieldByName("t")
	stmtHandleField, handleOK = reflect.TypeFor[sqlite3.SQLiteStmt]().FieldByName("s")
	canSplit                  = tailOK && handleOK && len(stmtTailField.Index) == 1 && len(stmtHandleField.Index) == 1 &&
		stmtTailField.Type.Kind() == reflect.String && stmtHandleField.Type.Kind() == reflect.Pointer
)
