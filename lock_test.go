package sqlite3safe

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryRefCount(t *testing.T) {
	r := registry{files: map[string]*fileState{}}
	a := r.acquire("/x", nil, nil, 0)
	b := r.acquire("/x", nil, nil, 0)
	require.Same(t, a, b)
	r.release(a, 0)
	assert.Same(t, a, r.lookup("/x"))
	r.release(b, 0)
	assert.Nil(t, r.lookup("/x"))
	assert.NotSame(t, a, r.acquire("/x", nil, nil, 0))
}
