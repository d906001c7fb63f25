// Package readmetest reads the YAML examples of a component's README.md, so that each component's tests can check
// that every example it documents is a valid configuration.
package readmetest

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"
)

var (
	yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	envRef    = regexp.MustCompile(`\$\{env:[A-Z_][A-Z0-9_]*\}`)
)

// Examples returns, for each YAML block of README.md in the working directory, the configurations of its components
// of one kind ("receivers", "processors", "connectors" or "exporters") by component ID. It fails the test unless
// the README has exactly want blocks. A ${env:NAME} reference reads as the word "example", as a set variable would.
func Examples(t testing.TB, kind string, want int) []map[string]map[string]any {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := yamlBlock.FindAllSubmatch(readme, -1)
	require.Len(t, blocks, want, "YAML examples in README.md")
	examples := make([]map[string]map[string]any, len(blocks))
	for i, b := range blocks {
		var doc map[string]yaml.Node
		require.NoError(t, yaml.Unmarshal(envRef.ReplaceAll(b[1], []byte("example")), &doc), "README example %d", i)
		node := doc[kind]
		require.NoError(t, node.Decode(&examples[i]), "README example %d: %s", i, kind)
		require.NotEmpty(t, examples[i], "README example %d has no %s", i, kind)
		for id, raw := range examples[i] {
			if raw == nil { // a component with no settings, as in `debug:`
				examples[i][id] = map[string]any{}
			}
		}
	}
	return examples
}

// Example returns the configuration of component id in the README's i-th YAML example (see Examples).
func Example(t testing.TB, kind string, want, i int, id string) map[string]any {
	t.Helper()
	raw, ok := Examples(t, kind, want)[i][id]
	require.True(t, ok, "README example %d has no %s %q", i, kind, id)
	return raw
}

// Load unmarshals raw over cfg, a component's default configuration, and fails the test unless the result is valid.
func Load(t testing.TB, raw map[string]any, cfg component.Config) {
	t.Helper()
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, xconfmap.Validate(cfg))
}
