package netprobereceiver

import (
	"testing"

	"github.com/otelstrata/strata/internal/readmetest"
)

// TestReadmeExamples validates the netprobe receiver of each README example.
func TestReadmeExamples(t *testing.T) {
	for _, ex := range readmetest.Examples(t, "receivers", 1) {
		readmetest.Load(t, ex["netprobe"], createDefaultConfig())
	}
}
