package correlationconnector

import (
	"context"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"
	"github.com/otelstrata/strata/connector/correlationconnector/internal/metadatatest"
	"github.com/otelstrata/strata/connector/correlationconnector/internal/servicegraph"
	"github.com/otelstrata/strata/internal/clock"
)

var update = flag.Bool("update", false, "rewrite the golden files from what the code emits now")

type harness struct {
	c     *correlationConnector
	clock *clock.Manual
	sink  *consumertest.MetricsSink
	tel   *componenttest.Telemetry
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessWith(t, func(*Config) {})
}

// newHarnessWith is newHarness on the default configuration changed by edit.
func newHarnessWith(t testing.TB, edit func(*Config)) *harness {
	t.Helper()
	h := &harness{clock: clock.NewManual(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)), sink: new(consumertest.MetricsSink), tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	cfg := createDefaultConfig().(*Config)
	// the tests forge the anomaly processor's scores; what of its output is a symptom is tested in signals
	cfg.Incidents.AnomalySignal = incidents.AnomalyScore
	edit(cfg)
	require.NoError(t, cfg.Validate())
	h.c = newConnector(cfg, metadatatest.NewSettings(h.tel))
	h.c.clock, h.c.nextMetrics = h.clock, h.sink
	require.NoError(t, h.c.prepare())
	return h
}

// sp describes a span: trace and span numbers become ids; parent 0 is none.
type sp struct {
	trace, id, parent uint64
	service, name     string
	kind              ptrace.SpanKind
	ms                int
	failed            bool
	attrs             map[string]any
}

func traces(spans ...sp) ptrace.Traces {
	td := ptrace.NewTraces()
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s.service)
		span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], s.trace)
		span.SetTraceID(tid)
		var id, parent pcommon.SpanID
		binary.BigEndian.PutUint64(id[:], s.id)
		span.SetSpanID(id)
		if s.parent != 0 {
			binary.BigEndian.PutUint64(parent[:], s.parent)
			span.SetParentSpanID(parent)
		}
		span.SetName(s.name)
		span.SetKind(s.kind)
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(s.ms) * time.Millisecond)))
		if s.failed {
			span.Status().SetCode(ptrace.StatusCodeError)
		}
		_ = span.Attributes().FromRaw(s.attrs)
	}
	return td
}

// shop is one checkout: the user calls frontend, which calls checkout, which calls payments (failing when told),
// queries postgres (not instrumented: a virtual node) and publishes to Kafka, consumed by shipping.
func shop(trace uint64, paymentFails bool) []sp {
	return []sp{
		{trace: trace, id: 1, service: "frontend", name: "GET /checkout", kind: ptrace.SpanKindServer, ms: 120},
		{trace: trace, id: 2, parent: 1, service: "frontend", name: "POST /checkout", kind: ptrace.SpanKindClient, ms: 100},
		{trace: trace, id: 3, parent: 2, service: "checkout", name: "POST /checkout", kind: ptrace.SpanKindServer, ms: 90},
		{trace: trace, id: 4, parent: 3, service: "checkout", name: "POST /charge", kind: ptrace.SpanKindClient, ms: 40, failed: paymentFails},
		{trace: trace, id: 5, parent: 4, service: "payments", name: "POST /charge", kind: ptrace.SpanKindServer, ms: 35, failed: paymentFails},
		{trace: trace, id: 6, parent: 3, service: "checkout", name: "INSERT orders", kind: ptrace.SpanKindClient, ms: 8,
			attrs: map[string]any{"db.system": "postgresql", "db.namespace": "orders"}},
		{trace: trace, id: 7, parent: 3, service: "checkout", name: "orders publish", kind: ptrace.SpanKindProducer, ms: 2,
			attrs: map[string]any{"messaging.system": "kafka"}},
		{trace: trace, id: 8, parent: 7, service: "shipping", name: "orders process", kind: ptrace.SpanKindConsumer, ms: 300},
	}
}

