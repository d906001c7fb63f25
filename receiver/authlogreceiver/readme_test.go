package authlogreceiver

import (
	"testing"

	"github.com/otelstrata/strata/internal/conftest"
)

// TestReadmeExamples validates every receiver of each README example.
func TestReadmeExamples(t *testing.T) {
	for _, ex := range conftest.ReadmeExamples(t, "receivers", 2) {
		for _, raw := range ex {
			conftest.Load(t, raw, createDefaultConfig())
		}
	}
}
