package benchdoc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpdateReplacesOnlyItsSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	require.NoError(t, os.WriteFile(path, []byte("a\n<!-- x:start (written by make x) -->\nold\n<!-- x:end -->\nb\n"), 0o644))
	require.NoError(t, Update(path, "x", "new\n"))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "a\n<!-- x:start (written by make x) -->\nnew\n<!-- x:end -->\nb\n", string(got))
	assert.ErrorContains(t, Update(path, "y", "z"), "no \"<!-- y:start\"")
}
