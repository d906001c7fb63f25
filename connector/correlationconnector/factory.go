package correlationconnector // import "github.com/otelstrata/strata/connector/correlationconnector"

import (
	"context"
	"github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
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
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability),
		connector.WithTracesToLogs(createTracesToLogs, metadata.TracesToLogsStability),
		connector.WithMetricsToLogs(createMetricsToLogs, metadata.MetricsToLogsStability),
		connector.WithLogsToLogs(createLogsToLogs, metadata.LogsToLogsStability))
}

func createDefaultConfig() component.Config {
	ms := time.Millisecond
	return &Config{
		TTL:                  2 * time.Second,
		MaxPending:           100000,
		MaxEdges:             10000,
		MaxTopologyEntities:  100000,
		MetricsFlushInterval: 15 * time.Second,
		// Grafana Tempo's service graph buckets
		LatencyBuckets: []time.Duration{2 * ms, 4 * ms, 6 * ms, 8 * ms, 10 * ms, 50 * ms, 100 * ms, 200 * ms, 400 * ms,
			800 * ms, time.Second, 1400 * ms, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second},
		VirtualNodeAttributes: []string{"peer.service", "db.namespace", "db.name", "db.system", "messaging.destination.name",
			"messaging.system", "server.address", "net.peer.name"},
		Topology: TopologyConfig{CheckInterval: 30 * time.Second, ExpireAfter: 24 * time.Hour},
		Incidents: IncidentsConfig{
			Interval: 10 * time.Second, WarmUp: 30, Threshold: 0.997, AnomalySignal: incidents.AnomalyAlarm, OpenScore: 0.999,
			Confirm: 2, ConfirmWithin: time.Minute, Window: 5 * time.Minute, ResolveAfter: 5 * time.Minute,
			ConfirmIntervals: 2, WindowIntervals: 3, ResolveIntervals: 3, MaxOpen: 100, MaxEntities: 50, MaxSignals: 10000,
		},
	}
}

// tracesIn is the connector as a traces exporter. The collector makes one for each kind of pipeline the connector
// feeds (traces to metrics, traces to logs), and each gets every batch of the same traces pipelines; only the first
// made reads them, so that each span counts once.
type tracesIn struct {
	*sharedcomponent.Component[*correlationConnector]
	reads bool
}

func (c tracesIn) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if !c.reads {
		return nil
	}
	return c.Unwrap().ConsumeTraces(ctx, td)
}

func (tracesIn) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// newTracesIn returns the traces input of a shared connector: the first one made reads the spans.
func newTracesIn(c *sharedcomponent.Component[*correlationConnector]) tracesIn {
	conn := c.Unwrap()
	reads := !conn.tracesRead
	conn.tracesRead = true
	return tracesIn{c, reads}
}

func shared(cfg component.Config, set connector.Settings) (*sharedcomponent.Component[*correlationConnector], error) {
	return connectors.LoadOrStore(cfg.(*Config), func() (*correlationConnector, error) {
		return newConnector(cfg.(*Config), set), nil
	})
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	c.Unwrap().nextMetrics = next
	return newTracesIn(c), nil
}

func createTracesToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Traces, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	c.Unwrap().addLogs(next)
	return newTracesIn(c), nil
}

type metricsIn struct {
	*sharedcomponent.Component[*correlationConnector]
}

func (c metricsIn) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return c.Unwrap().ConsumeMetrics(ctx, md)
}

func (metricsIn) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func createMetricsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Metrics, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	c.Unwrap().addLogs(next)
	return metricsIn{c}, nil
}

type logsIn struct {
	*sharedcomponent.Component[*correlationConnector]
}

func (c logsIn) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return c.Unwrap().ConsumeLogs(ctx, ld)
}

func (logsIn) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func createLogsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	c.Unwrap().addLogs(next)
	return logsIn{c}, nil
}
