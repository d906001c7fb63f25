//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package correlationconnector builds the service dependency graph from traces — client/server and
// producer/consumer span pairs, database and messaging peers as virtual nodes — and emits it in the metric names
// Grafana's service-graph view reads; the graph is the base on which symptoms of every layer are correlated.
package correlationconnector // import "github.com/otelstrata/strata/connector/correlationconnector"
