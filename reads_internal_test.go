//go:build cgo

package sqlite3safe

import (
	"sync"
	"testing"
	"time"
)

// TestReadMarkNamesTheOpenRead: the mark gives the start and statement of
// the read open now, not of an earlier one, however the statements
// alternate, and nothing once the read has ended.
func TestReadMarkNamesTheOpenRead(t *testing.T) {
	var m readMark
	if _, ok := m.get(); ok {
		t.Fatal("a new mark has a read open")
	}
	for i, q := range []string{"SELECT 1", "SELECT 1", "SELECT 2", "SELECT 1", "SELECT 1"} {
		since := int64(1_000_000 * (i + 1))
		site := ""
		if i == 4 {
			site = "here.go:1"
		}
		m.begin(since, q, site)
		r, ok := m.get()
		if !ok || r.query != q || r.site != site || !r.since.Equal(time.Unix(0, since)) {
			t.Errorf("read %d (%q): mark %+v, %v", i, q, r, ok)
		}
		m.end()
		if r, ok := m.get(); ok {
			t.Errorf("read %d ended, mark still open: %+v", i, r)
		}
	}
}

// TestReadMarkConcurrentGet: the checkpointer reads marks while their
// connection writes them (run under -race); what it reads is always one
// of the statements begun, with a start that was published.
func TestReadMarkConcurrentGet(t *testing.T) {
	var m readMark
	queries := []string{"SELECT a", "SELECT b"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r, ok := m.get(); ok && (r.query != queries[0] && r.query != queries[1] || r.since.UnixNano() <= 0) {
				t.Errorf("mark %+v: not a read that began", r)
				return
			}
		}
	}()
	for i := range 20000 {
		m.begin(int64(i+1), queries[i%7%2], "")
		m.end()
	}
	close(stop)
	wg.Wait()
}
