//go:build cgo

package sqlite3safe

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One lock per file means per file, not per path spelling: on a
// case-insensitive file system "Data.db" and "data.db" are one file, and
// no spelling (relative, symlinked, case-changed) can tell that; the
// file's identity can.

// caseFoldSameFile stands for a case-insensitive file system: names that
// differ only in case are one file.
func caseFoldSameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) || strings.EqualFold(a.Name(), b.Name())
}

// checkOneLock opens sqlite3-safe on both paths, which must be one file,
// and checks that they share the write lock, the statistics and the
// registry entry, and that the entry goes with the last connection.
func checkOneLock(t *testing.T, p1, p2 string) {
	t.Helper()
	db1, err := sql.Open(DriverName, p1+"?_safe_lock_timeout=0")
	require.NoError(t, err)
	defer db1.Close()
	db2, err := sql.Open(DriverName, p2+"?_safe_lock_timeout=0")
	require.NoError(t, err)
	defer db2.Close()
	// Both: under the injected identity check the two are really two
	// files that share one lock.
	for _, db := range []*sql.DB{db1, db2} {
		_, err = db.Exec("CREATE TABLE IF NOT EXISTS t(x)")
		require.NoError(t, err)
	}

	ctx := context.Background()
	tx, err := db1.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	_, err = db2.Exec("INSERT INTO t VALUES (2)")
	require.Error(t, err, "a second writer got in: two locks for one file")
	assert.True(t, errors.Is(err, ErrLockTimeout), "want the in-process lock timeout, got %v", err)
	require.NoError(t, tx.Commit())
	_, err = db2.Exec("INSERT INTO t VALUES (2)")
	require.NoError(t, err)

	s1, err := Stats(db1)
	require.NoError(t, err)
	s2, err := Stats(db2)
	require.NoError(t, err)
	assert.Equal(t, s1.Path, s2.Path, "one file, one entry")
	assert.Equal(t, s1.LockTimeouts, s2.LockTimeouts)
	assert.Equal(t, int64(1), s2.LockTimeouts)

	require.NoError(t, db1.Close())
	require.NoError(t, db2.Close())
	files.mu.Lock()
	defer files.mu.Unlock()
	for k, f := range files.files {
		assert.NotEqual(t, s1.Path, f.key, "entry %s left after the last connection closed", k)
	}
}

// TestCaseSpellingsShareOneLock uses an injected identity check that makes
// names differing in case one file, as on macOS and Windows by default.
func TestCaseSpellingsShareOneLock(t *testing.T) {
	setSameFile := func(f func(a, b os.FileInfo) bool) (old func(a, b os.FileInfo) bool) {
		files.mu.Lock() // acquire reads sameFile under it
		defer files.mu.Unlock()
		old, sameFile = sameFile, f
		return old
	}
	orig := setSameFile(caseFoldSameFile)
	defer func() { setSameFile(orig) }()
	dir := t.TempDir()
	checkOneLock(t, filepath.Join(dir, "Data.db"), filepath.Join(dir, "data.db"))
}

// TestCaseSpellingsShareOneLockOnCaseInsensitiveFS does the same on a real
// case-insensitive file system: the temporary directory if it is one (macOS,
// Windows), else, as root on Linux, a tmpfs mounted with casefold.
func TestCaseSpellingsShareOneLockOnCaseInsensitiveFS(t *testing.T) {
	dir := t.TempDir()
	if !caseInsensitive(t, dir) {
		dir = mountCaseFold(t)
	}
	checkOneLock(t, filepath.Join(dir, "Data.db"), filepath.Join(dir, "data.db"))
}

func caseInsensitive(t *testing.T, dir string) bool {
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Probe"), nil, 0o600))
	_, err := os.Stat(filepath.Join(dir, "pROBE"))
	return err == nil
}

// mountCaseFold mounts a case-insensitive tmpfs and returns a
// case-folding directory on it, or skips the test.
func mountCaseFold(t *testing.T) string {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("skipped: the temporary directory is case-sensitive, and mounting a case-insensitive file system needs root on Linux")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "casefold,size=16m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("skipped: the temporary directory is case-sensitive and no case-insensitive file system can be mounted here "+
			"(tmpfs -o casefold needs Linux 6.13 with CONFIG_UNICODE): %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	dir := filepath.Join(mnt, "d")
	require.NoError(t, os.Mkdir(dir, 0o755))
	if out, err := exec.Command("chattr", "+F", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: chattr +F (case folding) on %s: %v %s", dir, err, out)
	}
	require.True(t, caseInsensitive(t, dir), "casefold directory is case-sensitive")
	return dir
}

// TestRegistryKeysByIdentity: spellings of one file (by identity) share an
// entry, the entry keeps the first path for messages, a file replaced
// under its path (deleted and created again: a new identity) gets an entry
// of its own, and releasing the old entry leaves the new one in place.
func TestRegistryKeysByIdentity(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	require.NoError(t, os.WriteFile(a, nil, 0o600))
	require.NoError(t, os.Link(a, b)) // one file, two names
	stat := func(p string) os.FileInfo {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		return fi
	}
	r := registry{files: map[string]*fileState{}}
	fa := r.acquire(a, stat(a), nil, 0)
	fb := r.acquire(b, stat(b), nil, 0)
	require.Same(t, fa, fb, "two names of one file: one entry")
	assert.Equal(t, a, fb.key, "the entry keeps the first path")
	require.Same(t, fa, r.acquire(b, stat(b), nil, 0), "the alias is found by path")

	// Replace a: a new file under the same name.
	require.NoError(t, os.Remove(a))
	require.NoError(t, os.WriteFile(a, nil, 0o600))
	fa2 := r.acquire(a, stat(a), nil, 0)
	require.NotSame(t, fa, fa2, "a replaced file is another file")
	assert.Same(t, fa2, r.lookup(a))
	assert.Same(t, fa, r.lookup(b), "b still names the old file")

	for range 3 {
		r.release(fa, 0)
	}
	assert.Same(t, fa2, r.lookup(a), "releasing the old entry left the new one")
	assert.Nil(t, r.lookup(b))
	r.release(fa2, 0)
	assert.Empty(t, r.files)

	// No identity (an in-memory database, a failed stat): by key alone.
	m1 := r.acquire("memory:x", nil, nil, 0)
	require.Same(t, m1, r.acquire("memory:x", nil, nil, 0))
	r.release(m1, 0)
	r.release(m1, 0)
	assert.Empty(t, r.files)
}
