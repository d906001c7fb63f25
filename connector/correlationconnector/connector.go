package correlationconnector // import "github.com/otelstrata/strata/connector/correlationconnector"

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"
	"github.com/otelstrata/strata/connector/correlationconnector/internal/metadata"
	"github.com/otelstrata/strata/connector/correlationconnector/internal/servicegraph"
	"github.com/otelstrata/strata/connector/correlationconnector/internal/signals"
	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/internal/storageclient"
)

type correlationConnector struct {
	cfg         *Config
	set         connector.Settings
	nextMetrics consumer.Metrics
	nextLogs    consumer.Logs // the pipelines incidents go to
	tracesRead  bool          // a traces input that reads the spans was made (tracesIn)
	telemetry   *metadata.TelemetryBuilder
	clock       clock.Clock // the pipeline's, from Start

	mu            sync.Mutex
	graph         *servicegraph.Graph
	engine        *incidents.Engine
	watcher       *signals.Watcher
	start         time.Time
	edgesReported int64          // the edge count last added to the telemetry's up-down counter
	depsReported  map[string]int // the topology's dependencies by source, as last added to the telemetry

	client storage.Client

	dependencies [][2]incidents.Entity // topology.dependencies
	topologyFile *topologyFile         // topology.file, when set

	loop *clock.Loop // expires, flushes the graph and evaluates incidents
}

func newConnector(cfg *Config, set connector.Settings) *correlationConnector {
	c := &correlationConnector{cfg: cfg, set: set, graph: servicegraph.New(servicegraph.Settings{
		TTL: cfg.TTL, MaxPending: cfg.MaxPending, MaxEdges: cfg.MaxEdges,
		LatencyBuckets: cfg.LatencyBuckets, VirtualNodeAttributes: cfg.VirtualNodeAttributes,
	}), clock: clock.Real{}, engine: incidents.New(cfg.Incidents, cfg.MaxTopologyEntities, cfg.Topology.ExpireAfter)}
	c.watcher = signals.New(cfg.Incidents, c.engine)
	return c
}

// addLogs sets where incidents go. The connector is created once for each signal it takes that feeds logs
// pipelines, each time with a consumer of the same pipelines (every logs pipeline that names it as a receiver): the
// first is kept, so that each incident record is emitted once.
func (c *correlationConnector) addLogs(next consumer.Logs) {
	if c.nextLogs == nil {
		c.nextLogs = next
	}
}

func (c *correlationConnector) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// Start reads the configured topology, restores the open incidents and starts emitting the graph every
// metrics_flush_interval (and expiring unpaired halves between, closing intervals of the watched figures, and
// checking the topology file).
func (c *correlationConnector) Start(ctx context.Context, host component.Host) error {
	c.clock = clock.FromHost(host, c.clock)
	if err := c.prepare(); err != nil {
		return err
	}
	topology, err := c.startTopology(ctx)
	if err != nil {
		return err
	}
	if c.cfg.Storage != nil {
		var err error
		if c.client, err = storageclient.Open(ctx, host, c.cfg.Storage, component.KindConnector, c.set.ID); err != nil {
			return err
		}
		data, err := c.client.Get(ctx, incidents.StateKey)
		if err == nil && data != nil {
			err = c.engine.Unmarshal(data)
		}
		if err != nil {
			c.set.Logger.Warn("the saved incidents could not be restored", zap.Error(err))
		}
	}
	c.loop = clock.Start(c.clock, append([]clock.Task{
		{Every: min(c.cfg.TTL/2, time.Second), Run: func(ctx context.Context, _ time.Time) { c.expire(ctx) }},
		{Every: c.cfg.MetricsFlushInterval, Run: func(ctx context.Context, _ time.Time) { c.flush(ctx) }},
		{Every: c.cfg.Incidents.Interval, Run: func(ctx context.Context, _ time.Time) { c.tick(ctx) }},
	}, topology...)...)
	return nil
}

// startTopology gives the engine the configured dependencies and those of topology.file (a file that cannot be read
// fails the start), and returns the task that reads the file again when it changes (none without a file).
func (c *correlationConnector) startTopology(ctx context.Context) ([]clock.Task, error) {
	var err error
	if c.dependencies, err = parseDependencies(c.cfg.Topology.Dependencies); err != nil {
		return nil, fmt.Errorf("topology: dependencies: %w", err)
	}
	if c.cfg.Topology.File == "" {
		c.setDependencies()
		return nil, nil
	}
	c.topologyFile = &topologyFile{path: c.cfg.Topology.File}
	if err := c.readTopologyFile(ctx); err != nil {
		return nil, err
	}
	return []clock.Task{{Every: c.cfg.Topology.CheckInterval, Run: func(ctx context.Context, _ time.Time) { c.checkTopologyFile(ctx) }}}, nil
}

