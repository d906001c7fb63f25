package netprobereceiver

import (
	"testing"

	"github.com/otelstrata/strata/internal/conftest"
)

// TestReadmeExamples validates the netprobe receiver of each README example.
func TestReadmeExamples(t *testing.T) {
	for _, ex := range conftest.ReadmeExamples(t, "receivers", 1) {
		conftest.Load(t, ex["netprobe"], createDefaultConfig())
	}
}
