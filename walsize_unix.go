//go:build unix

package sqlite3safe

import (
	"os"
	"syscall"
)

// walSizer reports the size of a -wal file for the brake's samples
// without allocating: it keeps the file open and asks fstat. SQLite locks
// the database and its -shm, never the -wal, so a descriptor on the -wal
// drops no lock when it closes. A -wal that was deleted (no links left) is
// opened again by name.
//
// The file's write lock guards it: writers sample while they hold it, and
// the registry closes it once no connection is left.
type walSizer struct {
	path string   // the -wal file's name; immutable
	f    *os.File // nil until opened, or after the file went away
	fd   int
}

func (w *walSizer) size() int64 {
	for range 2 {
		if w.f == nil {
			f, err := os.Open(w.path)
			if err != nil {
				return 0
			}
			w.f, w.fd = f, int(f.Fd())
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(w.fd, &st); err == nil && st.Nlink > 0 {
			return st.Size
		}
		w.close()
	}
	return 0
}

func (w *walSizer) close() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
}