// checkTopologyFile reads topology.file again when it changed.
func (c *correlationConnector) checkTopologyFile(ctx context.Context) {
	if !c.topologyFile.changed() {
		return
	}
	if err := c.readTopologyFile(ctx); err != nil {
		c.set.Logger.Warn("the topology file was not read again: the dependencies read before stay", zap.Error(err))
	}
}

// readTopologyFile reads topology.file, counts the reading and gives the engine the dependencies.
func (c *correlationConnector) readTopologyFile(ctx context.Context) error {
	err := c.topologyFile.read()
	result := "loaded"
	if err != nil {
		result = "failed"
	}
	c.telemetry.ConnectorCorrelationTopologyReloads.Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
	if err == nil {
		c.setDependencies()
	}
	return err
}

// setDependencies gives the engine the configured dependencies and those of the topology file.
func (c *correlationConnector) setDependencies() {
	deps := c.dependencies
	if c.topologyFile != nil {
		deps = append(slices.Clip(deps), c.topologyFile.deps...)
	}
	c.mu.Lock()
	c.engine.SetDependencies(deps)
	c.mu.Unlock()
}

// prepare sets up the telemetry and the start of the cumulative metrics.
func (c *correlationConnector) prepare() error {
	var err error
	c.telemetry, err = metadata.NewTelemetryBuilder(c.set.TelemetrySettings)
	c.start = c.clock.Now()
	return err
}

// Shutdown stops and emits the graph one last time.
func (c *correlationConnector) Shutdown(ctx context.Context) error {
	if c.loop == nil {
		return nil
	}
	c.loop.Stop()
	c.loop = nil
	c.flush(ctx)
	c.telemetry.Shutdown()
	if c.client != nil {
		err := c.save(ctx)
		if cerr := c.client.Close(ctx); err == nil {
			err = cerr
		}
		c.client = nil
		return err
	}
	return nil
}

// save keeps the open incidents in storage.
func (c *correlationConnector) save(ctx context.Context) error {
	c.mu.Lock()
	data, err := c.engine.Marshal()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.client.Set(ctx, incidents.StateKey, data)
}

// ConsumeTraces adds the request and messaging spans to the graph.
func (c *correlationConnector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	now := c.clock.Now()
	c.mu.Lock()
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		service := "unknown_service"
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok && v.AsString() != "" {
			service = v.AsString()
		}
		c.watcher.Resource(rs.Resource().Attributes(), now) // links the service to what it runs on, tells a new version
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				c.graph.AddSpan(spans.At(k), service, now)
				c.watcher.Span(spans.At(k), service, now)
			}
		}
	}
	c.link(now)
	c.mu.Unlock()
	c.report(ctx)
	c.emit(ctx)
	return nil
}

// link gives the incident engine the dependencies the graph saw since the last call.
func (c *correlationConnector) link(now time.Time) {
	c.graph.Dependencies(
		func(client, server string) {
			c.engine.Link(incidents.Entity{Kind: incidents.KindService, Name: client}, incidents.Entity{Kind: incidents.KindService, Name: server},
				incidents.SourceSpans, now)
		},
		// calls to an address depend on the service that answers there
		func(address, service string) {
			c.engine.Link(incidents.Entity{Kind: incidents.KindEndpoint, Name: address}, incidents.Entity{Kind: incidents.KindService, Name: service},
				incidents.SourceSpans, now)
		})
}

// ConsumeMetrics reads the anomaly processor's scores, probe results and KPI targets as symptoms.
func (c *correlationConnector) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	c.mu.Lock()
	c.watcher.Metrics(md, c.clock.Now())
	c.mu.Unlock()
	c.report(ctx)
	c.emit(ctx)
	return nil
}

// ConsumeLogs reads security detections and error logs.
func (c *correlationConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	c.mu.Lock()
	c.watcher.Logs(ld, c.clock.Now())
	c.mu.Unlock()
	c.report(ctx)
	c.emit(ctx)
	return nil
}

