package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ledger2 is the ledger as an independent harness that measured the
// driver wrote it, not as internal/ledger does: an INTEGER PRIMARY KEY id
// that SQLite assigns, the last row read with ORDER BY id DESC LIMIT 1,
// its hash and a random 64-byte payload hashed with SHA-256 in Go, and the
// new row inserted, one transaction per block. Nothing but the chain
// itself (each row names its predecessor's hash) shows two transactions
// that read the same last row: the id does not collide, so a lost
// serialization is a fork that Verify finds, not a constraint error.
//
// -goroutines goroutines take blocks from one budget until
// ledger2Blocks(-blocks) have been tried, a failed block counted and not
// retried.

// ledger2Schema is the harness's table.
const ledger2Schema = `CREATE TABLE chain (
	id        INTEGER PRIMARY KEY,
	prev_hash BLOB NOT NULL,
	hash      BLOB NOT NULL,
	payload   BLOB NOT NULL
)`

// ledger2PayloadSize is the size of each block's random payload.
const ledger2PayloadSize = 64

// ledger2Genesis is the prev_hash of the first row.
var ledger2Genesis = make([]byte, sha256.Size)

// ledger2Hash is a row's hash: SHA-256 over its predecessor's hash and its
// payload.
func ledger2Hash(prev, payload []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(payload)
	return h.Sum(nil)
}

// ledger2 runs the workload: -goroutines goroutines append
// opts.ledger2Blocks blocks in all, then the chain is verified.
func (b *bench) ledger2(ctx context.Context, cfg, path string, s *sample) error {
	h, err := b.open(ctx, cfg, path, 0)
	if err != nil {
		return err
	}
	defer h.Close()
	if _, err := h.w.ExecContext(ctx, ledger2Schema); err != nil {
		return fmt.Errorf("creating the table: %w", err)
	}
	total := int64(b.opts.ledger2Blocks)
	op := newOp("append")
	var (
		next atomic.Int64 // blocks taken from the budget
		wg   sync.WaitGroup
	)
	wal := startWAL(path, b.progress, func() float64 { return float64(op.attempts()) / float64(total) })
	start := time.Now()
	for gi := range b.opts.goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(3, uint64(gi)))
			payload := make([]byte, ledger2PayloadSize)
			local := newHist()
			defer op.merge(local)
			for next.Add(1) <= total {
				for i := range payload {
					payload[i] = byte(r.Uint32())
				}
				t0 := time.Now()
				if err := ledger2Append(ctx, h.w, payload); err != nil {
					op.fail(err)
					continue
				}
				record(local, time.Since(t0))
				op.ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s.WAL = wal.end()
	s.Elapsed = elapsed.Seconds()
	s.Ops = []opStats{op.stats(elapsed)}
	n, err := ledger2Verify(ctx, h.r)
	s.Chain = chainOf(n, err, op.ok.Load())
	s.Safe = snapshotSafe(h)
	s.Pools = poolsOf(h)
	s.Mem = measureMem("")
	return h.Close()
}

// ledger2Append appends one block in one transaction: read the last row,
// hash it with the payload, insert the new row.
func ledger2Append(ctx context.Context, db *sql.DB, payload []byte) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var (
		id   int64
		prev []byte
	)
	err = tx.QueryRowContext(ctx, "SELECT id, hash FROM chain ORDER BY id DESC LIMIT 1").Scan(&id, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		prev = ledger2Genesis
	case err != nil:
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO chain(prev_hash, hash, payload) VALUES (?, ?, ?)",
		prev, ledger2Hash(prev, payload), payload); err != nil {
		return err
	}
	return tx.Commit()
}

// ledger2Verify walks the chain in id order and returns the number of
// rows, or the first problem: a row whose prev_hash is not the previous
// row's hash (two transactions appended to the same row: a fork), a hash
// that does not match its row, or a payload of the wrong size.
func ledger2Verify(ctx context.Context, db *sql.DB) (int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT id, prev_hash, hash, payload FROM chain ORDER BY id")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		n        int64
		prev     = ledger2Genesis
		lastID   int64
		prevHash []byte
		hash     []byte
		payload  []byte
		id       int64
	)
	for rows.Next() {
		if err := rows.Scan(&id, &prevHash, &hash, &payload); err != nil {
			return n, err
		}
		switch {
		case !bytes.Equal(prevHash, prev):
			if n == 0 {
				return n, fmt.Errorf("ledger2: row %d, the first, does not start the chain", id)
			}
			return n, fmt.Errorf("ledger2: row %d does not follow row %d: prev_hash %x…, want %x… (a fork)", id, lastID, prevHash[:min(4, len(prevHash))], prev[:4])
		case len(payload) != ledger2PayloadSize:
			return n, fmt.Errorf("ledger2: row %d: payload of %d bytes, want %d", id, len(payload), ledger2PayloadSize)
		case !bytes.Equal(hash, ledger2Hash(prevHash, payload)):
			return n, fmt.Errorf("ledger2: row %d: hash does not match the row", id)
		}
		prev, lastID = bytes.Clone(hash), id
		n++
	}
	return n, rows.Err()
}
