package anomalyprocessor

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelstrata/strata/internal/conftest"
)

// TestReadmeExample validates the README's example and checks which metrics it watches.
func TestReadmeExample(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	conftest.Load(t, conftest.ReadmeExample(t, "processors", 1, 0, "anomaly"), cfg)
	require.True(t, cfg.watches("system.cpu.load_average.15m"))
	require.False(t, cfg.watches("system.network.io.errors"))
}
