package authlogreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelstrata/strata/internal/conftest"
)

// TestCreateDefaultConfig checks the defaults against the README's tables of options, and that they alone make a valid configuration (the system's auth logs).
func TestCreateDefaultConfig(t *testing.T) {
	assert.GreaterOrEqual(t, conftest.DocumentedDefaults(t, createDefaultConfig), 9, "options checked against the README")
	assert.NoError(t, xconfmap.Validate(createDefaultConfig()))
}
