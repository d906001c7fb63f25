package netprobereceiver

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"
)

// TestReadmeExamples loads the netprobe section of every YAML example in the README and validates it.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	require.NotEmpty(t, blocks)
	for _, block := range blocks {
		var doc struct {
			Receivers map[string]map[string]any `yaml:"receivers"`
		}
		require.NoError(t, yaml.Unmarshal(block[1], &doc))
		raw, ok := doc.Receivers["netprobe"]
		require.True(t, ok, "a README example without a netprobe receiver:\n%s", block[1])
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
		require.NoError(t, xconfmap.Validate(cfg))
	}
}
