//go:build cgo && unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFloorLoops runs the C floor's loops on a fresh database: every
// statement succeeds, each SELECT reads its seeded value, each INSERT adds
// a row, and the loop's time and the latencies are positive and add up.
func TestFloorLoops(t *testing.T) {
	const rows, n = 300, 500
	path := filepath.Join(t.TempDir(), "floor.db")
	f, err := openFloor(path, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if f != nil {
			f.close()
		}
	}()
	if got, err := f.count(); err != nil || got != rows {
		t.Fatalf("after seeding: %d rows, %v; want %d", got, err, rows)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no -wal file beside the floor's database (WAL mode): %v", err)
	}

	check := func(name string, r floorRound, lat []int64) {
		t.Helper()
		if r.ok != int64(len(lat)) || r.failed != 0 || r.err != nil {
			t.Fatalf("%s: %d ok, %d failed (%v); want %d ok", name, r.ok, r.failed, r.err, len(lat))
		}
		var sum int64
		for i, l := range lat {
			if l <= 0 {
				t.Fatalf("%s: latency[%d] = %d ns, want > 0", name, i, l)
			}
			sum += l
		}
		if sum != r.ns {
			t.Errorf("%s: latencies add up to %d ns, the loop took %d", name, sum, r.ns)
		}
		// Plausible: more than a nanosecond, less than 10 ms a statement
		// (generous for a loaded machine).
		if per := r.ns / int64(len(lat)); per < 1 || per > 10_000_000 {
			t.Errorf("%s: %d ns/op", name, per)
		}
	}

	next := 0
	lat := make([]int64, n)
	r := f.run(floorSelect, lat, &next, rows)
	check("select", r, lat)
	t.Logf("select: %d ns/op", r.ns/n)
	if next != n {
		t.Errorf("select: key counter %d after %d statements, want %d", next, n, n)
	}
	if want := int64(n * len("value-00001")); r.bytes != want {
		t.Errorf("select: read %d bytes, want %d (%d seeded values)", r.bytes, want, n)
	}

	r = f.run(floorInsert, lat, &next, rows)
	check("insert", r, lat)
	t.Logf("insert: %d ns/op", r.ns/n)
	if r.bytes != 0 {
		t.Errorf("insert: read %d bytes", r.bytes)
	}
	if got, err := f.count(); err != nil || got != rows+n {
		t.Errorf("after %d inserts: %d rows, %v; want %d", n, got, err, rows+n)
	}
	if err := f.close(); err != nil {
		t.Errorf("close: %v", err)
	}
	f = nil

	// A second opening of the same file fails in CREATE TABLE, and says so.
	if g, err := openFloor(path, rows); err == nil {
		g.close()
		t.Errorf("opening the floor on a file that has its table: no error")
	} else if !strings.Contains(err.Error(), "table kv already exists") {
		t.Errorf("opening the floor on a file that has its table: %v", err)
	}
}