// tick closes an interval of the watched figures and resolves quiet incidents.
func (c *correlationConnector) tick(ctx context.Context) {
	c.mu.Lock()
	now := c.clock.Now()
	c.watcher.Interval(now)
	c.engine.Resolve(now)
	c.engine.ExpireDependencies(now)
	c.mu.Unlock()
	c.report(ctx)
	c.emit(ctx)
}

// emit sends the incident records queued by the engine.
func (c *correlationConnector) emit(ctx context.Context) {
	c.mu.Lock()
	queued := c.engine.Dequeue()
	if len(queued) == 0 {
		c.mu.Unlock()
		return
	}
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	sl.Scope().SetVersion(c.set.BuildInfo.Version)
	now := c.clock.Now()
	states := map[string]int{}
	for _, inc := range queued {
		state := incidents.Record(sl.LogRecords().AppendEmpty(), inc, now)
		states[state]++
	}
	c.mu.Unlock()
	for state, n := range states {
		c.telemetry.ConnectorCorrelationIncidents.Add(ctx, int64(n), metric.WithAttributes(attribute.String("state", state)))
	}
	if c.nextLogs != nil {
		if err := c.nextLogs.ConsumeLogs(ctx, ld); err != nil {
			c.set.Logger.Warn("the next consumer refused incidents", zap.Error(err))
		}
	}
	if c.client != nil {
		if err := c.save(ctx); err != nil {
			c.set.Logger.Warn("saving the open incidents failed", zap.Error(err))
		}
	}
}

func (c *correlationConnector) expire(ctx context.Context) {
	c.mu.Lock()
	c.graph.Expire(c.clock.Now())
	c.mu.Unlock()
	c.report(ctx)
}

// report moves the graph's counts into the connector's telemetry.
func (c *correlationConnector) report(ctx context.Context) {
	c.mu.Lock()
	g := c.graph.TakeCounts()
	counts := map[string]int{"paired": g.Paired, "virtual": g.Virtual, "expired": g.Expired, "dropped": g.Dropped}
	evicted, forgotten := g.Evicted, c.engine.TakeForgotten()
	edges := int64(c.graph.Len()) - c.edgesReported
	c.edgesReported = int64(c.graph.Len())
	deps, expired := c.engine.Dependencies(), c.engine.TakeExpired()
	depsChange := map[string]int{}
	for source, n := range deps {
		depsChange[source] += n
	}
	for source, n := range c.depsReported {
		depsChange[source] -= n
	}
	c.depsReported = deps
	symptoms := c.engine.TakeFound()
	c.mu.Unlock()
	for layer, n := range symptoms {
		c.telemetry.ConnectorCorrelationSymptoms.Add(ctx, int64(n), metric.WithAttributes(attribute.String("layer", layer)))
	}
	for outcome, n := range counts {
		if n > 0 {
			c.telemetry.ConnectorCorrelationSpanHalves.Add(ctx, int64(n), metric.WithAttributes(attribute.String("outcome", outcome)))
		}
	}
	if evicted > 0 {
		c.telemetry.ConnectorCorrelationEvictions.Add(ctx, int64(evicted))
	}
	if forgotten > 0 {
		c.telemetry.ConnectorCorrelationTopologyEvictions.Add(ctx, int64(forgotten))
	}
	if edges != 0 {
		c.telemetry.ConnectorCorrelationEdges.Add(ctx, edges)
	}
	for source, n := range depsChange {
		if n != 0 {
			c.telemetry.ConnectorCorrelationTopologyDependencies.Add(ctx, int64(n), metric.WithAttributes(attribute.String("source", source)))
		}
	}
	if expired > 0 {
		c.telemetry.ConnectorCorrelationTopologyExpirations.Add(ctx, int64(expired))
	}
}

// flush emits the graph as Grafana's service-graph metrics: cumulative counters and histograms per edge, labelled
// client, server and connection_type.
func (c *correlationConnector) flush(ctx context.Context) {
	md := c.metrics()
	if md.DataPointCount() == 0 || c.nextMetrics == nil {
		return
	}
	if err := c.nextMetrics.ConsumeMetrics(ctx, md); err != nil {
		c.set.Logger.Warn("the next consumer refused the service graph", zap.Int("points", md.DataPointCount()), zap.Error(err))
	}
}

func (c *correlationConnector) metrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	sm.Scope().SetVersion(c.set.BuildInfo.Version)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.graph.AppendMetrics(sm.Metrics(), c.start, c.clock.Now())
	return md
}
