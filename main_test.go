//go:build cgo

package sqlite3safe_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a
// connection opener, a lock waiter, a checkpointer. When the test binary
// is re-executed as a child process (process_test.go), it runs the child's
// part instead.
func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}
