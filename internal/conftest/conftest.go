// Package conftest loads the configurations a component documents and tests — the YAML examples of its README.md
// and the named instances of its testdata/config.yaml — and fails the test unless each is valid.
package conftest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"
)

var (
	yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	// optionRow is a row of an options table: | `key` | `default` | ...
	optionRow = regexp.MustCompile("(?m)^\\| `([a-z_][a-z0-9_.]*)` \\| `([^`]+)`")
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

// DocumentedDefaults checks the defaults that README.md's option tables give (rows of the form | `key` | `value` |,
// nested keys dotted) against the component's default configuration: each documented value, set over a new
// default configuration, must leave it unchanged. Rows whose key the default configuration does not have at that
// path (options of a list's elements, metrics) are not checked; it returns how many rows were.
func DocumentedDefaults(t testing.TB, createDefault func() component.Config) int {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	defaults := confmap.New()
	require.NoError(t, defaults.Marshal(createDefault()))
	checked := 0
	for _, row := range optionRow.FindAllSubmatch(readme, -1) {
		key, value := strings.ReplaceAll(string(row[1]), ".", confmap.KeyDelimiter), row[2]
		if !defaults.IsSet(key) {
			continue
		}
		var v any
		if err := yaml.Unmarshal(value, &v); err != nil {
			t.Errorf("README.md: the default of %s, %s, is not YAML: %v", row[1], value, err)
			continue
		}
		nested := map[string]any{}
		parts := strings.Split(key, confmap.KeyDelimiter)
		m := nested
		for _, p := range parts[:len(parts)-1] {
			m[p] = map[string]any{}
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = v
		cfg := createDefault()
		if err := confmap.NewFromStringMap(nested).Unmarshal(cfg); err != nil {
			t.Errorf("README.md: the default of %s, %s: %v", row[1], value, err)
			continue
		}
		assert.Equal(t, createDefault(), cfg, "README.md documents %s's default as %s", row[1], value)
		checked++
	}
	return checked
}
