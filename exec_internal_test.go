//go:build cgo

package sqlite3safe

import "testing"

// TestOneStatement: only text with no semicolon before its trailing ones
// and white space counts as one statement (the canceller's path); a
// semicolon anywhere else sends the text to go-sqlite3 as it is.
func TestOneStatement(t *testing.T) {
	for _, tc := range []struct {
		query string
		one   bool
	}{
		{"INSERT INTO t VALUES (?)", true},
		{"INSERT INTO t VALUES (?);", true},
		{"INSERT INTO t VALUES (?) ; ;\n\t", true},
		{"", true},
		{"INSERT INTO t VALUES (?); INSERT INTO t VALUES (?)", false},
		{"INSERT INTO t VALUES (?); -- a comment", false},
		{"INSERT INTO t VALUES (';')", false}, // a literal: answered conservatively
		{";SELECT 1", false},
	} {
		if got := oneStatement(tc.query); got != tc.one {
			t.Errorf("oneStatement(%q) = %v, want %v", tc.query, got, tc.one)
		}
	}
}
