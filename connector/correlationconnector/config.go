package correlationconnector // import "github.com/otelstrata/strata/connector/correlationconnector"

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/xconfmap"
)

// Config is the correlation connector's configuration.
type Config struct {
	// TTL is how long a client or server span waits for its other half. Default 2s.
	TTL time.Duration `mapstructure:"ttl"`
	// MaxPending bounds the span halves waiting; more are dropped and counted. Default 100000.
	MaxPending int `mapstructure:"max_pending"`
	// MaxEdges bounds the edges of the graph; beyond it the least recently updated is forgotten. Default 10000.
	MaxEdges int `mapstructure:"max_edges"`
	// MetricsFlushInterval is how often the service-graph metrics are emitted. Default 15s.
	MetricsFlushInterval time.Duration `mapstructure:"metrics_flush_interval"`
	// LatencyBuckets are the bounds of the duration histograms. Default Grafana Tempo's service graph buckets.
	LatencyBuckets []time.Duration `mapstructure:"latency_buckets"`
	// VirtualNodeAttributes name the peer a client span calls when no instrumented server answers, in order.
	VirtualNodeAttributes []string `mapstructure:"virtual_node_attributes"`
}

var (
	_ component.Config   = (*Config)(nil)
	_ xconfmap.Validator = (*Config)(nil)
)

// Validate reports every mistake at once.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.TTL <= 0 || cfg.MetricsFlushInterval <= 0 {
		errs = append(errs, errors.New("ttl, metrics_flush_interval: must be positive"))
	}
	if cfg.MaxPending < 1 || cfg.MaxEdges < 1 {
		errs = append(errs, errors.New("max_pending, max_edges: must be positive"))
	}
	if len(cfg.LatencyBuckets) == 0 || !slices.IsSorted(cfg.LatencyBuckets) || cfg.LatencyBuckets[0] <= 0 {
		errs = append(errs, fmt.Errorf("latency_buckets: must be positive and increasing, not %v", cfg.LatencyBuckets))
	}
	return errors.Join(errs...)
}
