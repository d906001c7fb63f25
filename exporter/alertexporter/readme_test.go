package alertexporter

import (
	"testing"

	"github.com/otelstrata/strata/internal/readmetest"
)

// TestReadmeExamples validates the alert exporter of each README example.
func TestReadmeExamples(t *testing.T) {
	for _, ex := range readmetest.Examples(t, "exporters", 3) {
		readmetest.Load(t, ex["alert"], createDefaultConfig())
	}
}
