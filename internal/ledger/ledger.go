// Package ledger is the seed scenario shared by the tests, the benchmarks
// and cmd/safebench: a hash-chained ledger of blocks that many goroutines
// append to at once. Each append is one transaction that reads the last
// block and inserts the next, so lost serialization shows up as a broken
// chain or a duplicate index, not only as an error.
package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
)

// Schema creates the ledger table.
const Schema = `CREATE TABLE IF NOT EXISTS blocks (
	block_index INTEGER PRIMARY KEY,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL,
	payload     TEXT NOT NULL
)`

// Genesis is the prev_hash of block 0.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Hash is a block's hash: SHA-256 over its index, predecessor and payload.
func Hash(index int64, prev, payload string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%s", index, prev, payload))
	return hex.EncodeToString(sum[:])
}

// Create makes the table in db.
func Create(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, Schema)
	return err
}

// Append adds one block in one transaction: read the last block, insert
// the next. It returns the new block's index.
func Append(ctx context.Context, db *sql.DB, payload string) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var (
		last int64
		prev string
	)
	err = tx.QueryRowContext(ctx, "SELECT block_index, hash FROM blocks ORDER BY block_index DESC LIMIT 1").Scan(&last, &prev)
	switch {
	case err == sql.ErrNoRows:
		last, prev = -1, Genesis
	case err != nil:
		return 0, err
	}
	next := last + 1
	if _, err := tx.ExecContext(ctx, "INSERT INTO blocks(block_index, prev_hash, hash, payload) VALUES (?, ?, ?, ?)",
		next, prev, Hash(next, prev, payload), payload); err != nil {
		return 0, err
	}
	return next, tx.Commit()
}

// Verify walks the chain and reports the number of blocks, or the first
// problem: a gap in the indices, a prev_hash that is not the previous
// block's hash, or a hash that does not match the block.
func Verify(ctx context.Context, db *sql.DB) (int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT block_index, prev_hash, hash, payload FROM blocks ORDER BY block_index")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	prev := Genesis
	for rows.Next() {
		var (
			idx                  int64
			prevHash, h, payload string
		)
		if err := rows.Scan(&idx, &prevHash, &h, &payload); err != nil {
			return n, err
		}
		if idx != n {
			return n, fmt.Errorf("ledger: block %d found where %d was expected", idx, n)
		}
		if prevHash != prev {
			return n, fmt.Errorf("ledger: block %d: prev_hash %.8s…, want %.8s…", idx, prevHash, prev)
		}
		if want := Hash(idx, prevHash, payload); h != want {
			return n, fmt.Errorf("ledger: block %d: hash %.8s…, want %.8s…", idx, h, want)
		}
		prev = h
		n++
	}
	return n, rows.Err()
}
