package alertexporter

import (
	"testing"

	"github.com/otelstrata/strata/internal/conftest"
)

// TestReadmeExamples validates the alert exporter of each README example.
func TestReadmeExamples(t *testing.T) {
	for _, ex := range conftest.ReadmeExamples(t, "exporters", 3) {
		conftest.Load(t, ex["alert"], createDefaultConfig())
	}
}
