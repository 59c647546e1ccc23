package sqlite3safe

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// Databases reached through ATTACH. A connection's wal_autocheckpoint=0
// holds for every database attached to it, so without help the WAL of an
// attached WAL database would grow without bound. The connection's file's
// checkpointer keeps it bounded as it does the file's own: writes to an
// attached database take the file's write lock (the connection's), so the
// checkpointer's holds and the writers' brake stop them just the same.
// The connection tells its file which databases it has attached
// (syncAttached): when it opens (a ConnectHook may attach), and after
// each write once it has run an ATTACH (a DETACH is a write). The list is
// read from SQLite (sqlite3_db_name, sqlite3_db_filename), never by a
// statement of ours.

// attachedSet is the databases a file's connections have attached.
type attachedSet struct {
	mu    sync.Mutex                     // guards byKey and every member's refs
	byKey map[string]*attachedWAL        // canonical path of the attached file -> its WAL
	snap  atomic.Pointer[[]*attachedWAL] // byKey's members, for writers' samples and the checkpointer; replaced on change
}

// attachedWAL is the WAL of one attached database file.
type attachedWAL struct {
	walState
	key     string // the attached file's canonical path; immutable
	walPath string // its -wal file; immutable
	refs    int    // guarded by attachedSet.mu: connections that have it attached
}

// all returns the attached databases now; the caller must not change the
// slice.
func (s *attachedSet) all() []*attachedWAL {
	if p := s.snap.Load(); p != nil {
		return *p
	}
	return nil
}

// add counts one more connection that has the file at key attached.
func (s *attachedSet) add(key string) *attachedWAL {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byKey[key]
	if a == nil {
		if s.byKey == nil {
			s.byKey = make(map[string]*attachedWAL)
		}
		a = &attachedWAL{key: key, walPath: key + "-wal"}
		s.byKey[key] = a
		s.publishLocked()
	}
	a.refs++
	return a
}

// remove counts one connection fewer that has a attached.
func (s *attachedSet) remove(a *attachedWAL) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.refs--
	if a.refs == 0 {
		delete(s.byKey, a.key)
		s.publishLocked()
	}
}

func (s *attachedSet) publishLocked() {
	list := make([]*attachedWAL, 0, len(s.byKey))
	for _, a := range s.byKey {
		list = append(list, a)
	}
	s.snap.Store(&list)
}

// syncAttached brings the databases c has told its file about in line
// with those SQLite has attached on c: on disk, writable, and not the main
// file under another name. Every connection of a WAL file tells it, as
// every writer of the file brakes for its WAL limit. The common call finds
// nothing changed: one call into SQLite and no allocation.
func (c *conn) syncAttached() {
	if !c.wal {
		return
	}
	c.attachBuf = c.attachedFiles(c.attachBuf[:0])
	if bytes.Equal(c.attachBuf, c.attachNames) {
		return
	}
	c.attachNames = append(c.attachNames[:0], c.attachBuf...)
	c.mayAttach = c.mayAttach || len(c.attachNames) > 0
	var keep []*attachedWAL
	for name := range strings.SplitSeq(string(c.attachNames), "\x00") {
		if name == "" {
			continue
		}
		key := canonicalPath(name)
		if c.isMainFile(key) || hasKey(keep, key) {
			continue
		}
		var a *attachedWAL
		for i, old := range c.attachedDBs {
			if old != nil && old.key == key {
				a, c.attachedDBs[i] = old, nil
				break
			}
		}
		if a == nil {
			a = c.file.attached.add(key)
		}
		keep = append(keep, a)
	}
	c.releaseAttached()
	c.attachedDBs = keep
}

// releaseAttached tells c's file that c has none of its attached
// databases any more.
func (c *conn) releaseAttached() {
	for _, a := range c.attachedDBs {
		if a != nil {
			c.file.attached.remove(a)
		}
	}
	c.attachedDBs = nil
}

// isMainFile reports whether the file at key (a canonical path) is c's
// main database file.
func (c *conn) isMainFile(key string) bool {
	if key == c.file.key {
		return true
	}
	if c.file.id == nil {
		return false
	}
	id, err := os.Stat(key) // no descriptor
	return err == nil && sameFile(id, c.file.id)
}

func hasKey(list []*attachedWAL, key string) bool {
	for _, a := range list {
		if a.key == key {
			return true
		}
	}
	return false
}
