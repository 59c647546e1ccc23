package sqlite3safe

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Read-your-own-writes on LiteFS replicas. A replica has a transaction the
// primary committed a few milliseconds later (replication is
// asynchronous), so a client that writes through the primary and then
// reads through a replica may not see its write. LiteFS keeps, beside each
// database in its mount, a position file "<db>-pos" holding the TXID of
// the last transaction the node has, in hex, and the database's checksum
// after it ("000000000000002a/8a1cf96b3f7e0d42"). The recipe:
//
//  1. on the primary, after Commit: txid, err := LiteFSTXID(path); hand
//     txid to the client (a cookie, a response header);
//  2. on the replica, before reading for that client:
//     err := WaitLiteFSTXID(ctx, path, txid).
//
// The TXID read after a commit may be a later one (another goroutine
// committed meanwhile); waiting for it waits for the commit too. The
// position file is LiteFS's, not one SQLite locks, so reading it cannot
// drop SQLite's locks.

// Polling intervals of WaitLiteFSTXID: every liteFSPollFast while the
// wait is young (replication takes a few milliseconds on a LAN), then
// every liteFSPollSlow.
const (
	liteFSPollFast    = time.Millisecond
	liteFSPollSlow    = 10 * time.Millisecond
	liteFSPollFastFor = 50 * time.Millisecond
)

// LiteFSTXID returns the TXID of the last transaction this LiteFS node has
// of the database at path (a file path, not a DSN), as LiteFS's position
// file "<path>-pos" shows it. On a database that is not in a LiteFS mount
// the error matches [io/fs.ErrNotExist].
func LiteFSTXID(path string) (uint64, error) {
	b, err := os.ReadFile(path + "-pos")
	if err != nil {
		return 0, fmt.Errorf("sqlite3-safe: reading the LiteFS position of %s: %w", path, err)
	}
	s := strings.TrimSpace(string(b))
	hex, _, ok := strings.Cut(s, "/")
	txid, err := strconv.ParseUint(hex, 16, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("sqlite3-safe: %s-pos holds %q, not a LiteFS position (TXID/checksum in hex)", path, s)
	}
	return txid, nil
}

// WaitLiteFSTXID waits until this LiteFS node has the transaction txid of
// the database at path (its position file shows txid or a later one), and
// returns nil; a read that begins after that sees the transaction. It
// looks every millisecond at first, then every 10 ms, and returns early
// with an error if ctx ends (matching ctx's error, and saying how far the
// node has got) or if the position cannot be read. On the primary, and for
// a txid the node already has, it returns at once.
//
// txid comes from [LiteFSTXID] on the primary, after the write committed.
func WaitLiteFSTXID(ctx context.Context, path string, txid uint64) error {
	start := time.Now()
	var timer *time.Timer
	for {
		have, err := LiteFSTXID(path)
		if err != nil {
			return err
		}
		if have >= txid {
			return nil
		}
		d := liteFSPollFast
		if time.Since(start) > liteFSPollFastFor {
			d = liteFSPollSlow
		}
		if timer == nil {
			timer = time.NewTimer(d)
			defer timer.Stop()
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqlite3-safe: waiting for LiteFS TXID %016x of %s, which has %016x after %v: %w",
				txid, path, have, time.Since(start).Round(time.Millisecond), ctx.Err())
		case <-timer.C:
		}
	}
}
