package anomalyprocessor

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelstrata/strata/internal/readmetest"
)

// TestReadmeExample validates the README's example and checks which metrics it watches.
func TestReadmeExample(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	readmetest.Load(t, readmetest.Example(t, "processors", 1, 0, "anomaly"), cfg)
	require.True(t, cfg.watches("system.cpu.load_average.15m"))
	require.False(t, cfg.watches("system.network.io.errors"))
}
