package anomalyprocessor

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"
)

// TestReadmeExample validates the README's example.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	require.Len(t, blocks, 1)
	var doc struct {
		Processors map[string]map[string]any `yaml:"processors"`
	}
	require.NoError(t, yaml.Unmarshal(blocks[0][1], &doc))
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(doc.Processors["anomaly"]).Unmarshal(cfg))
	require.NoError(t, xconfmap.Validate(cfg))
	require.True(t, cfg.watches("system.cpu.load_average.15m"))
	require.False(t, cfg.watches("system.network.io.errors"))
}
