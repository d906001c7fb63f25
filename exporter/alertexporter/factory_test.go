package alertexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelstrata/strata/internal/conftest"
)

// TestCreateDefaultConfig checks the defaults against the README's tables of options, and that a configuration must name its receivers.
func TestCreateDefaultConfig(t *testing.T) {
	assert.GreaterOrEqual(t, conftest.DocumentedDefaults(t, createDefaultConfig), 6, "options checked against the README")
	assert.ErrorContains(t, xconfmap.Validate(createDefaultConfig()), "receivers: must contain at least one receiver")
}
