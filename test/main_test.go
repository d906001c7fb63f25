package test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/otelstrata/strata/internal/e2e"
)

// repoRoot is the repository's root, from this package's directory.
const repoRoot = ".."

// binary is the built distribution (see e2e.Binary).
var binary string

// TestMain runs the tests only when $STRATA_BINARY names the built distribution (`make test` sets it).
func TestMain(m *testing.M) {
	e2e.MainWithBinary(m, &binary)
}

// run runs the binary with args to completion and returns its combined output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	return string(out), err
}

// startCollector starts the binary on configs; it is stopped with SIGTERM when the test ends.
func startCollector(t *testing.T, configs ...string) *e2e.Process {
	t.Helper()
	return e2e.StartCollector(t, binary, configs...)
}

// writeYAML writes v into a YAML file of the test's temporary directory.
func writeYAML(t *testing.T, name string, v any) string {
	t.Helper()
	return e2e.WriteYAML(t, filepath.Join(t.TempDir(), name), v)
}
