package alertexporter

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"
)

// TestReadmeExamples validates the exporter of each README example (the whole configurations are validated by the
// built binary in test/).
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	require.Len(t, blocks, 3)
	for _, b := range blocks {
		var doc struct {
			Exporters map[string]map[string]any `yaml:"exporters"`
		}
		require.NoError(t, yaml.Unmarshal(b[1], &doc))
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, confmap.NewFromStringMap(doc.Exporters["alert"]).Unmarshal(cfg))
		require.NoError(t, xconfmap.Validate(cfg))
	}
}
