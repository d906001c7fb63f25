// Package conftest loads the configurations a component documents and tests — the YAML examples of its README.md
// and the named instances of its testdata/config.yaml — and fails the test unless each is valid.
package conftest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"
)

var (
	yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	envRef    = regexp.MustCompile(`\$\{env:[A-Z_][A-Z0-9_]*\}`)
)

// ReadmeExamples returns, for each YAML block of README.md in the working directory, the configurations of its components
// of one kind ("receivers", "processors", "connectors" or "exporters") by component ID. It fails the test unless
// the README has exactly want blocks. A ${env:NAME} reference reads as the word "example", as a set variable would.
func ReadmeExamples(t testing.TB, kind string, want int) []map[string]map[string]any {
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

// ReadmeExample returns the configuration of component id in the README's i-th YAML example (see ReadmeExamples).
func ReadmeExample(t testing.TB, kind string, want, i int, id string) map[string]any {
	t.Helper()
	raw, ok := ReadmeExamples(t, kind, want)[i][id]
	require.True(t, ok, "README example %d has no %s %q", i, kind, id)
	return raw
}

// Named returns the default configuration cfg with the instance id (such as "sampling/full") of
// testdata/config.yaml unmarshalled over it, and fails the test unless the result is valid.
func Named[C component.Config](t testing.TB, id string, cfg C) C {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	_, ok := cm.ToStringMap()[id]
	require.True(t, ok, "testdata/config.yaml has no %s", id)
	sub, err := cm.Sub(id)
	require.NoError(t, err)
	Load(t, sub.ToStringMap(), cfg)
	return cfg
}

// Load unmarshals raw over cfg, a component's default configuration, and fails the test unless the result is valid.
func Load(t testing.TB, raw map[string]any, cfg component.Config) {
	t.Helper()
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, xconfmap.Validate(cfg))
}
