//go:build cgo

package sqlite3safe

import (
	"context"
	"database/sql"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAttachedSetFollowsAttachAndDetach: the databases a file's
// checkpointer looks after are those its connections have attached now:
// on disk, writable, not the main file under another name; a DETACH or
// the connection's close lets them go.
func TestAttachedSetFollowsAttachAndDetach(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	path := filepath.Join(dir, "main.db")
	db, err := sql.Open(DriverName, "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxIdleConns(0) // a connection given back is closed
	ctx := context.Background()
	c1, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c1.Close()
	c2, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c2.Close()
	exec := func(c *sql.Conn, q string, args ...any) {
		t.Helper()
		_, err := c.ExecContext(ctx, q, args...)
		require.NoError(t, err, q)
	}
	exec(c1, "CREATE TABLE t(x)")
	f := files.lookup(path)
	require.NotNil(t, f)
	attached := func() []string {
		var keys []string
		for _, a := range f.attached.all() {
			keys = append(keys, filepath.Base(a.key))
		}
		sort.Strings(keys)
		return keys
	}
	a, b, ro := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db"), filepath.Join(dir, "ro.db")
	exec(c1, "ATTACH ? AS a", a)
	exec(c1, "CREATE TABLE a.t(x)") // makes the files
	exec(c1, "ATTACH ? AS b; CREATE TABLE b.t(x)", b)
	exec(c1, "ATTACH ? AS ro; CREATE TABLE ro.t(x)", ro)
	exec(c1, "DETACH ro")
	assert.Equal(t, []string{"a.db", "b.db"}, attached())

	exec(c1, "ATTACH ? AS ro", "file:"+ro+"?mode=ro")              // read-only: nothing to checkpoint
	exec(c1, "ATTACH ':memory:' AS mem")                           // not on disk
	exec(c1, "ATTACH '' AS tmp")                                   // a temporary database
	exec(c1, "ATTACH ? AS again", path)                            // the main file: its own checkpoints
	exec(c1, "ATTACH ? AS twice", filepath.Join(dir, ".", "a.db")) // one file, one WAL
	exec(c2, "ATTACH ? AS a", a)
	assert.Equal(t, []string{"a.db", "b.db"}, attached())

	exec(c1, "DETACH a")
	exec(c1, "DETACH twice")
	assert.Equal(t, []string{"a.db", "b.db"}, attached(), "c2 still has a.db attached")
	require.NoError(t, c2.Close())
	assert.Equal(t, []string{"b.db"}, attached(), "c2's close let a.db go")
	exec(c1, "DETACH b")
	assert.Empty(t, attached())
	exec(c1, "ATTACH ? AS a", a)
	assert.Equal(t, []string{"a.db"}, attached())
	require.NoError(t, c1.Close())
	assert.Empty(t, attached(), "the close let every attached database go")
}
