package correlationconnector

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"
)

// TestReadmeExample validates the connector of the README's example (the whole configuration is validated by the
// built binary in test/, as every component README's are).
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	require.Len(t, blocks, 1)
	var doc struct {
		Connectors map[string]map[string]any `yaml:"connectors"`
	}
	require.NoError(t, yaml.Unmarshal(blocks[0][1], &doc))
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(doc.Connectors["correlation"]).Unmarshal(cfg))
	require.NoError(t, xconfmap.Validate(cfg))
}
