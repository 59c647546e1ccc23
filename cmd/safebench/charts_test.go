package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// committedResults is the results JSON that docs/performance.md is
// rendered from.
const committedResults = "../../docs/safebench-results.json"

// TestChartsFromCommittedResults draws the committed results: every op has
// its own throughput panel (a slow op's bars do not vanish beside a fast
// one's), each WAL panel says which run it plots, and starve's WAL panel is
// drawn against sqlite3-safe's limit, naming the lines that leave it.
func TestChartsFromCommittedResults(t *testing.T) {
	r, err := loadReport(committedResults)
	if err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(t.TempDir(), "r.svg")
	if err := r.writeCharts(svg); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"mixed: write throughput", "mixed: read throughput", "starve: read throughput",
		"mixed: WAL size over time", fmt.Sprintf("the run (of %d) with the median peak:", r.Settings.Count),
		"starve: WAL against sqlite3-safe", "off the top (peak): sqlite3-tuned ",
		"WAL file (MiB, linear)", "WAL file (MiB, log scale)",
	} {
		if !strings.Contains(string(data), strings.ReplaceAll(want, "'", "&#39;")) {
			t.Errorf("the charts do not contain %q", want)
		}
	}
}
