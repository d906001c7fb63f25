package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkVersions runs scripts/check-versions.sh with extra environment and returns its output and exit error.
func checkVersions(t *testing.T, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "check-versions.sh"))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCheckVersionsPassesOnTheRepository(t *testing.T) {
	out, err := checkVersions(t)
	require.NoError(t, err, out)
	assert.Contains(t, out, "every collector and contrib module is at its pin")
}

func TestCheckVersionsFailsOnABumpInTheManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "builder-config.yaml"))
	require.NoError(t, err)
	const mod = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver"
	bumped := strings.Replace(string(data), mod+" v0.149.0", mod+" v0.150.0", 1)
	require.NotEqual(t, string(data), bumped, "the manifest no longer has %s at v0.149.0", mod)
	manifest := filepath.Join(t.TempDir(), "builder-config.yaml")
	require.NoError(t, os.WriteFile(manifest, []byte(bumped), 0o600))

	out, err := checkVersions(t, "BUILDER_CONFIG="+manifest)
	require.Error(t, err, out)
	assert.Contains(t, out, mod+" v0.150.0 (pin: v0.149.0)")
}

func TestCheckVersionsFailsOnABumpInGoMod(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o600))
	}
	edit := exec.Command("go", "mod", "edit", "-require=go.opentelemetry.io/collector/pdata@v1.56.0")
	edit.Dir = dir
	out, err := edit.CombinedOutput()
	require.NoError(t, err, string(out))

	report, err := checkVersions(t, "GOMOD_DIR="+dir, "GOFLAGS=-mod=mod", "GOPROXY=off")
	require.Error(t, err, report)
	assert.Contains(t, report, "go.opentelemetry.io/collector/pdata v1.56.0 (pin: v1.55.0)")
}
