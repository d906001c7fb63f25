//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml
//go:generate go run ../../internal/cmd/attrsgen internal/metadata

// Package kpireceiver reads business KPIs from SQL databases and HTTP JSON endpoints, and derives ratios, rates,
// moving averages, targets and error-budget burn rates from them.
package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"
