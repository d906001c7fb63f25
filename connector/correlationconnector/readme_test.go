package correlationconnector

import (
	"testing"

	"github.com/otelstrata/strata/internal/conftest"
)

// TestReadmeExample validates the connector of the README's example (the whole configuration is validated by the
// built binary in test/, as every component README's are).
func TestReadmeExample(t *testing.T) {
	conftest.Load(t, conftest.ReadmeExample(t, "connectors", 1, 0, "correlation"), createDefaultConfig())
}
