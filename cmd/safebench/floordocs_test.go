package main

import (
	"strings"
	"testing"
)

// TestFragOverheadFloor renders the floor's sentence from made-up numbers,
// and says it was not measured when the results have no floor (results of
// an older safebench, or a build without cgo).
func TestFragOverheadFloor(t *testing.T) {
	mk := func(cfg, op string, ns float64) summary {
		return summary{Workload: "overhead", Config: cfg, Op: op, Runs: 1, NsPerOp: spread{Median: ns, N: 1}}
	}
	r := &report{opts: &options{}, Summaries: []summary{
		mk("sqlite3-wal", "select", 5000), mk("sqlite3-safe", "select", 4000),
		mk("sqlite3-wal", "insert", 12000), mk("sqlite3-safe", "insert", 9000),
		mk("sqlite3-wal", "select-stmt", 3000), mk("sqlite3-safe", "select-stmt", 3800),
		mk("sqlite3-wal", "insert-stmt", 11000), mk("sqlite3-safe", "insert-stmt", 8800),
	}}
	if got, err := fragOverheadFloor(r); err != nil || got != "not measured in this run" {
		t.Errorf("without the floor: %q, %v; want \"not measured in this run\"", got, err)
	}
	if strings.Contains(r.workloadTitle("overhead"), floorConfig) {
		t.Errorf("without the floor the title names it: %q", r.workloadTitle("overhead"))
	}
	r.Summaries = append(r.Summaries,
		mk(floorConfig, "select", 2000), mk(floorConfig, "insert", 8000),
		mk(floorConfig, "select-stmt", 1900), mk(floorConfig, "insert-stmt", 8000))
	got, err := fragOverheadFloor(r)
	if err != nil {
		t.Fatal(err)
	}
	want := "the same statements in C, prepared once: select 2.00us, insert 8.00us; " +
		"sqlite3-safe's ns/op over the floor's: select-stmt 2.00×, insert-stmt 1.10×, select 2.00×, insert 1.12×; " +
		"sqlite3-wal's ns/op over the floor's: select-stmt 1.58×, insert-stmt 1.38×, select 2.50×, insert 1.50×"
	if got != want {
		t.Errorf("with the floor:\n got  %q\n want %q", got, want)
	}
	if !strings.Contains(r.workloadTitle("overhead"), floorConfig) {
		t.Errorf("with the floor the title does not name it: %q", r.workloadTitle("overhead"))
	}
}
