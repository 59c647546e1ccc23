//go:build !cgo

package sqlite3safe

import (
	"context"
	"database/sql/driver"
)

// canceller does nothing without cgo, where go-sqlite3 opens no connection.
type canceller struct{}

func newCanceller(sqliteConn) *canceller { return &canceller{} }

func (*canceller) exec(ctx context.Context, run func(context.Context) (driver.Result, error)) (driver.Result, error) {
	return run(ctx)
}