// TestServiceGraphGolden sends 10 checkouts (2 failing), the halves of some in separate requests and in reverse
// order, and compares the emitted service graph with testdata/graph.yaml.
func TestServiceGraphGolden(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for n := range uint64(10) {
		spans := shop(n+1, n%5 == 0)
		if n%2 == 1 { // the server halves first, in another request
			require.NoError(t, h.c.ConsumeTraces(ctx, traces(spans[4:]...)))
			require.NoError(t, h.c.ConsumeTraces(ctx, traces(spans[:4]...)))
			continue
		}
		require.NoError(t, h.c.ConsumeTraces(ctx, traces(spans...)))
	}
	h.clock.Advance(3 * time.Second)
	h.c.expire(ctx) // the database calls become edges to their virtual node
	got := h.c.metrics()

	path := filepath.Join("testdata", "graph.yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, path, got))
	}
	want, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(want, got, pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		pmetrictest.IgnoreScopeVersion(), pmetrictest.IgnoreMetricDataPointsOrder()))

	requests := map[string]int64{}
	failed := map[string]int64{}
	for _, m := range got.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
		if m.Type() != pmetric.MetricTypeSum {
			continue
		}
		for _, dp := range m.Sum().DataPoints().All() {
			c, _ := dp.Attributes().Get("client")
			s, _ := dp.Attributes().Get("server")
			ct, _ := dp.Attributes().Get("connection_type")
			key := c.Str() + "->" + s.Str() + "/" + ct.Str()
			if m.Name() == servicegraph.MetricRequests {
				requests[key] = dp.IntValue()
			} else {
				failed[key] = dp.IntValue()
			}
		}
	}
	assert.Equal(t, map[string]int64{
		"user->frontend/virtual_node":         10,
		"frontend->checkout/":                 10,
		"checkout->payments/":                 10,
		"checkout->orders/database":           10,
		"checkout->shipping/messaging_system": 10,
	}, requests)
	assert.Equal(t, int64(2), failed["checkout->payments/"])

	h.c.report(ctx)
	metadatatest.AssertEqualConnectorCorrelationSpanHalves(t, h.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("outcome", "paired")), Value: 60},
		{Attributes: attribute.NewSet(attribute.String("outcome", "virtual")), Value: 20},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorCorrelationEdges(t, h.tel, []metricdata.DataPoint[int64]{{Value: 5}}, metricdatatest.IgnoreTimestamp())
}

