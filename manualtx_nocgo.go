//go:build !cgo

package sqlite3safe

import (
	"context"
	"errors"
)

// Without cgo no connection ever opens (go-sqlite3's stub refuses), so
// nothing here is reached; it keeps the package compiling.

// canSplit is false: multi-statement strings would run whole.
const canSplit = false

func isReadOnly(error) bool { return false }

func (c *conn) prepareOne(context.Context, string) (splitStmt, string, bool, error) {
	return nil, "", false, errors.New("sqlite3-safe: built without cgo")
}
