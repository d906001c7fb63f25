package layout

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the repository's root, from this package's directory.
const root = "../.."

// module is the module path of the repository.
const module = "github.com/otelstrata/strata"

// classes are the folders of components, one per class.
var classes = []string{"receiver", "processor", "connector", "exporter"}

// componentFiles are the files every component has (DESIGN.md §3): its configuration and factory with their tests,
// the named instances its config test loads, its README and mdatagen's metadata with what mdatagen makes of it.
var componentFiles = []string{
	"config.go", "config_test.go", "testdata/config.yaml",
	"factory.go", "factory_test.go",
	"doc.go", "README.md", "metadata.yaml", "documentation.md",
	"generated_component_test.go", "generated_package_test.go",
	"internal/metadata/generated_status.go", "internal/metadata/generated_telemetry.go",
	"readme_test.go",
}

// components returns the directories of Strata's components, relative to the root.
func components(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, class := range classes {
		entries, err := os.ReadDir(filepath.Join(root, class))
		require.NoError(t, err)
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(class, e.Name()))
			}
		}
	}
	require.Len(t, dirs, 7, "Strata's seven components")
	return dirs
}

func TestEveryComponentHasTheSameFiles(t *testing.T) {
	for _, dir := range components(t) {
		for _, f := range componentFiles {
			_, err := os.Stat(filepath.Join(root, dir, f))
			assert.NoError(t, err, "%s has no %s", dir, f)
		}
	}
}

// TestMetadataIsGenerated: a component's internal/metadata holds what mdatagen (or internal/cmd/attrsgen) writes,
// nothing written by hand.
func TestMetadataIsGenerated(t *testing.T) {
	for _, dir := range components(t) {
		entries, err := os.ReadDir(filepath.Join(root, dir, "internal", "metadata"))
		require.NoError(t, err)
		for _, e := range entries {
			name := e.Name()
			generated := strings.HasPrefix(name, "generated_") || name == "config.schema.yaml" || name == "testdata"
			assert.True(t, generated, "%s/internal/metadata/%s is not generated", dir, name)
		}
	}
}

// TestLayering: no component imports another, and internal/ imports no component (its packages serve them all).
func TestLayering(t *testing.T) {
	dirs := components(t)
	isComponent := func(path string) (string, bool) {
		for _, d := range dirs {
			p := module + "/" + filepath.ToSlash(d)
			if path == p || strings.HasPrefix(path, p+"/") {
				return d, true
			}
		}
		return "", false
	}
	check := func(dir string, allowed func(importer, imported string) bool) {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if c, ok := isComponent(p); ok && !allowed(dir, c) {
					t.Errorf("%s imports %s", path, p)
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
	for _, d := range dirs {
		check(d, func(importer, imported string) bool { return importer == imported })
	}
	check("internal", func(string, string) bool { return false })
}
