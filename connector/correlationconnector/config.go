package correlationconnector // import "github.com/otelstrata/strata/connector/correlationconnector"

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"
	"github.com/otelstrata/strata/internal/confcheck"
)

// Config is the correlation connector's configuration.
type Config struct {
	// TTL is how long a client or server span waits for its other half. Default 2s.
	TTL time.Duration `mapstructure:"ttl"`
	// MaxPending bounds the span halves waiting; more are dropped and counted. Default 100000.
	MaxPending int `mapstructure:"max_pending"`
	// MaxEdges bounds the edges of the graph; beyond it the least recently updated is forgotten. Default 10000.
	MaxEdges int `mapstructure:"max_edges"`
	// MaxTopologyEntities bounds the services, hosts, containers, pods and endpoints the topology keeps (their
	// names come from the data); the least recently linked is forgotten first. Default 100000.
	MaxTopologyEntities int `mapstructure:"max_topology_entities"`
	// MetricsFlushInterval is how often the service-graph metrics are emitted. Default 15s.
	MetricsFlushInterval time.Duration `mapstructure:"metrics_flush_interval"`
	// LatencyBuckets are the bounds of the duration histograms. Default Grafana Tempo's service graph buckets.
	LatencyBuckets []time.Duration `mapstructure:"latency_buckets"`
	// VirtualNodeAttributes name the peer a client span calls when no instrumented server answers, in order.
	VirtualNodeAttributes []string `mapstructure:"virtual_node_attributes"`
	// Topology is the dependencies the user knows, beside those the data shows.
	Topology TopologyConfig `mapstructure:"topology"`
	// Incidents is the incident engine.
	Incidents IncidentsConfig `mapstructure:"incidents"`
	// Storage is a storage extension that keeps the open incidents across restarts.
	Storage *component.ID `mapstructure:"storage"`
}

// TopologyConfig is the dependencies a user knows: an estate without traces, or calls no span shows.
type TopologyConfig struct {
	// Dependencies maps an entity to those it depends on (calls, or runs on). An entity is a service name, or
	// kind:name for a host, container, pod, endpoint or KPI (host:db-1).
	Dependencies map[string][]string `mapstructure:"dependencies"`
	// File holds more dependencies in the same form, as a YAML map; it is read at start and again when it changes.
	File string `mapstructure:"file"`
	// CheckInterval is how often the file is checked for a change. Default 30s.
	CheckInterval time.Duration `mapstructure:"check_interval"`
	// ExpireAfter is how long a dependency the data showed (spans, service-graph metrics, resource attributes) is
	// kept after the data last showed it; 0 keeps it until max_topology_entities forgets its entity. Configured
	// dependencies stay. Default 24h.
	ExpireAfter time.Duration `mapstructure:"expire_after"`
}

// IncidentsConfig is how symptoms become incidents (the incident engine's configuration).
type IncidentsConfig = incidents.Config

var (
	_ component.Config   = (*Config)(nil)
	_ xconfmap.Validator = (*Config)(nil)
)

// Validate reports every mistake at once.
func (cfg *Config) Validate() error {
	in := cfg.Incidents
	errs := []error{
		confcheck.Duration("ttl", cfg.TTL, 10*time.Millisecond, 0),
		confcheck.Duration("metrics_flush_interval", cfg.MetricsFlushInterval, confcheck.MinInterval, 0),
		confcheck.Int("max_pending", cfg.MaxPending, 1, 10_000_000),
		confcheck.Int("max_edges", cfg.MaxEdges, 1, 1_000_000),
		confcheck.Int("max_topology_entities", cfg.MaxTopologyEntities, 2, 10_000_000),
		confcheck.Duration("incidents: interval", in.Interval, confcheck.MinInterval, 0),
		confcheck.Duration("incidents: window", in.Window, in.Interval, 0),
		confcheck.Duration("incidents: resolve_after", in.ResolveAfter, in.Interval, 0),
		confcheck.Duration("incidents: confirm_within", in.ConfirmWithin, time.Millisecond, 0),
		confcheck.Int("incidents: warm_up", in.WarmUp, 1, 1_000_000),
		confcheck.Int("incidents: confirm", in.Confirm, 1, 1000),
		confcheck.Open("incidents: threshold", in.Threshold, 0, 1),
		confcheck.Int("incidents: max_open", in.MaxOpen, 1, 100_000),
		confcheck.Int("incidents: max_entities", in.MaxEntities, 1, 10_000),
		confcheck.Int("incidents: max_signals", in.MaxSignals, 1, 10_000_000),
		confcheck.Int("incidents: confirm_intervals", in.ConfirmIntervals, 0, 1000),
		confcheck.Int("incidents: window_intervals", in.WindowIntervals, 0, 1000),
		confcheck.Int("incidents: resolve_intervals", in.ResolveIntervals, 0, 1000),
		confcheck.Duration("topology: check_interval", cfg.Topology.CheckInterval, confcheck.MinInterval, 0),
	}
	if d := cfg.Topology.ExpireAfter; d != 0 && d < time.Minute {
		errs = append(errs, fmt.Errorf("topology: expire_after: must be 0 (never) or at least 1m, not %s", d))
	}
	for _, a := range in.Anchors {
		if _, err := incidents.ParseEntity(a); err != nil {
			errs = append(errs, fmt.Errorf("incidents: anchors: %w", err))
		}
	}
	if _, err := parseDependencies(cfg.Topology.Dependencies); err != nil {
		errs = append(errs, fmt.Errorf("topology: dependencies: %w", err))
	}
	if in.AnomalySignal != incidents.AnomalyAlarm && in.AnomalySignal != incidents.AnomalyScore {
		errs = append(errs, fmt.Errorf("incidents: anomaly_signal: %q is not %s or %s", in.AnomalySignal, incidents.AnomalyAlarm, incidents.AnomalyScore))
	}
	if !(in.OpenScore >= in.Threshold && in.OpenScore <= 1) {
		errs = append(errs, fmt.Errorf("incidents: open_score: %v is not between threshold and 1", in.OpenScore))
	}
	if len(cfg.LatencyBuckets) == 0 || !slices.IsSorted(cfg.LatencyBuckets) || cfg.LatencyBuckets[0] <= 0 {
		errs = append(errs, fmt.Errorf("latency_buckets: must be positive and increasing, not %v", cfg.LatencyBuckets))
	}
	return errors.Join(errs...)
}
