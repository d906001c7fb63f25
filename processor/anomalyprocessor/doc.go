//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package anomalyprocessor watches metrics for anomalies: one streaming model per series (internal/anomaly), its
// score and expected band added beside the data, which passes through unchanged.
package anomalyprocessor // import "github.com/otelstrata/strata/processor/anomalyprocessor"
