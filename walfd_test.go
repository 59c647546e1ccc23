//go:build cgo

package sqlite3safe_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sqlite3safe/sqlite3safe"
)

// The descriptor writers keep on the -wal goes with the file's last
// connection.
func TestWALDescriptorClosedWithLastConnection(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/fd")
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	path := filepath.Join(dir, "w.db")
	onWAL := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		n := 0
		for _, e := range ents {
			if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && (l == path+"-wal" || l == path+"-wal (deleted)") {
				n++
			}
		}
		return n
	}
	db := openDB(t, sqlite3safe.DriverName, path+"?_safe_wal_limit=4096")
	mustExec(t, db, "CREATE TABLE t(x)")
	for range 64 {
		mustExec(t, db, "INSERT INTO t VALUES (randomblob(1000))")
	}
	t.Logf("descriptors on the -wal while open: %d", onWAL())
	require.NoError(t, db.Close())
	assert.Zero(t, onWAL(), "descriptors left on the -wal after the last connection closed")
}
