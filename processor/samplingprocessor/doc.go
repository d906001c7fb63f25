//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package samplingprocessor keeps what matters within a budget: tail sampling of traces by ordered rules (errors,
// slow traces relative to their route's own quantile, OTTL conditions) and a throughput budget met by per-key
// consistent probabilities recorded in W3C tracestate; logs that follow their traces; metric downsampling.
package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"
