//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package alertexporter evaluates alert rules in the collector, on the metrics and logs that arrive, and delivers
// the alerts — with stable fingerprints, pending and firing states and resolve notices — to Alertmanager and
// webhooks, through the collector's queue and retry.
package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"
