package correlationconnector

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/metadatatest"
)

// TestTopologyIsBounded: a million distinct hosts named by resources (untrusted values) keep the topology at
// max_topology_entities, forgetting the least recently linked first, and counted.
func TestTopologyIsBounded(t *testing.T) {
	h := newHarness(t)
	h.c.engine.topo = newTopology(1000)
	ctx := context.Background()
	const n = 1_000_000
	for start := 0; start < n; start += 10_000 {
		md := pmetric.NewMetrics()
		for i := start; i < start+10_000; i++ {
			attrs := md.ResourceMetrics().AppendEmpty().Resource().Attributes()
			attrs.PutStr("service.name", "checkout")
			attrs.PutStr("host.name", "host-"+strconv.Itoa(i))
		}
		require.NoError(t, h.c.ConsumeMetrics(ctx, md))
	}
	topo := h.c.engine.topo
	assert.Equal(t, 1000, topo.recent.Len())
	assert.Len(t, topo.elems, 1000)
	assert.LessOrEqual(t, len(topo.links), 1000)
	assert.LessOrEqual(t, len(topo.deps), 1000)
	assert.LessOrEqual(t, len(topo.links[entity{kindService, "checkout"}]), maxLinks)
	assert.Contains(t, topo.links, entity{kindHost, "host-" + strconv.Itoa(n-1)}, "the latest is kept")
	assert.NotContains(t, topo.links, entity{kindHost, "host-0"}, "the oldest is forgotten")
	metadatatest.AssertEqualConnectorCorrelationTopologyEvictions(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: n + 1 - 1000}}, metricdatatest.IgnoreTimestamp())
}
