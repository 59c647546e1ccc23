//go:build !unix

package sqlite3safe

// walSizer reports the size of a -wal file for the brake's samples. Where
// there is no fstat it stats the name each time (on Windows an open
// handle could keep SQLite from deleting the file).
type walSizer struct {
	path string // the -wal file's name; immutable
}

func (w *walSizer) size() int64 { return fileSize(w.path) }

func (w *walSizer) close() {}
