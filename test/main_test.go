package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/otelstrata/strata/internal/e2e"
)

// repoRoot is the repository's root, from this package's directory.
const repoRoot = ".."

// binary is the built distribution (see e2e.Binary).
var binary string

func TestMain(m *testing.M) {
	var err error
	if binary, err = e2e.Binary(repoRoot); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
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
