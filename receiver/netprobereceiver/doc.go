//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml
//go:generate go run ../../internal/cmd/attrsgen internal/metadata

// Package netprobereceiver probes the network from where the collector runs: HTTP, TCP, TLS, DNS, ICMP and gRPC
// health probes, each target on its own interval, reported as metrics with the time spent in every phase.
package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"
