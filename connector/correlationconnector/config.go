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
	// Incidents is the incident engine.
	Incidents IncidentsConfig `mapstructure:"incidents"`
	// Storage is a storage extension that keeps the open incidents across restarts.
	Storage *component.ID `mapstructure:"storage"`
}

// IncidentsConfig is how symptoms become incidents.
type IncidentsConfig struct {
	// Interval of the figures watched from traces and logs (latency, error rates, error logs). Default 10s.
	Interval time.Duration `mapstructure:"interval"`
	// WarmUp is how many intervals a figure is watched before it may be a symptom. Default 30.
	WarmUp int `mapstructure:"warm_up"`
	// Threshold is the score from which a point (of the anomaly processor, or of a watched figure) is a symptom.
	// Default 0.997.
	Threshold float64 `mapstructure:"threshold"`
	// OpenScore is the score a symptom needs to open an incident (others only join one). Default 0.999.
	OpenScore float64 `mapstructure:"open_score"`
	// Confirm is how many related entities with such symptoms within ConfirmWithin open an incident, or one more
	// symptom than that on fewer entities: a lone spike or blip does not. Security detections (already counted by
	// their rules) open one alone. Default 2.
	Confirm int `mapstructure:"confirm"`
	// ConfirmWithin is how close together the confirming symptoms must be. Default 1m.
	ConfirmWithin time.Duration `mapstructure:"confirm_within"`
	// Window is how close in time a symptom must be to an incident's last to join it. Default 5m.
	Window time.Duration `mapstructure:"window"`
	// ResolveAfter is how long an incident stays open without a new symptom. Default 5m.
	ResolveAfter time.Duration `mapstructure:"resolve_after"`
	// MaxOpen, MaxEntities and MaxSignals bound the open incidents, the entities of one, and the figures watched.
	MaxOpen     int `mapstructure:"max_open"`
	MaxEntities int `mapstructure:"max_entities"`
	MaxSignals  int `mapstructure:"max_signals"`
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
	in := cfg.Incidents
	if in.Interval <= 0 || in.Window <= 0 || in.ResolveAfter <= 0 || in.WarmUp < 1 {
		errs = append(errs, errors.New("incidents: interval, window, resolve_after and warm_up must be positive"))
	}
	if in.Threshold <= 0 || in.Threshold >= 1 || in.OpenScore < in.Threshold || in.OpenScore > 1 {
		errs = append(errs, errors.New("incidents: threshold must be in (0, 1) and open_score between it and 1"))
	}
	if in.Confirm < 1 || in.ConfirmWithin <= 0 {
		errs = append(errs, errors.New("incidents: confirm and confirm_within must be positive"))
	}
	if in.MaxOpen < 1 || in.MaxEntities < 1 || in.MaxSignals < 1 {
		errs = append(errs, errors.New("incidents: max_open, max_entities and max_signals must be positive"))
	}
	if len(cfg.LatencyBuckets) == 0 || !slices.IsSorted(cfg.LatencyBuckets) || cfg.LatencyBuckets[0] <= 0 {
		errs = append(errs, fmt.Errorf("latency_buckets: must be positive and increasing, not %v", cfg.LatencyBuckets))
	}
	return errors.Join(errs...)
}
