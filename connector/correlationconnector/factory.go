package correlationconnector // import "github.com/otelstrata/strata/connector/correlationconnector"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/metadata"
	"github.com/otelstrata/strata/internal/sharedcomponent"
)

// connectors holds one connector per configuration, shared by the pipelines it joins (its incident engine will
// read traces, metrics and logs into one state).
var connectors = sharedcomponent.NewMap[*Config, *correlationConnector]()

// NewFactory creates the factory of the correlation connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(metadata.Type, createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability))
}

func createDefaultConfig() component.Config {
	ms := time.Millisecond
	return &Config{
		TTL:                  2 * time.Second,
		MaxPending:           100000,
		MaxEdges:             10000,
		MetricsFlushInterval: 15 * time.Second,
		// Grafana Tempo's service graph buckets
		LatencyBuckets: []time.Duration{2 * ms, 4 * ms, 6 * ms, 8 * ms, 10 * ms, 50 * ms, 100 * ms, 200 * ms, 400 * ms,
			800 * ms, time.Second, 1400 * ms, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second},
		VirtualNodeAttributes: []string{"peer.service", "db.namespace", "db.name", "db.system", "messaging.destination.name",
			"messaging.system", "server.address", "net.peer.name"},
	}
}

type tracesToMetrics struct {
	*sharedcomponent.Component[*correlationConnector]
}

func (c tracesToMetrics) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return c.Unwrap().ConsumeTraces(ctx, td)
}

func (tracesToMetrics) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	c, err := connectors.LoadOrStore(cfg.(*Config), func() (*correlationConnector, error) {
		return newConnector(cfg.(*Config), set), nil
	})
	if err != nil {
		return nil, err
	}
	c.Unwrap().nextMetrics = next
	return tracesToMetrics{c}, nil
}