// TestBadSpans: a server span whose client never comes expires; a duplicate client span is dropped.
func TestBadSpans(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	orphan := sp{trace: 1, id: 2, parent: 99, service: "b", name: "x", kind: ptrace.SpanKindServer, ms: 5}
	client := sp{trace: 2, id: 1, service: "a", name: "x", kind: ptrace.SpanKindClient, ms: -5}
	require.NoError(t, h.c.ConsumeTraces(ctx, traces(orphan, client, client)))
	require.NoError(t, h.c.ConsumeTraces(ctx, traces(sp{trace: 2, id: 2, parent: 1, service: "b", name: "x", kind: ptrace.SpanKindServer, ms: 3})))
	h.clock.Advance(3 * time.Second)
	h.c.expire(ctx)
	metadatatest.AssertEqualConnectorCorrelationSpanHalves(t, h.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("outcome", "paired")), Value: 2},
		{Attributes: attribute.NewSet(attribute.String("outcome", "dropped")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("outcome", "expired")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}

// TestEdgesAreBounded: past max_edges the least recently updated edge is forgotten and counted.
func TestEdgesAreBounded(t *testing.T) {
	h := newHarnessWith(t, func(cfg *Config) { cfg.MaxEdges = 2 })
	ctx := context.Background()
	for n, svc := range []string{"a", "b", "c"} {
		require.NoError(t, h.c.ConsumeTraces(ctx, traces(sp{trace: uint64(n + 1), id: 1, service: svc, name: "x", kind: ptrace.SpanKindServer})))
	}
	assert.Equal(t, 2, h.c.graph.Len())
	metadatatest.AssertEqualConnectorCorrelationEvictions(t, h.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// TestTopologyFileIsReadAgainWhenItChanges: the file is read at start; a change is read at the next check; a file
// that became unreadable, or went away, is counted as failed once and leaves the dependencies read before, and is
// read again when it is back; a missing file fails the start.
func TestTopologyFileIsReadAgainWhenItChanges(t *testing.T) {
	file := filepath.Join(t.TempDir(), "topology.yaml")
	require.NoError(t, os.WriteFile(file, []byte("frontend: [checkout]\n"), 0o600))
	h := newHarnessWith(t, func(cfg *Config) { cfg.Topology.File = file })
	ctx := context.Background()
	tasks, err := h.c.startTopology(ctx)
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	service := func(name string) incidents.Entity { return incidents.Entity{Kind: incidents.KindService, Name: name} }
	assert.Equal(t, [][2]incidents.Entity{{service("frontend"), service("checkout")}}, h.c.topologyFile.deps)

	h.c.checkTopologyFile(ctx) // unchanged: not read
	require.NoError(t, os.WriteFile(file, []byte("frontend: [checkout, cart]\n"), 0o600))
	h.c.checkTopologyFile(ctx)
	assert.Equal(t, [][2]incidents.Entity{{service("frontend"), service("checkout")}, {service("frontend"), service("cart")}}, h.c.topologyFile.deps)

	require.NoError(t, os.WriteFile(file, []byte("frontend: checkout: [\n"), 0o600))
	h.c.checkTopologyFile(ctx)
	h.c.checkTopologyFile(ctx) // the same bad file: not tried, nor counted, again
	assert.Len(t, h.c.topologyFile.deps, 2, "the dependencies read before stay")
	require.NoError(t, os.Remove(file))
	h.c.checkTopologyFile(ctx)
	h.c.checkTopologyFile(ctx)
	assert.Len(t, h.c.topologyFile.deps, 2, "the dependencies read before stay")
	metadatatest.AssertEqualConnectorCorrelationTopologyReloads(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("result", "loaded"))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("result", "failed"))},
	}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, os.WriteFile(file, []byte("frontend: [checkout]\n"), 0o600))
	h.c.checkTopologyFile(ctx)
	assert.Len(t, h.c.topologyFile.deps, 1, "read again once it is back")

	missing := newHarnessWith(t, func(cfg *Config) { cfg.Topology.File = filepath.Join(t.TempDir(), "none.yaml") })
	_, err = missing.c.startTopology(ctx)
	assert.ErrorContains(t, err, "none.yaml")
}

// TestLearnedDependenciesAgeOut: a call the spans showed is a dependency, counted by its source, until
// topology.expire_after passes without the spans showing it again; then it is forgotten and counted.
func TestLearnedDependenciesAgeOut(t *testing.T) {
	h := newHarnessWith(t, func(cfg *Config) { cfg.Topology.ExpireAfter = time.Hour })
	ctx := context.Background()
	require.NoError(t, h.c.ConsumeTraces(ctx, traces(
		sp{trace: 1, id: 1, service: "frontend", name: "GET", kind: ptrace.SpanKindClient, ms: 5},
		sp{trace: 1, id: 2, parent: 1, service: "checkout", name: "GET", kind: ptrace.SpanKindServer, ms: 3})))
	metadatatest.AssertEqualConnectorCorrelationTopologyDependencies(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("source", "spans"))},
	}, metricdatatest.IgnoreTimestamp())

	h.clock.Advance(time.Hour + time.Second)
	h.c.tick(ctx)
	metadatatest.AssertEqualConnectorCorrelationTopologyDependencies(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 0, Attributes: attribute.NewSet(attribute.String("source", "spans"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorCorrelationTopologyExpirations(t, h.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}
