package correlationconnector

import (
	"testing"

	"github.com/otelstrata/strata/internal/readmetest"
)

// TestReadmeExample validates the connector of the README's example (the whole configuration is validated by the
// built binary in test/, as every component README's are).
func TestReadmeExample(t *testing.T) {
	readmetest.Load(t, readmetest.Example(t, "connectors", 1, 0, "correlation"), createDefaultConfig())
}
