package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// columns splits a table line into its cells (separated by two or more
// spaces; cells never contain two in a row).
var columns = regexp.MustCompile(`\s{2,}`)

func TestRunSmall(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"-goroutines", "10", "-blocks", "5", "-dir", t.TempDir()}, &stdout, &stderr)
	t.Logf("stdout:\n%s", &stdout)
	if code != 0 {
		t.Fatalf("exit status %d, want 0; stderr: %s", code, &stderr)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		cells := columns.Split(strings.TrimSpace(line), -1)
		if len(cells) == 6 {
			rows[cells[0]] = cells
		}
	}
	if _, ok := rows["sqlite3"]; !ok {
		t.Errorf("no sqlite3 row in the table")
	}
	safe, ok := rows["sqlite3-safe"]
	if !ok {
		t.Fatalf("no sqlite3-safe row in the table")
	}
	if got, want := safe[1], "50/50"; got != want {
		t.Errorf("sqlite3-safe committed %s, want %s", got, want)
	}
	if got := safe[3]; got != "0" {
		t.Errorf("sqlite3-safe errors %s, want 0 (first error: %s)", got, safe[5])
	}
	if got, want := safe[4], "yes (50 blocks)"; got != want {
		t.Errorf("sqlite3-safe chain intact %q, want %q", got, want)
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"-goroutines", "0"}, "-goroutines"},
		{[]string{"-goroutines", "-3"}, "-goroutines"},
		{[]string{"-blocks", "0"}, "-blocks"},
		{[]string{"-blocks", "x"}, "-blocks"},
		{[]string{"-nosuch"}, "-nosuch"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != 2 {
			t.Errorf("run(%q) = %d, want 2", tc.args, code)
		}
		msg := stderr.String()
		if !strings.Contains(msg, tc.flag) {
			t.Errorf("run(%q) stderr %q does not name %s", tc.args, msg, tc.flag)
		}
		if strings.Count(strings.TrimSuffix(msg, "\n"), "\n") != 0 {
			t.Errorf("run(%q) stderr is not one line: %q", tc.args, msg)
		}
		if stdout.Len() != 0 {
			t.Errorf("run(%q) wrote to stdout: %q", tc.args, &stdout)
		}
	}
}
