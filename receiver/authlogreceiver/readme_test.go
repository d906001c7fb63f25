package authlogreceiver

import (
	"testing"

	"github.com/otelstrata/strata/internal/readmetest"
)

// TestReadmeExamples validates every receiver of each README example.
func TestReadmeExamples(t *testing.T) {
	for _, ex := range readmetest.Examples(t, "receivers", 2) {
		for _, raw := range ex {
			readmetest.Load(t, raw, createDefaultConfig())
		}
	}
}
