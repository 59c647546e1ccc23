package sqlite3safe_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// These tests write LiteFS's position file by hand, as LiteFS has it
// ("<db>-pos": TXID/checksum in hex, a newline); integration/litefs_test.go
// runs a real cluster.

func writePos(t *testing.T, path string, txid uint64) {
	t.Helper()
	require.NoError(t, writePosFile(path, txid))
}

// writePosFile writes and renames, so that a reader never sees half a file.
func writePosFile(path string, txid uint64) error {
	pos := fmt.Sprintf("%016x/%016x\n", txid, 0x8a1cf96b3f7e0d42^txid)
	tmp := path + "-pos.tmp"
	if err := os.WriteFile(tmp, []byte(pos), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path+"-pos")
}

func TestLiteFSTXID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")

	_, err := sqlite3safe.LiteFSTXID(path)
	require.ErrorIs(t, err, fs.ErrNotExist, "not on LiteFS")
	assert.True(t, strings.HasPrefix(err.Error(), "sqlite3-safe: "), err.Error())

	writePos(t, path, 0x2a)
	txid, err := sqlite3safe.LiteFSTXID(path)
	require.NoError(t, err)
	assert.Equal(t, uint64(42), txid)

	require.NoError(t, os.WriteFile(path+"-pos", []byte("garbage\n"), 0o644))
	_, err = sqlite3safe.LiteFSTXID(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"garbage"`)
}

func TestWaitLiteFSTXID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	writePos(t, path, 10)
	ctx := context.Background()

	// Already there: at once.
	require.NoError(t, sqlite3safe.WaitLiteFSTXID(ctx, path, 9))
	require.NoError(t, sqlite3safe.WaitLiteFSTXID(ctx, path, 10))

	// Arrives later: returns once it is there, not before.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for txid := uint64(11); txid <= 15; txid++ {
			time.Sleep(5 * time.Millisecond)
			assert.NoError(t, writePosFile(path, txid)) // not require: this is not the test's goroutine
		}
	}()
	require.NoError(t, sqlite3safe.WaitLiteFSTXID(ctx, path, 15))
	txid, err := sqlite3safe.LiteFSTXID(path)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, txid, uint64(15))
	wg.Wait()

	// Never arrives: the context ends the wait, and the error says how far
	// the node got.
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = sqlite3safe.WaitLiteFSTXID(dctx, path, 99)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "0000000000000063")
	assert.Contains(t, err.Error(), "000000000000000f")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, sqlite3safe.WaitLiteFSTXID(cctx, path, 99), context.Canceled)

	// Not on LiteFS: no wait, the read's error.
	err = sqlite3safe.WaitLiteFSTXID(ctx, filepath.Join(t.TempDir(), "plain.db"), 1)
	require.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
}
