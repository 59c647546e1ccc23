package sqlite3safe_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a
// connection opener, a lock waiter, a checkpointer.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
