package netprobereceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelstrata/strata/internal/conftest"
)

// TestCreateDefaultConfig checks the defaults against the README's tables of options, and that a configuration must name its targets.
func TestCreateDefaultConfig(t *testing.T) {
	assert.GreaterOrEqual(t, conftest.DocumentedDefaults(t, createDefaultConfig), 3, "options checked against the README")
	assert.ErrorContains(t, xconfmap.Validate(createDefaultConfig()), "targets: must contain at least one target")
}
