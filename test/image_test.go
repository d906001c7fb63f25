package test

import (
	"debug/elf"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImageBinaryIsStatic checks what the Dockerfile's final stage relies on: the binary `make build` produces needs
// no dynamic loader nor shared library (the distroless static image has no libc).
func TestImageBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(binary)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "the binary asks for a dynamic loader")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs, "shared libraries the binary needs")
}

// TestDockerfile checks the Dockerfile's promises that a reader of the Kubernetes examples relies on: built by `make
// build`, a static non-root base, the user 65532 (the examples' runAsUser and fsGroup), /otelcol-strata as the
// entrypoint (the Helm chart runs /<command.name>), and the configurations it names exist.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	require.NoError(t, err)
	dockerfile := string(data)
	assert.Regexp(t, `(?m)^RUN .*make build$`, dockerfile)
	stages := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(dockerfile, -1)
	require.Len(t, stages, 2)
	assert.Regexp(t, `^gcr\.io/distroless/static-debian\d+:nonroot$`, stages[1][1])
	assert.Regexp(t, `(?m)^USER 65532:65532$`, dockerfile)
	assert.Regexp(t, `(?m)^ENTRYPOINT \["/otelcol-strata"\]$`, dockerfile)
	for _, m := range regexp.MustCompile(`(?m)^COPY (examples/\S+)`).FindAllStringSubmatch(dockerfile, -1) {
		assert.FileExists(t, filepath.Join(repoRoot, m[1]))
	}
}
