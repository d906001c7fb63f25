package authlogreceiver

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"
)

// TestReadmeExamples loads every authlog receiver of every YAML example in the README and validates it.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	require.Len(t, blocks, 2)
	for _, block := range blocks {
		var doc struct {
			Receivers map[string]map[string]any `yaml:"receivers"`
		}
		require.NoError(t, yaml.Unmarshal(block[1], &doc))
		require.NotEmpty(t, doc.Receivers)
		for id, raw := range doc.Receivers {
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg), id)
			require.NoError(t, xconfmap.Validate(cfg), id)
		}
	}
}
