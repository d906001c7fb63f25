package correlationconnector

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"

	"github.com/otelstrata/strata/internal/conftest"
)

func TestLoadConfig(t *testing.T) {
	assert.Equal(t, createDefaultConfig(), conftest.Named(t, "correlation", createDefaultConfig()))
	storage := component.MustNewID("file_storage")
	ms := time.Millisecond
	assert.Equal(t, &Config{
		TTL: 5 * time.Second, MaxPending: 5000, MaxEdges: 2000, MaxTopologyEntities: 50000,
		MetricsFlushInterval: 30 * time.Second, LatencyBuckets: []time.Duration{10 * ms, 100 * ms, time.Second},
		VirtualNodeAttributes: []string{"peer.service", "db.system"}, Storage: &storage,
		Topology: TopologyConfig{
			Dependencies:  map[string][]string{"frontend": {"checkout"}, "checkout": {"payments", "host:db-1", "endpoint:10.0.0.7:5432"}},
			File:          "/etc/strata/topology.yaml",
			CheckInterval: time.Minute,
			ExpireAfter:   168 * time.Hour,
		},
		Incidents: IncidentsConfig{
			Interval: 5 * time.Second, WarmUp: 60, Threshold: 0.999, AnomalySignal: "alarm", OpenScore: 0.9999, Confirm: 3, ConfirmWithin: 2 * time.Minute,
			Window: 10 * time.Minute, ResolveAfter: 10 * time.Minute, ConfirmIntervals: 4, WindowIntervals: 5, ResolveIntervals: 6,
			Anchors: []string{"kpi:order_success_ratio", "frontend"}, MaxOpen: 20, MaxEntities: 30, MaxSignals: 5000,
		},
	}, conftest.Named(t, "correlation/full", createDefaultConfig()))
}

// TestValidate: each mistake is named by its key, among them what passed before and failed at start (a ttl of 1ns
// made a ticker of no period) or never fired (a NaN threshold).
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.TTL = time.Nanosecond }, "ttl: must be at least 10ms, not 1ns"},
		{func(c *Config) { c.MetricsFlushInterval = time.Nanosecond }, "metrics_flush_interval: must be at least 100ms"},
		{func(c *Config) { c.MaxEdges = 0 }, "max_edges: must be from 1 to 1000000, not 0"},
		{func(c *Config) { c.MaxPending = 1e12 }, "max_pending: must be from 1 to 10000000"},
		{func(c *Config) { c.LatencyBuckets = nil }, "latency_buckets: must be positive and increasing"},
		{func(c *Config) { c.Incidents.Interval = 2 }, "incidents: interval: must be at least 100ms"},
		{func(c *Config) { c.Incidents.Window = time.Second }, "incidents: window: must be at least 10s"},
		{func(c *Config) { c.Incidents.Threshold = math.NaN() }, "incidents: threshold: NaN is not in (0, 1)"},
		{func(c *Config) { c.Incidents.AnomalySignal = "both" }, `incidents: anomaly_signal: "both" is not alarm or score`},
		{func(c *Config) { c.Incidents.OpenScore = math.NaN() }, "incidents: open_score: NaN is not between threshold and 1"},
		{func(c *Config) { c.Incidents.MaxSignals = 0 }, "incidents: max_signals: must be from 1"},
		{func(c *Config) { c.Incidents.Anchors = []string{"kpi:"} }, `incidents: anchors: "kpi:" names no kpi`},
		{func(c *Config) { c.Topology.ExpireAfter = time.Second }, "topology: expire_after: must be 0 (never) or at least 1m, not 1s"},
		{func(c *Config) { c.Topology.CheckInterval = 0 }, "topology: check_interval: must be at least 100ms"},
		{func(c *Config) { c.Topology.Dependencies = map[string][]string{"api": {"host:"}} }, `topology: dependencies: api: "host:" names no host`},
		{func(c *Config) { c.Topology.Dependencies = map[string][]string{"api": {"api"}} }, "topology: dependencies: api depends on itself"},
		{func(c *Config) { c.Topology.Dependencies = map[string][]string{" ": {"api"}} }, "topology: dependencies: an entity has no name"},
	} {
		cfg := createDefaultConfig().(*Config)
		tc.edit(cfg)
		assert.ErrorContains(t, cfg.Validate(), tc.want)
	}
	assert.NoError(t, createDefaultConfig().(*Config).Validate())
}
