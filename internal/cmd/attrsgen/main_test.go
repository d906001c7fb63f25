package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedFilesAreCurrent fails when a component's generated file differs from what attrsgen writes (run
// `make generate`).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for _, component := range []string{"receiver/kpireceiver", "receiver/netprobereceiver"} {
		got, err := os.ReadFile(filepath.Join("..", "..", "..", component, "internal", "metadata", fileName))
		require.NoError(t, err)
		require.Equal(t, source, string(got), component)
	}
}
